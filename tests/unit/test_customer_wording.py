"""What a customer reads: one table of statuses and reasons, the money formatter, and an order's page in words."""

from __future__ import annotations

import re

import pytest

from eventshop.contracts import wording
from eventshop.contracts.money import format_money
from eventshop.frontend.order_view import customer_view
from eventshop.sandboxes.logistics_system.app import REFUSED_POSTCODES
from eventshop.services.order.domain import OrderStatus
from eventshop.services.payment.domain import DECLINE_REASONS, NOT_CHARGED_REASON

CODE = re.compile(r"[a-z]+_[a-z_]+")


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (1250, "EUR", "€12.50"), (129900, "EUR", "€1,299.00"), (5, "USD", "$0.05"), (500, "GBP", "£5.00"),
    (-250, "SEK", "-SEK2.50"), (1200, "JPY", "¥1,200"), (4990, "eur", "€49.90"), (0, "EUR", "€0.00"),
])
def test_money_is_written_from_integer_minor_units_in_the_currencys_own_decimals(
    amount: int, currency: str, text: str
) -> None:
    assert format_money(amount, currency) == text


def test_every_reason_code_the_services_publish_reads_as_words_without_the_code() -> None:
    payment = {*DECLINE_REASONS, NOT_CHARGED_REASON, "out_of_stock", "account_deactivated"}
    shipping = {code for code, _ in REFUSED_POSTCODES.values()} | {"country_not_served"}
    assert payment <= set(wording.PAYMENT_REASONS) and shipping <= set(wording.SHIPPING_REASONS)
    for code in [*payment, *(wording.SHIPPING_FAILED + code for code in shipping)]:
        text = wording.reason_text(code)
        assert text[:1].isupper() and not CODE.search(text) and "failed:" not in text, text


def test_a_shipping_failure_reads_as_the_carriers_reason_and_an_unknown_code_is_never_shown() -> None:
    assert wording.reason_text("shipping_failed:undeliverable_address") == "The carrier cannot deliver to this address"
    assert wording.reason_text("out_of_stock") == "Some items were out of stock"
    assert "parcel_too_heavy" not in wording.reason_text("shipping_failed:parcel_too_heavy")
    assert "fraud_suspected" not in wording.reason_text("fraud_suspected")
    assert wording.reason_text(None) == ""


def test_every_order_status_has_a_label() -> None:
    assert {status.value for status in OrderStatus} == set(wording.STATUSES)
    assert wording.status_text("processing") == "Being processed"


def test_a_cancellation_says_what_happened_to_the_money() -> None:
    assert wording.money_outcome("card_declined", 4990, "EUR") == "Nothing was charged."
    assert wording.money_outcome("out_of_stock", 4990, "EUR") == "Nothing was charged."
    refund = wording.money_outcome("shipping_failed:undeliverable_address", 4990, "EUR")
    assert "€49.90 is refunded in full" in refund
    assert "refunded" in wording.money_outcome("something_new", 4990, "EUR")


def order(status: str, reason: str | None = None, events: tuple[tuple[str, str], ...] = ()) -> dict[str, object]:
    timeline = [{"at": "2026-12-01T12:00:00", "status": s, "event": e, "detail": "operator words"} for e, s in events]
    return {"id": "o1", "status": status, "reason": reason, "total": 4990, "currency": "EUR", "carrier": None,
            "tracking_number": None, "timeline": timeline}


def test_a_cancelled_order_says_so_with_the_reason_and_the_refund_never_that_it_is_placed_or_complete() -> None:
    view = customer_view(order("cancelled", "shipping_failed:undeliverable_address", (
        ("OrderCreated", "created"), ("ShoppingCartOrderedEvent", "processing"), ("PaymentProcessedEvent", "paid"),
        ("ShippingFailedEvent", "cancelled"), ("ShippingProcessedEvent", "cancelled"))))
    assert view["headline"] == "This order is cancelled: the carrier cannot deliver to this address."
    assert "€49.90 is refunded" in view["money_note"] and view["status_text"] == "Cancelled"
    assert "placed" not in view["headline"].lower() and "complete" not in view["note"]
    assert [step["text"] for step in view["timeline"]] == [
        "Order placed", "Order confirmed; reserving your items", "Payment of €49.90 received",
        f"The carrier cannot deliver to this address. {view['money_note']}",
    ]  # the event that came after the cancellation is the operator's business


def test_an_out_of_stock_order_does_not_say_the_payment_failed() -> None:
    view = customer_view(order("cancelled", "out_of_stock", (("OrderCreated", "created"),
                                                             ("PaymentFailedEvent", "cancelled"))))
    assert view["timeline"][-1]["text"] == "Some items were out of stock. Nothing was charged."
    assert view["money_note"] == "Nothing was charged."


def test_an_order_on_its_way_thanks_the_customer_until_it_is_shipped() -> None:
    assert customer_view(order("processing"))["headline"].startswith("Thank you! Your order is placed")
    shipped = customer_view(order("shipped"))
    assert shipped["note"] == "This order is complete." and shipped["money_note"] == "" and shipped["final"]
