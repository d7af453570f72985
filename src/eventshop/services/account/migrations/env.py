"""Alembic environment of the Account Database."""

from eventshop.platform.migrations import run_migrations
from eventshop.services.account.tables import Base

run_migrations(Base.metadata)
