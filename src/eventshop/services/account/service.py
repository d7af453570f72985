"""The Account Service declaration."""

from __future__ import annotations

from pathlib import Path

from eventshop.platform.db import Database
from eventshop.platform.runtime import Service
from eventshop.platform.settings import Settings
from eventshop.services.account.api import router
from eventshop.services.account.tables import Base
from eventshop.services.account.usecases import AccountContext, AccountSettings


def declare() -> Service[AccountContext]:
    policy = AccountSettings()  # read here: a bad value stops the process before it serves

    async def make_context(db: Database, settings: Settings) -> AccountContext:
        return AccountContext(db=db, settings=settings, policy=policy)

    return Service(
        name="account",
        metadata=Base.metadata,
        migrations=Path(__file__).parent / "migrations",
        router=router,
        make_context=make_context,
    )
