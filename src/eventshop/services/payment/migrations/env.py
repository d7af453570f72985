"""Alembic environment of the Payment DB."""

from eventshop.platform.migrations import run_migrations
from eventshop.services.payment.tables import Base

run_migrations(Base.metadata)
