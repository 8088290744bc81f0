"""Withdrawing a bad version (WithdrawRuleSet, `rules withdraw`): it stops answering at once,
the version it had superseded answers again or the replacement does (published in the same
transaction), quotes saved before still replay with it, and the audit records it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import grpc
import pytest
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.app import Application
from tests.api.rules_helpers import (
    Clients,
    acme_variant,
    august_session,
    clients_for,
    mid_year_2026,
    running_server,
)
from tests.api.security_helpers import bearer, secured_server
from tests.cli.test_cli import run

BAD = mid_year_2026(allowed_97124="0.01")  # 2026.2 from 2026-07-01: a cent a unit


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Application]:
    with running_server(tmp_path / "s.db") as running:
        yield running


@pytest.fixture
def c(app: Application) -> Iterator[Clients]:
    with clients_for(app.target) as clients:
        yield clients


def publish(c: Clients, content: str) -> None:
    c.rules.PublishRuleSet(
        rpb.PublishRuleSetRequest(content=content, source="bad.yaml", published_by="analyst")
    )


def answering(c: Clients) -> str:
    estimate = c.estimator.EstimateSession(pb.EstimateSessionRequest(session=august_session()))
    return str(estimate.estimate.rule_version.version)


def withdraw(c: Clients, version: str, replacement: str = "") -> rpb.WithdrawRuleSetResponse:
    response: rpb.WithdrawRuleSetResponse = c.rules.WithdrawRuleSet(
        rpb.WithdrawRuleSetRequest(
            payer_id="acme-health",
            version=version,
            reason="97124 at $0.01 a unit",
            withdrawn_by="analyst",
            replacement_content=replacement,
            replacement_source="/home/analyst/fixed.yaml" if replacement else "",
        )
    )
    return response


def test_a_withdrawn_version_stops_answering_and_saved_quotes_still_replay(c: Clients) -> None:
    publish(c, BAD)
    assert answering(c) == "2026.2"
    saved = c.estimator.EstimateSession(
        pb.EstimateSessionRequest(session=august_session(), save_quote=True)
    )

    gone = withdraw(c, "2026.2")
    assert gone.withdrawn and not gone.HasField("replacement")
    assert gone.rule_set.HasField("withdrawn_at")
    assert gone.rule_set.withdrawn_reason == "97124 at $0.01 a unit"
    assert answering(c) == "2026.1"  # the superseded version answers again

    replayed = c.estimator.GetQuote(pb.GetQuoteRequest(quote_id=saved.quote_id))
    assert replayed.rule_version.version == "2026.2"
    assert replayed.replay.rule_version.version == "2026.2" and replayed.replay_matches

    listed = {r.version: r for r in c.rules.ListRuleSets(rpb.ListRuleSetsRequest()).rule_sets}
    assert listed["2026.2"].HasField("withdrawn_at") and not listed["2026.1"].HasField(
        "withdrawn_at"
    )
    plans = c.rules.ListPlans(rpb.ListPlansRequest(payer_id="acme-health"))
    served = {v.version for p in plans.plans for v in p.versions}
    assert "2026.2" not in served

    again = withdraw(c, "2026.2")
    assert not again.withdrawn  # nothing changed


def test_a_replacement_starting_the_same_day_answers_at_once(c: Clients) -> None:
    publish(c, BAD)
    fixed = acme_variant("2026.3", date(2026, 7, 1), date(2026, 12, 31), allowed_97124="34.00")
    response = withdraw(c, "2026.2", replacement=fixed)
    assert response.replacement.version == "2026.3"
    assert response.replacement.source == "fixed.yaml"
    assert answering(c) == "2026.3"


def test_a_refused_replacement_leaves_the_version_answering(c: Clients) -> None:
    publish(c, BAD)
    clash = acme_variant("2026.1", date(2026, 7, 1), date(2026, 12, 31), allowed_97124="34.00")
    with pytest.raises(grpc.RpcError) as caught:
        withdraw(c, "2026.2", replacement=clash)  # label 2026.1 is taken by other content
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert answering(c) == "2026.2"  # all or nothing: not withdrawn either


def test_unknown_version_is_not_found_and_reason_is_required(c: Clients) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        withdraw(c, "1999.1")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        c.rules.WithdrawRuleSet(
            rpb.WithdrawRuleSetRequest(payer_id="acme-health", version="2026.1", withdrawn_by="a")
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_withdrawing_for_another_payer_is_denied_and_audited(tmp_path: Path) -> None:
    with secured_server(tmp_path / "s.db") as s, clients_for(s.app.target) as c:
        request = rpb.WithdrawRuleSetRequest(
            payer_id="birch-health", version="2026.1", reason="r", withdrawn_by="a"
        )
        with pytest.raises(grpc.RpcError) as caught:
            c.rules.WithdrawRuleSet(request, metadata=bearer(s.tokens["payer_admin"]))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        c.rules.PublishRuleSet(
            rpb.PublishRuleSetRequest(content=BAD, source="bad.yaml", published_by="a"),
            metadata=bearer(s.tokens["payer_admin"]),
        )
        c.rules.WithdrawRuleSet(
            rpb.WithdrawRuleSetRequest(
                payer_id="acme-health", version="2026.2", reason="wrong rate", withdrawn_by="a"
            ),
            metadata=bearer(s.tokens["payer_admin"]),
        )
        records = s.security.audit(action="WithdrawRuleSet")
    assert [(r.payer_id, r.version, r.outcome) for r in records] == [
        ("acme-health", "2026.2", "OK"),
        ("birch-health", "2026.1", "PERMISSION_DENIED"),
    ]
    assert "reason=wrong rate" in records[0].detail and records[0].checksum


def test_rules_withdraw_cli(app: Application, c: Clients, tmp_path: Path) -> None:
    publish(c, BAD)
    fixed = tmp_path / "acme-2026-3.yaml"
    fixed.write_text(
        acme_variant("2026.3", date(2026, 7, 1), date(2026, 12, 31), allowed_97124="34.00"),
        encoding="utf-8",
    )
    result = run("rules", "withdraw", "acme-health", "2026.2", "--reason", "wrong rate",
                 "--replace-with", str(fixed), "--target", app.target)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "withdrew acme-health 2026.2 (wrong rate)" in result.stdout
    assert "replaced by acme-health 2026.3" in result.stdout
    assert answering(c) == "2026.3"


@pytest.mark.postgres
def test_withdraw_keys_and_audit_on_postgresql(tmp_path: Path) -> None:
    """The same path on PostgreSQL: keys, the audit log, a withdrawal with its replacement."""
    from tests.postgres import fresh_pg_database

    with (
        fresh_pg_database() as url,
        secured_server(tmp_path / "unused.db", database_url=url) as s,
        clients_for(s.app.target) as c,
    ):
        admin = bearer(s.tokens["admin"])
        c.rules.PublishRuleSet(
            rpb.PublishRuleSetRequest(content=BAD, source="bad.yaml", published_by="a"),
            metadata=admin,
        )
        fixed = acme_variant("2026.3", date(2026, 7, 1), date(2026, 12, 31), allowed_97124="34.00")
        response = c.rules.WithdrawRuleSet(
            rpb.WithdrawRuleSetRequest(
                payer_id="acme-health", version="2026.2", reason="wrong rate", withdrawn_by="a",
                replacement_content=fixed, replacement_source="fixed.yaml",
            ),
            metadata=admin,
        )  # fmt: skip
        assert response.replacement.version == "2026.3"
        estimate = c.estimator.EstimateSession(
            pb.EstimateSessionRequest(session=august_session()), metadata=admin
        )
        assert estimate.estimate.rule_version.version == "2026.3"
        actions = [r.action for r in s.security.audit()]
        assert actions[:2] == ["WithdrawRuleSet", "PublishRuleSet"]
