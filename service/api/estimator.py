"""The EstimatorService servicer: proto in, domain Quoter, proto out.

No pricing logic lives here. The servicer converts requests (service.api.convert), asks the
Quoter (which answers from the in-memory RuleIndex, never the database) and maps domain errors
to statuses (service.api.errors). Field paths in errors are relative to the request:
"session.minutes" for single sessions and plans, "sessions[3].minutes" in a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import NoReturn, Protocol

import grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.api import convert, fastconvert
from service.api.errors import abort, status_for_logged
from service.domain import model
from service.domain.errors import FieldViolation, InvalidRequestError
from service.interop.x12.apply import Reconciliation
from service.usecases.eligibility import reconcile

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EstimatorService"].full_name


class QuoterLike(Protocol):
    """What the servicer needs of service.domain.quoting.Quoter."""

    clinic: model.Clinic

    def rules_for(
        self, plan_id: str, date_of_service: date, as_of: datetime | None = None
    ) -> tuple[model.RuleSetVersion, model.PlanRules]: ...

    def network_decided(
        self, request: model.SessionRequest, as_of: datetime | None = None
    ) -> model.Network: ...

    def violations(self, request: model.SessionRequest) -> list[FieldViolation]: ...

    def plan_violations(
        self, template: model.SessionRequest, dates: Sequence[date | None] | None
    ) -> list[FieldViolation]: ...

    def estimate(
        self, request: model.SessionRequest, as_of: datetime | None = None
    ) -> model.Estimate: ...

    def treatment_plan(
        self,
        template: model.SessionRequest,
        dates: Sequence[date],
        as_of: datetime | None = None,
    ) -> model.TreatmentPlanEstimate: ...


class EstimatorServicer(pb_grpc.EstimatorServiceServicer):
    """Answers the three estimate RPCs from the Quoter it is given."""

    def __init__(self, quoter: QuoterLike, batch_max: int = 1000) -> None:
        self._quoter = quoter
        self._batch_max = batch_max

    # ------------------------------------------------------------------ single session

    def EstimateSession(
        self, request: pb.EstimateSessionRequest, context: grpc.ServicerContext
    ) -> pb.EstimateSessionResponse:
        try:
            as_of = convert.rules_as_of_from_proto(
                request.HasField("rules_as_of"), request.rules_as_of, "rules_as_of"
            )
            return pb.EstimateSessionResponse(
                estimate=answer(*self._estimate_one(request.session, "session.", as_of))
            )
        except Exception as exc:  # every error leaves as a status, never a traceback
            abort(context, exc, "EstimateSession")

    def _estimate_one(
        self, session: pb.SessionDetails, prefix: str, as_of: datetime | None
    ) -> tuple[model.Estimate, Reconciliation | None]:
        """Parse and price one session (with its 271, when it carries one); every bad field
        of it is named under `prefix`."""
        req, found = self.parse_with_eligibility(session, prefix, as_of)
        try:
            return self._quoter.estimate(req, as_of), found
        except InvalidRequestError as exc:
            raise exc.prefixed(prefix) from None

    def parse_with_eligibility(
        self, session: pb.SessionDetails, prefix: str, as_of: datetime | None
    ) -> tuple[model.SessionRequest, Reconciliation | None]:
        """The request a session describes, with what its 271 says is left filled in."""
        req = self.parse_session(session, prefix)
        if not session.eligibility_271:
            return req, None
        found = self._reconcile(session, req, prefix, as_of)
        return found.request, found

    def _reconcile(
        self,
        session: pb.SessionDetails,
        request: model.SessionRequest,
        prefix: str,
        as_of: datetime | None,
    ) -> Reconciliation:
        """The session's 271 read against the rules (and the network) that price
        `request`; its problems are named under `prefix`."""
        try:
            return reconcile(
                session.eligibility_271,
                request,
                self._quoter.rules_for,
                as_of,
                convert.typed_accumulators(session),
                decide_network=lambda r: self._quoter.network_decided(r, as_of),
            )
        except InvalidRequestError as exc:
            raise exc.prefixed(prefix) from None

    def parse_session(self, session: pb.SessionDetails, prefix: str) -> model.SessionRequest:
        """The request a session describes; when the wire format already has bad fields, the
        domain's checks are added (so one answer lists every bad field) and it is refused."""
        req, violations = convert.session_from_proto(session, prefix)
        if violations:
            _refuse(violations, [(prefix, self._quoter.violations(req))])
        return req

    # ------------------------------------------------------------------ treatment plan

    def EstimateTreatmentPlan(
        self, request: pb.EstimateTreatmentPlanRequest, context: grpc.ServicerContext
    ) -> pb.EstimateTreatmentPlanResponse:
        try:
            return self._treatment_plan(request)
        except Exception as exc:
            abort(context, exc, "EstimateTreatmentPlan")

    def _treatment_plan(
        self, request: pb.EstimateTreatmentPlanRequest
    ) -> pb.EstimateTreatmentPlanResponse:
        violations: list[FieldViolation] = []
        if not convert.date_is_unset(request.session.date_of_service):
            violations.append(
                FieldViolation(
                    "session.date_of_service",
                    "must be unset in a treatment plan: the schedule (dates or recurrence) "
                    "gives the date of every session",
                )
            )
        dates = convert.schedule_from_proto(request, violations)
        as_of: datetime | None = None
        try:
            as_of = convert.rules_as_of_from_proto(
                request.HasField("rules_as_of"), request.rules_as_of, "rules_as_of"
            )
        except InvalidRequestError as exc:
            violations.extend(exc.violations)
        first = next((d for d in dates or () if d is not None), None)
        template, found = convert.session_from_proto(
            request.session, "session.", scheduled=True, date_of_service=first
        )
        violations.extend(found)
        explicit = request.WhichOneof("schedule") == "dates"
        checked: Reconciliation | None = None
        if not violations and dates is not None and request.session.eligibility_271:
            checked = self._plan_eligibility(request.session, template, dates, explicit, as_of)
            template = checked.request
        if violations:
            domain = self._quoter.plan_violations(template, dates if explicit else None)
            _refuse(violations, _plan_paths(domain))
        assert dates is not None and None not in dates  # no violations: every date was read
        try:
            plan = self._quoter.treatment_plan(template, [d for d in dates if d], as_of)
        except InvalidRequestError as exc:
            raise InvalidRequestError(_prefixed(_plan_paths(exc.violations))) from None
        response = convert.treatment_plan_to_proto(plan)
        if checked is not None:
            response.eligibility.CopyFrom(convert.eligibility_to_proto(checked))
        return response

    def _plan_eligibility(
        self,
        session: pb.SessionDetails,
        template: model.SessionRequest,
        dates: Sequence[date | None],
        explicit: bool,
        as_of: datetime | None,
    ) -> Reconciliation:
        """A treatment plan's 271, read against the rules of its first session (what is
        left then carries forward session by session, as typed accumulators would)."""
        domain = self._quoter.plan_violations(template, dates if explicit else None)
        if domain:  # the 271 is read against a session the plan accepts
            _refuse([], _plan_paths(domain))
        return self._reconcile(session, template, "session.", as_of)

    # ------------------------------------------------------------------ batch

    def EstimateSessions(
        self, request: pb.EstimateSessionsRequest, context: grpc.ServicerContext
    ) -> pb.EstimateSessionsResponse:
        try:
            count = len(request.sessions)
            if not 1 <= count <= self._batch_max:
                raise InvalidRequestError(
                    [
                        FieldViolation(
                            "sessions",
                            f"must hold 1 to {self._batch_max} sessions, not {count}",
                            "OUT_OF_RANGE",
                        )
                    ]
                )
            as_of = convert.rules_as_of_from_proto(
                request.HasField("rules_as_of"), request.rules_as_of, "rules_as_of"
            )
        except Exception as exc:
            abort(context, exc, "EstimateSessions")
        response = pb.EstimateSessionsResponse()
        for index, session in enumerate(request.sessions):
            result = response.results.add(index=index)
            try:
                priced = self._estimate_one(session, f"sessions[{index}].", as_of)
            except Exception as exc:  # one bad row fails alone
                result.error.CopyFrom(status_for_logged(exc, f"EstimateSessions[{index}]"))
                response.failed_count += 1
            else:
                result.estimate.CopyFrom(answer(*priced))
                response.succeeded_count += 1
        return response


