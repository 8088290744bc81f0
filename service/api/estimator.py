"""The EstimatorService servicer: proto in, domain Quoter, proto out.

No pricing logic lives here. The servicer converts requests (service.api.convert), asks the
Quoter (which answers from the in-memory RuleIndex, never the database) and maps domain errors
to statuses (service.api.errors). Field paths in errors are relative to the request:
"session.minutes" for single sessions and plans, "sessions[3].minutes" in a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

import grpc
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import estimator_pb2_grpc as pb_grpc

from service.api import convert
from service.api.errors import abort, status_for_logged
from service.domain import model
from service.domain.errors import FieldViolation, InvalidRequestError
from service.domain.validation import session_violations

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EstimatorService"].full_name


class QuoterLike(Protocol):
    """What the servicer needs of service.domain.quoting.Quoter."""

    @property
    def clinic(self) -> model.Clinic: ...

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
            estimate = self._estimate_one(request.session, "session.", as_of)
            return pb.EstimateSessionResponse(estimate=convert.estimate_to_proto(estimate))
        except Exception as exc:  # every error leaves as a status, never a traceback
            abort(context, exc, "EstimateSession")

    def _estimate_one(
        self, session: pb.SessionDetails, prefix: str, as_of: datetime | None
    ) -> model.Estimate:
        req, violations = self._parse_session(session, prefix)
        if violations:
            raise InvalidRequestError(violations)
        try:
            return self._quoter.estimate(req, as_of)
        except InvalidRequestError as exc:
            raise exc.prefixed(prefix) from None

    def _parse_session(
        self,
        session: pb.SessionDetails,
        prefix: str,
        date_of_service: date | None = None,
        *,
        check_domain: bool = False,
    ) -> tuple[model.SessionRequest, list[FieldViolation]]:
        """The request and every violation in it: wire-level ones (dates, money, enums) and,
        when there are any, the domain's own checks too, so one answer lists every bad field."""
        req, violations = convert.session_from_proto(
            session, prefix, date_of_service=date_of_service
        )
        if violations or check_domain:
            flagged = {v.field for v in violations}
            for v in session_violations(req, self._quoter.clinic):
                if prefix + v.field not in flagged:
                    violations.append(FieldViolation(prefix + v.field, v.description))
        return req, violations

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
        dates: list[date] = []
        as_of: datetime | None = None
        try:
            dates = convert.schedule_from_proto(request)
        except InvalidRequestError as exc:
            violations.extend(exc.violations)
        try:
            as_of = convert.rules_as_of_from_proto(
                request.HasField("rules_as_of"), request.rules_as_of, "rules_as_of"
            )
        except InvalidRequestError as exc:
            violations.extend(exc.violations)
        template, session_violations_ = self._parse_session(
            request.session,
            "session.",
            date_of_service=dates[0] if dates else None,
            check_domain=bool(violations),
        )
        if not dates:  # the schedule is bad: the session's date placeholder is not checked
            session_violations_ = [
                v for v in session_violations_ if v.field != "session.date_of_service"
            ]
        violations.extend(session_violations_)
        if violations:
            raise InvalidRequestError(violations)
        try:
            plan = self._quoter.treatment_plan(template, dates, as_of)
        except InvalidRequestError as exc:
            raise exc.prefixed("session.") from None
        return convert.treatment_plan_to_proto(plan)

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
                            "sessions", f"must hold 1 to {self._batch_max} sessions, not {count}"
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
                estimate = self._estimate_one(session, f"sessions[{index}].", as_of)
            except Exception as exc:  # one bad row fails alone
                result.error.CopyFrom(status_for_logged(exc, f"EstimateSessions[{index}]"))
                response.failed_count += 1
            else:
                result.estimate.CopyFrom(convert.estimate_to_proto(estimate))
                response.succeeded_count += 1
        return response
