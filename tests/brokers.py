"""Test brokers run with generated credentials, as in production; tests act as the operator."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from eventshop.platform.broker import BrokerLogin, set_up_streams
from eventshop.platform.broker_auth import OPERATOR
from eventshop.platform.embedded_nats import EmbeddedNats

T = TypeVar("T")


def operator_login(node: EmbeddedNats) -> BrokerLogin:
    """The operator identity of a test broker: tests set up streams and publish events as the operator."""
    assert node.secrets_dir is not None, "test brokers run with generated credentials, as in production"
    return BrokerLogin(OPERATOR, (node.secrets_dir / OPERATOR).read_text().strip())


def start_broker(store_dir: Path, secrets_dir: Path, **options: Any) -> EmbeddedNats:
    """An embedded server with generated credentials and its streams set up, as `eventshop up` does."""
    server = EmbeddedNats(store_dir=store_dir, secrets_dir=secrets_dir, **options).start()
    in_thread(set_up_streams(server.url, 1, operator_login(server)))
    return server


def in_thread(job: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from sync code that may itself be inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, job).result()
