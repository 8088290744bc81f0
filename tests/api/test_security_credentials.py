"""Credentials a real server must refuse (UNAUTHENTICATED, never echoing the token) and the
ones it accepts: API keys and JWTs verified against a JWKS file made here."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.usecases import identities
from service.usecases.identities import Role, hash_token, new_token, token_key_id
from tests.api.rules_helpers import Clients, clients_for
from tests.api.security_helpers import (
    ISSUER,
    OTHER_PAYER,
    OWN_PAYER,
    Idp,
    Secured,
    bearer,
    expired_at,
    jwt_settings,
    make_idp,
    secured_server,
)


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Idp:
    return make_idp(tmp_path_factory.mktemp("idp"))


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, idp: Idp) -> Iterator[Secured]:
    db = tmp_path_factory.mktemp("creds") / "store.db"
    with secured_server(db, **jwt_settings(idp)) as server:
        yield server


@pytest.fixture(scope="module")
def c(secured: Secured) -> Iterator[Clients]:
    with clients_for(secured.app.target) as clients:
        yield clients


def list_plans(c: Clients, token: str | None) -> grpc.StatusCode:
    try:
        c.rules.ListPlans(rpb.ListPlansRequest(), metadata=bearer(token))
    except grpc.RpcError as err:
        assert token is None or token not in (err.details() or ""), "the token was echoed"
        assert token is None or token not in str(err.trailing_metadata())
        return err.code()
    return grpc.StatusCode.OK


def test_token_format_and_hash() -> None:
    made = new_token()
    assert made.token.startswith("mest_") and token_key_id(made.token) == made.key_id
    assert made.token_hash == hash_token(made.token) and made.token not in made.token_hash
    assert len(made.token.split("_", 2)[2]) == 43  # 256 random bits, base64url


def test_hashes_are_compared_in_constant_time() -> None:
    made = new_token()
    with mock.patch.object(hmac, "compare_digest", wraps=hmac.compare_digest) as cmp:
        assert identities.hash_matches(made.token, made.token_hash)
        assert not identities.hash_matches(made.token[:-1] + "A", made.token_hash)
    assert cmp.call_count == 2


def test_a_valid_key_is_accepted(secured: Secured, c: Clients) -> None:
    assert list_plans(c, secured.tokens["quoter"]) == grpc.StatusCode.OK


@pytest.mark.parametrize(
    "header",
    ["", "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-token", "Bearer mest_short"],
)
def test_missing_or_malformed_credentials(c: Clients, header: str) -> None:
    meta = [("authorization", header)] if header else []
    with pytest.raises(grpc.RpcError) as caught:
        c.rules.ListPlans(rpb.ListPlansRequest(), metadata=meta)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_tampered_key_is_refused(secured: Secured, c: Clients) -> None:
    token = secured.tokens["billing"]
    last = token[-1]
    tampered = token[:-1] + ("A" if last != "A" else "B")
    assert list_plans(c, tampered) == grpc.StatusCode.UNAUTHENTICATED


def test_a_revoked_key_is_refused(secured: Secured, c: Clients) -> None:
    token = secured.add_key("to-revoke", Role.BILLING)
    assert list_plans(c, token) == grpc.StatusCode.OK
    secured.security.revoke_key(secured.key_ids["to-revoke"])
    secured.reload()
    assert list_plans(c, token) == grpc.StatusCode.UNAUTHENTICATED


def test_an_expired_key_is_refused(secured: Secured, c: Clients) -> None:
    token = secured.add_key("expired", Role.BILLING, now=expired_at(), expires_in=timedelta(days=1))
    assert list_plans(c, token) == grpc.StatusCode.UNAUTHENTICATED


def test_a_key_created_while_running_counts_without_a_reload(secured: Secured, c: Clients) -> None:
    """The poller picks a new key up (no reload() call here); it waits for it, not timing it."""
    _, token = secured.security.create_key("late", Role.QUOTER)
    deadline = time.monotonic() + 30
    while list_plans(c, token) != grpc.StatusCode.OK:
        assert time.monotonic() < deadline, "a new key never took effect"
        time.sleep(0.2)


# ---------------------------------------------------------------------------- JWT


def test_a_valid_jwt_maps_role_and_payers(idp: Idp, c: Clients) -> None:
    token = idp.token()
    own = c.rules.ListRuleSets(rpb.ListRuleSetsRequest(), metadata=bearer(token))
    assert {r.payer_id for r in own.rule_sets} == {OWN_PAYER}
    with pytest.raises(grpc.RpcError) as caught:
        c.rules.GetRuleSet(
            rpb.GetRuleSetRequest(payer_id=OTHER_PAYER, version="2026.1"), metadata=bearer(token)
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("label", "changes"),
    [
        ("expired", {"exp": int(time.time()) - 60, "iat": int(time.time()) - 700}),
        ("wrong issuer", {"iss": "https://evil.example.test/"}),
        ("wrong audience", {"aud": "another-service"}),
        ("no expiry", {"exp": None}),
        ("unknown role", {"role": "superuser"}),
    ],
)
def test_bad_jwts_are_unauthenticated(
    idp: Idp, c: Clients, label: str, changes: dict[str, Any]
) -> None:
    token = idp.token(**changes)
    assert list_plans(c, token) == grpc.StatusCode.UNAUTHENTICATED, label


def test_a_jwt_signed_by_another_key_is_unauthenticated(idp: Idp, c: Clients) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert list_plans(c, idp.token(key=other)) == grpc.StatusCode.UNAUTHENTICATED
    assert list_plans(c, idp.token(kid="unknown-kid")) == grpc.StatusCode.UNAUTHENTICATED


def test_a_tampered_jwt_is_unauthenticated(idp: Idp, c: Clients) -> None:
    header, _body, signature = idp.token().split(".")
    forged = idp.token(role="admin").split(".")[1]
    assert list_plans(c, f"{header}.{forged}.{signature}") == grpc.StatusCode.UNAUTHENTICATED


def test_wrong_role_in_a_jwt_is_permission_denied(idp: Idp, c: Clients) -> None:
    token = idp.token(role="quoter", payer_ids=None)
    with pytest.raises(grpc.RpcError) as caught:
        c.rules.ListRuleSets(rpb.ListRuleSetsRequest(), metadata=bearer(token))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert ISSUER  # the issuer the server trusts is the one the tokens name


def test_jwt_settings_need_the_jwks_file_and_audience(tmp_path: Path) -> None:
    from service.app_security import jwt_settings as build
    from tests.conftest import make_settings

    with pytest.raises(ValueError, match="jwt_jwks_file"):
        build(make_settings(tmp_path / "x.db", jwt_issuer=ISSUER))
