"""Broker identities derived from the registry: what each may publish and pull, their secrets, the server's config.

A service publishes only to its own topic's subjects and its own dead-letter subjects. Subscribing is
narrower than it looks: JetStream pull consumers deliver to the client's inbox, so what a service may read
is decided by which consumers it may create and pull from (its seed subscriptions' durables,
`<service>--<topic>`) and which inbox it may subscribe to (its own prefix). It may only read stream
information: creating or updating streams (whose sources or republish settings could copy messages into
another topic) is the operator's `setup-broker` step. The operator identity may do everything.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from eventshop.contracts.registry import SERVICES
from eventshop.platform.broker import DEAD_LETTER_PREFIX, BrokerLogin, consumer_specs, inbox_prefix
from eventshop.platform.settings import Settings, env_key

OPERATOR = "operator"
SERVER_CONFIG = "nats-server.conf"


@dataclass(frozen=True)
class Identity:
    name: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def service_identity(service: str) -> Identity:
    topic = SERVICES[service].topic
    publish = [f"{topic}.>"] if topic else []
    publish += [f"{DEAD_LETTER_PREFIX}.{service}.>", "$JS.API.INFO", "$JS.API.STREAM.INFO.*"]
    for spec in consumer_specs(service, max_deliver=1):
        where = f"{spec.stream}.{spec.durable}"
        publish += [
            f"$JS.API.CONSUMER.CREATE.{where}",
            f"$JS.API.CONSUMER.CREATE.{where}.>",  # the form with the filter subject in it
            f"$JS.API.CONSUMER.INFO.{where}",
            f"$JS.API.CONSUMER.MSG.NEXT.{where}",
            f"$JS.ACK.{where}.>",
            f"$JS.ACK.*.*.{where}.>",  # the acknowledgement subject with domain and account hash
        ]
    return Identity(service, tuple(publish), (f"{inbox_prefix(service)}.>",))


def identities() -> list[Identity]:
    return [service_identity(name) for name in SERVICES] + [Identity(OPERATOR, (">",), (">",))]


def password_variable(name: str) -> str:
    """The variable the production server config reads a password from, e.g. NATS_PASSWORD_ORDER."""
    return f"NATS_PASSWORD_{env_key(name)}"


def server_config(passwords: Mapping[str, str] | None = None) -> str:
    """nats-server's authorization block; with no passwords given, each is read from its environment variable."""
    users = []
    for identity in identities():
        password = json.dumps(passwords[identity.name]) if passwords else f"${password_variable(identity.name)}"
        users.append(
            f"    {{user: {json.dumps(identity.name)}, password: {password}, permissions: {{\n"
            f"      publish: {{allow: {json.dumps(list(identity.publish))}}}\n"
            f"      subscribe: {{allow: {json.dumps(list(identity.subscribe))}}}\n"
            "    }}"
        )
    # No no_auth_user: a client without credentials is refused.
    return "authorization {\n  users = [\n" + "\n".join(users) + "\n  ]\n}\n"


def secrets_dir(settings: Settings) -> Path:
    return settings.nats_secrets_dir or settings.data_dir / "secrets" / "nats"


def ensure_secrets(folder: Path) -> Path:
    """A password file (0600) per identity, created once; the server config written from them. Returns its path."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    passwords = {}
    for identity in identities():
        path = folder / identity.name
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        passwords[identity.name] = path.read_text().strip()
    config = folder / SERVER_CONFIG
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(server_config(passwords))
    return config


def login_for(settings: Settings, identity: str) -> BrokerLogin | None:
    """EVENTSHOP_NATS_PASSWORD (and _USER, default the identity) if set, else the identity's file in the
    secrets directory, else none (an anonymous client, which a broker with generated config refuses)."""
    if settings.nats_password:
        return BrokerLogin(settings.nats_user or identity, settings.nats_password)
    path = secrets_dir(settings) / identity
    return BrokerLogin(identity, path.read_text().strip()) if path.is_file() else None
