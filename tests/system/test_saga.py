"""The order saga end to end: every service a real process, real NATS, SQLite, the sandboxes."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.shop import Shop
from tests.system.shopping import (
    add_product,
    all_mentioned,
    emails_to,
    final_order,
    ledger_for,
    order,
    settled,
    sign_up,
    stock_of,
    subjects,
)

pytestmark = pytest.mark.system


@pytest.fixture(params=["choreography", "orchestration"])
def styled_shop(request: pytest.FixtureRequest) -> Shop:
    """The same scenario on the shop of each saga style (EVENTSHOP_SAGA), one shop per style for the session."""
    found: Shop = request.getfixturevalue("shop" if request.param == "choreography" else "orchestrated_shop")
    return found


def notifications_of(shop: Shop, customer_id: str) -> list[dict[str, object]]:
    with shop.http("notification") as notification:
        notification.headers.update(shop.as_operator("notification"))
        page = notification.get("/notifications", params={"customer_id": customer_id, "page_size": 100}).json()
    return list(page["items"])


def charges(shop: Shop, order_id: str) -> list[dict[str, object]]:
    return [m for m in ledger_for(shop, order_id) if m.get("type") == "charge"]


def test_happy_path_ships_with_tracking_charges_once_and_mails_the_customer(styled_shop: Shop) -> None:
    shop = styled_shop
    kettle = add_product(shop, stock=5, price=2500, name="Kettle")
    mug = add_product(shop, stock=5, price=800, name="Mug")
    customer = sign_up(shop)

    order_id = order(shop, customer["id"], [(kettle["id"], 1), (mug["id"], 2)])
    placed = final_order(shop, order_id)

    assert placed["status"] == "shipped"
    assert placed["tracking_number"]
    assert placed["total"] == 2500 + 2 * 800
    events = [entry["event"] for entry in placed["timeline"]]
    assert events[:2] == ["OrderCreated", "ShoppingCartOrderedEvent"]
    assert {"PaymentProcessedEvent", "ShippingProcessedEvent"} <= set(events)
    assert stock_of(shop, kettle["id"])["available"] == 4
    assert stock_of(shop, mug["id"])["available"] == 3
    settled(shop, lambda: stock_of(shop, mug["id"])["sold"] == 2, message="the shipped units sold")
    assert (stock_of(shop, kettle["id"])["held"], stock_of(shop, kettle["id"])["sold"]) == (0, 1)
    assert [c["amount"] for c in charges(shop, order_id)] == [4100]
    expected = ["confirmed", "shipped"]  # the steps a customer cares about; no separate "payment received"
    mails = settled(shop, lambda: all_mentioned(subjects(shop, customer["email"]), expected), message="emails")
    assert any(placed["tracking_number"] in str(m.get("text", "")) for m in emails_to(shop, customer["email"])), mails
    assert not any("payment" in subject.lower() for subject in mails), mails
    # Who mailed: Notification consuming the events, or Order's "Notify Customer" (its idempotency keys).
    keyed = {n["event_type"]: str(n["event_id"]) for n in notifications_of(shop, customer["id"]) if n["order_id"]}
    orchestrated = shop.env.get("EVENTSHOP_SAGA") == "orchestration"
    assert keyed["OrderProcessedEvent"].startswith(f"order-{order_id}-") is orchestrated, keyed
    assert keyed["ShippingProcessedEvent"].startswith(f"order-{order_id}-") is orchestrated, keyed


def test_out_of_stock_cancels_without_charging_and_tells_the_customer(styled_shop: Shop) -> None:
    shop = styled_shop
    sold_out = add_product(shop, stock=0)
    customer = sign_up(shop)

    order_id = order(shop, customer["id"], [(sold_out["id"], 1)])
    placed = final_order(shop, order_id)

    assert (placed["status"], placed["reason"]) == ("cancelled", "out_of_stock")
    assert charges(shop, order_id) == []
    with shop.http("payment") as payment:
        payment.headers.update(shop.as_operator("payment"))
        assert payment.get(f"/payments/{order_id}").json()["status"] == "voided"
    settled(shop, lambda: all_mentioned(subjects(shop, customer["email"]), ["stock"]), message="out-of-stock mail")


@pytest.mark.parametrize(("card", "reason"), [
    ("tok_declined", "card_declined"), ("tok_insufficient_funds", "insufficient_funds"),
    ("tok_expired", "expired_card"),
])
def test_a_refused_card_cancels_and_releases_the_reservation(styled_shop: Shop, card: str, reason: str) -> None:
    shop = styled_shop
    product = add_product(shop, stock=3)
    customer = sign_up(shop, token=card)

    order_id = order(shop, customer["id"], [(product["id"], 2)])
    placed = final_order(shop, order_id)

    assert (placed["status"], placed["reason"]) == ("cancelled", reason)
    settled(shop, lambda: stock_of(shop, product["id"])["available"] == 3, message="stock restored")
    assert (stock_of(shop, product["id"])["held"], stock_of(shop, product["id"])["sold"]) == (0, 0)


def test_undeliverable_address_refunds_releases_and_cancels(styled_shop: Shop) -> None:
    shop = styled_shop
    product = add_product(shop, stock=3, price=1200)
    customer = sign_up(shop, postcode="00000")

    order_id = order(shop, customer["id"], [(product["id"], 1)])
    placed = final_order(shop, order_id)

    assert placed["status"] == "cancelled"
    assert placed["reason"].startswith("shipping_failed")
    settled(shop, lambda: stock_of(shop, product["id"])["available"] == 3, message="stock restored")
    movements = settled(
        shop, lambda: [m for m in ledger_for(shop, order_id) if m.get("type") == "refund"], message="refund"
    )
    assert sum(int(m["amount"]) for m in movements) == 1200
    assert len(charges(shop, order_id)) == 1


def test_a_checkout_sent_twice_at_once_places_one_order_charged_once(styled_shop: Shop) -> None:
    """A double click, or a retry after a timeout: the cart is ordered once, whatever the second request gets."""
    shop = styled_shop
    product = add_product(shop, stock=5, price=1200)
    customer = sign_up(shop)
    with shop.http("cart") as cart:
        cart.headers.update(shop.as_customer(customer["id"]))
        assert cart.post(f"/carts/{customer['id']}/lines", json={"product_id": product["id"], "quantity": 1}) \
            .status_code in (200, 201)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: cart.post(f"/carts/{customer['id']}/checkout", json={}), range(2)))
    placed = {a.json()["order_id"] for a in answers if a.status_code == 201}
    assert len(placed) == 1, [a.text for a in answers]
    assert all(a.status_code == 201 or 400 <= a.status_code < 500 for a in answers), [a.text for a in answers]
    [order_id] = placed
    assert final_order(shop, order_id)["status"] == "shipped"
    with shop.http("order") as orders:
        orders.headers.update(shop.as_operator("order"))
        listed = orders.get("/orders", params={"customer_id": customer["id"]}).json()
    assert [o["id"] for o in listed["items"]] == [order_id]
    assert len(charges(shop, order_id)) == 1
    settled(shop, lambda: stock_of(shop, product["id"])["sold"] == 1, message="one unit sold")
    assert stock_of(shop, product["id"])["available"] == 4


def test_a_deactivated_account_cannot_check_out(styled_shop: Shop) -> None:
    shop = styled_shop
    product = add_product(shop, stock=3)
    customer = sign_up(shop)
    with shop.http("cart") as cart:
        cart.headers.update(shop.as_operator("cart"))
        added = cart.post(f"/carts/{customer['id']}/lines", json={"product_id": product["id"], "quantity": 1})
        assert added.status_code == 200
    with shop.http("account") as account:
        account.headers.update(shop.as_operator("account"))
        assert account.post(f"/accounts/{customer['id']}/deactivate", json={"reason": "test"}).status_code == 200

    with shop.http("cart") as cart:
        cart.headers.update(shop.as_operator("cart"))
        refused = cart.post(f"/carts/{customer['id']}/checkout", json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_deactivated"
    assert stock_of(shop, product["id"])["available"] == 3


def test_fifty_concurrent_orders_for_ten_units_ship_exactly_ten(styled_shop: Shop) -> None:
    shop = styled_shop
    product = add_product(shop, stock=10, price=500)
    customers = [sign_up(shop) for _ in range(50)]

    with ThreadPoolExecutor(8) as pool:
        order_ids = list(pool.map(lambda c: order(shop, c["id"], [(product["id"], 1)]), customers))
    results = [final_order(shop, order_id, timeout=120) for order_id in order_ids]

    statuses = [r["status"] for r in results]
    assert statuses.count("shipped") == 10
    assert statuses.count("cancelled") == 40
    assert {r["reason"] for r in results if r["status"] == "cancelled"} == {"out_of_stock"}
    # Every order is final: nothing stays held, the ten shipped units are sold.
    level = settled(shop, lambda: (found := stock_of(shop, product["id"]))["sold"] == 10 and found,
                    message="ten units sold")
    assert (level["available"], level["held"], level["sold"]) == (0, 0, 10)
    assert sum(len(charges(shop, o)) for o in order_ids) == 10


def test_a_card_answering_after_30_seconds_ends_shipped_with_one_charge_and_no_operator(styled_shop: Shop) -> None:
    shop = styled_shop
    """tok_timeout answers after 30 s, long after Payment's 5 s timeout: the charge is recorded unknown,
    the delivery acked, and the reconciler finds the charge by its idempotency key; the saga goes on."""
    product = add_product(shop, stock=3, price=1500)
    customer = sign_up(shop, token="tok_timeout")

    order_id = order(shop, customer["id"], [(product["id"], 1)])
    with shop.http("payment") as payments:
        payments.headers.update(shop.as_operator("payment"))
        settled(shop, lambda: payments.get(f"/payments/{order_id}").json().get("status") == "unknown",
                message="payment recorded unknown")
    placed = final_order(shop, order_id, timeout=120)

    assert placed["status"] == "shipped" and placed["tracking_number"]
    assert [c["amount"] for c in charges(shop, order_id)] == [1500]
    with shop.http("payment") as payments:
        payments.headers.update(shop.as_operator("payment"))
        history = [h["status"] for h in payments.get(f"/payments/{order_id}").json()["history"]]
    assert history == ["pending", "unknown", "succeeded"]


def test_order_killed_mid_saga_resumes_every_order_with_one_charge_and_one_confirmation(styled_shop: Shop) -> None:
    shop = styled_shop
    product = add_product(shop, stock=10, price=700)
    customers = [sign_up(shop) for _ in range(3)]

    order_ids = [order(shop, c["id"], [(product["id"], 1)]) for c in customers]
    shop.kill("order", signal.SIGKILL)
    shop.restart("order")

    results = [final_order(shop, o, timeout=90) for o in order_ids]
    assert [r["status"] for r in results] == ["shipped"] * 3
    assert [len(charges(shop, o)) for o in order_ids] == [1] * 3
    assert stock_of(shop, product["id"])["available"] == 7
    for customer in customers:
        mails = settled(shop, lambda c=customer: all_mentioned(subjects(shop, c["email"]), ["confirmed", "shipped"]),
                        message="emails")
        assert sum("confirmed" in subject for subject in mails) == 1, mails
