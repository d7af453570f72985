"""Logging set-up and the Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "eventshop_events_published_total", "Events published from the outbox", ["service", "type"]
)
EVENTS_CONSUMED = Counter(
    "eventshop_events_consumed_total",
    "Deliveries by outcome: handled, duplicate, retried, dead_lettered",
    ["service", "consumer", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "eventshop_handler_seconds", "Event handler latency", ["service", "type"]
)
OUTBOX_BACKLOG = Gauge("eventshop_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "eventshop_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["service"]
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("service", "correlation_id", "event_id", "event_type"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(service: str, level: str = "INFO", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "nats"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
