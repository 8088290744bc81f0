"""Proto <-> domain conversion for the gRPC API.

Inbound, everything the wire format allows but the domain cannot represent (a month 13, a
Money in euros or with a fraction of a cent, an enum number this build does not know) becomes
an InvalidRequestError naming the field by its proto path relative to the request, e.g.
"session.accumulators.deductible_met". Checks of meaning (minutes range, session type, ICD-10
format, referral dates) are the domain's (Quoter validation), so they read the same from
every transport.

Outbound, domain cents become google.type.Money in USD (units + nanos) and optional domain
values that are None stay unset in the proto.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from google.protobuf import timestamp_pb2
from google.type import date_pb2, money_pb2
from massage_estimator.v1 import estimator_pb2 as pb

from service import wire
from service.domain import model
from service.domain.errors import FieldViolation, InvalidRequestError
from service.domain.money import Cents
from service.domain.validation import recurrence_violations
from service.interop.x12.apply import Applied, Reconciliation
from service.wire import CURRENCY, NANOS_PER_CENT, cents_from_money, date_to_proto, money_to_proto

E = TypeVar("E")

# --------------------------------------------------------------------------- enums

_REFERRAL_IN = wire.inbound(wire.REFERRAL_KINDS, model.ReferralKind.NONE)
_NETWORK_IN = wire.inbound(wire.NETWORKS, model.Network.IN)
_INJURY_IN = wire.inbound(wire.INJURIES, model.Injury.NONE)
# UNSPECIFIED: the clinic's default credential, which the engine fills in.
_PROVIDER_IN: dict[int, model.ProviderCredential | None] = {
    0: None,
    **{number: value for value, number in wire.PROVIDER_CREDENTIALS.items()},
}


def _enum_in(
    value: int, table: dict[int, E], path: str, enum_name: str, out: list[FieldViolation]
) -> E | None:
    """Look an open proto3 enum number up; an unknown number is a field violation."""
    if value in table:
        return table[value]
    out.append(FieldViolation(path, f"unknown {enum_name} value {value}", "UNKNOWN_ENUM_VALUE"))
    return None


# --------------------------------------------------------------------------- dates


def date_is_unset(value: date_pb2.Date) -> bool:
    return bool(value.year == 0 and value.month == 0 and value.day == 0)


def date_from_proto(
    value: date_pb2.Date, path: str, out: list[FieldViolation], *, required: bool
) -> date | None:
    """A full calendar date, or None when unset and not required (violations go to `out`)."""
    if date_is_unset(value):
        if required:
            out.append(
                FieldViolation(path, "is required (a full date: year, month and day)", "REQUIRED")
            )
        return None
    if value.year == 0 or value.month == 0 or value.day == 0:
        out.append(
            FieldViolation(
                path,
                f"must be a full date with year, month and day, not "
                f"{value.year:04d}-{value.month:02d}-{value.day:02d}",
            )
        )
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError as exc:
        out.append(
            FieldViolation(
                path,
                f"{value.year:04d}-{value.month:02d}-{value.day:02d} is not a valid date ({exc})",
                "BAD_DATE",
            )
        )
        return None


def timestamp_to_datetime(
    value: timestamp_pb2.Timestamp, path: str, out: list[FieldViolation]
) -> datetime | None:
    """A Timestamp as an aware UTC datetime; out-of-range seconds or nanos are a violation."""
    if not 0 <= value.nanos <= 999_999_999:
        out.append(FieldViolation(path, f"nanos must be 0 to 999999999, not {value.nanos}"))
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            seconds=value.seconds, microseconds=value.nanos // 1000
        )
    except OverflowError:
        out.append(FieldViolation(path, f"{value.seconds} seconds is outside the supported range"))
        return None


def datetime_to_timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


# --------------------------------------------------------------------------- money


def money_from_proto(value: money_pb2.Money, path: str, out: list[FieldViolation]) -> Cents | None:
    """USD Money with whole cents and no negative amount, as cents (violations go to `out`).

    An empty currency code is read as USD: the service prices in USD only, and an unset
    Money message (all zero) must mean $0.00.
    """
    bad = False
    if value.currency_code not in ("", CURRENCY):
        out.append(
            FieldViolation(
                path + ".currency_code", f"must be {CURRENCY}, not {value.currency_code!r}"
            )
        )
        bad = True
    if not -999_999_999 <= value.nanos <= 999_999_999:
        out.append(FieldViolation(path + ".nanos", "must be -999999999 to 999999999"))
        return None
    if (value.units > 0 and value.nanos < 0) or (value.units < 0 and value.nanos > 0):
        out.append(FieldViolation(path, "units and nanos must have the same sign"))
        return None
    if value.nanos % NANOS_PER_CENT:
        out.append(FieldViolation(path + ".nanos", "must be whole cents (a multiple of 10000000)"))
        return None
    cents = cents_from_money(value)
    if cents < 0:
        out.append(FieldViolation(path, "must not be negative"))
        return None
    return None if bad else cents


# --------------------------------------------------------------------------- requests


def session_from_proto(
    session: pb.SessionDetails,
    prefix: str,
    *,
    scheduled: bool = False,
    date_of_service: date | None = None,
) -> tuple[model.SessionRequest, list[FieldViolation]]:
    """SessionDetails -> SessionRequest plus the wire-level violations, paths under `prefix`.

    A field that cannot be converted gets a placeholder (its default, or for dates the other
    date or today) so the caller can still run the domain's own checks and report every bad
    field at once; the request must never be priced while violations remain.
    A `scheduled` session (a treatment plan's) takes `date_of_service` from the schedule,
    None when the schedule is unusable; a single session must carry its own.
    """
    out: list[FieldViolation] = []
    if scheduled:
        dos = date_of_service
    else:
        dos = date_from_proto(
            session.date_of_service, prefix + "date_of_service", out, required=True
        )
    kind = _enum_in(
        session.referral.kind, _REFERRAL_IN, prefix + "referral.kind", "ReferralKind", out
    )
    referral_date = date_from_proto(
        session.referral.issue_date, prefix + "referral.issue_date", out, required=False
    )
    network = _enum_in(session.network, _NETWORK_IN, prefix + "network", "Network", out)
    injury = _enum_in(session.injury, _INJURY_IN, prefix + "injury", "Injury", out)
    provider = _enum_in(
        session.provider_credential,
        _PROVIDER_IN,
        prefix + "provider_credential",
        "ProviderCredential",
        out,
    )
    request = model.SessionRequest(
        plan_id=session.plan_id.strip(),
        session_type=session.session_type.strip(),
        minutes=session.minutes,
        date_of_service=dos or referral_date or date.today(),
        referral_kind=kind or model.ReferralKind.NONE,
        referral_date=referral_date,
        diagnosis_codes=tuple(code.strip().upper() for code in session.diagnosis_codes),
        network=network or model.Network.IN,
        injury=injury or model.Injury.NONE,
        accumulators=_accumulators_from_proto(session.accumulators, prefix + "accumulators.", out),
        prior_authorization_on_file=session.prior_authorization_on_file,
        other_network=_other_network_from_proto(
            session.other_network_accumulators, prefix + "other_network_accumulators.", out
        ),
        units_billed_today=session.units_billed_today,
        same_day_procedure_codes=tuple(c.strip().upper() for c in session.same_day_procedure_codes),
        provider=provider,
        location_id=session.location_id.strip(),
        network_given=session.network != pb.NETWORK_UNSPECIFIED,
        therapist_id=session.therapist_id.strip(),
    )
    return request, out


def _optional_money(
    message: pb.Accumulators | pb.OtherNetworkAccumulators,
    name: str,
    path: str,
    out: list[FieldViolation],
) -> Cents | None:
    """A Money field that may be left unset (None), as opposed to $0.00."""
    if not message.HasField(name):
        return None
    return money_from_proto(getattr(message, name), path + name, out)


def _accumulators_from_proto(
    acc: pb.Accumulators, path: str, out: list[FieldViolation]
) -> model.Accumulators:
    return model.Accumulators(
        deductible_met=money_from_proto(acc.deductible_met, path + "deductible_met", out) or 0,
        out_of_pocket_met=money_from_proto(acc.out_of_pocket_met, path + "out_of_pocket_met", out)
        or 0,
        visits_used=acc.visits_used,
        family_deductible_met=_optional_money(acc, "family_deductible_met", path, out),
        family_out_of_pocket_met=_optional_money(acc, "family_out_of_pocket_met", path, out),
        benefit_paid=money_from_proto(acc.benefit_paid, path + "benefit_paid", out) or 0,
    )


def _other_network_from_proto(
    other: pb.OtherNetworkAccumulators, path: str, out: list[FieldViolation]
) -> model.NetworkTotals:
    return model.NetworkTotals(
        deductible_met=money_from_proto(other.deductible_met, path + "deductible_met", out) or 0,
        out_of_pocket_met=money_from_proto(other.out_of_pocket_met, path + "out_of_pocket_met", out)
        or 0,
        family_deductible_met=_optional_money(other, "family_deductible_met", path, out),
        family_out_of_pocket_met=_optional_money(other, "family_out_of_pocket_met", path, out),
    )


_TYPED_MONEY = (
    "deductible_met",
    "out_of_pocket_met",
    "family_deductible_met",
    "family_out_of_pocket_met",
    "benefit_paid",
)
_TYPED_OTHER = (
    "deductible_met",
    "out_of_pocket_met",
    "family_deductible_met",
    "family_out_of_pocket_met",
)


def typed_accumulators(session: pb.SessionDetails) -> frozenset[str]:
    """The accumulators the caller set (they win over a 271's). A visit count of 0 is the
    proto3 default and cannot be told from "not sent": the 271's count is used then."""
    acc, other = session.accumulators, session.other_network_accumulators
    names = {name for name in _TYPED_MONEY if acc.HasField(name)}
    if acc.visits_used:
        names.add("visits_used")
    names |= {f"other_network.{name}" for name in _TYPED_OTHER if other.HasField(name)}
    return frozenset(names)


def fill_from_eligibility(session: pb.SessionDetails, applied: Sequence[Applied]) -> None:
    """Write what a 271 filled in into `session` (as a saved quote keeps it) and drop the
    271 itself: the saved request then prices alone, and holds no member identity."""
    for figure in applied:
        target: pb.Accumulators | pb.OtherNetworkAccumulators = session.accumulators
        name = figure.field
        if name.startswith("other_network."):
            target, name = session.other_network_accumulators, name.split(".", 1)[1]
        if name == "visits_used":
            session.accumulators.visits_used = figure.value
        else:
            getattr(target, name).CopyFrom(money_to_proto(figure.value))
    session.ClearField("eligibility_271")


def eligibility_to_proto(found: Reconciliation) -> pb.EligibilityCheck:
    return pb.EligibilityCheck(
        priced_by=found.priced_by,
        applied=[
            pb.EligibilityFigure(field=a.field, amount=a.amount, explanation=a.how)
            for a in found.applied
        ],
        disagreements=[
            pb.EligibilityDisagreement(
                term=d.term,
                rule_value=d.rule_value,
                eligibility_value=d.eligibility_value,
                service_type=d.service_type,
                rule_ref=d.rule_ref,
            )
            for d in found.disagreements
        ],
        notes=found.notes,
    )


def schedule_from_proto(
    request: pb.EstimateTreatmentPlanRequest, out: list[FieldViolation]
) -> list[date | None] | None:
    """The dates of a treatment plan as sent (violations go to `out`): explicit dates, None
    for one that is not a date (the domain checks their number and order), or those of a
    recurrence (the domain checks its count and spacing first). None when there is no
    usable schedule."""
    which = request.WhichOneof("schedule")
    if which is None:
        out.append(FieldViolation("schedule", "set either dates or recurrence"))
        return None
    if which == "dates":
        return [
            date_from_proto(value, f"dates.dates[{i}]", out, required=True)
            for i, value in enumerate(request.dates.dates)
        ]
    rec = request.recurrence
    start = date_from_proto(rec.start_date, "recurrence.start_date", out, required=True)
    bad = [
        FieldViolation("recurrence." + v.field, v.description, v.reason)
        for v in recurrence_violations(rec.session_count, rec.every_days)
    ]
    out.extend(bad)
    if start is None or bad:
        return None
    try:
        return [start + timedelta(days=i * rec.every_days) for i in range(rec.session_count)]
    except OverflowError:
        out.append(FieldViolation("recurrence", "the schedule runs past the year 9999"))
        return None


def rules_as_of_from_proto(
    has_value: bool, value: timestamp_pb2.Timestamp, path: str
) -> datetime | None:
    """None (now) when unset, else the moment as an aware UTC datetime."""
    if not has_value:
        return None
    out: list[FieldViolation] = []
    moment = timestamp_to_datetime(value, path, out)
    if out:
        raise InvalidRequestError(out)
    return moment


# --------------------------------------------------------------------------- estimates


def rule_version_to_proto(version: model.RuleSetVersion, plan_id: str) -> pb.RuleVersion:
    plan = version.plan(plan_id)
    msg = pb.RuleVersion(
        payer_id=version.payer_id,
        payer_name=version.payer_name,
        plan_id=plan_id,
        plan_name=plan.plan_name if plan is not None else "",
        version=version.version,
        effective_from=date_to_proto(version.effective_from),
        checksum=version.checksum,
        published_at=datetime_to_timestamp(version.published_at),
    )
    if version.effective_to is not None:
        msg.effective_to.CopyFrom(date_to_proto(version.effective_to))
    return msg


def accumulators_to_proto(acc: model.Accumulators) -> pb.Accumulators:
    """The amounts a plan without family amounts or a payment limit never moves stay unset,
    so estimates of such plans read exactly as they always have (saved quotes replay equal)."""
    msg = pb.Accumulators(
        deductible_met=money_to_proto(acc.deductible_met),
        out_of_pocket_met=money_to_proto(acc.out_of_pocket_met),
        visits_used=acc.visits_used,
    )
    if acc.family_deductible_met is not None:
        msg.family_deductible_met.CopyFrom(money_to_proto(acc.family_deductible_met))
    if acc.family_out_of_pocket_met is not None:
        msg.family_out_of_pocket_met.CopyFrom(money_to_proto(acc.family_out_of_pocket_met))
    if acc.benefit_paid:
        msg.benefit_paid.CopyFrom(money_to_proto(acc.benefit_paid))
    return msg


def line_item_to_proto(item: model.LineItem) -> pb.LineItem:
    msg = pb.LineItem(
        kind=wire.LINE_ITEM_KINDS[item.kind],
        description=item.description,
        cpt_code=item.cpt_code,
        units=item.units,
        amount=money_to_proto(item.amount),
        rule_ref=item.rule_ref,
    )
    if item.unit_amount is not None:
        msg.unit_amount.CopyFrom(money_to_proto(item.unit_amount))
    return msg


def estimate_to_proto(est: model.Estimate) -> pb.Estimate:
    cost = est.patient_cost
    msg = pb.Estimate(
        covered=est.covered,
        coverage_basis=wire.COVERAGE_BASES[est.coverage_basis],
        reasons=[
            pb.Reason(code=r.code, message=r.message, rule_ref=r.rule_ref) for r in est.reasons
        ],
        cpt_code=est.cpt_code,
        unit_method=(
            wire.UNIT_METHODS[est.unit_method]
            if est.unit_method is not None
            else pb.UNIT_METHOD_UNSPECIFIED
        ),
        billed_units=est.billed_units,
        covered_units=est.covered_units,
        allowed_amount=money_to_proto(est.allowed_amount),
        plan_pays=money_to_proto(est.plan_pays),
        patient_pays=money_to_proto(est.patient_pays),
        patient_cost=pb.PatientCost(
            copay=money_to_proto(cost.copay),
            deductible=money_to_proto(cost.deductible),
            coinsurance=money_to_proto(cost.coinsurance),
            not_covered=money_to_proto(cost.not_covered),
            balance_billing=money_to_proto(cost.balance_billing),
        ),
        line_items=[line_item_to_proto(item) for item in est.line_items],
        visit_limit_shared_with=list(est.visit_limit_shared_with),
        prior_authorization_required=est.prior_authorization_required,
        hsa_eligible=est.hsa_eligible,
        missing=[pb.Requirement(code=m.code, message=m.message) for m in est.missing],
        plan_id=est.plan_id,
        session_type=est.session_type,
        minutes=est.minutes,
        date_of_service=date_to_proto(est.date_of_service),
        accumulators_after=accumulators_to_proto(est.accumulators_after),
        clinic_charge=money_to_proto(est.clinic_charge),
    )
    if est.sessions_remaining is not None:
        msg.sessions_remaining = est.sessions_remaining
    if est.visit_limit is not None:
        msg.visit_limit = est.visit_limit
    if est.rule_version is not None:
        msg.rule_version.CopyFrom(rule_version_to_proto(est.rule_version, est.plan_id))
    if est.benefit_period is not None:
        start, end = est.benefit_period
        msg.benefit_period.CopyFrom(
            pb.BenefitPeriod(start_date=date_to_proto(start), end_date=date_to_proto(end))
        )
    if est.benefit_remaining is not None:
        msg.benefit_remaining.CopyFrom(money_to_proto(est.benefit_remaining))
    if est.location_id:
        msg.location_id = est.location_id
    if est.network_source is not None:
        msg.network_source = wire.NETWORK_SOURCES[est.network_source]
    if est.clinic_version is not None:
        msg.clinic_version.CopyFrom(clinic_version_to_proto(est.clinic_version))
    return msg


def clinic_version_to_proto(ref: model.ClinicVersionRef) -> pb.ClinicVersionRef:
    msg = pb.ClinicVersionRef(
        clinic_id=ref.clinic_id,
        version=ref.version,
        checksum=ref.checksum,
        effective_from=date_to_proto(ref.effective_from),
        published_at=datetime_to_timestamp(ref.published_at),
    )
    if ref.effective_to is not None:
        msg.effective_to.CopyFrom(date_to_proto(ref.effective_to))
    return msg


def treatment_plan_to_proto(plan: model.TreatmentPlanEstimate) -> pb.EstimateTreatmentPlanResponse:
    return pb.EstimateTreatmentPlanResponse(
        sessions=[estimate_to_proto(e) for e in plan.sessions],
        total_patient_pays=money_to_proto(plan.total_patient_pays),
        total_plan_pays=money_to_proto(plan.total_plan_pays),
        total_allowed_amount=money_to_proto(plan.total_allowed_amount),
        covered_session_count=plan.covered_session_count,
    )
