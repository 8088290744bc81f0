"""Who may call the service: roles, API keys (opaque bearer tokens) and the audit record.

An API key reads `mest_<id>_<secret>`: the prefix makes a leaked key easy to spot in a
repository or a log scanner, the id finds its row without revealing anything, the secret is 256
random bits. The store keeps only the SHA-256 of the whole token (a hash of a 256-bit random
secret cannot be brute-forced, so no slow KDF is needed) and compares it in constant time.

The store behind these types is service.storage.security; the server side that checks them is
service.api.security; the CLI that manages them is service.cli.tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    """What an identity may do (service.api.security.permissions says it RPC by RPC)."""

    QUOTER = "quoter"  # booking front ends: estimates and the plan list
    BILLING = "billing"  # adds saved quotes, batches and reading rules
    PAYER_ADMIN = "payer_admin"  # its own payers' rule sets only
    ADMIN = "admin"  # everything


TOKEN_PREFIX = "mest_"
_TOKEN_RE = re.compile(r"^mest_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")


class CredentialError(ValueError):
    """A token, role or duration a user typed cannot be used (a usage error)."""


@dataclass(frozen=True)
class NewToken:
    """A freshly made API key: `token` is shown once and never stored."""

    key_id: str
    token: str
    token_hash: str


def new_token() -> NewToken:
    key_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return NewToken(key_id=key_id, token=token, token_hash=hash_token(token))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_key_id(token: str) -> str | None:
    """The id part of a well-formed API key, else None."""
    match = _TOKEN_RE.match(token)
    return match.group(1) if match else None


def hash_matches(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(hash_token(token).encode("ascii"), stored_hash.encode("ascii"))


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise CredentialError(f"unknown role {value!r}: use one of {known}") from None


def parse_duration(value: str) -> timedelta:
    """'90d', '12h' or '30m' as a timedelta."""
    match = _DURATION_RE.match(value)
    if not match or int(match.group(1)) == 0:
        raise CredentialError(f"expiry {value!r}: write a positive number of days, e.g. 90d")
    amount, unit = int(match.group(1)), match.group(2)
    return {
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "m": timedelta(minutes=amount),
    }[unit]


@dataclass(frozen=True)
class ApiKey:
    """One API key as stored (never its secret)."""

    key_id: str
    name: str
    role: Role
    payer_ids: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    token_hash: str = field(repr=False)

    def usable(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and datetime.now(UTC) >= self.expires_at:
            return "expired"
        return "active"


@dataclass(frozen=True)
class AuditRecord:
    """One append-only audit entry: who (identity id and name), what, when and how it ended."""

    at: datetime
    identity_id: str
    identity_name: str
    action: str  # an RPC name or a CLI action such as tokens.create
    outcome: str  # OK or a status code name
    payer_id: str = ""
    version: str = ""
    checksum: str = ""
    detail: str = ""
    seq: int = 0  # assigned by the store


class KeyStore(Protocol):
    """Where API keys live (service.storage.security.SecurityStore)."""

    def keys(self) -> Sequence[ApiKey]: ...


class AuditLog(Protocol):
    """Where audit records are appended (service.storage.security.SecurityStore)."""

    def append_audit(self, record: AuditRecord) -> None: ...
