"""The CloudEvents 1.0 envelope every event travels in, with correlation, causation and trace context."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """Base of every event payload. The class name is the CloudEvents type (the seed's name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def subject_name(cls) -> str:
        """The NATS subject the event is published on: `<topic>.<EventType>`."""
        return f"{cls.topic}.{cls.__name__}"

    def key(self) -> str:
        """The entity the event is about (CloudEvents `subject`); the order id by default."""
        return str(getattr(self, "order_id", "") or getattr(self, "account_id", ""))


def new_trace_parent() -> str:
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def child_trace_parent(parent: str | None) -> str:
    """Same trace, new span: the W3C way of saying 'caused by'."""
    if not parent or parent.count("-") != 3:
        return new_trace_parent()
    version, trace_id, _, flags = parent.split("-")
    return f"{version}-{trace_id}-{os.urandom(8).hex()}-{flags}"


class Envelope(BaseModel):
    """Structured-mode CloudEvent. `data` is the event payload as JSON."""

    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
