"""Varied, realistic requests over whatever plans a rule directory publishes.

The mix is derived from the plans themselves (which referral each accepts, whether it has
out-of-network terms, the dates its versions cover), so the same generator serves the sample
data and the generated 10,000-plan corpus. Every request is one the service answers with an
estimate (no error path): an error answer would measure the error path, not quoting.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from massage_estimator.v1 import estimator_pb2 as pb

from service.domain.model import (
    SELF_PAY_PLAN_ID,
    Accumulators,
    Clinic,
    Injury,
    Network,
    ReferralKind,
    RuleSetVersion,
    SessionRequest,
)
from service.wire import date_to_proto, money_to_proto

# Qualifying codes of every sample plan first, then codes only some plans accept (anxiety,
# depression) and codes no plan accepts (a wellness visit, a headache).
DIAGNOSES = (
    ("M54.50", 30),
    ("M54.2", 15),
    ("M79.7", 10),
    ("M17.11", 8),
    ("G89.3", 5),
    ("S13.4XXA", 5),
    ("F41.1", 10),
    ("F32.9", 5),
    ("Z00.00", 6),
    ("R51.9", 6),
)
MINUTES = (30, 45, 53, 60, 60, 60, 75, 90, 5, 120)
_REFERRAL_WIRE = {
    ReferralKind.NONE: pb.REFERRAL_KIND_NONE,
    ReferralKind.PHYSICIAN_REFERRAL: pb.REFERRAL_KIND_PHYSICIAN_REFERRAL,
    ReferralKind.PRESCRIPTION: pb.REFERRAL_KIND_PRESCRIPTION,
    ReferralKind.INTEGRATIVE_CARE_PLAN: pb.REFERRAL_KIND_INTEGRATIVE_CARE_PLAN,
}
_NETWORK_WIRE = {Network.IN: pb.NETWORK_IN, Network.OUT: pb.NETWORK_OUT}
_INJURY_WIRE = {
    Injury.NONE: pb.INJURY_NONE,
    Injury.AUTO: pb.INJURY_AUTO_ACCIDENT,
    Injury.WORK: pb.INJURY_WORK,
}


@dataclass(frozen=True)
class PlanSpec:
    """What the generator needs to know of one plan to ask it sensible questions."""

    plan_id: str
    accepted: tuple[ReferralKind, ...]  # empty: no referral needed
    out_of_network: bool  # False: out-of-network quotes would be unavailable, so none are sent
    ranges: tuple[tuple[date, date], ...]  # dates of service some version covers


def plan_specs(versions: Iterable[RuleSetVersion]) -> list[PlanSpec]:
    """One spec per plan id, from every version that defines it (ranges capped at a year)."""
    ranges: dict[str, list[tuple[date, date]]] = {}
    accepted: dict[str, tuple[ReferralKind, ...]] = {}
    out: dict[str, bool] = {}
    for version in versions:
        end = version.effective_to or version.effective_from + timedelta(days=364)
        for plan in version.plans:
            ranges.setdefault(plan.plan_id, []).append((version.effective_from, end))
            kinds = plan.referral.accepted_kinds if plan.referral.required else frozenset()
            accepted[plan.plan_id] = tuple(sorted(kinds, key=lambda k: k.value))
            out[plan.plan_id] = out.get(plan.plan_id, True) and plan.out_of_network is not None
    return [
        PlanSpec(pid, accepted[pid], out[pid], tuple(sorted(ranges[pid]))) for pid in sorted(ranges)
    ]


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def requests(
    specs: Sequence[PlanSpec],
    clinic: Clinic,
    n: int,
    seed: int = 13,
    self_pay_share: float = 0.08,
) -> list[SessionRequest]:
    """`n` requests: mostly well-formed insured visits, with the usual share of misses
    (expired or missing referral, a wellness code, an excluded injury, visits used up)."""
    rng = random.Random(seed)
    session_types = sorted(clinic.session_types)
    out: list[SessionRequest] = []
    for _ in range(n):
        minutes = rng.choice(MINUTES)
        session_type = rng.choice(session_types)
        codes = tuple(
            dict.fromkeys(_weighted(rng, DIAGNOSES) for _ in range(rng.choice((1, 1, 1, 2))))
        )
        if rng.random() < self_pay_share:
            day = date(2026, 7, 1) + timedelta(days=rng.randrange(365))
            out.append(
                SessionRequest(
                    plan_id=SELF_PAY_PLAN_ID,
                    session_type=session_type,
                    minutes=minutes,
                    date_of_service=day,
                    diagnosis_codes=codes,
                )
            )
            continue
        spec = rng.choice(specs)
        start, end = rng.choice(spec.ranges)
        day = start + timedelta(days=rng.randrange((end - start).days + 1))
        if spec.accepted and rng.random() < 0.88:
            kind = rng.choice(spec.accepted)
        else:
            kind = rng.choice((ReferralKind.NONE, ReferralKind.PRESCRIPTION))
        referral_date = None
        if kind is not ReferralKind.NONE:
            referral_date = day - timedelta(days=min(rng.randrange(0, 200), rng.randrange(0, 200)))
        network = Network.OUT if spec.out_of_network and rng.random() < 0.15 else Network.IN
        injury = rng.choices((Injury.NONE, Injury.AUTO, Injury.WORK), weights=(90, 5, 5))[0]
        out.append(
            SessionRequest(
                plan_id=spec.plan_id,
                session_type=session_type,
                minutes=minutes,
                date_of_service=day,
                referral_kind=kind,
                referral_date=referral_date,
                diagnosis_codes=codes,
                network=network,
                injury=injury,
                accumulators=Accumulators(
                    deductible_met=rng.choice((0, 0, rng.randrange(0, 400_000, 500))),
                    out_of_pocket_met=rng.choice((0, rng.randrange(0, 700_000, 500))),
                    visits_used=min(rng.randrange(0, 30), rng.randrange(0, 30)),
                ),
                prior_authorization_on_file=rng.random() < 0.3,
            )
        )
    return out


def to_proto(r: SessionRequest) -> pb.SessionDetails:
    """The wire form of a request, as a booking front end would send it."""
    details = pb.SessionDetails(
        plan_id=r.plan_id,
        session_type=r.session_type,
        minutes=r.minutes,
        date_of_service=date_to_proto(r.date_of_service),
        diagnosis_codes=list(r.diagnosis_codes),
        network=_NETWORK_WIRE[r.network],
        injury=_INJURY_WIRE[r.injury],
        prior_authorization_on_file=r.prior_authorization_on_file,
        accumulators=pb.Accumulators(
            deductible_met=money_to_proto(r.accumulators.deductible_met),
            out_of_pocket_met=money_to_proto(r.accumulators.out_of_pocket_met),
            visits_used=r.accumulators.visits_used,
        ),
    )
    details.referral.kind = _REFERRAL_WIRE[r.referral_kind]
    if r.referral_date is not None:
        details.referral.issue_date.CopyFrom(date_to_proto(r.referral_date))
    return details


def frame(message: bytes) -> bytes:
    """One gRPC length-prefixed message (uncompressed), the body h2load sends."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def unary_body(r: SessionRequest) -> bytes:
    return pb.EstimateSessionRequest(session=to_proto(r)).SerializeToString()


def batch_body(rs: Sequence[SessionRequest]) -> bytes:
    return pb.EstimateSessionsRequest(sessions=[to_proto(r) for r in rs]).SerializeToString()
