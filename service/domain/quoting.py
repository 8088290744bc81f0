"""The quote service: validate, pick the rule version, run the engine, project plans.

This is the service layer every transport calls (gRPC, CLI, batch). It holds the current
RuleIndex and swaps it whole when new versions are published.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime

from service.domain.clinics import ClinicIndex, ClinicVersion, PricedAt
from service.domain.engine import price
from service.domain.errors import (
    EstimateUnavailableError,
    FieldViolation,
    InvalidRequestError,
    NoRuleVersionError,
)
from service.domain.index import RuleIndex
from service.domain.model import (
    Accumulators,
    Clinic,
    Estimate,
    Network,
    NetworkSource,
    NetworkTotals,
    PlanRules,
    RuleSetVersion,
    SessionRequest,
    TreatmentPlanEstimate,
)
from service.domain.pieces import CompiledPlan
from service.domain.suggest import did_you_mean
from service.domain.validation import schedule_violations, session_violations


class Quoter:
    """Answers quotes from an in-memory RuleIndex; thread-safe for readers and one writer."""

    def __init__(
        self, index: RuleIndex, clinic: Clinic, clinics: ClinicIndex | None = None
    ) -> None:
        self._index = index
        self.clinic = clinic  # the clinic-wide catalogue (session types) and fallback prices
        self._clinics = clinics or ClinicIndex(())

    @property
    def clinics(self) -> ClinicIndex:
        return self._clinics

    def replace_clinics(self, clinics: ClinicIndex) -> None:
        """Serve these clinic profile versions from now on (atomic, like replace_index)."""
        self._clinics = clinics

    @property
    def index(self) -> RuleIndex:
        return self._index

    def replace_index(self, index: RuleIndex) -> None:
        """Serve `index` from now on. Swapping the reference is atomic: a quote in flight
        keeps the index it started with (callers serialise rebuilds, see IndexRefresher)."""
        self._index = index

    def rules_for(
        self, plan_id: str, date_of_service: date, as_of: datetime | None = None
    ) -> tuple[RuleSetVersion, PlanRules]:
        """The version and plan rules that answer for this plan and date (as a quote would)."""
        return self._index.resolve(plan_id, date_of_service, as_of)

    def network_decided(self, request: SessionRequest, as_of: datetime | None = None) -> Network:
        """The network a quote of `request` is priced in: explicit, else the named
        location's participation on the date of service, else in network."""
        if request.is_self_pay or request.network_given or not request.location_id:
            return request.network
        priced = self._clinics.priced_at(
            self.clinic, request.location_id, request.date_of_service, as_of, None
        )
        compiled = self._index.resolve_compiled(request.plan_id, request.date_of_service, as_of)
        return _with_network(request, compiled, priced)[0].network

    def violations(self, request: SessionRequest) -> list[FieldViolation]:
        """Everything wrong with one session, field by field: the one check every quote gets
        (transports add what they could not parse, and ask for this only then)."""
        found = session_violations(request, self.clinic)
        known = self._clinics.location_ids() if request.location_id else []
        if request.location_id and request.location_id not in known:
            found.append(
                FieldViolation(
                    "location_id",
                    f"unknown location {request.location_id!r}"
                    f"{did_you_mean(request.location_id, known)}; locations: "
                    f"{', '.join(known) or 'none published'}",
                )
            )
        return found

    def plan_violations(
        self, template: SessionRequest, dates: Sequence[date | None] | None
    ) -> list[FieldViolation]:
        """Everything wrong with a treatment plan: its dates ("dates", "dates[i]"; None when
        the transport found the schedule unusable) and its session, dated by the first date."""
        found = schedule_violations(dates) if dates is not None else []
        first = next((d for d in dates or () if d is not None), None)
        session = (
            template if first is None else dataclasses.replace(template, date_of_service=first)
        )
        return found + self.violations(session)

    def estimate(self, request: SessionRequest, as_of: datetime | None = None) -> Estimate:
        return self.estimate_priced(request, as_of)[0]

    def estimate_priced(
        self,
        request: SessionRequest,
        as_of: datetime | None = None,
        clinic_version: tuple[str, str] | None = None,
    ) -> tuple[Estimate, ClinicVersion | None]:
        """The estimate and the clinic version that priced it (None when none is published
        for the date and the request names no location). `clinic_version` (clinic id,
        version label) pins the version, for replaying a saved quote exactly."""
        _raise_if_any(self.violations(request))
        clinics = self._clinics
        pinned = self._pinned(clinics, clinic_version)
        priced = clinics.priced_at(
            self.clinic, request.location_id, request.date_of_service, as_of, pinned
        )
        clinic = priced.clinic if priced else self.clinic
        request = _with_therapist(request, priced)
        if request.is_self_pay:
            estimate = price(request, None, clinic)
        else:
            compiled = self._index.resolve_compiled(request.plan_id, request.date_of_service, as_of)
            request, _ = _with_network(request, compiled, priced)
            estimate = price(request, compiled, clinic)
        return _stamped(estimate, request, priced), priced.version if priced else None

    @staticmethod
    def _pinned(clinics: ClinicIndex, label: tuple[str, str] | None) -> ClinicVersion | None:
        if label is None:
            return None
        version = clinics.get(*label)
        if version is None:  # published versions are never removed: the store lost one
            raise EstimateUnavailableError(
                "NO_CLINIC_VERSION", f"clinic profile version {' '.join(label)} is not loaded"
            )
        return version

    def treatment_plan(
        self, template: SessionRequest, dates: Sequence[date], as_of: datetime | None = None
    ) -> TreatmentPlanEstimate:
        """Price `template` on each date, carrying accumulators forward (docs/cost-rules.md §7)."""
        _raise_if_any(self.plan_violations(template, dates))
        index = self._index  # one index for the whole plan, even if a publish lands meanwhile
        clinics = self._clinics
        sessions: list[Estimate] = []
        acc, other = template.accumulators, template.other_network
        period: tuple[date, date] | None = None
        network: Network | None = None
        for i, day in enumerate(dates):
            request = dataclasses.replace(
                template, date_of_service=day, accumulators=acc, other_network=other
            )
            compiled: CompiledPlan | None = None
            if i > 0:  # the day's earlier units and procedures belong to the first session
                request = dataclasses.replace(
                    request, units_billed_today=0, same_day_procedure_codes=()
                )
            try:
                priced = clinics.priced_at(self.clinic, request.location_id, day, as_of)
            except EstimateUnavailableError as err:
                raise EstimateUnavailableError(
                    err.reason, f"session {i + 1} of the treatment plan: {err}"
                ) from None
            clinic = priced.clinic if priced else self.clinic
            request = _with_therapist(request, priced)
            if not request.is_self_pay:
                try:
                    compiled = index.resolve_compiled(request.plan_id, day, as_of)
                except NoRuleVersionError as err:
                    raise NoRuleVersionError(
                        err.plan_id, day, f"session {i + 1} of the treatment plan"
                    ) from None
                this_period = compiled.plan.benefit_period.period_containing(day)
                if period is not None and this_period != period:
                    acc, other = Accumulators(), NetworkTotals()
                    request = dataclasses.replace(request, accumulators=acc, other_network=other)
                period = this_period
                request, _ = _with_network(request, compiled, priced)
                if network is not None and request.network is not network:
                    # The location joined (or left) the network part way: this network's
                    # totals are the other network's so far (visits count in either).
                    acc, other = _switched(acc, other)
                    request = dataclasses.replace(request, accumulators=acc, other_network=other)
                network = request.network
            try:
                estimate = _stamped(price(request, compiled, clinic), request, priced)
            except EstimateUnavailableError as err:  # say which session, as for no version
                detail = str(err).removeprefix("estimate unavailable: ")
                raise EstimateUnavailableError(
                    err.reason,
                    f"session {i + 1} ({day.isoformat()}) of the treatment plan: {detail}",
                ) from None
            sessions.append(estimate)
            acc = estimate.accumulators_after
        return TreatmentPlanEstimate(
            sessions=tuple(sessions),
            total_patient_pays=sum(e.patient_pays for e in sessions),
            total_plan_pays=sum(e.plan_pays for e in sessions),
            total_allowed_amount=sum(e.allowed_amount for e in sessions),
            covered_session_count=sum(1 for e in sessions if e.covered),
        )


