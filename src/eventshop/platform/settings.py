"""Process settings from EVENTSHOP_* environment variables, built once at the edge."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventshop.contracts.registry import STYLES, Style

ACK_WAIT_SECONDS = 30.0  # the consumers' ack wait unless EVENTSHOP_ACK_WAIT_SECONDS says otherwise

# Offsets from the port base, one per process that `eventshop up` starts.
PORT_OFFSETS: dict[str, int] = {
    "frontend": 0,
    "account": 1,
    "catalog": 2,
    "inventory": 3,
    "cart": 4,
    "order": 5,
    "payment": 6,
    "shipping": 7,
    "notification": 8,
    "console": 9,
    "payment-system": 101,
    "logistics-system": 102,
    "mail": 103,
    "smtp": 25,
    "nats": 422,
}
MAX_PORT_BASE = 65535 - max(PORT_OFFSETS.values())


def env_key(name: str) -> str:
    """`payment-system` -> `PAYMENT_SYSTEM`, the form used inside variable names."""
    return name.upper().replace("-", "_")


class InvalidSetting(ValueError):
    """A bad EVENTSHOP_* value; the message is one line naming the variable, what it holds and what is wrong."""


def invalid_setting(name: str, value: object, problem: str) -> InvalidSetting:
    return InvalidSetting(f"{name}={value!r}: {problem}")


class EnvSettings(BaseSettings):
    """Settings read from EVENTSHOP_* variables, whose bad values raise InvalidSetting naming the variable."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            problem = exc.errors()[0]
            if not problem["loc"]:  # a rule across settings: its message names them
                raise InvalidSetting(str(problem.get("ctx", {}).get("error", problem["msg"]))) from None
            name = str(self.model_config.get("env_prefix", "")) + "_".join(str(part) for part in problem["loc"])
            raise invalid_setting(name.upper(), problem.get("input"), problem["msg"]) from None


def saga_style(name: str, value: str) -> Style:
    """A saga style given on the command line (`--saga`), or InvalidSetting naming the option."""
    for style in STYLES:
        if value == style:
            return style
    raise invalid_setting(name, value, f"Input should be {' or '.join(repr(s) for s in STYLES)}")


def float_from_env(name: str, default: float) -> float:
    """A positive number from the environment variable `name`, for the few settings read without a model."""
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise invalid_setting(name, raw, "Input should be a number") from None
    if not value > 0:
        raise invalid_setting(name, raw, "Input should be greater than 0")
    return value


class Settings(EnvSettings):
    """Everything a process needs to know about where things are."""

    model_config = SettingsConfigDict(env_prefix="EVENTSHOP_", extra="ignore")

    data_dir: Path = Field(default=Path("eventshop-data"))
    port_base: int = Field(default=8000, ge=1, le=MAX_PORT_BASE)
    host: str = "127.0.0.1"
    nats_url: str | None = None
    # The process's broker credential; without one it is read from <nats_secrets_dir>/<identity>
    # (default <data_dir>/secrets/nats, written by `eventshop up`). See platform/broker_auth.py.
    nats_user: str | None = None
    nats_password: str | None = None
    nats_secrets_dir: Path | None = None
    stream_replicas: int = Field(default=1, ge=1, le=5)
    # How an order's saga runs: services react to each other's events (choreography), or Order calls each
    # step (orchestration). Every process of one shop must run the same style (`eventshop up --saga`).
    saga: Style = "choreography"
    # A failing delivery is retried with capped exponential backoff until the message's first failure is
    # older than the budget: longer than the slowest dependency's documented worst case (Account frozen
    # 150 s). max_deliveries is only a hard cap on top (also the server's max_deliver), far beyond the budget.
    retry_budget_seconds: float = Field(default=600.0, gt=0)
    max_deliveries: int = Field(default=1000, ge=1)
    # How long the broker waits for a delivery's ack before handing it out again (a crashed consumer's
    # deliveries come back after this). A delivery still running says so once a third of it has passed, checked
    # every 2 s (the pull heartbeat), hence the lower bound.
    ack_wait_seconds: float = Field(default=ACK_WAIT_SECONDS, ge=6, le=3600)
    # Deliveries one consumer handles at once (different orders in parallel, one order in sequence).
    consumer_max_in_flight: int = Field(default=64, ge=1, le=1000)
    retry_base_seconds: float = Field(default=0.2, gt=0)
    retry_max_seconds: float = Field(default=30.0, gt=0)
    http_timeout_seconds: float = Field(default=3.0, gt=0)
    # Published outbox rows and inbox marks are deleted after these (platform/housekeeping.py); an inbox
    # mark must outlive every redelivery of its message, so its retention is far above retry_budget_seconds.
    outbox_retention_hours: float = Field(default=24.0, gt=0)
    inbox_retention_hours: float = Field(default=168.0, gt=0)
    # HTTP identity (platform/identity.py): this process's private key and everybody's public keys, else
    # files in <http_secrets_dir> (default <data_dir>/secrets/http, written by `eventshop up`). dev_secrets
    # derives publicly known keys instead: development only.
    http_secrets_dir: Path | None = None
    http_key: str | None = None
    http_public_keys: str | None = None
    dev_secrets: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool = False
    # OTLP/HTTP collector for traces (platform/tracing.py), e.g. http://collector:4318; unset: no export.
    otlp_endpoint: str | None = None
    # Each process keeps its last trace_recent_spans finished spans in memory for the console's order page
    # (GET /ops/traces/{trace_id}); trace_recording=false keeps none.
    trace_recording: bool = True
    trace_recent_spans: int = Field(default=10_000, ge=100, le=1_000_000)
    # Test switch: the relay publishes every event twice and holds some back, so
    # consumers see duplicates and cross-topic reordering.
    chaos_duplicates: bool = False
    chaos_max_delay_ms: int = Field(default=0, ge=0)
    # Explicit base URLs by name (tests and in-process runs); env vars and ports otherwise.
    service_urls: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _marks_outlive_redeliveries(self) -> Settings:
        if self.inbox_retention_hours * 3600 <= self.retry_budget_seconds:
            raise ValueError(
                f"EVENTSHOP_INBOX_RETENTION_HOURS={self.inbox_retention_hours:g}: an inbox mark must outlive every "
                f"redelivery, so keep it longer than EVENTSHOP_RETRY_BUDGET_SECONDS={self.retry_budget_seconds:g}")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def port(self, name: str) -> int:
        variable = f"EVENTSHOP_{env_key(name)}_PORT"
        override = os.environ.get(variable)
        if not override:
            return self.port_base + PORT_OFFSETS[name]
        if not override.isdigit() or not 0 < int(override) < 65536:
            raise invalid_setting(variable, override, "Input should be a port number from 1 to 65535")
        return int(override)

    def url(self, name: str) -> str:
        """Base URL of a service or sandbox: EVENTSHOP_<NAME>_URL, else its local port."""
        if name in self.service_urls:
            return self.service_urls[name].rstrip("/")
        override = os.environ.get(f"EVENTSHOP_{env_key(name)}_URL")
        return override.rstrip("/") if override else f"http://{self.host}:{self.port(name)}"

    def database_url(self, service: str) -> str:
        """EVENTSHOP_<SERVICE>_DATABASE_URL, else a SQLite file in the data directory."""
        override = os.environ.get(f"EVENTSHOP_{env_key(service)}_DATABASE_URL")
        if override:
            return override
        path = (self.data_dir / "db" / f"{service}.sqlite3").resolve()
        return f"sqlite+aiosqlite:///{path}"
