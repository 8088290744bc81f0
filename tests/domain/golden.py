"""A fixed grid of requests over the original sample plans, and a plain-data form of their
estimates, so the answers recorded before the rule format grew can be compared field by field
with today's (tests/fixtures/golden_estimates.json.gz; `python -m tests.domain.golden` rewrites it,
which is only right when a change is meant to alter those answers)."""

from __future__ import annotations

import dataclasses
import enum
import gzip
import itertools
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from service.domain.errors import EstimatorError
from service.domain.model import (
    Accumulators,
    Estimate,
    Injury,
    Network,
    ReferralKind,
    RuleSetVersion,
    SessionRequest,
)
from service.domain.quoting import Quoter

GOLDEN_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "golden_estimates.json.gz"

ORIGINAL_PLANS = (
    "acme-ppo-gold",
    "cedar-hdhp-hsa",
    "contoso-hmo-silver",
    "summit-ma-plus",
    "self-pay",
)


def grid() -> list[SessionRequest]:
    """1,800 requests: 800 drawn with a fixed seed from every original plan across lengths,
    networks, session types, referrals (fresh and stale), diagnoses, injuries, accumulators
    and dates either side of benefit-period resets and version switches, and 1,000 more
    that each plan's referral and diagnosis rules accept, so most of those are covered."""
    accs = (
        Accumulators(),
        Accumulators(45_000, 45_000, 3),
        Accumulators(50_000, 295_000, 12),
        Accumulators(160_000, 310_000, 19),
        Accumulators(250_000, 590_000, 5),
        Accumulators(0, 0, 20),
    )
    space = list(
        itertools.product(
            ORIGINAL_PLANS,
            (7, 8, 38, 53, 60, 83),
            (Network.IN, Network.IN, Network.OUT),
            ("deep_tissue", "myofascial", "medical", "swedish"),
            (
                ReferralKind.PRESCRIPTION,
                ReferralKind.PHYSICIAN_REFERRAL,
                ReferralKind.INTEGRATIVE_CARE_PLAN,
            ),
            (None, 10, 95, 200),  # no referral; issued that many days before the visit
            (("M54.50",), ("Z00.00", "M79.7"), ("F41.1",), ("M17.11", "S13.4XXA")),
            (date(2026, 3, 3), date(2026, 6, 30), date(2026, 7, 1), date(2027, 1, 4)),
            accs,
            (Injury.NONE, Injury.NONE, Injury.AUTO),
            (False, True),
        )
    )
    out: list[SessionRequest] = []
    for plan, minutes, network, stype, kind, age, dx, dos, a, injury, pa in random.Random(
        20260101
    ).sample(space, 800) + _likely_covered(accs):
        out.append(
            SessionRequest(
                plan_id=plan,
                session_type=stype,
                minutes=minutes,
                date_of_service=dos,
                referral_kind=ReferralKind.NONE if age is None else kind,
                referral_date=None if age is None else dos - timedelta(days=age),
                diagnosis_codes=dx,
                network=network,
                injury=injury,
                accumulators=a,
                prior_authorization_on_file=pa,
            )
        )
    return out


def _likely_covered(accs: tuple[Accumulators, ...]) -> list[tuple[Any, ...]]:
    accepted = {
        "acme-ppo-gold": ReferralKind.PRESCRIPTION,
        "cedar-hdhp-hsa": ReferralKind.NONE,
        "contoso-hmo-silver": ReferralKind.INTEGRATIVE_CARE_PLAN,
        "summit-ma-plus": ReferralKind.PRESCRIPTION,
    }
    space = list(
        itertools.product(
            accepted,
            (8, 22, 23, 38, 53, 60, 67, 68, 83, 97),
            (Network.IN, Network.IN, Network.OUT),
            ("deep_tissue", "myofascial", "medical", "sports", "trigger_point"),
            (10, 60),
            (("M54.50",), ("M17.11", "S13.4XXA"), ("G89.3",)),
            (date(2026, 3, 3), date(2026, 6, 30), date(2026, 7, 1), date(2027, 1, 4)),
            accs,
            (False, True),
        )
    )
    return [
        (plan, minutes, network, stype, accepted[plan], age, dx, dos, a, Injury.NONE, pa)
        for plan, minutes, network, stype, age, dx, dos, a, pa in random.Random(7).sample(
            space, 1000
        )
    ]


def plain(value: Any) -> Any:
    """JSON-able form of an estimate; the rule version is named by payer, label and checksum."""
    if isinstance(value, RuleSetVersion):
        return {
            "payer_id": value.payer_id,
            "version": value.version,
            "checksum": value.checksum,
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def answer(quoter: Quoter, request: SessionRequest) -> dict[str, Any]:
    try:
        estimate: Estimate = quoter.estimate(request)
    except EstimatorError as err:
        return {"error": type(err).__name__, "message": str(err)}
    return {"estimate": plain(estimate)}


def recorded() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(gzip.decompress(GOLDEN_FILE.read_bytes()))
    return data


def record(quoter: Quoter) -> list[dict[str, Any]]:
    return [{"request": plain(r), **answer(quoter, r)} for r in grid()]


if __name__ == "__main__":
    from service.domain.index import RuleIndex
    from service.rulefiles import load_rules_dir

    from .conftest import PUBLISHED_AT, RULES_DIR

    clinic, parsed = load_rules_dir(RULES_DIR)
    q = Quoter(RuleIndex.build(p.to_version(PUBLISHED_AT, "domain-tests") for p in parsed), clinic)
    text = json.dumps(record(q), separators=(",", ":"), sort_keys=True) + "\n"
    GOLDEN_FILE.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    print(f"wrote {GOLDEN_FILE}")