def answer(estimate: model.Estimate, found: Reconciliation | None) -> pb.Estimate:
    """The estimate on the wire, with what its 271 filled in and disagrees on."""
    message = fastconvert.estimate_to_proto(estimate)
    if found is not None:
        message.eligibility.CopyFrom(convert.eligibility_to_proto(found))
    return message


def _plan_paths(
    violations: Sequence[FieldViolation],
) -> list[tuple[str, list[FieldViolation]]]:
    """The request paths of a treatment plan's domain violations: its dates are the request's
    explicit dates ("dates.dates[1]"), everything else is its session ("session.minutes")."""
    dates = [v for v in violations if v.field.split("[", 1)[0] == "dates"]
    session = [v for v in violations if v not in dates]
    return [("dates.", dates), ("session.", session)]


def _prefixed(groups: Sequence[tuple[str, Sequence[FieldViolation]]]) -> list[FieldViolation]:
    return [
        FieldViolation(prefix + v.field, v.description, v.reason)
        for prefix, vs in groups
        for v in vs
    ]


def _refuse(
    wire: list[FieldViolation], domain: Sequence[tuple[str, Sequence[FieldViolation]]]
) -> NoReturn:
    """Refuse a request with what could not be parsed plus the domain's findings on the
    fields that could (a field is named once, by the wire-level problem)."""
    flagged = {v.field for v in wire}
    raise InvalidRequestError(wire + [v for v in _prefixed(domain) if v.field not in flagged])
