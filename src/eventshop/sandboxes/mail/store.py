"""The mail catcher's storage: every accepted message, parsed parts and the raw bytes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from eventshop.sandboxes.store import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, received TEXT NOT NULL,
    sender TEXT NOT NULL, envelope_from TEXT, recipients TEXT NOT NULL, subject TEXT NOT NULL,
    message_id TEXT, text TEXT NOT NULL, html TEXT NOT NULL, size INTEGER NOT NULL,
    authenticated_as TEXT, raw BLOB NOT NULL);
"""
FIELDS = ("id", "received", "sender", "envelope_from", "recipients", "subject", "message_id", "text", "html",
          "size", "authenticated_as")


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _as_json(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "from": row["sender"], "envelope_from": row["envelope_from"],
            "to": json.loads(row["recipients"]), "subject": row["subject"], "message_id": row["message_id"],
            "text": row["text"], "html": row["html"], "received": row["received"], "size": row["size"],
            "authenticated_as": row["authenticated_as"]}


class MailStore:
    def __init__(self, path: Path) -> None:
        self.file = SqliteFile(path, SCHEMA)

    def add(self, message: dict[str, Any], raw: bytes) -> None:
        values = [json.dumps(message["to"]) if name == "recipients" else message[name] for name in FIELDS]
        with self.file.transaction() as db:
            db.execute(f"INSERT INTO messages ({', '.join(FIELDS)}, raw) VALUES ({', '.join('?' * len(FIELDS))}, ?)",
                       [*values, raw])

    def find(self, to: str | None = None, subject: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first; `to` and `subject` match parts, ignoring case."""
        clauses, params = ["1=1"], []
        if to:
            clauses.append("recipients LIKE ? ESCAPE '\\'")
            params.append(_like(to))
        if subject:
            clauses.append("subject LIKE ? ESCAPE '\\'")
            params.append(_like(subject))
        sql = f"SELECT * FROM messages WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT ?"
        return [_as_json(row) for row in self.file.rows(sql, [*params, limit])]

    def get(self, message_id: str) -> dict[str, Any] | None:
        row = self.file.row("SELECT * FROM messages WHERE id=?", (message_id,))
        return _as_json(row) if row else None

    def raw(self, message_id: str) -> bytes | None:
        row = self.file.row("SELECT raw FROM messages WHERE id=?", (message_id,))
        return bytes(row["raw"]) if row else None

    def clear(self) -> int:
        with self.file.transaction() as db:
            return db.execute("DELETE FROM messages").rowcount

    def close(self) -> None:
        self.file.close()
