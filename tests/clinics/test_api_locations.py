"""Locations over the real gRPC server: the same session at two locations, an explicit
network winning, old requests answering byte for byte as before, and a saved quote replaying
with its clinic version after the cash prices change."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from massage_estimator.v1 import estimator_pb2 as pb

from service.api.convert import estimate_to_proto, session_from_proto
from service.app import Application
from service.domain.quoting import Quoter
from service.rulefiles.clinics import validate_clinic_profile_content
from tests.api.helpers import cents, d, field_violations, issue_example, rpc_error_status
from tests.api.rules_helpers import Clients, clients_for, running_server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Application]:
    with running_server(tmp_path_factory.mktemp("locations") / "db.sqlite") as running:
        yield running


@pytest.fixture(scope="module")
def clients(app: Application) -> Iterator[Clients]:
    with clients_for(app.target) as c:
        yield c


def ask(clients: Clients, session: pb.SessionDetails) -> pb.Estimate:
    response = clients.estimator.EstimateSession(pb.EstimateSessionRequest(session=session))
    estimate: pb.Estimate = response.estimate
    return estimate


def test_the_same_session_at_two_locations(clients: Clients) -> None:
    # 53 minutes = 4 units; $450.00 of the $500 deductible met.
    harbor = ask(clients, issue_example(network=pb.NETWORK_UNSPECIFIED, location_id="harbor"))
    # In network: 4 x $31.00 = $124.00; $50.00 deductible + 20% of $74.00 = $14.80 -> $64.80.
    assert (cents(harbor.allowed_amount), cents(harbor.patient_pays)) == (12400, 6480)
    assert harbor.network_source == pb.CLINIC_NETWORK_SOURCE_LOCATION
    assert (harbor.clinic_version.clinic_id, harbor.clinic_version.version) == ("harbor", "1")
    east = ask(
        clients, issue_example(network=pb.NETWORK_UNSPECIFIED, location_id="harbor-eastside")
    )
    # Out of network at Eastside in March (the $450.00 met counts as this network's): 4 x
    # $25.00 = $100.00 allowed, all toward the $1,000 deductible, plus balance billing
    # 4 x $42.00 - $100.00 = $68.00: $168.00.
    assert (cents(east.allowed_amount), cents(east.patient_pays)) == (10000, 16800)
    assert cents(east.patient_cost.balance_billing) == 6800
    assert east.location_id == "harbor-eastside"
    explicit = ask(clients, issue_example(network=pb.NETWORK_IN, location_id="harbor-eastside"))
    assert explicit.network_source == pb.CLINIC_NETWORK_SOURCE_REQUEST
    assert (cents(explicit.allowed_amount), cents(explicit.patient_pays)) == (12400, 6480)


def test_an_unknown_location_names_the_field(clients: Clients) -> None:
    with pytest.raises(grpc.RpcError) as err:
        ask(clients, issue_example(location_id="harbour"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(rpc_error_status(err.value))
    assert "did you mean 'harbor'" in violations["session.location_id"]


@pytest.mark.parametrize(
    "session",
    [
        issue_example(),
        issue_example(network=pb.NETWORK_UNSPECIFIED),
        issue_example(network=pb.NETWORK_OUT),
        issue_example(plan_id="self-pay", minutes=50),
        issue_example(session_type="swedish", minutes=75),
    ],
    ids=["in", "unspecified", "out", "self-pay", "not-covered"],
)
def test_old_requests_answer_byte_for_byte_as_before(
    app: Application, clients: Clients, session: pb.SessionDetails
) -> None:
    before = Quoter(app.quoter.index, app.quoter.clinic)  # the quoter without clinic versions
    request, problems = session_from_proto(session, "session.")
    assert problems == []
    old = estimate_to_proto(before.estimate(request)).SerializeToString(deterministic=True)
    now = ask(clients, session).SerializeToString(deterministic=True)
    assert now == old


def test_a_replay_keeps_the_clinic_version_it_was_saved_with(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path / "replay.db") as app, clients_for(app.target) as clients:
        session = pb.SessionDetails(
            plan_id="self-pay",
            session_type="deep_tissue",
            minutes=60,
            date_of_service=d("2026-08-03"),
            location_id="harbor-eastside",
        )
        saved = clients.estimator.EstimateSession(
            pb.EstimateSessionRequest(session=session, save_quote=True)
        )
        assert cents(saved.estimate.patient_pays) == 11500  # Eastside's 60-minute price
        # Eastside raises its therapeutic prices: version 2, same dates, published later.
        content = copy.deepcopy(app.store.get_clinic_content("harbor", "1"))
        assert content is not None
        content["version"] = "2"
        content["locations"][1]["cash_prices"]["therapeutic"]["60"] = "125.00"
        parsed, problems = validate_clinic_profile_content(content, "v2.yaml", app.quoter.clinic)
        assert parsed is not None, problems
        assert app.store.publish_clinic(parsed, "admin").created
        assert app.refresher is not None and app.refresher.refresh()
        now = ask(clients, session)
        assert cents(now.patient_pays) == 12500
        assert now.clinic_version.version == "2"
        got = clients.estimator.GetQuote(pb.GetQuoteRequest(quote_id=saved.quote_id))
        assert got.replay_matches
        assert cents(got.replay.patient_pays) == 11500
        assert got.replay == saved.estimate
        assert (got.clinic_version.clinic_id, got.clinic_version.version) == ("harbor", "1")
        assert got.replay.clinic_version.checksum == got.clinic_version.checksum


def test_clinic_service_refusals_name_the_clinic_profile(app: Application) -> None:
    from massage_estimator.v1 import clinics_pb2 as cpb
    from massage_estimator.v1 import clinics_pb2_grpc as cpb_grpc

    from tests.api.helpers import error_info

    sample = Path(__file__).resolve().parents[2] / "payer_rules" / "clinics" / "harbor" / "1.yaml"
    with grpc.insecure_channel(app.target) as channel:
        stub = cpb_grpc.ClinicServiceStub(channel)  # type: ignore[no-untyped-call]
        clash = sample.read_text().replace('"42.00"', '"44.00"')
        with pytest.raises(grpc.RpcError) as err:
            stub.PublishClinicProfile(
                cpb.PublishClinicProfileRequest(content=clash, published_by="admin")
            )
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert error_info(rpc_error_status(err.value)).reason == "CLINIC_PROFILE_VERSION_EXISTS"
        bad = clash.replace('version: "1"', 'version: "9"')
        bad = bad.replace('"1987654328"', '"1987654320"')
        with pytest.raises(grpc.RpcError) as err:
            stub.PublishClinicProfile(
                cpb.PublishClinicProfileRequest(content=bad, source="9.yaml", published_by="a")
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        violations = field_violations(rpc_error_status(err.value))
        assert "9.yaml: locations[harbor-eastside].npi" in violations
        with pytest.raises(grpc.RpcError) as err:
            stub.ListClinicLocations(cpb.ListClinicLocationsRequest(location_id="eastside"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        listed = stub.ListClinicProfiles(cpb.ListClinicProfilesRequest())
        assert listed.clinic_profiles[0].version == "1"
