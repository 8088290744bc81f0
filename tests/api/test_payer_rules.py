"""PayerRulesService on a real server: validate, publish (all or nothing, idempotent, overlap and
label conflicts), effective dating seen by quotes right after a publish, as-of replay, list,
show, diff and plans. Each test gets its own server and SQLite database (publishes mutate)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.app import Application
from service.rulefiles import load_clinic_file, parse_rule_set
from tests.postgres import fresh_pg_database

from .helpers import cents, d, error_info, field_violations, rpc_error_status
from .rules_helpers import (
    ACME_2026_FILE,
    ACME_2027_FILE,
    SAMPLE_RULES_DIR,
    Clients,
    acme_variant,
    august_session,
    clients_for,
    count_rows,
    mid_year_2026,
    running_server,
)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Application]:
    with running_server(tmp_path / "rules.db") as running:
        yield running


@pytest.fixture
def c(app: Application) -> Iterator[Clients]:
    with clients_for(app.target) as clients:
        yield clients


def publish(
    c: Clients, content: str, source: str = "test.yaml", **kw: str
) -> rpb.PublishRuleSetResponse:
    kw.setdefault("published_by", "ana.analyst")
    response: rpb.PublishRuleSetResponse = c.rules.PublishRuleSet(
        rpb.PublishRuleSetRequest(content=content, source=source, **kw), timeout=30
    )
    return response


def refused_publish(c: Clients, content: str, code: grpc.StatusCode, **kw: str):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        publish(c, content, **kw)
    assert caught.value.code() == code, caught.value.details()
    return rpc_error_status(caught.value)


def quote(c: Clients, session: pb.SessionDetails, **kw: Any) -> pb.Estimate:
    response = c.estimator.EstimateSession(
        pb.EstimateSessionRequest(session=session, **kw), timeout=10
    )
    return response.estimate  # type: ignore[no-any-return]


def versions(c: Clients, **kw: str) -> list[tuple[str, str]]:
    listed = c.rules.ListRuleSets(rpb.ListRuleSetsRequest(**kw), timeout=10)
    return [(r.payer_id, r.version) for r in listed.rule_sets]


SEEDED = [
    ("acme-health", "2026.1"),
    ("acme-health", "2027.1"),
    ("birch-health", "2026.1"),
    ("cedar-mutual", "2026.1"),
    ("contoso-health", "2026-07"),
    ("lakeside-health", "2026.1"),
    ("pacific-advantage", "2026.1"),
    ("rainier-public", "2026.1"),
    ("summit-medicare-advantage", "2026.1"),
]


# ---------------------------------------------------------------------------- validate


def test_validate_a_good_new_version_writes_nothing(app: Application, c: Clients) -> None:
    text = mid_year_2026()
    response = c.rules.ValidateRuleSet(
        rpb.ValidateRuleSetRequest(content=text, source="acme-2026-07.yaml"), timeout=10
    )
    assert response.valid, response.problems
    assert (response.payer_id, response.version) == ("acme-health", "2026.2")
    clinic = load_clinic_file(SAMPLE_RULES_DIR / "clinic.yaml")
    assert response.checksum == parse_rule_set(text, "x", clinic).checksum
    assert not response.already_published
    assert [p for p in response.problems if p.severity == rpb.SEVERITY_ERROR] == []
    assert sorted(versions(c)) == sorted(SEEDED)
    assert count_rows(app, "rule_set_version") == len(SEEDED)


def test_validate_a_published_file_says_so(c: Clients) -> None:
    response = c.rules.ValidateRuleSet(
        rpb.ValidateRuleSetRequest(content=ACME_2026_FILE.read_text()), timeout=10
    )
    assert response.valid and response.already_published
    assert response.version == "2026.1"


def test_validate_reports_every_file_problem_with_source_field_and_message(c: Clients) -> None:
    text = acme_variant("2026.9", date(2027, 6, 1), None, coinsurance="150")
    text = text.replace("deductible: '500.00'", "deductible: 'lots'")
    response = c.rules.ValidateRuleSet(
        rpb.ValidateRuleSetRequest(content=text, source="bad.yaml"), timeout=10
    )
    assert not response.valid
    errors = {p.field: p.message for p in response.problems if p.severity == rpb.SEVERITY_ERROR}
    assert all(p.source == "bad.yaml" for p in response.problems)
    assert "plans[acme-ppo-gold].in_network.coinsurance_percent" in errors, errors
    assert "plans[acme-ppo-gold].in_network.deductible" in errors, errors
    assert "150" in errors["plans[acme-ppo-gold].in_network.coinsurance_percent"]


def test_validate_reports_an_overlap_with_published_versions(c: Clients) -> None:
    # Starts inside 2026.1 but ends before it does: 2026.1 would apply again in October.
    text = acme_variant("2026.5", date(2026, 3, 1), date(2026, 9, 30))
    response = c.rules.ValidateRuleSet(rpb.ValidateRuleSetRequest(content=text), timeout=10)
    assert not response.valid
    (problem,) = [p for p in response.problems if p.severity == rpb.SEVERITY_ERROR]
    assert problem.source == "acme-health 2026.5"
    assert problem.field == "plans[acme-ppo-gold].effective_from"
    assert "overlaps acme-health 2026.1" in problem.message


def test_validate_empty_content_is_invalid_argument(c: Clients) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        c.rules.ValidateRuleSet(rpb.ValidateRuleSetRequest(content="  "), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "content" in field_violations(rpc_error_status(caught.value))


# ---------------------------------------------------------------------------- publish


def test_publish_mid_year_replacement_is_served_before_the_answer(c: Clients) -> None:
    before = quote(c, august_session())
    assert before.rule_version.version == "2026.1"
    # 4 units x $31.00 = $124.00; $50.00 deductible left; 20% of $74.00 = $14.80.
    assert (cents(before.allowed_amount), cents(before.patient_pays)) == (12400, 6480)

    published = publish(c, mid_year_2026(), note="July fee increase")
    assert published.created
    info = published.rule_set
    assert (info.payer_id, info.version, info.published_by) == (
        "acme-health",
        "2026.2",
        "ana.analyst",
    )
    assert info.note == "July fee increase"
    assert list(info.plan_ids) == ["acme-ppo-gold"]
    assert (info.effective_from.month, info.effective_to.month) == (7, 12)

    after = quote(c, august_session())  # the very next call, no waiting
    assert after.rule_version.version == "2026.2"
    # 4 x $34.00 = $136.00; $50.00 deductible; 20% of $86.00 = $17.20; patient $67.20.
    assert cents(after.allowed_amount) == 13600
    assert cents(after.patient_pays) == 6720
    assert cents(after.plan_pays) == 6880


def test_effective_boundaries_after_a_mid_year_change(c: Clients) -> None:
    publish(c, mid_year_2026())

    def version_on(day: str) -> str:
        session = august_session()
        session.date_of_service.CopyFrom(d(day))
        session.referral.issue_date.CopyFrom(d(day))  # issued that day: always valid
        return quote(c, session).rule_version.version

    assert version_on("2026-06-30") == "2026.1"
    assert version_on("2026-07-01") == "2026.2"
    assert version_on("2026-12-31") == "2026.2"
    assert version_on("2027-01-01") == "2027.1"


def test_rules_as_of_replays_what_was_known_before_the_publish(c: Clients) -> None:
    seeded_at = (
        c.rules.ListRuleSets(rpb.ListRuleSetsRequest(payer_id="acme-health"), timeout=10)
        .rule_sets[0]
        .published_at
    )
    published = publish(c, mid_year_2026())
    moment = published.rule_set.published_at
    assert (moment.seconds, moment.nanos) > (seeded_at.seconds, seeded_at.nanos)
    just_before = timestamp_pb2.Timestamp()
    just_before.FromNanoseconds(moment.ToNanoseconds() - 1000)
    old = quote(c, august_session(), rules_as_of=just_before)
    assert old.rule_version.version == "2026.1"
    assert cents(old.allowed_amount) == 12400
    at = quote(c, august_session(), rules_as_of=moment)
    assert at.rule_version.version == "2026.2"


def test_publishing_the_same_content_again_is_idempotent(app: Application, c: Clients) -> None:
    first = publish(c, mid_year_2026())
    rows = count_rows(app, "rule_set_version")
    again = publish(c, mid_year_2026(), published_by="someone.else", note="again")
    assert first.created and not again.created
    assert again.rule_set.published_at == first.rule_set.published_at
    assert again.rule_set.published_by == "ana.analyst"
    assert again.rule_set.checksum == first.rule_set.checksum
    assert count_rows(app, "rule_set_version") == rows
    # A shipped file, reformatted (comments gone, keys reordered) is the same version too.
    clinic = load_clinic_file(SAMPLE_RULES_DIR / "clinic.yaml")
    reformatted = yaml.safe_dump(
        parse_rule_set(ACME_2027_FILE.read_text(), "x", clinic).content, sort_keys=True
    )
    shipped = publish(c, reformatted)
    assert not shipped.created and shipped.rule_set.version == "2027.1"


def test_invalid_content_is_invalid_argument_with_a_violation_per_error(
    app: Application, c: Clients
) -> None:
    text = acme_variant("2026.9", date(2027, 6, 1), None, coinsurance="150")
    text = text.replace("deductible: '500.00'", "deductible: 'lots'")
    status = refused_publish(c, text, grpc.StatusCode.INVALID_ARGUMENT, source="acme-bad.yaml")
    violations = field_violations(status)
    assert "acme-bad.yaml: plans[acme-ppo-gold].in_network.coinsurance_percent" in violations
    assert "acme-bad.yaml: plans[acme-ppo-gold].in_network.deductible" in violations
    assert "nothing was written" in status.message
    assert error_info(status).reason == "RULE_SET_INVALID"
    assert count_rows(app, "rule_set_version") == len(SEEDED)
    assert count_rows(app, "plan_version") == len(SEEDED)


def test_an_overlap_is_rejected_and_nothing_is_written(app: Application, c: Clients) -> None:
    text = acme_variant("2026.5", date(2026, 3, 1), date(2026, 9, 30))
    status = refused_publish(c, text, grpc.StatusCode.INVALID_ARGUMENT)
    violations = field_violations(status)
    assert list(violations) == ["acme-health 2026.5: plans[acme-ppo-gold].effective_from"]
    assert "overlaps acme-health 2026.1" in violations[next(iter(violations))]
    assert error_info(status).reason == "RULE_SET_REJECTED"
    assert ("acme-health", "2026.5") not in versions(c)
    assert count_rows(app, "rule_set_version") == len(SEEDED)
    # The index did not change either: August is still priced by 2026.1.
    assert quote(c, august_session()).rule_version.version == "2026.1"


def test_a_published_label_with_other_content_is_already_exists(c: Clients) -> None:
    changed = acme_variant("2026.1", date(2026, 1, 1), date(2026, 12, 31), allowed_97124="99.00")
    status = refused_publish(c, changed, grpc.StatusCode.ALREADY_EXISTS)
    assert status.message.startswith("acme-health 2026.1 not published: version '2026.1' of ")
    assert "already published with different content" in status.message
    resource = error_details_pb2.ResourceInfo()
    (packed,) = [x for x in status.details if x.Is(resource.DESCRIPTOR)]
    packed.Unpack(resource)
    assert (resource.resource_type, resource.resource_name) == ("rule_set", "acme-health/2026.1")
    info = error_info(status)
    assert info.reason == "RULE_SET_VERSION_EXISTS"
    assert dict(info.metadata) == {"payer_id": "acme-health", "version": "2026.1"}
    assert quote(c, august_session()).rule_version.checksum != ""
    assert cents(quote(c, august_session()).allowed_amount) == 12400


def test_publish_needs_who_publishes(c: Clients) -> None:
    status = refused_publish(
        c, mid_year_2026(), grpc.StatusCode.INVALID_ARGUMENT, published_by="  "
    )
    assert "published_by" in field_violations(status)


@pytest.mark.postgres
def test_names_longer_than_their_columns_are_invalid_argument_on_postgresql(
    tmp_path: Path,
) -> None:
    # SQLite ignores VARCHAR lengths; PostgreSQL refuses the insert, and the publish answered
    # INTERNAL. published_by and the payer and plan names are stored in 200-character columns.
    long_name = "x" * 201
    data = yaml.safe_load(mid_year_2026())
    data["payer"]["name"] = "Acme Health " + long_name
    data["plans"][0]["name"] = "Acme PPO Gold " + long_name
    with (
        fresh_pg_database() as url,
        running_server(tmp_path / "unused.db", url) as app,
        clients_for(app.target) as c,
    ):
        status = refused_publish(
            c, mid_year_2026(), grpc.StatusCode.INVALID_ARGUMENT, published_by=long_name
        )
        assert "at most 200" in field_violations(status)["published_by"]
        status = refused_publish(c, yaml.safe_dump(data), grpc.StatusCode.INVALID_ARGUMENT)
        fields = field_violations(status)
        assert "test.yaml: payer.name" in fields
        assert "test.yaml: plans[acme-ppo-gold].name" in fields
        assert count_rows(app, "rule_set_version") == len(SEEDED)  # the sample versions only


@pytest.mark.postgres
def test_a_nul_character_is_invalid_argument_on_postgresql(tmp_path: Path) -> None:
    # PostgreSQL text cannot hold NUL; SQLite can. A NUL in who publishes, the note, the
    # source or a name inside the file made the insert fail and the publish answer INTERNAL.
    in_file = mid_year_2026().replace("note: mid-year fee increase", 'note: "mid\\0year"')
    assert in_file != mid_year_2026()
    with (
        fresh_pg_database() as url,
        running_server(tmp_path / "unused.db", url) as app,
        clients_for(app.target) as c,
    ):
        for field in ("published_by", "note", "source"):
            status = refused_publish(
                c, mid_year_2026(), grpc.StatusCode.INVALID_ARGUMENT, **{field: "ana\x00"}
            )
            assert "NUL" in field_violations(status)[field]
        status = refused_publish(c, in_file, grpc.StatusCode.INVALID_ARGUMENT)
        assert "NUL" in field_violations(status)["test.yaml: note"]
        assert count_rows(app, "rule_set_version") == len(SEEDED)  # the sample versions only


def test_concurrent_publishes_of_different_versions_each_land_once(
    app: Application, c: Clients
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    payloads = [
        acme_variant(f"2028.{i}", date(2028, i, 1), None, allowed_97124=f"{40 + i}.00")
        for i in range(1, 7)
    ]

    def send(text: str) -> rpb.PublishRuleSetResponse:
        with clients_for(app.target) as own:
            return publish(own, text)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(send, payloads))
    assert all(r.created for r in results)
    listed = versions(c, payer_id="acme-health")
    assert sorted(v for _, v in listed if v.startswith("2028.")) == [
        f"2028.{i}" for i in range(1, 7)
    ]
    assert count_rows(app, "rule_set_version") == len(SEEDED) + 6
    # Each later month takes over the open-ended earlier one: June answers from 2028.6.
    session = august_session()
    session.date_of_service.year, session.date_of_service.month = 2028, 6
    session.referral.issue_date.year, session.referral.issue_date.month = 2028, 5
    assert quote(c, session).rule_version.version == "2028.6"


# ---------------------------------------------------------------------------- reads


def test_list_rule_sets_filters_by_payer_and_plan(c: Clients) -> None:
    assert versions(c) == SEEDED  # oldest publish first (seeded in payer, date order)
    assert versions(c, payer_id="acme-health") == SEEDED[:2]
    assert versions(c, plan_id="cedar-hdhp-hsa") == [("cedar-mutual", "2026.1")]
    assert versions(c, payer_id="nobody") == []
    listed = c.rules.ListRuleSets(rpb.ListRuleSetsRequest(payer_id="acme-health"), timeout=10)
    first = listed.rule_sets[0]
    assert first.published_by == "sample-data"
    assert first.checksum.startswith("sha256:")
    assert first.source.endswith("acme-health/2026.yaml")
    assert not listed.rule_sets[1].HasField("effective_to")  # 2027.1 is open-ended


def test_get_rule_set_returns_canonical_content_that_republishes_identically(c: Clients) -> None:
    response = c.rules.GetRuleSet(
        rpb.GetRuleSetRequest(payer_id="acme-health", version="2026.1"), timeout=10
    )
    info = response.rule_set
    assert (info.version, info.note) == ("2026.1", "2026 fee schedule")
    digest = hashlib.sha256(response.content_json.encode("utf-8")).hexdigest()
    assert info.checksum == f"sha256:{digest}"
    content = json.loads(response.content_json)
    assert content["plans"][0]["in_network"]["allowed_per_unit"]["97124"] == "31.00"
    assert yaml.safe_load(response.content_yaml) == content
    again = publish(c, response.content_yaml)
    assert not again.created and again.rule_set.checksum == info.checksum


def test_get_rule_set_unknown_version_is_not_found(c: Clients) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        c.rules.GetRuleSet(rpb.GetRuleSetRequest(payer_id="acme-health", version="1999"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    status = rpc_error_status(caught.value)
    assert "2026.1, 2027.1" in status.message
    found = [d for d in status.details if d.Is(error_details_pb2.ResourceInfo.DESCRIPTOR)]
    assert found, status
    with pytest.raises(grpc.RpcError) as missing:
        c.rules.GetRuleSet(rpb.GetRuleSetRequest(payer_id="acme-health"))
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "version" in field_violations(rpc_error_status(missing.value))


def test_diff_speaks_analyst(c: Clients) -> None:
    response = c.rules.DiffRuleSets(
        rpb.DiffRuleSetsRequest(payer_id="acme-health", from_version="2026.1", to_version="2027.1"),
        timeout=10,
    )
    assert response.from_rule_set.version == "2026.1"
    assert response.to_rule_set.version == "2027.1"
    changes = {ch.field: (ch.kind, ch.before, ch.after) for ch in response.changes}
    changed = rpb.CHANGE_KIND_CHANGED
    # The differences the 2027 file's header comment lists, plus the version's own fields.
    assert changes == {
        "version": (changed, "2026.1", "2027.1"),
        "effective_from": (changed, "2026-01-01", "2027-01-01"),
        "effective_to": (changed, "2026-12-31", "none"),
        "note": (changed, "2026 fee schedule", "2027 fee schedule"),
        "plans[acme-ppo-gold].in_network.allowed_per_unit.97124": (changed, "$31.00", "$33.00"),
        "plans[acme-ppo-gold].in_network.allowed_per_unit.97140": (changed, "$29.00", "$30.50"),
        "plans[acme-ppo-gold].in_network.deductible": (changed, "$500.00", "$600.00"),
        "plans[acme-ppo-gold].visit_limit.visits": (changed, "20", "24"),
    }
    descriptions = {ch.description for ch in response.changes}
    assert "plans[acme-ppo-gold].in_network.deductible: $500.00 -> $600.00" in descriptions
    same = c.rules.DiffRuleSets(
        rpb.DiffRuleSetsRequest(payer_id="acme-health", from_version="2026.1", to_version="2026.1")
    )
    assert list(same.changes) == []
    with pytest.raises(grpc.RpcError) as caught:
        c.rules.DiffRuleSets(
            rpb.DiffRuleSetsRequest(payer_id="acme-health", from_version="2026.1", to_version="x")
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "(to_version)" in (caught.value.details() or "")


def test_list_plans_shows_served_versions_and_mid_year_takeover(c: Clients) -> None:
    plans = c.rules.ListPlans(rpb.ListPlansRequest(), timeout=10).plans
    assert [p.plan_id for p in plans] == [
        "acme-ppo-gold",
        "birch-hdhp-copay",
        "cedar-hdhp-hsa",
        "contoso-hmo-silver",
        "lakeside-choice-ppo",
        "pacific-ma-chronic-pain",
        "rainier-ump-classic",
        "summit-ma-plus",
    ]
    publish(c, mid_year_2026())
    (acme,) = c.rules.ListPlans(rpb.ListPlansRequest(payer_id="acme-health"), timeout=10).plans
    assert (acme.plan_name, acme.payer_name) == ("Acme PPO Gold", "Acme Health")
    rows = [(v.version, v.superseded_by) for v in acme.versions]
    assert rows == [("2026.1", "2026.2"), ("2026.2", ""), ("2027.1", "")]
    first = acme.versions[0]
    assert (first.superseded_from.year, first.superseded_from.month) == (2026, 7)
    assert first.effective_to.month == 12  # as published; the takeover is reported separately
