"""PreviewImpact on the wire: the request's sessions in, the what-if report out.

The use case (service.usecases.impact) does the work; this module parses the request (a saved
quotes range, or a batch parsed session by session like EstimateSessions, a bad session
becoming a failure line rather than failing the preview) and writes the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service import wire
from service.api import convert
from service.domain.errors import FieldViolation, InvalidRequestError
from service.domain.model import SessionRequest
from service.usecases.impact import (
    BatchSessions,
    ImpactLine,
    ImpactReport,
    SavedQuoteRange,
    Totals,
)


def saved_request(record: Mapping[str, Any]) -> SessionRequest:
    """A saved quote's request (the API's JSON, as EstimateSession received it)."""
    message = pb.EstimateSessionRequest()
    json_format.ParseDict(dict(record), message, ignore_unknown_fields=True)
    request, violations = convert.session_from_proto(message.session, "session.")
    if violations:
        raise InvalidRequestError(violations)
    return request


def sessions_from_proto(request: rpb.PreviewImpactRequest) -> SavedQuoteRange | BatchSessions:
    which = request.WhichOneof("sessions")
    if which == "saved_quotes":
        out: list[FieldViolation] = []
        chosen = request.saved_quotes
        start = convert.date_from_proto(
            chosen.saved_from, "saved_quotes.saved_from", out, required=True
        )
        end = convert.date_from_proto(chosen.saved_to, "saved_quotes.saved_to", out, required=False)
        if out or start is None:
            raise InvalidRequestError(out)
        return SavedQuoteRange(start, end)
    if which == "batch":
        sessions: list[SessionRequest | None] = []
        violations: dict[int, list[FieldViolation]] = {}
        for i, details in enumerate(request.batch.sessions):
            parsed, bad = convert.session_from_proto(details, f"batch.sessions[{i}].")
            sessions.append(parsed)
            if bad:
                violations[i] = bad
        return BatchSessions(sessions, violations)
    raise InvalidRequestError(
        [
            FieldViolation(
                "sessions",
                "is required: give saved_quotes (a range of days) or batch (sessions)",
                "REQUIRED",
            )
        ]
    )


def _totals(totals: Totals) -> rpb.PreviewImpactTotals:
    return rpb.PreviewImpactTotals(
        patient_pays=wire.money_to_proto(totals.patient_pays),
        plan_pays=wire.money_to_proto(totals.plan_pays),
    )


def line_to_proto(line: ImpactLine) -> rpb.PreviewImpactLine:
    out = rpb.PreviewImpactLine(
        quote_id=line.quote_id,
        batch_index=line.batch_index,
        plan_id=line.plan_id,
        error_before=line.error_before,
        error_after=line.error_after,
    )
    if line.date_of_service is not None:
        out.date_of_service.CopyFrom(wire.date_to_proto(line.date_of_service))
    if line.before is not None:
        out.covered_before = line.before.covered
        out.patient_pays_before.CopyFrom(wire.money_to_proto(line.before.patient_pays))
        out.plan_pays_before.CopyFrom(wire.money_to_proto(line.before.plan_pays))
        out.reasons_before.extend(line.before.reason_codes)
    if line.after is not None:
        out.covered_after = line.after.covered
        out.patient_pays_after.CopyFrom(wire.money_to_proto(line.after.patient_pays))
        out.plan_pays_after.CopyFrom(wire.money_to_proto(line.after.plan_pays))
        out.reasons_after.extend(line.after.reason_codes)
    if line.priced_both:
        out.patient_pays_change.CopyFrom(wire.money_to_proto(line.patient_change))
    return out


def report_to_proto(report: ImpactReport) -> rpb.PreviewImpactResponse:
    return rpb.PreviewImpactResponse(
        payer_id=report.payer_id,
        draft_version=report.draft_version,
        draft_checksum=report.draft_checksum,
        problems=[wire.problem_to_proto(p) for p in report.problems],
        session_count=report.session_count,
        changed_count=report.changed_count,
        before=_totals(report.before),
        after=_totals(report.after),
        largest_changes=[line_to_proto(x) for x in report.largest_changes],
        coverage_flips=[line_to_proto(x) for x in report.coverage_flips],
        failures=[line_to_proto(x) for x in report.failures],
    )
