"""Alembic environment of the Product Catalog Database."""

from eventshop.platform.migrations import run_migrations
from eventshop.services.catalog.tables import Base

run_migrations(Base.metadata)
