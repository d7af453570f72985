"""Who is calling over HTTP: an Ed25519 key per identity and the short-lived signed tokens that prove it.

Every service, the frontend and the operator hold a private key; every process trusts the public keys of
all. A token is a JWT signed with EdDSA, of one of three kinds:

- service: iss = sub = the calling service, aud = the callee, 5 minutes; ServiceClient mints it and the
  callee checks the caller against the registry's declared requests;
- operator: iss = sub = operator, aud = the callee; the CLI mints it with the operator's key;
- customer: iss = account, sub = the account id, aud = customers, 15 minutes; Account issues it at sign-in
  and on each session check, and every customer resource checks that it belongs to its subject.

Keys come from EVENTSHOP_HTTP_KEY (this process's private key) and EVENTSHOP_HTTP_PUBLIC_KEYS (JSON, name
to public key), else from files in the secrets directory (default <data_dir>/secrets/http, written by
`eventshop up`): `<identity>.key` and `public-keys.json`. EVENTSHOP_DEV_SECRETS=true derives publicly known
keys instead: for development only, never for a shop anyone else can reach.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eventshop.contracts.registry import SERVICES
from eventshop.platform.settings import Settings, env_key

# cryptography and PyJWT (about 8 MB) are imported where keys and tokens are made or checked: a sandbox reads only
# its operator key from here and never loads them.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

OPERATOR = "operator"
FRONTEND = "frontend"
ACCOUNT = "account"
IDENTITIES = (*SERVICES, FRONTEND, OPERATOR)
CUSTOMERS = "customers"  # the audience of a customer token: every service that holds customer data
SERVICE_TOKEN_SECONDS = 300
CUSTOMER_TOKEN_SECONDS = 900
PUBLIC_KEYS = "public-keys.json"
FRONTEND_SESSION_SECRET = "frontend-session.secret"  # signs the shop's session cookies (frontend/sessions.py)
CONSOLE_PASSWORD = "console-password"  # the operator's sign-in to the console (console/signin.py)
CONSOLE_SESSION_SECRET = "console-session.secret"  # signs the console's session cookie
# The external systems' stand-ins take no token of ours: each has its own operator key for its fault switches
# (and the mail catcher's deleting), which only the sandbox and the console hold.
SANDBOXES = ("payment-system", "logistics-system", "mail")
ALGORITHM = "EdDSA"
LEEWAY_SECONDS = 5


class MissingKeys(Exception):
    """This process has no signing key (or no public keys to check others with): a configuration error."""


class InvalidToken(Exception):
    """Not a token this shop issued for this audience, or expired."""


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for: a customer (by account id), a service or the operator."""

    kind: str  # customer | service | operator
    name: str

    def acts_for(self, customer_id: str) -> bool:
        return self.kind == OPERATOR or (self.kind == "customer" and self.name == customer_id)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))


