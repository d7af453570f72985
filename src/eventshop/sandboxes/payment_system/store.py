"""The Payment System sandbox's storage: payments, idempotency records, refunds and the ledger."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from eventshop.sandboxes.store import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY, reference TEXT NOT NULL, created TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS payments_by_reference ON payments (reference);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, owner TEXT NOT NULL,
    status INTEGER, response TEXT, payment_id TEXT);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, amount INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, payment_id TEXT NOT NULL,
    reference TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, at TEXT NOT NULL);
"""


class KeyState(StrEnum):
    CLAIMED = "claimed"  # first use: go ahead
    IN_PROGRESS = "in_progress"  # the first request with this key is still running
    REUSED = "reused"  # the key came with another body


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Movement:
    type: str  # charge | authorization | void | refund
    amount: int


@dataclass(frozen=True)
class Answer:
    """The response stored under an idempotency key, to be replayed for the same key and body."""

    key: str
    status: int
    body: dict[str, Any]


class PaymentStore:
    def __init__(self, path: Path, owner: str) -> None:
        self.file = SqliteFile(path, SCHEMA)
        # A key left in progress by an earlier run of the sandbox (a crash mid-request) is taken over.
        self.owner = owner

    def claim(self, key: str, fingerprint: str) -> Replay | KeyState:
        with self.file.transaction() as db:
            row = db.execute("SELECT fingerprint, owner, status, response FROM idempotency WHERE key=?",
                             (key,)).fetchone()
            if row is not None and row["fingerprint"] != fingerprint:
                return KeyState.REUSED
            if row is not None and row["status"] is not None:
                return Replay(int(row["status"]), json.loads(row["response"]))
            if row is not None and row["owner"] == self.owner:
                return KeyState.IN_PROGRESS
            db.execute("INSERT OR REPLACE INTO idempotency (key, fingerprint, owner) VALUES (?, ?, ?)",
                       (key, fingerprint, self.owner))
            return KeyState.CLAIMED

    def release(self, key: str) -> None:
        """The request was abandoned before it changed anything: the key may be used afresh."""
        with self.file.transaction() as db:
            db.execute("DELETE FROM idempotency WHERE key=? AND status IS NULL", (key,))

    def save(
        self,
        payment: dict[str, Any] | None,
        *,
        movement: Movement | None = None,
        refund: dict[str, Any] | None = None,
        answer: Answer | None = None,
        at: str,
    ) -> None:
        """The payment's new state, its money movement and the stored answer, all or nothing."""
        with self.file.transaction() as db:
            if payment is not None:
                db.execute("INSERT OR REPLACE INTO payments (id, reference, created, body) VALUES (?, ?, ?, ?)",
                           (payment["id"], payment["reference"], payment["created"], json.dumps(payment)))
            if refund is not None:
                db.execute("INSERT INTO refunds (id, payment_id, amount, created) VALUES (?, ?, ?, ?)",
                           (refund["id"], refund["payment_id"], refund["amount"], refund["created"]))
            if movement is not None and payment is not None:
                db.execute("INSERT INTO ledger (type, payment_id, reference, amount, currency, at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (movement.type, payment["id"], payment["reference"], movement.amount,
                            payment["currency"], at))
            if answer is not None:
                db.execute("UPDATE idempotency SET status=?, response=?, payment_id=? WHERE key=?",
                           (answer.status, json.dumps(answer.body), payment["id"] if payment else None, answer.key))

    def payment(self, payment_id: str) -> dict[str, Any] | None:
        row = self.file.row("SELECT body FROM payments WHERE id=?", (payment_id,))
        return json.loads(row["body"]) if row else None

    def payments(self, reference: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if reference is None:
            rows = self.file.rows("SELECT body FROM payments ORDER BY created DESC LIMIT ?", (limit,))
        else:
            rows = self.file.rows("SELECT body FROM payments WHERE reference=? ORDER BY created DESC LIMIT ?",
                                  (reference, limit))
        return [json.loads(row["body"]) for row in rows]

    def payment_for_key(self, key: str) -> dict[str, Any] | None:
        row = self.file.row("SELECT p.body FROM idempotency i JOIN payments p ON p.id = i.payment_id "
                            "WHERE i.key=? AND i.status IS NOT NULL", (key,))
        return json.loads(row["body"]) if row else None

    def request_for_key(self, key: str) -> dict[str, Any] | None:
        """What became of the request sent with `key`: in progress, or its stored answer; None if none came."""
        row = self.file.row("SELECT status, response FROM idempotency WHERE key=?", (key,))
        if row is None:
            return None
        if row["status"] is None:
            return {"state": "in_progress", "status_code": None, "response": None}
        return {"state": "completed", "status_code": int(row["status"]), "response": json.loads(row["response"])}

    def ledger(self) -> list[dict[str, Any]]:
        rows = self.file.rows("SELECT * FROM ledger ORDER BY seq")
        return [{"id": f"mv_{row['seq']}", "type": row["type"], "payment_id": row["payment_id"],
                 "reference": row["reference"], "amount": row["amount"], "currency": row["currency"],
                 "at": row["at"]} for row in rows]

    def close(self) -> None:
        self.file.close()
