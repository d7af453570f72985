"""Adapter to the Payment System ("Trigger Payment"): charges with idempotency keys, voids, refunds.

A timeout is not a failure but an unknown outcome: the adapter looks the payment up by its
idempotency key and, if the provider has no record yet, retries the charge with the same key
(the provider then either finishes the first attempt or answers with it).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx


class ChargeOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChargeResult:
    outcome: ChargeOutcome
    payment_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class PaymentSystemUnavailable(Exception):
    """The provider could not be reached (or kept failing) within the bounded retries."""


class PaymentSystemError(Exception):
    """The provider refused a request for a reason that retrying will not change."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class PaymentSystemClient:
    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 5.0, attempts: int = 3) -> None:
        key = api_key or os.environ.get("EVENTSHOP_PAYMENT_SYSTEM_API_KEY")
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=1.0),
            headers={"Authorization": f"Bearer {key}"} if key else {},
        )
        self.attempts = attempts

    async def charge(
        self, *, amount: int, currency: str, token: str, reference: str, idempotency_key: str
    ) -> ChargeResult:
        body = {"amount": amount, "currency": currency, "payment_method": token, "reference": reference}
        timed_out = False
        for attempt in range(self.attempts):
            try:
                response = await self.http.post("/v1/payments", json=body, headers={"Idempotency-Key": idempotency_key})
            except httpx.TimeoutException:
                timed_out = True
                found = await self.find_by_key(idempotency_key)
                if found is not None:
                    return _result(found)
                await _pause(attempt)
                continue
            except httpx.TransportError:
                await _pause(attempt)
                continue
            if response.status_code in (409, 429) or response.status_code >= 500:
                timed_out = timed_out or response.status_code == 409  # another attempt is still in flight
                await _pause(attempt)
                continue
            return _answer(response)
        if timed_out:
            return ChargeResult(ChargeOutcome.UNKNOWN)
        raise PaymentSystemUnavailable(f"no answer from the Payment System after {self.attempts} tries")

    async def find_by_key(self, idempotency_key: str) -> dict[str, Any] | None:
        try:
            response = await self.http.get("/v1/payments", params={"idempotency_key": idempotency_key})
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        found = response.json()
        return found[0] if found else None

    async def void(self, payment_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/v1/payments/{payment_id}/void")

    async def refund(self, payment_id: str, amount: int | None, idempotency_key: str) -> dict[str, Any]:
        return await self._call(
            "POST", f"/v1/payments/{payment_id}/refunds", json={"amount": amount},
            headers={"Idempotency-Key": idempotency_key},
        )

    async def get(self, payment_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/v1/payments/{payment_id}")

    async def test_tokens(self) -> list[dict[str, str]]:
        result: list[dict[str, str]] = await self._call("GET", "/v1/test-tokens")
        return result

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Voids, refunds and reads are idempotent at the provider, so they are retried."""
        for attempt in range(self.attempts):
            try:
                response = await self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                await _pause(attempt)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                await _pause(attempt)
                continue
            if response.status_code >= 400:
                error = _error(response)
                raise PaymentSystemError(error[0], error[1])
            return response.json()
        raise PaymentSystemUnavailable(f"no answer from the Payment System for {method} {path}")

    async def aclose(self) -> None:
        await self.http.aclose()


async def _pause(attempt: int) -> None:
    await asyncio.sleep(min(0.2 * 2**attempt, 2.0))


def _error(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}", response.text[:200]


def _result(payment: dict[str, Any]) -> ChargeResult:
    if payment.get("status") in ("succeeded", "authorized", "refunded", "partially_refunded"):
        return ChargeResult(ChargeOutcome.SUCCEEDED, payment["id"])
    return ChargeResult(
        ChargeOutcome.DECLINED, payment.get("id"), payment.get("failure_code") or "card_declined",
        payment.get("failure_message"),
    )


def _answer(response: httpx.Response) -> ChargeResult:
    if response.status_code in (200, 201, 402):
        return _result(response.json())
    code, message = _error(response)
    if response.status_code == 400 and code == "invalid_payment_method":
        return ChargeResult(ChargeOutcome.DECLINED, None, code, message)
    raise PaymentSystemError(code, message)
