"""Bearer tokens for tests: as a service, the operator or a customer (platform/identity.py).

In-process services run with EVENTSHOP_DEV_SECRETS (settings fixture); a shop of real processes has its own
keys in its data directory (tests/shop.py).
"""

from __future__ import annotations

from eventshop.platform.identity import CUSTOMERS, load_keyring
from eventshop.platform.settings import Settings

DEV = Settings(dev_secrets=True)
SECONDS = 3600  # longer than the suite: module-level headers stay valid to its end


def as_service(caller: str, callee: str, settings: Settings = DEV) -> dict[str, str]:
    return {"Authorization": f"Bearer {load_keyring(settings, caller).mint(callee, seconds=SECONDS)}"}


def as_operator(callee: str, settings: Settings = DEV) -> dict[str, str]:
    return as_service("operator", callee, settings)


def as_customer(customer_id: str, settings: Settings = DEV) -> dict[str, str]:
    token = load_keyring(settings, "account").mint(CUSTOMERS, subject=customer_id, kind="customer", seconds=SECONDS)
    return {"Authorization": f"Bearer {token}"}