def public_text(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def private_text(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return _encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def dev_key(identity: str) -> Ed25519PrivateKey:
    """A key anyone can derive: EVENTSHOP_DEV_SECRETS only."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"eventshop-dev-key:{identity}".encode()).digest())


class Keyring:
    """This process's signing key and everybody's public keys; mints and verifies tokens, caching both."""

    MAX_CACHED = 10_000

    def __init__(self, identity: str, private: Ed25519PrivateKey | None, public: dict[str, Ed25519PublicKey]) -> None:
        self.identity = identity
        self.private = private
        self.public = public
        self._minted: dict[tuple[str, str], tuple[str, float]] = {}
        self._verified: dict[str, tuple[Principal, float]] = {}

    def mint(self, audience: str, *, subject: str | None = None, kind: str | None = None,
             seconds: int = SERVICE_TOKEN_SECONDS) -> str:
        """A token from this identity; service and operator tokens are reused until a minute before expiry."""
        import jwt

        if self.private is None:
            raise MissingKeys(f"{self.identity} has no signing key")
        kind = kind or (OPERATOR if self.identity == OPERATOR else "service")
        subject = subject or self.identity
        now = time.time()
        reusable = kind != "customer"
        if reusable and (found := self._minted.get((audience, subject))) and found[1] - now > 60:
            return found[0]
        claims = {"iss": self.identity, "sub": subject, "aud": audience, "kind": kind,
                  "iat": int(now), "exp": int(now) + seconds}
        token = jwt.encode(claims, self.private, algorithm=ALGORITHM)
        if reusable:
            self._minted[(audience, subject)] = (token, now + seconds)
        return token

    def verify(self, token: str) -> Principal:
        """The principal a token proves to this process (customer tokens are for every service); InvalidToken
        otherwise."""
        import jwt

        now = time.time()
        if (found := self._verified.get(token)) and found[1] > now:
            return found[0]
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            key = self.public.get(str(issuer))
            if key is None:
                raise InvalidToken("unknown issuer")
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=[self.identity, CUSTOMERS],
                                leeway=LEEWAY_SECONDS, options={"require": ["iss", "sub", "aud", "exp", "kind"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        principal = _principal(claims)
        if len(self._verified) >= self.MAX_CACHED:
            self._verified = {k: v for k, v in self._verified.items() if v[1] > now}
        self._verified[token] = (principal, float(claims["exp"]))
        return principal


def _principal(claims: dict[str, object]) -> Principal:
    kind, issuer, subject = claims["kind"], str(claims["iss"]), str(claims["sub"])
    for_customers = claims["aud"] == CUSTOMERS or claims["aud"] == [CUSTOMERS]
    if kind == "customer" and issuer == ACCOUNT and for_customers:
        return Principal("customer", subject)
    if for_customers:
        raise InvalidToken(f"a {kind} token may not be addressed to every service")
    if kind == OPERATOR and issuer == subject == OPERATOR:
        return Principal(OPERATOR, OPERATOR)
    if kind == "service" and issuer == subject and issuer in (*SERVICES, FRONTEND):
        return Principal("service", issuer)
    raise InvalidToken(f"{issuer} may not issue a {kind} token")


def secrets_dir(settings: Settings) -> Path:
    return settings.http_secrets_dir or settings.data_dir / "secrets" / "http"


def ensure_keys(folder: Path) -> None:
    """A private key file (0600) per identity, the public-keys file, the frontend's and the console's cookie
    secrets, the console's password and each sandbox's operator key, created once (`eventshop up`)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    public = {}
    for identity in IDENTITIES:
        path = _secret_file(folder / f"{identity}.key", lambda: private_text(Ed25519PrivateKey.generate()))
        public[identity] = public_text(Ed25519PrivateKey.from_private_bytes(_decode(path.read_text())))
    (folder / PUBLIC_KEYS).write_text(json.dumps(public, indent=2) + "\n")
    for name in (FRONTEND_SESSION_SECRET, CONSOLE_SESSION_SECRET, *map(sandbox_key_file, SANDBOXES)):
        _secret_file(folder / name, lambda: secrets.token_urlsafe(32))
    _secret_file(folder / CONSOLE_PASSWORD, lambda: secrets.token_urlsafe(18))


def sandbox_key_file(sandbox: str) -> str:
    return f"{sandbox}.operator-key"


def sandbox_key_variable(sandbox: str) -> str:
    return f"EVENTSHOP_{env_key(sandbox)}_OPERATOR_KEY"


def sandbox_operator_key(settings: Settings, sandbox: str) -> str | None:
    """EVENTSHOP_<SANDBOX>_OPERATOR_KEY, else <http secrets dir>/<sandbox>.operator-key (`eventshop up` writes
    it), else None: what the key guards is off."""
    given = os.environ.get(sandbox_key_variable(sandbox), "").strip()
    if given:
        return given
    path = secrets_dir(settings) / sandbox_key_file(sandbox)
    return (path.read_text().strip() or None) if path.is_file() else None


def _secret_file(path: Path, make: Callable[[], str]) -> Path:
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make())
    return path


def generate_keys() -> dict[str, str]:
    """Fresh private keys for every identity (for `eventshop deploy http-keys`)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return {identity: private_text(Ed25519PrivateKey.generate()) for identity in IDENTITIES}


def public_keys_of(private: dict[str, str]) -> dict[str, str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return {name: public_text(Ed25519PrivateKey.from_private_bytes(_decode(key))) for name, key in private.items()}


def load_keyring(settings: Settings, identity: str, *, signing: bool = True) -> Keyring:
    """This identity's keyring from the environment or the secrets directory; MissingKeys says what to do."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    if settings.dev_secrets:
        return Keyring(identity, dev_key(identity), {name: dev_key(name).public_key() for name in IDENTITIES})
    folder = secrets_dir(settings)
    hint = ("run `eventshop up` once (it writes them), or `eventshop deploy http-keys` for a deployment, "
            "or set EVENTSHOP_DEV_SECRETS=true for development")
    try:
        public_json = settings.http_public_keys or (folder / PUBLIC_KEYS).read_text()
        public = {name: Ed25519PublicKey.from_public_bytes(_decode(text))
                  for name, text in json.loads(public_json).items() if name in IDENTITIES}
    except FileNotFoundError:
        raise MissingKeys(f"no public keys (EVENTSHOP_HTTP_PUBLIC_KEYS or {folder / PUBLIC_KEYS}): {hint}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise MissingKeys(f"the public keys are not valid: {exc}") from None
    private = None
    if signing:
        try:
            text = settings.http_key or (folder / f"{identity}.key").read_text()
            private = Ed25519PrivateKey.from_private_bytes(_decode(text))
        except FileNotFoundError:
            raise MissingKeys(f"no signing key for {identity} (EVENTSHOP_HTTP_KEY or "
                              f"{folder / (identity + '.key')}): {hint}") from None
        except ValueError as exc:
            raise MissingKeys(f"the signing key of {identity} is not valid: {exc}") from None
    return Keyring(identity, private, public)


def operator_headers(settings: Settings, callee: str) -> dict[str, str]:
    """The operator's bearer token for one service (CLI commands); MissingKeys without the operator's key."""
    return {"Authorization": f"Bearer {load_keyring(settings, OPERATOR).mint(callee)}"}
