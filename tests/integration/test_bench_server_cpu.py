"""`eventshop bench` counts the CPU of a PostgreSQL server on this machine: the processes serving the shop's
databases, and no other's."""

from __future__ import annotations

import asyncpg
import pytest

from eventshop.cli.bench.sampling import ServerCPU
from tests.conftest import create_database, drop_database, postgres_available

pytestmark = pytest.mark.skipif(not postgres_available(), reason="needs PostgreSQL on 127.0.0.1:5432")

BUSY = "SELECT sum(i) FROM generate_series(1, 2000000) AS i"  # a fraction of a second of a backend's CPU


def dsn(database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{database}"


async def test_backends_of_the_shops_databases_count_from_the_window_and_no_other_database() -> None:
    ours, other = await create_database(), await create_database()
    try:
        # Given a backend of the shop's database open before the window and one of another database
        early, elsewhere = await asyncpg.connect(dsn(ours)), await asyncpg.connect(dsn(other))
        server = ServerCPU({ours})
        server.scan(in_window=False)
        # When a second backend opens inside the window, all three work, and the second closes before the end
        late = await asyncpg.connect(dsn(ours))
        for connection in (early, late, elsewhere):
            await connection.fetchval(BUSY)
        server.scan(in_window=True)
        late_pid = late.get_server_pid()
        await late.close()
        server.scan(in_window=True)
        # Then both backends of the shop's database count, the late one from its start, the closed one up to
        # its last sample, and the other database's backend not at all
        assert {early.get_server_pid(), late_pid} <= set(server.start)
        assert elsewhere.get_server_pid() not in server.start
        assert server.start[late_pid] == 0.0 and server.last[late_pid] > 0
        assert server.used() >= server.last[late_pid] > 0
        await early.close()
        await elsewhere.close()
    finally:
        await drop_database(ours)
        await drop_database(other)
