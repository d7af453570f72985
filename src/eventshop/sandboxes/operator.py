"""The sandbox's operator key: what only the sandbox's operator may do (switch faults at run time; for the mail
catcher, delete messages) takes the key the sandbox was started with; without one, that is off."""

from __future__ import annotations

import hmac

from eventshop.platform.identity import sandbox_key_variable


class OperatorKey:
    def __init__(self, sandbox: str, key: str | None) -> None:
        self.key = key
        self.variable = sandbox_key_variable(sandbox)

    @property
    def allowed(self) -> bool:
        return self.key is not None

    def matches(self, sent: str | None) -> bool:
        return self.key is not None and sent is not None and hmac.compare_digest(sent.encode(), self.key.encode())

    def refusal(self, sent: str | None, doing: str, disabled_code: str) -> tuple[int, str, str] | None:
        """Status, code and message when `sent` may not do it (`doing`, e.g. "deleting messages"); None if it may."""
        if self.key is None:
            return 403, disabled_code, f"{doing} is off: start the sandbox with {self.variable}"
        if not self.matches(sent):
            return 401, "operator_key_required", f"{doing} takes the sandbox's operator key; none or another was sent"
        return None


def bearer(authorization: str | None) -> str | None:
    """The key in `Authorization: Bearer <key>`, None without one."""
    if authorization is None or not authorization.startswith("Bearer "):
        return None
    return authorization.removeprefix("Bearer ").strip()
