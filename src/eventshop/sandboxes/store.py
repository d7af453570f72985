"""A tiny SQLite document store for the sandboxes: JSON rows per kind, guarded by one lock."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any


class Store:
    """Each sandbox keeps its records as JSON in one SQLite file: durable across restarts, easy to read."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS records (kind TEXT, key TEXT, seq INTEGER, body TEXT, PRIMARY KEY (kind, key))"
        )

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.db.execute("SELECT body FROM records WHERE kind=? AND key=?", (kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, key: str, body: dict[str, Any]) -> None:
        with self.lock:
            seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM records").fetchone()[0]
            existing = self.db.execute("SELECT seq FROM records WHERE kind=? AND key=?", (kind, key)).fetchone()
            self.db.execute(
                "INSERT OR REPLACE INTO records (kind, key, seq, body) VALUES (?, ?, ?, ?)",
                (kind, key, existing[0] if existing else seq, json.dumps(body)),
            )

    def all(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute("SELECT body FROM records WHERE kind=? ORDER BY seq", (kind,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def clear(self, kind: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM records WHERE kind=?", (kind,))
