"""Alembic environment of the Order Database."""

from eventshop.platform.migrations import run_migrations
from eventshop.services.order.tables import Base

run_migrations(Base.metadata)
