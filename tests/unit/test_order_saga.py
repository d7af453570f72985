"""The orchestrated saga's rules (services/order/saga.py): next steps, answers, retries, no I/O."""

from __future__ import annotations

import pytest

from eventshop.contracts.events import PaymentFailedEvent, ShippingProcessedEvent
from eventshop.contracts.registry import consumed_by, requests_from
from eventshop.contracts.values import OrderLine
from eventshop.platform.settings import InvalidSetting, saga_style
from eventshop.services.order import domain, saga
from eventshop.services.order.domain import OrderStatus
from eventshop.services.order.saga import Answer, SagaOrder, Step

LINE = OrderLine(product_id="p1", sku="P1", name="Mug", quantity=2, unit_price=800, currency="EUR")
ORDER = SagaOrder("o1", "c1", [LINE], 1600, "EUR")


def run(answers: dict[Step, str]) -> list[Step]:
    """The steps one order goes through when each step's callee answers `status` (default its happy one)."""
    happy = {Step.RESERVE: "reserved", Step.CHARGE: "succeeded", Step.SHIP: "created", Step.VOID: "voided",
             Step.REFUND: "refunded", Step.RELEASE: "released"}
    step, seen = Step.NOTIFY_CONFIRMED, list[Step]()
    while step is not Step.DONE:
        seen.append(step)
        step = saga.next_step(step, saga.answer_of(step, {"status": answers.get(step, happy.get(step))}))
    return seen


def test_a_happy_order_confirms_reserves_charges_ships_and_tells_the_customer() -> None:
    assert run({}) == [Step.NOTIFY_CONFIRMED, Step.RESERVE, Step.CHARGE, Step.SHIP, Step.NOTIFY_SHIPPED]


def test_out_of_stock_voids_the_payment_and_charges_nothing() -> None:
    steps = run({Step.RESERVE: "rejected"})
    assert steps == [Step.NOTIFY_CONFIRMED, Step.RESERVE, Step.NOTIFY_OUT_OF_STOCK, Step.VOID, Step.NOTIFY_CANCELLED]
    assert Step.CHARGE not in steps


def test_a_declined_card_releases_the_stock() -> None:
    assert run({Step.CHARGE: "failed"})[-3:] == [Step.NOTIFY_PAYMENT_FAILED, Step.RELEASE, Step.NOTIFY_CANCELLED]


def test_an_undeliverable_order_is_refunded_then_its_stock_released() -> None:
    assert run({Step.SHIP: "failed"})[-4:] == [Step.NOTIFY_SHIPPING_FAILED, Step.REFUND, Step.RELEASE,
                                               Step.NOTIFY_CANCELLED]


@pytest.mark.parametrize("status", ["unknown", "pending"])
def test_a_charge_not_settled_yet_is_asked_again_never_guessed(status: str) -> None:
    answer = saga.answer_of(Step.CHARGE, {"status": status})
    assert answer is Answer.NOT_YET
    assert saga.next_step(Step.CHARGE, answer) is Step.CHARGE


def test_an_answer_the_step_has_no_rule_for_is_not_taken_for_success() -> None:
    with pytest.raises(saga.UnexpectedAnswer):
        saga.answer_of(Step.SHIP, {"status": "cancelled"})


def test_what_a_step_learned_moves_the_order_as_the_choreographys_event_would() -> None:
    declined = saga.fact(Step.CHARGE, Answer.REFUSED, ORDER, {"status": "failed", "failure_reason": "card_declined"})
    assert isinstance(declined, PaymentFailedEvent) and declined.reason == "card_declined"
    decision = domain.decide(OrderStatus.PROCESSING, declined.type_name())
    assert decision.transition is not None and decision.transition.target is OrderStatus.CANCELLED
    shipped = saga.fact(Step.SHIP, Answer.OK, ORDER, {"status": "created", "carrier": "DHL",
                                                       "tracking_number": "T1", "shipment_id": "s1"})
    assert isinstance(shipped, ShippingProcessedEvent) and shipped.tracking_number == "T1"
    assert saga.fact(Step.NOTIFY_SHIPPED, Answer.OK, ORDER, {}) is None


def test_every_try_of_a_step_has_the_same_key_and_steps_have_different_keys() -> None:
    assert saga.idempotency_key("o1", Step.CHARGE) == saga.idempotency_key("o1", Step.CHARGE) == "order-o1-charge"
    assert saga.idempotency_key("o1", Step.CHARGE) != saga.idempotency_key("o1", Step.REFUND)
    long_id = "x" * 64
    assert len(saga.idempotency_key(long_id, Step.NOTIFY_SHIPPING_FAILED)) <= 64


def test_retries_back_off_to_a_cap_and_give_up_only_past_the_budget_or_on_a_refusal() -> None:
    assert [saga.retry_in(n, 0.2, 1.0) for n in (1, 2, 3, 4)] == [0.2, 0.4, 0.8, 1.0]
    assert not saga.gives_up(10, 600, permanent=False)
    assert saga.gives_up(600, 600, permanent=False)
    assert saga.gives_up(0, 600, permanent=True)
    assert saga.permanent_failure(422) and not saga.permanent_failure(409) and not saga.permanent_failure(503)


def test_a_saga_style_that_does_not_exist_is_one_line_naming_the_option() -> None:
    assert saga_style("--saga", "orchestration") == "orchestration"
    with pytest.raises(InvalidSetting) as refused:
        saga_style("--saga", "orchestrated")
    assert str(refused.value) == "--saga='orchestrated': Input should be 'choreography' or 'orchestration'"


def test_orchestration_consumes_no_saga_event_but_the_checkout_and_account_events() -> None:
    assert consumed_by("order", "orchestration") == {"shopping-cart": ("ShoppingCartOrderedEvent",)}
    assert set(consumed_by("notification", "orchestration")) == {"account"}
    assert consumed_by("shipping", "orchestration") == {}
    assert set(consumed_by("order", "choreography")) == {"payment", "shipping", "shopping-cart"}
    assert {r.target for r in requests_from("order", "orchestration")} >= {"inventory", "payment", "shipping",
                                                                            "notification"}
    assert not {r.target for r in requests_from("order", "choreography")} & {"inventory", "payment", "shipping"}
