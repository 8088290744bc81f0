"""Saved quotes on a real server, on SQLite and on real PostgreSQL: EstimateSession with
save_quote stores the request, the answer and the rule version; GetQuote returns them with a
replay priced with the rules known when the quote was saved, which still gives the saved
numbers after a mid-year replacement is published. Plain previews are never stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.app import Application
from tests.postgres import fresh_pg_database

from .helpers import cents, d, error_info, field_violations, issue_example, rpc_error_status
from .rules_helpers import (
    Clients,
    august_session,
    clients_for,
    count_rows,
    mid_year_2026,
    running_server,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Application]:
    if request.param == "sqlite":
        with running_server(tmp_path / "quotes.db") as running:
            yield running
    else:
        with fresh_pg_database() as url, running_server(tmp_path / "unused.db", url) as running:
            yield running


@pytest.fixture
def c(app: Application) -> Iterator[Clients]:
    with clients_for(app.target) as clients:
        yield clients


def estimate(c: Clients, session: pb.SessionDetails, **kw: Any) -> pb.EstimateSessionResponse:
    response: pb.EstimateSessionResponse = c.estimator.EstimateSession(
        pb.EstimateSessionRequest(session=session, **kw), timeout=10
    )
    return response


def get_quote(c: Clients, quote_id: str) -> pb.GetQuoteResponse:
    response: pb.GetQuoteResponse = c.estimator.GetQuote(
        pb.GetQuoteRequest(quote_id=quote_id), timeout=10
    )
    return response


def test_previews_are_never_stored(app: Application, c: Clients) -> None:
    before = count_rows(app, "saved_quote")
    for _ in range(3):
        response = estimate(c, issue_example())
        assert response.quote_id == ""
        assert cents(response.estimate.patient_pays) == 6480
    assert count_rows(app, "saved_quote") == before == 0


def test_save_then_get_returns_request_answer_and_version(app: Application, c: Clients) -> None:
    saved = estimate(c, issue_example(), save_quote=True)
    assert str(uuid.UUID(saved.quote_id)) == saved.quote_id
    assert uuid.UUID(saved.quote_id).version == 4
    assert count_rows(app, "saved_quote") == 1
    preview = estimate(c, issue_example())
    assert saved.estimate == preview.estimate  # saving does not change the answer

    got = get_quote(c, saved.quote_id)
    assert got.quote_id == saved.quote_id
    assert got.request.session == issue_example()
    assert got.request.save_quote
    assert got.estimate == saved.estimate
    assert (got.rule_version.payer_id, got.rule_version.version) == ("acme-health", "2026.1")
    assert got.rule_version.checksum == saved.estimate.rule_version.checksum
    assert got.created_at.seconds > 0
    assert got.replay_rules_as_of == got.created_at
    assert got.replay == saved.estimate and got.replay_matches
    assert not got.HasField("replay_error")
    # The stored row names the rule version too (payer, version, checksum).
    with app.store.engine.connect() as conn:
        import sqlalchemy as sa

        row = conn.execute(
            sa.text("SELECT plan_id, payer_id, version, checksum FROM saved_quote WHERE id = :i"),
            {"i": saved.quote_id},
        ).one()
    assert tuple(row) == (
        "acme-ppo-gold",
        "acme-health",
        "2026.1",
        saved.estimate.rule_version.checksum,
    )


def test_replay_gives_the_saved_numbers_after_a_mid_year_replacement(c: Clients) -> None:
    saved = estimate(c, august_session(), save_quote=True)
    assert saved.estimate.rule_version.version == "2026.1"
    # 4 x $31.00 = $124.00; $50.00 deductible left; 20% of $74.00 = $14.80; patient $64.80.
    assert cents(saved.estimate.patient_pays) == 6480

    published = c.rules.PublishRuleSet(
        rpb.PublishRuleSetRequest(content=mid_year_2026(), published_by="ana.analyst"),
        timeout=30,
    )
    assert published.created

    fresh = estimate(c, august_session())
    assert fresh.estimate.rule_version.version == "2026.2"
    # 4 x $34.00 = $136.00; $50.00 deductible; 20% of $86.00 = $17.20; patient $67.20.
    assert cents(fresh.estimate.patient_pays) == 6720
    assert cents(fresh.estimate.allowed_amount) == 13600

    got = get_quote(c, saved.quote_id)
    assert got.replay_matches
    assert got.replay == saved.estimate
    assert got.replay.rule_version.version == "2026.1"
    assert cents(got.replay.patient_pays) == 6480
    assert cents(got.replay.allowed_amount) == 12400
    assert got.estimate == saved.estimate


def test_a_saved_quote_with_its_own_rules_as_of_replays_with_it(c: Clients) -> None:
    before = c.rules.ListRuleSets(rpb.ListRuleSetsRequest(payer_id="acme-health"), timeout=10)
    seeded_at = before.rule_sets[0].published_at
    c.rules.PublishRuleSet(
        rpb.PublishRuleSetRequest(content=mid_year_2026(), published_by="ana.analyst"),
        timeout=30,
    )
    saved = estimate(c, august_session(), save_quote=True, rules_as_of=seeded_at)
    assert saved.estimate.rule_version.version == "2026.1"
    got = get_quote(c, saved.quote_id)
    assert got.replay_rules_as_of == seeded_at
    assert got.replay_matches and got.replay.rule_version.version == "2026.1"


def test_a_saved_quote_with_a_future_rules_as_of_replays_with_what_was_known(
    c: Clients,
) -> None:
    # rules_as_of in the future means "everything known": at saving time that is what is
    # published now. Taken literally, a version published after the save (but before that
    # moment) would change the replay; the replay uses the saving time instead.
    future = timestamp_pb2.Timestamp(seconds=4_102_444_800)  # 2100-01-01T00:00:00Z
    saved = estimate(c, august_session(), save_quote=True, rules_as_of=future)
    assert saved.estimate.rule_version.version == "2026.1"
    c.rules.PublishRuleSet(
        rpb.PublishRuleSetRequest(content=mid_year_2026(), published_by="ana.analyst"),
        timeout=30,
    )
    got = get_quote(c, saved.quote_id)
    assert got.request.rules_as_of == future  # the request is kept as it was sent
    assert got.replay_matches, got.replay.rule_version.version
    assert got.replay_rules_as_of == got.created_at  # nothing later than the save was known
    assert got.replay.rule_version.version == "2026.1"
    assert cents(got.replay.patient_pays) == 6480


def test_self_pay_quotes_save_without_a_rule_version(app: Application, c: Clients) -> None:
    session = pb.SessionDetails(
        plan_id="self-pay", session_type="swedish", minutes=60, date_of_service=d("2026-03-03")
    )
    saved = estimate(c, session, save_quote=True)
    got = get_quote(c, saved.quote_id)
    assert not got.HasField("rule_version")
    assert cents(got.estimate.patient_pays) == 9500  # the clinic's 60-minute relaxation price
    assert got.replay_matches


def test_a_plan_id_with_surrounding_spaces_is_saved_as_the_plan_it_names(
    app: Application, c: Clients
) -> None:
    # The estimate strips the plan id; the saved row took it as sent, so on PostgreSQL a
    # padded id longer than the 100-character column made the save fail with INTERNAL.
    padded = "  acme-ppo-gold" + " " * 120
    saved = estimate(c, issue_example(plan_id=padded), save_quote=True)
    assert cents(saved.estimate.patient_pays) == 6480
    with app.store.engine.connect() as conn:
        import sqlalchemy as sa

        stored = conn.execute(
            sa.text("SELECT plan_id FROM saved_quote WHERE id = :i"), {"i": saved.quote_id}
        ).scalar()
    assert stored == "acme-ppo-gold"
    assert get_quote(c, saved.quote_id).replay_matches


def test_a_refused_quote_is_not_saved(app: Application, c: Clients) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        estimate(c, issue_example(minutes=0), save_quote=True)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert count_rows(app, "saved_quote") == 0


def test_get_quote_errors(c: Clients) -> None:
    with pytest.raises(grpc.RpcError) as bad:
        get_quote(c, "not-a-uuid")
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "quote_id" in field_violations(rpc_error_status(bad.value))
    missing = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError) as unknown:
        get_quote(c, missing)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    status = rpc_error_status(unknown.value)
    assert missing in status.message
    assert error_info(status).reason == "QUOTE_NOT_FOUND"


def test_a_quote_saved_on_a_replica_right_after_a_publish_elsewhere_replays_the_same(
    tmp_path: Path,
) -> None:
    """Two servers on one SQLite file (the watcher there polls every 0.5 s): a quote saved on
    B straight after A published must already use the new version, or its replay (with the
    later created_at) would not match the saved numbers."""
    db = tmp_path / "shared.db"
    with (
        running_server(db) as a,
        running_server(db) as b,
        clients_for(a.target) as ca,
        clients_for(b.target) as cb,
    ):
        assert estimate(cb, august_session()).estimate.rule_version.version == "2026.1"
        ca.rules.PublishRuleSet(
            rpb.PublishRuleSetRequest(content=mid_year_2026(), published_by="ana.analyst"),
            timeout=30,
        )
        saved = estimate(cb, august_session(), save_quote=True)
        assert saved.estimate.rule_version.version == "2026.2"
        assert cents(saved.estimate.patient_pays) == 6720
        got = get_quote(cb, saved.quote_id)
        assert got.replay_matches and got.replay == saved.estimate


def test_get_quote_on_a_replica_that_has_not_seen_a_publish_yet_replays_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publishes and saves a quote priced with the new version; B is asked for it before its
    watcher has polled (here: never, the poll interval is stretched). GetQuote must catch B's
    index up first, as saving does, or it would replay on B's stale index and mismatch."""
    import service.app

    monkeypatch.setattr(service.app, "WATCH_POLL_SECONDS", 3600.0)
    db = tmp_path / "shared.db"
    with (
        running_server(db) as a,
        running_server(db) as b,
        clients_for(a.target) as ca,
        clients_for(b.target) as cb,
    ):
        ca.rules.PublishRuleSet(
            rpb.PublishRuleSetRequest(content=mid_year_2026(), published_by="ana.analyst"),
            timeout=30,
        )
        saved = estimate(ca, august_session(), save_quote=True)
        assert saved.estimate.rule_version.version == "2026.2"
        got = get_quote(cb, saved.quote_id)
        assert got.replay.rule_version.version == "2026.2"
        assert got.replay_matches and got.replay == saved.estimate
