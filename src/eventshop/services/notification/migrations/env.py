"""Alembic environment of the Notification Database."""

from eventshop.platform.migrations import run_migrations
from eventshop.services.notification.tables import Base

run_migrations(Base.metadata)
