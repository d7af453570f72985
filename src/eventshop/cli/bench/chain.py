"""A raw 5-hop JetStream chain in Python: the ceiling the shop's 5-event saga is compared with.

Each hop is a durable pull consumer on its own stream that handles one message at a time,
republishes it to the next stream (awaiting the publish ack) and then acks it: no database,
no envelope parsing, nothing but the broker round trips the saga also pays.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import struct
import time
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from eventshop.platform.broker import BrokerLogin, connect

HOPS = 5
IN_FLIGHT = 20  # the producer keeps this many messages inside the chain, like concurrent shoppers


def _stream(hop: int) -> str:
    return f"BENCH_RAW_CHAIN_{hop}"


def _subject(hop: int) -> str:
    return f"bench-raw-chain.{hop}"


async def _hop(js: JetStreamContext, hop: int, messages: int, done: list[float]) -> None:
    sub = await js.pull_subscribe(_subject(hop), durable=f"hop-{hop}", stream=_stream(hop))
    handled = 0
    while handled < messages:
        try:
            batch = await sub.fetch(batch=IN_FLIGHT, timeout=1)
        except NatsTimeout:
            continue
        for msg in batch:
            if hop < HOPS:
                await js.publish(_subject(hop + 1), msg.data)
            else:
                done.append(time.perf_counter() - struct.unpack("d", msg.data)[0])
            await msg.ack()
            handled += 1


async def run_raw_chain(nats_url: str, messages: int, login: BrokerLogin | None = None) -> dict[str, Any]:
    """Push `messages` through the chain; msg/s counts messages that left the last hop.

    All five hops share this one process (and its event loop), so each message costs it five
    publish round trips: the figure is a ceiling for Python on this broker, not for the broker.
    """
    nc = await connect(nats_url, "eventshop-bench-raw-chain", login=login, persistent=False)
    js = nc.jetstream(timeout=10)
    for hop in range(1, HOPS + 1):
        with contextlib.suppress(Exception):
            await js.delete_stream(_stream(hop))
        await js.add_stream(StreamConfig(name=_stream(hop), subjects=[_subject(hop)]))
    done: list[float] = []
    hops = [asyncio.create_task(_hop(js, hop, messages, done)) for hop in range(1, HOPS + 1)]
    started = time.perf_counter()
    for sent in range(messages):
        while sent - len(done) >= IN_FLIGHT:
            await asyncio.sleep(0.001)
        await js.publish(_subject(1), struct.pack("d", time.perf_counter()))
    try:
        await asyncio.wait_for(asyncio.gather(*hops), timeout=120)
    finally:
        elapsed = time.perf_counter() - started
        for task in hops:
            task.cancel()
        for hop in range(1, HOPS + 1):
            with contextlib.suppress(Exception):
                await js.delete_stream(_stream(hop))
        await nc.close()
    return {
        "messages": messages,
        "hops": HOPS,
        "in_flight": IN_FLIGHT,
        "msg_per_s": len(done) / elapsed,
        "hop_messages_per_s": len(done) * HOPS / elapsed,  # each message is delivered and handled once per hop
        "p50_ms": statistics.median(done) * 1000,
    }
