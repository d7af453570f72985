"""Adapter to the Payment System ("Trigger Payment"): charges with idempotency keys, voids, refunds.

A timeout is not a failure but an unknown outcome: the adapter looks the payment up by its
idempotency key and retries the charge with the same key (so the provider charges at most once).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from eventshop.platform.http import Answer, ExternalSystemClient, ExternalSystemError, NoAnswer, NotConnected, url_path

log = logging.getLogger(__name__)
DECLINE_CODES = frozenset({"card_declined", "insufficient_funds", "expired_card", "invalid_payment_method"})
# The provider did not process the request (busy or down): retry later with the same key.
NOT_PROCESSED = frozenset({429, 503})


class ChargeOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    UNKNOWN = "unknown"  # the charge may or may not have happened; look again later with the same key
    ABSENT = "absent"  # the provider says no charge with this key ever arrived: nothing was charged


@dataclass(frozen=True)
class ChargeResult:
    outcome: ChargeOutcome
    payment_id: str | None = None
    failure_code: str | None = None  # for DECLINED: one of DECLINE_CODES
    failure_message: str | None = None


class PaymentSystemUnavailable(Exception):
    """The provider could not be reached (or kept failing) within the bounded retries; nothing was charged."""


class PaymentSystemError(ExternalSystemError):
    """The provider refused a request for a reason retrying will not change (bad key, over-refund, ...)."""


class PaymentSystemClient(ExternalSystemClient):
    api_key_env = "EVENTSHOP_PAYMENT_SYSTEM_API_KEY"
    system = "payment_system"

    async def charge(
        self,
        *,
        amount: int,
        currency: str,
        token: str,
        reference: str,
        idempotency_key: str,
        capture: bool = True,
        description: str | None = None,
    ) -> ChargeResult:
        """Charge `amount` minor units once per `idempotency_key`; UNKNOWN if the provider's answer never came."""
        body: dict[str, Any] = {"amount": amount, "currency": currency, "payment_method": token,
                                "reference": reference, "capture": capture}
        if description is not None:
            body["description"] = description
        maybe_charged = False
        for attempt in range(self.attempts):
            if attempt:
                await self.pause(attempt)
            try:
                response = await self.call("charge", "POST", "/v1/payments", json=body,
                                           headers={"Idempotency-Key": idempotency_key})
            except NotConnected as exc:  # the request never reached the provider: nothing can have been charged
                log.warning("payment system unreachable for charge %s (%s)", reference, type(exc).__name__)
                continue
            except NoAnswer as exc:
                maybe_charged = True
                log.warning("no answer to charge %s (%s); looking it up", reference, type(exc).__name__)
                found = await self.find_charge(idempotency_key)
                if found is not None:
                    return found
                continue
            if response.status in NOT_PROCESSED:
                continue
            if response.status == 409 or response.status >= 500:
                # 409: the first request with this key is still running; 5xx: it may have been processed.
                maybe_charged = True
                continue
            return _charge_answer(response)
        if maybe_charged:
            return await self.find_charge(idempotency_key) or ChargeResult(ChargeOutcome.UNKNOWN)
        raise PaymentSystemUnavailable(f"no answer from the Payment System after {self.attempts} tries")

    async def find_charge(self, idempotency_key: str) -> ChargeResult | None:
        """The charge sent with this key, once the provider has finished it; None if unknown or unreachable."""
        try:
            response = await self.call("find_charge", "GET", "/v1/payments",
                                       params={"idempotency_key": idempotency_key})
        except NoAnswer:
            return None
        if response.status != 200:
            return None
        found = response.json()
        return _charge_result(found[0]) if found else None

    async def lookup_charge(self, idempotency_key: str) -> ChargeResult:
        """The outcome of the charge sent with this key, as the provider knows it now (one request, no retry).

        UNKNOWN while the provider is still processing it or cannot be asked; ABSENT when it says no charge
        with this key arrived (then nothing was charged).
        """
        try:
            response = await self.call("lookup_charge", "GET", f"/v1/charge-requests/{quote(idempotency_key, safe='')}")
        except NoAnswer as exc:
            log.info("payment system not answering the lookup of %s (%s)", idempotency_key, type(exc).__name__)
            return ChargeResult(ChargeOutcome.UNKNOWN)
        if response.status == 404 and ExternalSystemError.of(response).code == "charge_request_not_found":
            return ChargeResult(ChargeOutcome.ABSENT)
        if response.status != 200:
            return ChargeResult(ChargeOutcome.UNKNOWN)
        found = response.json()
        if found.get("state") != "completed":
            return ChargeResult(ChargeOutcome.UNKNOWN)
        answered = Answer(int(found["status_code"]), json.dumps(found["response"]).encode(), "")
        try:
            return _charge_answer(answered)
        except PaymentSystemError as exc:  # the charge was refused outright (bad key, bad request): not charged
            return ChargeResult(ChargeOutcome.DECLINED, None, "invalid_payment_method", exc.message)

    async def void(self, payment_id: str) -> dict[str, Any]:
        """Release an authorization; the provider's payment object."""
        return await self._call("void", "POST", url_path("v1", "payments", payment_id, "void"))

    async def refund(self, payment_id: str, amount: int | None, idempotency_key: str) -> dict[str, Any]:
        """Refund `amount` minor units (None: all that is left); the provider's refund object."""
        return await self._call("refund", "POST", url_path("v1", "payments", payment_id, "refunds"),
                                json={"amount": amount}, headers={"Idempotency-Key": idempotency_key})

    async def get(self, payment_id: str) -> dict[str, Any]:
        return await self._call("get_payment", "GET", url_path("v1", "payments", payment_id))

    async def test_tokens(self) -> list[dict[str, Any]]:
        """The provider's test payment methods: token, label, description, outcome."""
        result: list[dict[str, Any]] = await self._call("test_tokens", "GET", "/v1/test-tokens")
        return result

    async def _call(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        """Voids, refunds (by key) and reads are idempotent at the provider, so every failure is retried."""
        for attempt in range(self.attempts):
            if attempt:
                await self.pause(attempt)
            try:
                response = await self.call(operation, method, path, **kwargs)
            except NoAnswer as exc:
                log.warning("payment system: %s %s failed (%s)", method, path, type(exc).__name__)
                continue
            if _worth_retrying(response):
                continue
            if response.status >= 400:
                raise PaymentSystemError.of(response)
            return response.json()
        raise PaymentSystemUnavailable(f"no answer from the Payment System for {method} {path}")



def _worth_retrying(response: Answer) -> bool:
    status = response.status
    in_progress = status == 409 and ExternalSystemError.of(response).code == "idempotency_in_progress"
    return status >= 500 or status == 429 or in_progress


def _charge_result(payment: dict[str, Any]) -> ChargeResult:
    if payment.get("status") == "failed":
        code = payment.get("failure_code")
        reason = code if code in DECLINE_CODES else "card_declined"
        return ChargeResult(ChargeOutcome.DECLINED, payment.get("id"), reason, payment.get("failure_message"))
    return ChargeResult(ChargeOutcome.SUCCEEDED, payment["id"])


def _charge_answer(response: Answer) -> ChargeResult:
    if response.status in (200, 201, 402):
        return _charge_result(response.json())
    error = PaymentSystemError.of(response)
    if error.code == "invalid_payment_method":
        return ChargeResult(ChargeOutcome.DECLINED, None, error.code, error.message)
    raise error
