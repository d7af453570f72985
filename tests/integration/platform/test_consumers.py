"""The inbox and the consumer worker: one effect per event, ack after commit, retry, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS
from sqlalchemy import func, insert, select

from eventshop.contracts.events import OrderCancelledEvent, OrderProcessedEvent
from eventshop.platform import deadletters
from eventshop.platform.broker import ConsumerSpec, connect, ensure_consumer, ensure_streams
from eventshop.platform.consumers import ConsumerWorker
from eventshop.platform.db import Database, Incoming
from eventshop.platform.settings import Settings
from eventshop.platform.telemetry import configure_logging
from tests.conftest import eventually
from tests.integration.platform.conftest import EFFECTS, RETRY_BUDGET_SECONDS, Backend, open_database
from tests.integration.publishing import envelope_of

SPEC = ConsumerSpec("inventory", "order", ("OrderProcessedEvent", "OrderCancelledEvent"), max_deliver=100)


def processed(order_id: str = "o1") -> OrderProcessedEvent:
    return OrderProcessedEvent(order_id=order_id, customer_id="c1", lines=[], total=100, currency="EUR")


async def record_effect(db: Database, incoming: Incoming[Any]) -> None:
    async with db.transaction(handled=incoming) as uow:
        await uow.session.execute(insert(EFFECTS).values(event_id=incoming.envelope.id, note=incoming.event.order_id))
        await uow.commit()


async def effects(db: Database) -> int:
    async with db.reading() as uow:  # read-only: polling must not take the write lock the consumer needs
        return int(await uow.session.scalar(select(func.count()).select_from(EFFECTS)) or 0)


class Harness:
    def __init__(self, backend: Backend, settings: Settings, db: Database, nc: NATS) -> None:
        self.backend, self.settings, self.db, self.nc = backend, settings, db, nc
        self.js = nc.jetstream(timeout=5)
        self.deliveries: list[int] = []

    async def publish(self, event: Any, copy: int = 0, event_id: str | None = None, raw: bytes | None = None) -> str:
        envelope = envelope_of(event, event_id=event_id)
        await self.js.publish(event.subject_name(), raw if raw is not None else envelope.to_bytes(),
                              headers={"Nats-Msg-Id": f"{envelope.id}:{copy}"})
        return envelope.id

    @contextlib.asynccontextmanager
    async def worker(self, handler: Callable[[Incoming[Any]], Awaitable[None]],
                     spec: ConsumerSpec = SPEC) -> AsyncIterator[ConsumerWorker]:
        async def counting(incoming: Incoming[Any]) -> None:
            self.deliveries.append(incoming.deliveries)
            await handler(incoming)

        await ensure_consumer(self.js, spec)
        worker = ConsumerWorker(spec, self.js, self.db, dict.fromkeys(spec.events, counting), self.settings)
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop()
            await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def harness(backend: Backend, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = backend.settings(tmp_path)
    nc = await connect(backend.nats_url, "test", login=backend.login)
    await ensure_streams(nc.jetstream(), backend.replicas)
    db = await open_database(backend.database_url, "inventory")
    try:
        yield Harness(backend, settings, db, nc)
    finally:
        await nc.close()
        await db.dispose()


async def test_the_same_event_delivered_twice_has_one_effect(backend: Backend, tmp_path: Path) -> None:
    async with harness(backend, tmp_path) as h:
        event_id = await h.publish(processed())
        await h.publish(processed(), copy=1, event_id=event_id)  # a second copy past broker dedup
        async with h.worker(lambda i: record_effect(h.db, i)):
            await eventually(lambda: len(h.deliveries) == 2, message="both copies delivered")
            await eventually(lambda: _no_pending(h), message="both acked")
        assert await effects(h.db) == 1


async def test_a_crash_between_commit_and_ack_has_one_effect(backend: Backend, tmp_path: Path) -> None:
    async with harness(backend, tmp_path) as h:
        short_ack = ConsumerSpec(SPEC.service, SPEC.topic, SPEC.events, max_deliver=4, ack_wait_seconds=1.0)
        await ensure_consumer(h.js, short_ack)
        await h.publish(processed())
        sub = await h.js.pull_subscribe_bind(durable=short_ack.durable, stream=short_ack.stream)
        [first] = await sub.fetch(1, timeout=5)

        async def lost_ack() -> None:  # the process "dies" after commit, before the ack leaves
            pass

        first.ack = lost_ack  # type: ignore[method-assign]
        worker = ConsumerWorker(short_ack, h.js, h.db, dict.fromkeys(SPEC.events, lambda i: record_effect(h.db, i)),
                                h.settings)
        await worker.handle(first)
        [again] = await sub.fetch(1, timeout=5)  # redelivered once ack_wait passes
        assert again.metadata.num_delivered == 2
        await worker.handle(again)
        await sub.unsubscribe()
        assert await effects(h.db) == 1


async def test_a_handler_that_fails_twice_then_succeeds_has_one_effect_after_three_deliveries(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        async def flaky(incoming: Incoming[Any]) -> None:
            if incoming.deliveries < 3:
                raise ConnectionError("downstream not there yet")
            await record_effect(h.db, incoming)

        await h.publish(processed())
        async with h.worker(flaky):
            await eventually(lambda: _effects_are(h, 1), message="effect after retries")
        assert h.deliveries == [1, 2, 3]


async def test_a_handler_failing_longer_than_the_old_delivery_count_still_succeeds_within_the_budget(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        async def down_for_a_while(incoming: Incoming[Any]) -> None:
            if incoming.deliveries < 6:  # more tries than a count of 4 would have allowed
                raise ConnectionError("Account is frozen")
            await record_effect(h.db, incoming)

        await h.publish(processed())
        async with h.worker(down_for_a_while):
            await eventually(lambda: _effects_are(h, 1), message="effect after six deliveries")
        assert h.deliveries == [1, 2, 3, 4, 5, 6]
        assert await deadletters.list_dead_letters(h.js) == []


async def test_a_handler_that_always_fails_is_dead_lettered_once_the_retry_budget_is_spent_and_replay_delivers_it(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        await deadletters.purge(h.js)
        fixed = asyncio.Event()
        failures: list[float] = []

        async def broken_until_fixed(incoming: Incoming[Any]) -> None:
            if not fixed.is_set():
                failures.append(asyncio.get_running_loop().time())
                raise ValueError("bug in handler")
            await record_effect(h.db, incoming)

        event_id = await h.publish(processed())
        async with h.worker(broken_until_fixed):
            letters = await eventually(lambda: deadletters.list_dead_letters(h.js), message="dead-lettered")
            assert failures[-1] - failures[0] >= RETRY_BUDGET_SECONDS  # time decides, not the count...
            assert 2 < len(h.deliveries) < SPEC.max_deliver  # ...which is only a far-off hard cap
            [letter] = letters
            assert letter.event_id == event_id
            assert letter.consumer == "inventory--order"
            assert "ValueError: bug in handler" in letter.error
            assert letter.deliveries == len(h.deliveries)

            fixed.set()
            await deadletters.replay(h.js, letter.sequence)
            await eventually(lambda: _effects_are(h, 1), message="effect after replay")
        assert await deadletters.list_dead_letters(h.js) == []


async def test_malformed_and_schema_invalid_messages_go_straight_to_dead_letters(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        await deadletters.purge(h.js)
        await h.publish(processed("bad-json"), raw=b"{not json")
        invalid = envelope_of(processed("bad-schema"))
        invalid.data.pop("customer_id")
        await h.publish(processed("bad-schema"), raw=invalid.to_bytes())
        async with h.worker(lambda i: record_effect(h.db, i)):
            letters = await eventually(
                lambda: _at_least(deadletters.list_dead_letters(h.js), 2), message="both parked"
            )
        reasons = sorted(letter.error for letter in letters)
        assert "OrderProcessedEvent fails its schema" in reasons[0] and "customer_id" in reasons[0]
        assert reasons[1].startswith("not a CloudEvents envelope")
        assert all(letter.deliveries == 1 for letter in letters)
        assert h.deliveries == []  # the handler never saw them
        assert await effects(h.db) == 0


async def test_changing_max_deliveries_in_code_changes_the_consumer_on_the_server(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        await ensure_consumer(h.js, SPEC)
        assert (await h.js.consumer_info(SPEC.stream, SPEC.durable)).config.max_deliver == 100
        changed = ConsumerSpec(SPEC.service, SPEC.topic, SPEC.events, max_deliver=9)
        await ensure_consumer(h.js, changed)
        info = await h.js.consumer_info(SPEC.stream, SPEC.durable)
        assert info.config.max_deliver == 9
        assert sorted(info.config.filter_subjects or []) == ["order.OrderCancelledEvent", "order.OrderProcessedEvent"]


async def test_a_consumer_receives_only_its_filtered_event_types(backend: Backend, tmp_path: Path) -> None:
    async with harness(backend, tmp_path) as h:
        only_cancelled = ConsumerSpec("payment", "order", ("OrderCancelledEvent",), max_deliver=4)
        await h.publish(processed("o1"))
        await h.publish(OrderCancelledEvent(order_id="o2", customer_id="c1", reason="x", lines=[], total=1,
                                            currency="EUR"))
        async with h.worker(lambda i: record_effect(h.db, i), spec=only_cancelled):
            await eventually(lambda: _effects_are(h, 1))
        async with h.db.sessions() as session:
            assert (await session.scalar(select(EFFECTS.c.note))) == "o2"


async def _effects_are(h: Harness, count: int) -> bool:
    return await effects(h.db) == count


async def _no_pending(h: Harness) -> bool:
    info = await h.js.consumer_info(SPEC.stream, SPEC.durable)
    return info.num_ack_pending == 0 and info.num_pending == 0


async def _at_least(letters: Awaitable[list[deadletters.DeadLetter]], n: int) -> list[deadletters.DeadLetter] | None:
    found = await letters
    return found if len(found) >= n else None


async def test_streams_drifted_from_the_registry_are_put_back_and_unchanged_ones_left_alone(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        order = (await h.js.stream_info("ORDER")).config
        order.duplicate_window = 30.0
        order.description = "changed by hand"
        await h.js.update_stream(order)
        updates: list[str] = []
        update = h.js.update_stream

        async def counted(config: Any = None, **params: Any) -> Any:
            updates.append(config.name)
            return await update(config, **params)

        h.js.update_stream = counted  # type: ignore[method-assign]
        await ensure_streams(h.js, backend.replicas)
        assert updates == ["ORDER"]
        restored = (await h.js.stream_info("ORDER")).config
        assert (restored.duplicate_window, restored.description) == (120.0, "Order Topic")
        await ensure_streams(h.js, backend.replicas)
        assert updates == ["ORDER"]


async def test_every_log_line_written_while_handling_names_the_event_and_its_order(
    backend: Backend, tmp_path: Path
) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("inventory", "INFO", as_json=True, stream=stream)
    try:
        async with harness(backend, tmp_path) as h:
            async def reserving(incoming: Incoming[Any]) -> None:
                logging.getLogger("inventory.reserve").warning("reserving stock")
                await record_effect(h.db, incoming)

            event_id = await h.publish(processed("o-logged"))
            async with h.worker(reserving):
                await eventually(lambda: _no_pending(h), message="acked")
            logging.getLogger("inventory.reserve").warning("after the event")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    during = [line for line in lines if line.get("event_id") == event_id]
    assert {line["message"] for line in during} >= {"reserving stock"}
    assert any(line["message"].startswith(f"{SPEC.durable}: handled OrderProcessedEvent") for line in during)
    for line in during:
        assert line["service"] == "inventory"
        assert line["correlation_id"] == "o-logged"
        assert line["event_type"] == "OrderProcessedEvent"
        assert len(line["trace_id"]) == 32
    [after] = [line for line in lines if line["message"] == "after the event"]
    assert "correlation_id" not in after and "event_id" not in after


async def test_a_slow_handler_for_one_order_does_not_delay_another_orders_events(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        release = asyncio.Event()
        handled: list[str] = []

        async def slow_for_o1(incoming: Incoming[Any]) -> None:
            if incoming.event.order_id == "o1":
                await release.wait()
            await record_effect(h.db, incoming)
            handled.append(incoming.event.order_id)

        await h.publish(processed("o1"))
        await h.publish(processed("o2"))
        await h.publish(processed("o3"))
        async with h.worker(slow_for_o1):
            await eventually(lambda: sorted(handled) == ["o2", "o3"], message="o2 and o3 handled while o1 waits")
            release.set()
            await eventually(lambda: sorted(handled) == ["o1", "o2", "o3"], message="o1 handled once released")


async def test_events_about_one_order_are_handled_one_at_a_time_in_delivery_order(
    backend: Backend, tmp_path: Path
) -> None:
    async with harness(backend, tmp_path) as h:
        seen: list[tuple[str, str]] = []
        running: set[str] = set()
        overlapped: list[str] = []

        async def in_order(incoming: Incoming[Any]) -> None:
            order_id = incoming.event.order_id
            if order_id in running:
                overlapped.append(order_id)
            running.add(order_id)
            await asyncio.sleep(0.02)  # long enough for a second delivery of the same order to overlap
            await record_effect(h.db, incoming)
            seen.append((order_id, incoming.envelope.type))
            running.discard(order_id)

        for order_id in ("a", "b"):
            await h.publish(processed(order_id))
            await h.publish(OrderCancelledEvent(order_id=order_id, customer_id="c1", reason="test", lines=[], total=100,
                                                 currency="EUR"))
        async with h.worker(in_order):
            await eventually(lambda: len(seen) == 4, message="all four handled")
        for order_id in ("a", "b"):
            types = [event_type for key, event_type in seen if key == order_id]
            assert types == ["OrderProcessedEvent", "OrderCancelledEvent"]
        assert overlapped == []
