"""Alembic environment of the Shipping Database."""

from eventshop.platform.migrations import run_migrations
from eventshop.services.shipping.tables import Base

run_migrations(Base.metadata)
