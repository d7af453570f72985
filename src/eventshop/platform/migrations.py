"""Alembic per service: each service's migrations/env.py calls `run_migrations(metadata)`.

Alembic (with Mako and every dialect's DDL) is imported only when a migration runs: a service
whose database is already at the newest revision, as `eventshop up` leaves them, never loads it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, MetaData, inspect, text

from eventshop.platform.db import Database, hold_advisory_lock, new_metadata

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"


def alembic_config(migrations_dir: Path, connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["connection"] = connection
    return config


def script_heads(migrations_dir: Path) -> set[str]:
    """The newest revisions among the scripts, read as source (no alembic import)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (migrations_dir / "versions").glob("*.py"):
        for node in ast.parse(script.read_text()).body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                name, expression = node.target.id, node.value
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name, expression = node.targets[0].id, node.value
            else:
                continue
            if name not in ("revision", "down_revision"):
                continue
            value = ast.literal_eval(expression)
            if name == "revision":
                revisions.add(value)
            elif name == "down_revision" and value:
                parents.update([value] if isinstance(value, str) else value)
    return revisions - parents


def current_revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    return {row[0] for row in connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))}


async def upgrade(db: Database, migrations_dir: Path) -> None:
    """Bring the service's database to the newest revision (idempotent).

    On PostgreSQL, replicas that start together take turns: a transaction-scoped advisory lock makes
    the second wait for the first to commit, and it then finds nothing left to apply.
    """
    heads = script_heads(migrations_dir)
    async with db.engine.connect() as conn:
        if heads and await conn.run_sync(current_revisions) == heads:
            return

    def run(connection: Connection) -> None:
        from alembic import command

        command.upgrade(alembic_config(migrations_dir, connection), "head")

    async with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await hold_advisory_lock(conn, "eventshop-migrations")
        await conn.run_sync(run)


def run_migrations(metadata: MetaData) -> None:
    """Body of every service's env.py: migrate on the connection the platform hands over."""
    from alembic import context

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
    from alembic import op

    new_metadata().create_all(op.get_bind())


def drop_platform_tables() -> None:
    from alembic import op

    new_metadata().drop_all(op.get_bind())
