"""No PHI in logs: distinctive diagnosis codes, dates, accumulators, names and notes are sent
through every RPC (over gRPC, through the REST gateway and the GFE command), then everything
the server (at DEBUG) and the gateway printed is scanned for them."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import grpc
import pytest
from massage_estimator.v1 import clinics_pb2 as cpb
from massage_estimator.v1 import clinics_pb2_grpc as cpb_grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb

from tests.api.helpers import d, issue_example, usd
from tests.api.rules_helpers import REPO_ROOT, acme_variant, clients_for
from tests.api.test_security_matrix import all_rpcs
from tests.cli.test_cli import command
from tests.gateway.conftest import gateway_binary  # noqa: F401 - the fixture, reused here
from tests.gateway.helpers import http, start_gateway, stop_gateway, wait_healthy
from tests.interop.conftest import FIXTURES

DIAGNOSIS = "M62.838"
SERVICE_DAY = "2026-03-17"
REFERRAL_DAY = "2026-02-13"
DEDUCTIBLE = "437.19"
CLIENT_NAME = "Zebulon Quixotic-Farnsworth"
CLIENT_DOB = "1961-07-29"
NOTE = "patient Zebulon says lumbar pain since fall"
MEMBER_ID = "ZQF771199"
PLANTED = (DIAGNOSIS, SERVICE_DAY, REFERRAL_DAY, DEDUCTIBLE, CLIENT_NAME, "Zebulon",
           CLIENT_DOB, "20260317", "lumbar pain", "ZEBULON", "QUIXOTIC", "19610729",
           MEMBER_ID)  # fmt: skip


def phi_271() -> str:
    """The Acme sample 271 about our planted client: name, birth date and member id."""
    text = (FIXTURES / "acme-ppo-gold-active.271").read_text()
    return (
        text.replace("RIVERA*JORDAN", "QUIXOTIC-FARNSWORTH*ZEBULON")
        .replace("19850412", "19610729")
        .replace("ACM100200300", MEMBER_ID)
    )


def phi_session(**changes: object) -> pb.SessionDetails:
    return issue_example(
        diagnosis_codes=[DIAGNOSIS],
        date_of_service=d(SERVICE_DAY),
        referral=pb.Referral(kind=pb.REFERRAL_KIND_PRESCRIPTION, issue_date=d(REFERRAL_DAY)),
        accumulators=pb.Accumulators(
            deductible_met=usd(DEDUCTIBLE), out_of_pocket_met=usd(DEDUCTIBLE), visits_used=3
        ),
        **changes,
    )


class Server:
    """`massage-estimator serve` at DEBUG in a subprocess, every line it prints kept."""

    def __init__(self, db: Path) -> None:
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("MASSAGE_ESTIMATOR_TARGET", None)
        self.process = subprocess.Popen(
            [*command(), "serve", "--port", "0", "--log-level", "DEBUG",
             "--database-url", f"sqlite:///{db}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        self.lines: list[str] = []
        found: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line)
                if " listening on " in line:
                    found.put(line.split(" listening on ", 1)[1].split(":", 2)[:2][1])

        threading.Thread(target=pump, daemon=True).start()
        port = found.get(timeout=60)
        self.target = f"127.0.0.1:{port}"

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=20)
        time.sleep(0.2)  # let the pump read the last lines
        return "".join(self.lines)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "store.db")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


def test_no_planted_value_reaches_any_log(
    server: Server,
    gateway_binary: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    called: set[str] = set()
    with clients_for(server.target) as c:
        e, r = c.estimator, c.rules
        saved = e.EstimateSession(pb.EstimateSessionRequest(session=phi_session(), save_quote=True))
        called.add("EstimateSession")
        e.GetQuote(pb.GetQuoteRequest(quote_id=saved.quote_id))
        called.add("GetQuote")
        e.GetQuoteFhir(pb.GetQuoteFhirRequest(quote_id=saved.quote_id))
        called.add("GetQuoteFhir")
        from_271 = phi_session(eligibility_271=phi_271())
        from_271.ClearField("accumulators")
        e.EstimateSession(pb.EstimateSessionRequest(session=from_271, save_quote=True))
        inactive = from_271.eligibility_271.replace("EB*1**30", "EB*6**30")
        with pytest.raises(grpc.RpcError):  # refused: the 271 says coverage is not active
            e.EstimateSession(
                pb.EstimateSessionRequest(session=phi_session(eligibility_271=inactive))
            )
        plan = phi_session()
        plan.ClearField("date_of_service")
        e.EstimateTreatmentPlan(
            pb.EstimateTreatmentPlanRequest(
                session=plan, dates=pb.SessionDates(dates=[d(SERVICE_DAY)])
            )
        )
        called.add("EstimateTreatmentPlan")
        bad = phi_session(minutes=0)  # an error path too
        e.EstimateSessions(pb.EstimateSessionsRequest(sessions=[phi_session(), bad]))
        called.add("EstimateSessions")
        with pytest.raises(grpc.RpcError):
            e.EstimateSession(pb.EstimateSessionRequest(session=bad))
        content = acme_variant("2029.1", date(2029, 1, 1), None, note=NOTE)
        r.ValidateRuleSet(rpb.ValidateRuleSetRequest(content=content, source="z.yaml"))
        called.add("ValidateRuleSet")
        r.PublishRuleSet(
            rpb.PublishRuleSetRequest(
                content=content, source="z.yaml", published_by="phi-test analyst", note=NOTE
            )
        )
        called.add("PublishRuleSet")
        r.ListRuleSets(rpb.ListRuleSetsRequest())
        called.add("ListRuleSets")
        r.GetRuleSet(rpb.GetRuleSetRequest(payer_id="acme-health", version="2029.1"))
        called.add("GetRuleSet")
        r.DiffRuleSets(rpb.DiffRuleSetsRequest(
            payer_id="acme-health", from_version="2026.1", to_version="2029.1"))  # fmt: skip
        called.add("DiffRuleSets")
        r.ListPlans(rpb.ListPlansRequest())
        called.add("ListPlans")
        r.WithdrawRuleSet(
            rpb.WithdrawRuleSetRequest(
                payer_id="acme-health", version="2029.1", reason=NOTE, withdrawn_by="phi-test"
            )
        )
        called.add("WithdrawRuleSet")
        r.PreviewImpact(
            rpb.PreviewImpactRequest(
                content=content,
                source="z.yaml",
                batch=rpb.PreviewImpactBatch(sessions=[phi_session(), bad]),
            )
        )
        called.add("PreviewImpact")
        k = cpb_grpc.ClinicServiceStub(c.channel)  # type: ignore[no-untyped-call]
        profile = (REPO_ROOT / "payer_rules" / "clinics" / "harbor" / "1.yaml").read_text()
        k.ValidateClinicProfile(cpb.ValidateClinicProfileRequest(content=profile, source="1.yaml"))
        called.add("ValidateClinicProfile")
        k.PublishClinicProfile(
            cpb.PublishClinicProfileRequest(
                content=profile, source="1.yaml", published_by="phi-test", note=NOTE
            )
        )
        called.add("PublishClinicProfile")
        k.ListClinicProfiles(cpb.ListClinicProfilesRequest())
        called.add("ListClinicProfiles")
        k.GetClinicProfile(cpb.GetClinicProfileRequest(clinic_id="harbor", version="1"))
        called.add("GetClinicProfile")
        k.DiffClinicProfiles(
            cpb.DiffClinicProfilesRequest(clinic_id="harbor", from_version="1", to_version="1")
        )
        called.add("DiffClinicProfiles")
        k.ListClinicLocations(cpb.ListClinicLocationsRequest(date_of_service=d(SERVICE_DAY)))
        called.add("ListClinicLocations")
    assert {rpc.rsplit("/", 1)[1] for rpc in all_rpcs()} <= called, "an RPC was not exercised"

    gateway = start_gateway(gateway_binary, server.target)
    gateway_lines: list[str] = []
    try:
        wait_healthy(gateway)
        body = {"session": {
            "plan_id": "acme-ppo-gold", "session_type": "deep_tissue", "minutes": 53,
            "referral": {"kind": "REFERRAL_KIND_PRESCRIPTION",
                         "issue_date": {"year": 2026, "month": 2, "day": 13}},
            "diagnosis_codes": [DIAGNOSIS],
            "date_of_service": {"year": 2026, "month": 3, "day": 17},
            "accumulators": {"deductible_met": {"currency_code": "USD", "units": "437",
                                                "nanos": 190000000}}}}  # fmt: skip
        assert http("POST", gateway.url("/v1/estimates:session"), body).status == 200
        body["session"]["minutes"] = 0
        assert http("POST", gateway.url("/v1/estimates:session"), body).status == 400
    finally:
        stop_gateway(gateway)
        assert gateway.process.stdout is not None
        gateway_lines.extend(gateway.process.stdout.readlines())

    gfe = subprocess.run(
        [*command(), "gfe", "--client-name", CLIENT_NAME, "--client-dob", CLIENT_DOB,
         "--session-type", "deep_tissue", "--minutes", "60", "--date", SERVICE_DAY,
         "--diagnosis", DIAGNOSIS, "--html", str(tmp_path / "gfe.html"),
         "--target", server.target],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert gfe.returncode == 0, gfe.stderr

    logged = server.stop() + "".join(gateway_lines)
    assert "listening on" in logged  # the scan reads real output
    found = [value for value in PLANTED if value in logged]
    lines = [line for line in logged.splitlines() if any(v in line for v in found)]
    assert not found, f"PHI-like values {found} in the logs: {lines[:5]}"
