"""Alembic environment of the Shopping Cart Database."""

from eventshop.platform.migrations import run_migrations
from eventshop.services.cart.tables import Base

run_migrations(Base.metadata)
