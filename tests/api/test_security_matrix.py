"""Every RPC x every role x own and other payer, through a real gRPC server with
authentication on: the expected answer of each is a row of MATRIX below.

Outcomes: OK (answered), EMPTY (answered with nothing of the other payer in it), DENIED
(PERMISSION_DENIED), HIDDEN (NOT_FOUND, exactly as for a payer that does not exist).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import massage_estimator.v1
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from massage_estimator.v1 import clinics_pb2 as cpb
from massage_estimator.v1 import clinics_pb2_grpc as cpb_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.api.security import OPEN_SERVICES, PERMISSIONS
from tests.api.helpers import d, issue_example, rpc_error_status
from tests.api.rules_helpers import REPO_ROOT, Clients, clients_for
from tests.api.security_helpers import OTHER_PAYER, OWN_PAYER, Secured, bearer, secured_server

ROLES = ("quoter", "billing", "payer_admin", "admin")
OWN, OTHER = "own", "other"

# rpc -> role -> (outcome for the own payer, outcome for the other payer)
OK, EMPTY, DENIED, HIDDEN = "OK", "EMPTY", "DENIED", "HIDDEN"
_ESTIMATE = {
    "quoter": (OK, OK),
    "billing": (OK, OK),
    "payer_admin": (DENIED, DENIED),
    "admin": (OK, OK),
}
_BILLING_ONLY = {
    "quoter": (DENIED, DENIED),
    "billing": (OK, OK),
    "payer_admin": (DENIED, DENIED),
    "admin": (OK, OK),
}
_ADMIN_ONLY = {
    "quoter": (DENIED, DENIED),
    "billing": (DENIED, DENIED),
    "payer_admin": (DENIED, DENIED),
    "admin": (OK, OK),
}
_WRITE = {
    "quoter": (DENIED, DENIED),
    "billing": (DENIED, DENIED),
    "payer_admin": (OK, DENIED),
    "admin": (OK, OK),
}
_READ = {
    "quoter": (DENIED, DENIED),
    "billing": (OK, OK),
    "payer_admin": (OK, HIDDEN),
    "admin": (OK, OK),
}
_LIST = {
    "quoter": (DENIED, DENIED),
    "billing": (OK, OK),
    "payer_admin": (OK, EMPTY),
    "admin": (OK, OK),
}
MATRIX: dict[str, dict[str, tuple[str, str]]] = {
    "EstimateSession": _ESTIMATE,
    "EstimateTreatmentPlan": _ESTIMATE,
    "EstimateSessions": _BILLING_ONLY,
    "GetQuote": _BILLING_ONLY,
    "ValidateRuleSet": _WRITE,
    "PublishRuleSet": _WRITE,
    "ListRuleSets": _LIST,
    "GetRuleSet": _READ,
    "DiffRuleSets": _READ,
    "ListPlans": {"quoter": (OK, OK), "billing": (OK, OK), "payer_admin": (OK, EMPTY),
                  "admin": (OK, OK)},
    # asks for a version that does not exist, so the matrix withdraws nothing: HIDDEN here
    # means the call was allowed through to the use case
    "WithdrawRuleSet": {"quoter": (DENIED, DENIED), "billing": (DENIED, DENIED),
                        "payer_admin": (HIDDEN, DENIED), "admin": (HIDDEN, HIDDEN)},
    "GetQuoteFhir": _BILLING_ONLY,
    "PreviewImpact": _WRITE,
    # the clinic's own profile: no payer scope, so own and other payer answer alike
    "ValidateClinicProfile": _ADMIN_ONLY,
    "PublishClinicProfile": _ADMIN_ONLY,
    "ListClinicProfiles": _BILLING_ONLY,
    "GetClinicProfile": _BILLING_ONLY,
    "DiffClinicProfiles": _BILLING_ONLY,
    "ListClinicLocations": {"quoter": (OK, OK), "billing": (OK, OK),
                            "payer_admin": (DENIED, DENIED), "admin": (OK, OK)},
}  # fmt: skip

RULE_FILES = {OWN_PAYER: "acme-health/2026.yaml", OTHER_PAYER: "birch-health/2026.yaml"}
VERSIONS = {OWN_PAYER: "2026.1", OTHER_PAYER: "2026.1"}


def all_rpcs() -> list[str]:
    """Every method of every service in the project's generated protos."""
    names: list[str] = []
    for info in pkgutil.iter_modules(massage_estimator.v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"massage_estimator.v1.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            names.extend(f"/{service.full_name}/{m.name}" for m in service.methods)
    return sorted(names)


def test_every_rpc_has_a_permission_entry() -> None:
    missing = [rpc for rpc in all_rpcs() if rpc not in PERMISSIONS]
    assert not missing, f"RPCs with no entry in service.api.security.PERMISSIONS: {missing}"
    stale = sorted(set(PERMISSIONS) - set(all_rpcs()))
    assert not stale, f"permission entries naming no RPC: {stale}"


def test_the_matrix_names_every_rpc() -> None:
    assert sorted(f"/{n}" for n in _full_names()) == all_rpcs()


_ESTIMATOR_RPCS = (
    "EstimateSession",
    "EstimateTreatmentPlan",
    "EstimateSessions",
    "GetQuote",
    "GetQuoteFhir",
)


def _full_names() -> list[str]:
    out = []
    for rpc in MATRIX:
        service = (
            "EstimatorService"
            if rpc in _ESTIMATOR_RPCS
            else "ClinicService"
            if "Clinic" in rpc
            else "PayerRulesService"
        )
        out.append(f"massage_estimator.v1.{service}/{rpc}")
    return out


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    db = tmp_path_factory.mktemp("secured") / "store.db"
    with secured_server(db) as server:
        yield server


@pytest.fixture(scope="module")
def c(secured: Secured) -> Iterator[Clients]:
    with clients_for(secured.app.target) as clients:
        yield clients


@pytest.fixture(scope="module")
def saved_quote_id(secured: Secured, c: Clients) -> str:
    answer = c.estimator.EstimateSession(
        pb.EstimateSessionRequest(session=issue_example(), save_quote=True),
        metadata=bearer(secured.tokens["admin"]),
    )
    return str(answer.quote_id)


def _call(c: Clients, rpc: str, payer: str, quote_id: str, meta: list[tuple[str, str]]) -> Any:
    rule_file = (REPO_ROOT / "payer_rules" / RULE_FILES[payer]).read_text(encoding="utf-8")
    clinic_file = (REPO_ROOT / "payer_rules" / "clinics" / "harbor" / "1.yaml").read_text()
    clinics = cpb_grpc.ClinicServiceStub(c.channel)  # type: ignore[no-untyped-call]
    version = VERSIONS[payer]
    plan_session = issue_example()
    plan_session.ClearField("date_of_service")
    calls: dict[str, Callable[[], Any]] = {
        "EstimateSession": lambda: c.estimator.EstimateSession(
            pb.EstimateSessionRequest(session=issue_example()), metadata=meta
        ),
        "EstimateTreatmentPlan": lambda: c.estimator.EstimateTreatmentPlan(
            pb.EstimateTreatmentPlanRequest(
                session=plan_session, dates=pb.SessionDates(dates=[d("2026-03-03")])
            ),
            metadata=meta,
        ),
        "EstimateSessions": lambda: c.estimator.EstimateSessions(
            pb.EstimateSessionsRequest(sessions=[issue_example()]), metadata=meta
        ),
        "GetQuote": lambda: c.estimator.GetQuote(
            pb.GetQuoteRequest(quote_id=quote_id), metadata=meta
        ),
        "ValidateRuleSet": lambda: c.rules.ValidateRuleSet(
            rpb.ValidateRuleSetRequest(content=rule_file, source="2026.yaml"), metadata=meta
        ),
        "PublishRuleSet": lambda: c.rules.PublishRuleSet(
            rpb.PublishRuleSetRequest(
                content=rule_file, source="2026.yaml", published_by="matrix test"
            ),
            metadata=meta,
        ),
        "ListRuleSets": lambda: c.rules.ListRuleSets(
            rpb.ListRuleSetsRequest(payer_id=payer), metadata=meta
        ),
        "GetRuleSet": lambda: c.rules.GetRuleSet(
            rpb.GetRuleSetRequest(payer_id=payer, version=version), metadata=meta
        ),
        "DiffRuleSets": lambda: c.rules.DiffRuleSets(
            rpb.DiffRuleSetsRequest(payer_id=payer, from_version=version, to_version=version),
            metadata=meta,
        ),
        "WithdrawRuleSet": lambda: c.rules.WithdrawRuleSet(
            rpb.WithdrawRuleSetRequest(
                payer_id=payer, version="0000.0", reason="matrix", withdrawn_by="matrix"
            ),
            metadata=meta,
        ),
        "ListPlans": lambda: c.rules.ListPlans(rpb.ListPlansRequest(payer_id=payer), metadata=meta),
        "GetQuoteFhir": lambda: c.estimator.GetQuoteFhir(
            pb.GetQuoteFhirRequest(quote_id=quote_id), metadata=meta
        ),
        "PreviewImpact": lambda: c.rules.PreviewImpact(
            rpb.PreviewImpactRequest(
                content=rule_file,
                source="2026.yaml",
                batch=rpb.PreviewImpactBatch(sessions=[issue_example()]),
            ),
            metadata=meta,
        ),
        "ValidateClinicProfile": lambda: clinics.ValidateClinicProfile(
            cpb.ValidateClinicProfileRequest(content=clinic_file, source="1.yaml"), metadata=meta
        ),
        "PublishClinicProfile": lambda: clinics.PublishClinicProfile(
            cpb.PublishClinicProfileRequest(
                content=clinic_file, source="1.yaml", published_by="matrix test"
            ),
            metadata=meta,
        ),
        "ListClinicProfiles": lambda: clinics.ListClinicProfiles(
            cpb.ListClinicProfilesRequest(), metadata=meta
        ),
        "GetClinicProfile": lambda: clinics.GetClinicProfile(
            cpb.GetClinicProfileRequest(clinic_id="harbor", version="1"), metadata=meta
        ),
        "DiffClinicProfiles": lambda: clinics.DiffClinicProfiles(
            cpb.DiffClinicProfilesRequest(clinic_id="harbor", from_version="1", to_version="1"),
            metadata=meta,
        ),
        "ListClinicLocations": lambda: clinics.ListClinicLocations(
            cpb.ListClinicLocationsRequest(), metadata=meta
        ),
    }
    return calls[rpc]()


def _outcome(answer: Any) -> str:
    if isinstance(answer, rpb.ListRuleSetsResponse):
        return OK if len(answer.rule_sets) else EMPTY
    if isinstance(answer, rpb.ListPlansResponse):
        return OK if len(answer.plans) else EMPTY
    return OK


CASES = [(rpc, role, which) for rpc in MATRIX for role in ROLES for which in (OWN, OTHER)]


@pytest.mark.parametrize(("rpc", "role", "which"), CASES)
def test_matrix(
    secured: Secured, c: Clients, saved_quote_id: str, rpc: str, role: str, which: str
) -> None:
    expected = MATRIX[rpc][role][0 if which == OWN else 1]
    payer = OWN_PAYER if which == OWN else OTHER_PAYER
    token = secured.tokens[role]
    try:
        got = _outcome(_call(c, rpc, payer, saved_quote_id, bearer(token)))
    except grpc.RpcError as err:
        code = err.code()
        got = {grpc.StatusCode.PERMISSION_DENIED: DENIED, grpc.StatusCode.NOT_FOUND: HIDDEN}.get(
            code, code.name
        )
        assert token not in (err.details() or "")
    assert got == expected, f"{rpc} as {role} for the {which} payer"


@pytest.mark.parametrize("rpc", sorted(MATRIX))
def test_no_credentials_is_unauthenticated(c: Clients, saved_quote_id: str, rpc: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _call(c, rpc, OWN_PAYER, saved_quote_id, [])
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_another_payers_version_reads_exactly_like_a_missing_payer(
    secured: Secured, c: Clients
) -> None:
    """No existence oracle: the other payer's real version and a payer that does not exist
    get the same status, message shape and details."""
    meta = bearer(secured.tokens["payer_admin"])
    answers = []
    for payer in (OTHER_PAYER, "nosuch-payer"):  # same length: same bytes
        with pytest.raises(grpc.RpcError) as caught:
            c.rules.GetRuleSet(
                rpb.GetRuleSetRequest(payer_id=payer, version="2026.1"), metadata=meta
            )
        status = rpc_error_status(caught.value)
        answers.append(
            (caught.value.code(), status.SerializeToString().replace(payer.encode(), b"P"))
        )
    assert answers[0] == answers[1]


def test_quoter_may_not_save_a_quote(secured: Secured, c: Clients) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        c.estimator.EstimateSession(
            pb.EstimateSessionRequest(session=issue_example(), save_quote=True),
            metadata=bearer(secured.tokens["quoter"]),
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_health_and_reflection_stay_open(secured: Secured, c: Clients) -> None:
    health = health_pb2_grpc.HealthStub(c.channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service=""))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert "grpc.health.v1.Health" in OPEN_SERVICES


def test_open_local_mode_answers_without_credentials(tmp_path: Path) -> None:
    """No key and no issuer on loopback: runs open, as `make serve` always did."""
    from tests.api.rules_helpers import running_server

    with running_server(tmp_path / "open.db") as app, clients_for(app.target) as clients:
        assert app.security is not None and not app.security.authenticator.enabled
        plans = clients.rules.ListPlans(rpb.ListPlansRequest())
        assert len(plans.plans) > 1
