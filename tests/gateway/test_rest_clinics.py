"""ClinicService and locations through the real REST gateway."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.app import start
from service.settings import Settings

from .helpers import REPO_ROOT, Gateway, Reply, http, start_gateway, stop_gateway, wait_healthy

SAMPLE = REPO_ROOT / "payer_rules" / "clinics" / "harbor" / "1.yaml"


@pytest.fixture(scope="module")
def clinic_gateway(
    gateway_binary: Path,
    service_settings: Callable[..., Settings],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    app = start(service_settings(tmp_path_factory.mktemp("rest-clinics") / "db.sqlite"))
    try:
        gw = start_gateway(gateway_binary, app.target)
        try:
            wait_healthy(gw)
            yield gw
        finally:
            stop_gateway(gw)
    finally:
        app.stop(grace=1.0)


def get(gw: Gateway, path: str, **query: str) -> Reply:
    suffix = "?" + urllib.parse.urlencode(query) if query else ""
    return http("GET", gw.url(path + suffix))


def test_clinic_profiles_publish_list_diff(clinic_gateway: Gateway) -> None:
    listed = get(clinic_gateway, "/v1/clinic-profiles")
    assert listed.status == 200, listed
    (info,) = listed.json["clinic_profiles"]
    assert (info["clinic_id"], info["version"]) == ("harbor", "1")
    assert info["location_ids"] == ["harbor", "harbor-eastside"]
    text = SAMPLE.read_text().replace('version: "1"', 'version: "2"').replace('"42.00"', '"43.00"')
    checked = http("POST", clinic_gateway.url("/v1/clinic-profiles:validate"), {"content": text})
    assert checked.status == 200 and checked.json["valid"], checked
    published = http(
        "POST",
        clinic_gateway.url("/v1/clinic-profiles:publish"),
        {"content": text, "source": "2.yaml", "published_by": "rest-admin"},
    )
    assert published.status == 200, published
    assert published.json["created"] is True
    diff = get(clinic_gateway, "/v1/clinic-profiles/harbor:diff", from_version="1", to_version="2")
    assert diff.status == 200, diff
    fields = [c["field"] for c in diff.json["changes"]]
    assert "locations[harbor-eastside].charge_per_unit.97124" in fields
    shown = get(clinic_gateway, "/v1/clinic-profiles/harbor/versions/2")
    assert shown.status == 200 and "43.00" in shown.json["content_yaml"]
    missing = get(clinic_gateway, "/v1/clinic-profiles/harbor/versions/9")
    assert missing.status == 404, missing
    bad = http(
        "POST",
        clinic_gateway.url("/v1/clinic-profiles:publish"),
        {"content": text.replace('"1987654328"', '"1987654320"').replace('"2"', '"3"'),
         "published_by": "rest-admin"},
    )  # fmt: skip
    assert bad.status == 400, bad


def test_locations_and_a_quote_at_a_location(clinic_gateway: Gateway) -> None:
    locs = get(
        clinic_gateway,
        "/v1/clinic-locations",
        **{
            "date_of_service.year": "2026",
            "date_of_service.month": "7",
            "date_of_service.day": "1",
        },
        location_id="harbor-eastside",
    )
    assert locs.status == 200, locs
    (east,) = locs.json["locations"]
    assert east["address_lines"] == ["1500 Bellevue Way NE, Suite 210", "Bellevue, WA 98004"]
    in_effect = [p["payer_id"] for p in east["in_network"] if p.get("in_effect")]
    assert in_effect == ["acme-health", "birch-health", "cedar-mutual", "summit-medicare-advantage"]
    quote = http(
        "POST",
        clinic_gateway.url("/v1/estimates:session"),
        {
            "session": {
                "plan_id": "self-pay",
                "session_type": "deep_tissue",
                "minutes": 60,
                "date_of_service": {"year": 2026, "month": 3, "day": 3},
                "location_id": "harbor-eastside",
            }
        },
    )
    assert quote.status == 200, quote
    estimate = quote.json["estimate"]
    assert estimate["location_id"] == "harbor-eastside"
    assert estimate["patient_pays"]["units"] == "115"  # Eastside's 60-minute cash price