def _with_network(
    request: SessionRequest, compiled: CompiledPlan, priced: PricedAt | None
) -> tuple[SessionRequest, NetworkSource]:
    """The request with its network decided: an explicit network wins; a named location with
    the network unspecified takes its participation on the date of service; neither is in
    network (as before locations existed)."""
    if request.network_given or not request.location_id or priced is None:
        return request, NetworkSource.REQUEST
    network = priced.location.network_for(
        compiled.version.payer_id, compiled.plan.plan_id, request.date_of_service
    )
    return dataclasses.replace(request, network=network), NetworkSource.LOCATION


def _with_therapist(request: SessionRequest, priced: PricedAt | None) -> SessionRequest:
    """The request rendered by its therapist's credential; the therapist must work at the
    location, and agree with an explicit provider_credential."""
    if not request.therapist_id:
        return request
    therapists = priced.location.therapists if priced else ()
    therapist = next((t for t in therapists if t.id == request.therapist_id), None)
    if therapist is None:
        known = [t.id for t in therapists]
        where = f"location {priced.location.id}" if priced else "the clinic"
        raise InvalidRequestError(
            [
                FieldViolation(
                    "therapist_id",
                    f"{where} has no therapist {request.therapist_id!r}"
                    f"{did_you_mean(request.therapist_id, known)}; therapists: "
                    f"{', '.join(known) or 'none listed'}",
                )
            ]
        )
    if request.provider is not None and request.provider is not therapist.credential:
        raise InvalidRequestError(
            [
                FieldViolation(
                    "provider_credential",
                    f"{request.provider.value} does not match therapist {therapist.id}, "
                    f"who is {therapist.credential.value}; give one or the other",
                )
            ]
        )
    return dataclasses.replace(request, provider=therapist.credential)


def _stamped(estimate: Estimate, request: SessionRequest, priced: PricedAt | None) -> Estimate:
    """Name the location, the network's source and the clinic version, when the request
    named a location (a request without one answers exactly as it always did)."""
    if not request.location_id or priced is None:
        return estimate
    source = None
    if not request.is_self_pay:
        source = NetworkSource.REQUEST if request.network_given else NetworkSource.LOCATION
    return dataclasses.replace(
        estimate,
        location_id=priced.location.id,
        network_source=source,
        clinic_version=priced.version.ref(),
    )


def _switched(acc: Accumulators, other: NetworkTotals) -> tuple[Accumulators, NetworkTotals]:
    """Accumulators seen from the other network: the money totals swap, visits stay."""
    return (
        Accumulators(
            deductible_met=other.deductible_met,
            out_of_pocket_met=other.out_of_pocket_met,
            visits_used=acc.visits_used,
            family_deductible_met=other.family_deductible_met,
            family_out_of_pocket_met=other.family_out_of_pocket_met,
            benefit_paid=acc.benefit_paid,
        ),
        NetworkTotals(
            deductible_met=acc.deductible_met,
            out_of_pocket_met=acc.out_of_pocket_met,
            family_deductible_met=acc.family_deductible_met,
            family_out_of_pocket_met=acc.family_out_of_pocket_met,
        ),
    )


def _raise_if_any(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidRequestError(violations)
