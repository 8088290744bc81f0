"""PreviewImpact through the real gateway (issue 11): POST /v1/rule-sets:previewImpact."""

from __future__ import annotations

import pytest

from .helpers import REPO_ROOT, Gateway, http
from .test_openapi_contract import validate, validate_error
from .test_rest import issue_session, usd

pytestmark = pytest.mark.gateway

ACME_2026 = (REPO_ROOT / "payer_rules" / "acme-health" / "2026.yaml").read_text()
ROUTE = "/v1/rule-sets:previewImpact"


def test_a_draft_raising_the_97124_rate_over_rest(gateway: Gateway) -> None:
    old = '"97124": "31.00"\n        "97140"'
    draft = ACME_2026.replace(old, '"97124": "35.00"\n        "97140"')
    body = {"content": draft, "source": "2026.yaml", "batch": {"sessions": [issue_session()]}}
    reply = http("POST", gateway.url(ROUTE), body)
    assert reply.status == 200, reply
    validate(reply.json, "v1PreviewImpactResponse")
    report = reply.json
    assert (report["session_count"], report["changed_count"]) == (1, 1)
    # 4 units: $124.00 -> $140.00 allowed; the patient $50.00 + 20% of the rest.
    assert report["before"]["patient_pays"] == usd(64, 800_000_000)
    assert report["after"]["patient_pays"] == usd(68)
    (line,) = report["largest_changes"]
    assert line["patient_pays_change"] == usd(3, 200_000_000)
    assert "diagnosis_codes" not in reply.text and "M54" not in reply.text


def test_an_unchanged_draft_over_rest_changes_nothing(gateway: Gateway) -> None:
    body = {"content": ACME_2026, "batch": {"sessions": [issue_session()]}}
    reply = http("POST", gateway.url(ROUTE), body)
    assert reply.status == 200, reply
    assert reply.json["changed_count"] == 0
    assert reply.json["before"] == reply.json["after"]


def test_a_preview_without_sessions_is_a_400(gateway: Gateway) -> None:
    body = validate_error(http("POST", gateway.url(ROUTE), {"content": ACME_2026}), 400)
    assert "saved_quotes" in body["message"]
