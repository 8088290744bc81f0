"""A real server with authentication on, one API key per role, JWKS files and JWTs signed with
keys made here (cryptography), for the security tests of the API, the CLI and the gateway."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from service.app import Application, start
from service.storage.security import SecurityStore
from service.usecases.identities import Role
from tests.conftest import make_settings

OWN_PAYER = "acme-health"
OTHER_PAYER = "birch-health"
ISSUER = "https://idp.example.test/"
AUDIENCE = "massage-estimator"


@dataclass
class Secured:
    """A running server with authentication on and a token per role."""

    app: Application
    tokens: dict[str, str] = field(default_factory=dict)  # role (or label) -> token
    key_ids: dict[str, str] = field(default_factory=dict)

    @property
    def security(self) -> SecurityStore:
        assert self.app.security is not None
        return self.app.security.store

    def add_key(self, label: str, role: Role, payers: tuple[str, ...] = (), **kw: Any) -> str:
        key, token = self.security.create_key(f"test-{label}", role, payers, **kw)
        self.tokens[label], self.key_ids[label] = token, key.key_id
        self.reload()
        return token

    def reload(self) -> None:
        """Read the key table now instead of waiting for the poller."""
        assert self.app.security is not None
        self.app.security.authenticator.reload()


def bearer(token: str | None) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")] if token else []


@contextmanager
def secured_server(db: Path, **overrides: object) -> Iterator[Secured]:
    """A server whose store holds one key per role (payer_admin for OWN_PAYER) before it
    starts, so authentication is on from the first call."""
    settings = make_settings(db, **overrides)
    from service.storage import create_store

    store = create_store(settings.database_url)
    store.migrate()
    keys = SecurityStore(store.engine)
    made: dict[str, tuple[str, str]] = {}
    for role in Role:
        payers = (OWN_PAYER,) if role is Role.PAYER_ADMIN else ()
        key, token = keys.create_key(f"test-{role.value}", role, payers)
        made[role.value] = (key.key_id, token)
    store.engine.dispose()
    app = start(settings)
    try:
        yield Secured(
            app,
            tokens={label: t for label, (_, t) in made.items()},
            key_ids={label: k for label, (k, _) in made.items()},
        )
    finally:
        app.stop(grace=1.0)


# ---------------------------------------------------------------------------- JWT


@dataclass
class Idp:
    """An identity provider's signing key, its JWKS file, and a way to mint tokens."""

    key: rsa.RSAPrivateKey
    jwks_file: Path
    kid: str = "test-key-1"

    def token(
        self, *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "portal-client",
            "client_id": "acme-portal",
            "iat": now,
            "exp": now + 600,
            "role": "payer_admin",
            "payer_ids": [OWN_PAYER],
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(
            body, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


def make_idp(folder: Path) -> Idp:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "test-key-1", "alg": "RS256", "use": "sig"})
    path = folder / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}), encoding="utf-8")
    return Idp(key, path)


def jwt_settings(idp: Idp) -> dict[str, object]:
    return {
        "jwt_jwks_file": idp.jwks_file,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
    }


def expired_at() -> datetime:
    return datetime.now(UTC) - timedelta(days=2)


def code_of(call: Any) -> grpc.StatusCode:
    """The status code of a call made with `call()` (OK when it returned)."""
    try:
        call()
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK
