"""The quote service: validate, pick the rule version, run the engine, project plans.

This is the service layer every transport calls (gRPC, CLI, batch). It holds the current
RuleIndex and swaps it whole when new versions are published.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime

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
    NetworkTotals,
    PlanRules,
    RuleSetVersion,
    SessionRequest,
    TreatmentPlanEstimate,
)
from service.domain.pieces import CompiledPlan
from service.domain.validation import schedule_violations, session_violations


class Quoter:
    """Answers quotes from an in-memory RuleIndex; thread-safe for readers and one writer."""

    def __init__(self, index: RuleIndex, clinic: Clinic) -> None:
        self._index = index
        self.clinic = clinic

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

    def violations(self, request: SessionRequest) -> list[FieldViolation]:
        """Everything wrong with one session, field by field: the one check every quote gets
        (transports add what they could not parse, and ask for this only then)."""
        return session_violations(request, self.clinic)

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
        _raise_if_any(self.violations(request))
        return self._estimate(self._index, request, as_of)

    def _estimate(
        self, index: RuleIndex, request: SessionRequest, as_of: datetime | None
    ) -> Estimate:
        if request.is_self_pay:
            return price(request, None, self.clinic)
        compiled = index.resolve_compiled(request.plan_id, request.date_of_service, as_of)
        return price(request, compiled, self.clinic)

    def treatment_plan(
        self, template: SessionRequest, dates: Sequence[date], as_of: datetime | None = None
    ) -> TreatmentPlanEstimate:
        """Price `template` on each date, carrying accumulators forward (docs/cost-rules.md §7)."""
        _raise_if_any(self.plan_violations(template, dates))
        index = self._index  # one index for the whole plan, even if a publish lands meanwhile
        sessions: list[Estimate] = []
        acc, other = template.accumulators, template.other_network
        period: tuple[date, date] | None = None
        for i, day in enumerate(dates):
            request = dataclasses.replace(
                template, date_of_service=day, accumulators=acc, other_network=other
            )
            compiled: CompiledPlan | None = None
            if i > 0:  # the day's earlier units and procedures belong to the first session
                request = dataclasses.replace(
                    request, units_billed_today=0, same_day_procedure_codes=()
                )
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
            try:
                estimate = price(request, compiled, self.clinic)
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


def _raise_if_any(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidRequestError(violations)
