"""Alembic environment of the Inventory Database."""

from eventshop.platform.migrations import run_migrations
from eventshop.services.inventory.tables import Base

run_migrations(Base.metadata)
