"""Authentication: an `authorization: Bearer ...` header -> an Identity, or AuthError.

Two kinds of credential are accepted:
- API keys (`mest_<id>_<secret>`, service.usecases.identities): looked up by id in an
  in-memory snapshot of the key table, the SHA-256 of the token compared in constant time,
  revocation and expiry checked. A background thread reloads the snapshot every
  KEY_POLL_SECONDS, so keys created or revoked through any replica's database take effect on
  every running server within that time, and the request path never reads the database.
- JWTs from an organisation's identity provider, verified with PyJWT against the keys of a
  JWKS file (re-read when the file changes, so keys rotate without a restart): signature,
  issuer, audience, expiry. Claims map to a role and payers by settings.

Authentication is on when any API key exists in the store (revoked ones included: revoking
the last key must not open the service) or a JWT issuer is configured.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from service.usecases.identities import (
    TOKEN_PREFIX,
    ApiKey,
    CredentialError,
    KeyStore,
    Role,
    hash_matches,
    parse_role,
    token_key_id,
)

log = logging.getLogger(__name__)

KEY_POLL_SECONDS = 1.0
"""How often the key snapshot is reloaded: a created or revoked key counts within ~1 s."""

JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
"""Asymmetric algorithms only: never `none`, never an HMAC secret taken from a public key."""


class AuthError(Exception):
    """The call carries no usable credential (UNAUTHENTICATED). The message never holds the
    token."""


@dataclass(frozen=True)
class Identity:
    """Who is calling: a key id (or `jwt:<subject>`), a display name, a role and, for a
    payer_admin, the payers it may act for."""

    id: str
    name: str
    role: Role
    payer_ids: frozenset[str] = frozenset()

    @property
    def payer_scope(self) -> frozenset[str] | None:
        """The payers this identity is limited to (None: not payer-scoped)."""
        return self.payer_ids if self.role is Role.PAYER_ADMIN else None


@dataclass(frozen=True)
class JwtSettings:
    jwks_file: Path
    issuer: str
    audience: str
    role_claim: str = "role"
    payers_claim: str = "payer_ids"


class _Jwks:
    """The keys of a JWKS file by kid, re-read when the file's mtime changes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mtime = -1.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._lock = threading.Lock()
        self._load()  # a missing or bad file fails start-up, not the first call

    def _load(self) -> None:
        mtime = self._path.stat().st_mtime
        if mtime == self._mtime:
            return
        data = json.loads(self._path.read_text(encoding="utf-8"))
        keys: dict[str, jwt.PyJWK] = {}
        for entry in data.get("keys", []):
            key = jwt.PyJWK(entry)
            keys[str(entry.get("kid", ""))] = key
        if not keys:
            raise ValueError(f"JWKS file {self._path} holds no keys")
        self._keys, self._mtime = keys, mtime

    def key(self, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            try:
                self._load()
            except (OSError, ValueError) as exc:  # keep the keys we had; say why once
                log.warning("cannot re-read the JWKS file: %s", exc)
            if kid in self._keys:
                return self._keys[kid]
            if not kid and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            return None


class Authenticator:
    """Turns a bearer credential into an Identity; see the module docstring."""

    def __init__(
        self,
        keys: KeyStore | None,
        jwt_settings: JwtSettings | None = None,
        *,
        poll_seconds: float = KEY_POLL_SECONDS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = keys
        self._jwt = jwt_settings
        self._jwks = _Jwks(jwt_settings.jwks_file) if jwt_settings is not None else None
        self._poll = poll_seconds
        self._now = now
        self._keys: dict[str, ApiKey] = {}
        self._any_key = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.reload()

    # ------------------------------------------------------------------ key snapshot

    def reload(self) -> None:
        """Read the key table now (the poller calls this; tests may too)."""
        if self._store is None:
            return
        loaded: Sequence[ApiKey] = self._store.keys()
        self._keys = {k.key_id: k for k in loaded}
        self._any_key = bool(loaded)

    def start(self) -> None:
        if self._store is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="api-key-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.reload()
                if self._failing:
                    log.info("API keys readable again")
                self._failing = False
            except Exception as exc:  # the database is away: keep the last snapshot
                if not self._failing:
                    log.warning("cannot reload API keys (keeping the last ones read): %s", exc)
                self._failing = True

    # ------------------------------------------------------------------ checks

    @property
    def enabled(self) -> bool:
        return self._jwt is not None or self._any_key

    def authenticate(self, authorization: str | None) -> Identity:
        if not authorization:
            raise AuthError("missing credentials: send `authorization: Bearer <token>`")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise AuthError("malformed authorization header: expected `Bearer <token>`")
        if credential.startswith(TOKEN_PREFIX):
            return self._api_key(credential)
        if credential.count(".") == 2 and self._jwt is not None:
            return self._jwt_identity(credential)
        raise AuthError("invalid credentials")

    def _api_key(self, token: str) -> Identity:
        key_id = token_key_id(token)
        key = self._keys.get(key_id) if key_id else None
        if key is None or not hash_matches(token, key.token_hash):
            raise AuthError("invalid credentials")
        if key.revoked_at is not None:
            raise AuthError(f"API key {key.key_id} is revoked")
        if key.expires_at is not None and self._now() >= key.expires_at:
            raise AuthError(f"API key {key.key_id} has expired")
        return Identity(key.key_id, key.name, key.role, frozenset(key.payer_ids))

    def _jwt_identity(self, token: str) -> Identity:
        assert self._jwt is not None and self._jwks is not None
        try:
            header = jwt.get_unverified_header(token)
            key = self._jwks.key(str(header.get("kid", "")))
            if key is None:
                raise AuthError("invalid credentials: unknown signing key")
            algorithm = key.algorithm_name or str(header.get("alg", ""))
            if algorithm not in JWT_ALGORITHMS:
                raise AuthError("invalid credentials: unsupported algorithm")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self._jwt.audience,
                issuer=self._jwt.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("credentials have expired") from None
        except jwt.InvalidIssuerError:
            raise AuthError("invalid credentials: wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise AuthError("invalid credentials: wrong audience") from None
        except jwt.PyJWTError:
            raise AuthError("invalid credentials") from None
        try:
            role = parse_role(str(claims.get(self._jwt.role_claim, "")))
        except CredentialError:
            raise AuthError(
                f"invalid credentials: no known role in {self._jwt.role_claim}"
            ) from None
        raw = claims.get(self._jwt.payers_claim, [])
        payers = raw.split() if isinstance(raw, str) else [str(p) for p in raw or []]
        subject = str(claims["sub"])
        name = str(claims.get("client_id") or claims.get("azp") or subject)
        return Identity(f"jwt:{subject}", name, role, frozenset(payers))
