"""The orchestrated style's use cases: run each order's saga, one durable step at a time (rules in saga.py).

A step is claimed (its row leased a while ahead, in one short transaction), its call made outside any
transaction, and its answer recorded together with what it did to the order and the next step, in one
transaction. A crash between the two repeats the call (idempotent on the order) and nothing else: the
saga resumes at the step it had reached. Orders run side by side, each its own task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from eventshop.contracts.envelope import Event
from eventshop.platform.db import UnitOfWork, utcnow
from eventshop.platform.http import NotConnected, TransportFailed
from eventshop.services.order import domain, saga, store
from eventshop.services.order.saga import Answer, SagaOrder, SagaStatus, Step
from eventshop.services.order.store import SagaRecord
from eventshop.services.order.usecases import OrderContext, apply_event

log = logging.getLogger(__name__)
LEASE_MARGIN_SECONDS = 5.0  # a claimed step is left alone this long after its call's timeout
IDLE_SECONDS = 0.5  # how often due steps are looked for when nothing signals one (another replica's, a retry)


@dataclass(frozen=True)
class Tried:
    """A step's call: the answer and its body, or why there is none (and whether trying again can help)."""

    answer: Answer | None = None
    body: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    permanent: bool = False


async def run_sagas(ctx: OrderContext) -> None:
    """Background job: every due step of every running saga, each order in a task of its own."""
    if ctx.sagas is None:  # the choreography: the events drive the saga
        return
    busy: dict[str, asyncio.Task[None]] = {}
    try:
        while True:
            ctx.saga_signal.clear()
            try:
                due = await _due(ctx, ctx.settings.consumer_max_in_flight - len(busy), set(busy))
            except Exception as exc:  # the database may be busy for a moment; the job must keep going
                log.warning("looking for due saga steps failed: %s", exc)
                due = []
            for order_id in due:
                busy[order_id] = asyncio.create_task(_drive(ctx, order_id), name=f"saga-{order_id}")
                busy[order_id].add_done_callback(_forget(busy, order_id))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.saga_signal.wait(), timeout=IDLE_SECONDS)
    finally:
        for task in list(busy.values()):
            task.cancel()
        await asyncio.gather(*busy.values(), return_exceptions=True)


def _forget(busy: dict[str, asyncio.Task[None]], order_id: str) -> Any:
    def done(_: asyncio.Task[None]) -> None:
        busy.pop(order_id, None)

    return done


async def _due(ctx: OrderContext, room: int, busy: set[str]) -> list[str]:
    if room <= 0:
        return []
    async with ctx.db.reading() as uow:
        due = await store.due_sagas(uow, utcnow(), room + len(busy))
        return [order_id for order_id in due if order_id not in busy][:room]


async def _drive(ctx: OrderContext, order_id: str) -> None:
    """Run the order's steps while they are due: after a step that waits (a retry), another task resumes."""
    try:
        while (claimed := await _claim(ctx, order_id)) is not None:
            step, order, facts = claimed
            tried = await _call(ctx, step, order, facts)
            if not await _record(ctx, step, order, tried):
                return
    except Exception:  # the lease runs out and the step is tried again
        log.exception("saga of order %s: step not recorded", order_id)


async def _claim(ctx: OrderContext, order_id: str) -> tuple[Step, SagaOrder, dict[str, Any]] | None:
    async with ctx.db.transaction() as uow:
        row = await store.lock_saga(uow, order_id)
        now = utcnow()
        if row is None or row.status != SagaStatus.RUNNING or (row.next_attempt_at and row.next_attempt_at > now):
            return None
        step = Step(row.step)
        await store.lease_saga(uow, order_id, now + timedelta(seconds=saga.timeout_of(step) + LEASE_MARGIN_SECONDS))
        order = await store.find_order(uow, order_id)
        assert order is not None
        lines = await store.order_lines(uow, order.id)
        about = SagaOrder(order.id, order.customer_id, lines, order.total, order.currency)
        facts = dict(row.facts)
        await uow.commit()
    return step, about, facts


