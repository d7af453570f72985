"""The Logistics System sandbox's storage: one row per shipment, unique per shop reference and tracking number."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from eventshop.sandboxes.store import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS shipments (
    id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE, tracking_number TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL, body TEXT NOT NULL);
"""


class ShipmentStore:
    def __init__(self, path: Path) -> None:
        self.file = SqliteFile(path, SCHEMA)

    def add(self, shipment: dict[str, Any]) -> dict[str, Any]:
        """Store a new shipment; if its reference is taken meanwhile, the stored one wins."""
        try:
            with self.file.transaction() as db:
                db.execute(
                    "INSERT INTO shipments (id, reference, tracking_number, created, body) VALUES (?, ?, ?, ?, ?)",
                    (shipment["id"], shipment["reference"], shipment["tracking_number"], shipment["created"],
                     json.dumps(shipment)),
                )
        except sqlite3.IntegrityError:
            existing = self.by_reference(shipment["reference"])
            if existing is None:
                raise  # a tracking-number clash, not a second request for the reference
            return existing
        return shipment

    def _one(self, sql: str, value: str) -> dict[str, Any] | None:
        row = self.file.row(sql, (value,))
        return json.loads(row["body"]) if row else None

    def by_reference(self, reference: str) -> dict[str, Any] | None:
        return self._one("SELECT body FROM shipments WHERE reference=?", reference)

    def by_id(self, shipment_id: str) -> dict[str, Any] | None:
        return self._one("SELECT body FROM shipments WHERE id=?", shipment_id)

    def by_tracking_number(self, tracking_number: str) -> dict[str, Any] | None:
        return self._one("SELECT body FROM shipments WHERE tracking_number=?", tracking_number)

    def newest(self, limit: int) -> list[dict[str, Any]]:
        rows = self.file.rows("SELECT body FROM shipments ORDER BY created DESC LIMIT ?", (limit,))
        return [json.loads(row["body"]) for row in rows]

    def close(self) -> None:
        self.file.close()
