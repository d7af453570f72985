"""Alembic per service: each service's migrations/env.py calls `run_migrations(metadata)`."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import Connection, MetaData

from eventshop.platform.db import Database, hold_advisory_lock, new_metadata


def alembic_config(migrations_dir: Path, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, migrations_dir: Path) -> None:
    """Bring the service's database to the newest revision (idempotent).

    On PostgreSQL, replicas that start together take turns: a transaction-scoped advisory lock makes
    the second wait for the first to commit, and it then finds nothing left to apply.
    """

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(migrations_dir, connection), "head")

    async with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await hold_advisory_lock(conn, "eventshop-migrations")
        await conn.run_sync(run)


def run_migrations(metadata: MetaData) -> None:
    """Body of every service's env.py: migrate on the connection the platform hands over."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `eventshop migrate`, which provides the connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()



def create_platform_tables() -> None:
    """In a service's first migration: the outbox and inbox tables every service has."""
    new_metadata().create_all(op.get_bind())


def drop_platform_tables() -> None:
    new_metadata().drop_all(op.get_bind())