async def _call(ctx: OrderContext, step: Step, order: SagaOrder, facts: dict[str, Any]) -> Tried:
    assert ctx.sagas is not None
    try:
        answer = await ctx.sagas.run(step, order, facts)
    except (NotConnected, TransportFailed) as exc:  # no answer: only the same call again can tell
        return Tried(error=f"{type(exc).__name__}: {exc}")
    if answer.status >= 300:
        return Tried(error=f"{answer.status} from {answer.url}: {answer.text[:300]}",
                     permanent=saga.permanent_failure(answer.status))
    body = answer.json() if answer.body else {}
    try:
        return Tried(saga.answer_of(step, body), body)
    except saga.UnexpectedAnswer as exc:
        return Tried(error=str(exc), permanent=True)


async def _record(ctx: OrderContext, step: Step, order: SagaOrder, tried: Tried) -> bool:
    """The answer, its effect on the order and the next step, in one transaction; True if that step is due now."""
    async with ctx.db.transaction() as uow:
        row = await store.lock_saga(uow, order.order_id)
        if row is None or row.status != SagaStatus.RUNNING or row.step != step:
            return False  # another runner got there first (its lease had run out)
        if tried.answer is None or tried.answer is Answer.NOT_YET:
            _wait(ctx, row, tried)
            await store.save_saga(uow, row)
            await uow.commit()
            return False
        happened = saga.fact(step, tried.answer, order, tried.body)
        await _learn(uow, row, happened, saga.idempotency_key(order.order_id, step))
        following = saga.next_step(step, tried.answer)
        row.step, row.attempts, row.failing_since, row.last_error = following, 0, None, None
        row.updated_at = utcnow()
        done = following is Step.DONE
        row.status = SagaStatus.DONE if done else SagaStatus.RUNNING
        row.next_attempt_at = None if done else row.updated_at
        await store.save_saga(uow, row)
        await uow.commit()
    return not done


async def _learn(uow: UnitOfWork, row: SagaRecord, happened: Event | None, key: str) -> None:
    """Keep what happened for the notifications, and feed it to the order state machine if it moves orders."""
    if happened is None:
        return
    facts = dict(row.facts)
    facts[happened.type_name()] = json.loads(happened.model_dump_json())
    if happened.type_name() in domain.SAGA_EVENTS:
        order = await store.find_order(uow, row.order_id, lock=True)
        assert order is not None
        _, announced = await apply_event(uow, order, happened, key)
        if announced is not None:
            facts[announced.type_name()] = json.loads(announced.model_dump_json())
    row.facts = facts


def _wait(ctx: OrderContext, row: SagaRecord, tried: Tried) -> None:
    """No answer, an answer that is not final yet, or a refusal: try again later, or park the saga."""
    now = utcnow()
    row.attempts += 1
    row.updated_at = now
    delay = saga.retry_in(row.attempts, ctx.settings.retry_base_seconds, ctx.settings.retry_max_seconds)
    if tried.answer is Answer.NOT_YET:  # the callee owns the outcome (Payment's reconciler): ask again, no budget
        row.last_error = f"{row.step}: not settled yet"
        row.next_attempt_at = now + timedelta(seconds=delay)
        return
    row.failing_since = row.failing_since or now
    row.last_error = tried.error[:500]
    if saga.gives_up((now - row.failing_since).total_seconds(), ctx.settings.retry_budget_seconds, tried.permanent):
        row.status, row.next_attempt_at = SagaStatus.PARKED, None
        log.error("saga of order %s parked at %s after %d tries: %s", row.order_id, row.step, row.attempts,
                  row.last_error)
        return
    row.next_attempt_at = now + timedelta(seconds=delay)
    log.warning("saga of order %s: %s failed (try %d), again in %.1fs: %s", row.order_id, row.step, row.attempts,
                delay, row.last_error)
