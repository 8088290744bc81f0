"""How many entries each repeated request field may carry (docs/operations.md, "Limits").

Without a cap one anonymous 3.6 MB request stored a saved quote with 450,000 diagnosis codes.
Every repeated field of every request message must have an entry here
(tests/api/test_request_guard.py walks the request types and fails on a new field without one),
so a new list cannot arrive uncapped.
"""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from service.domain.errors import FieldViolation
from service.usecases.impact import MAX_SESSIONS

BATCH_SESSIONS = "massage_estimator.v1.EstimateSessionsRequest.sessions"
"""Capped by the batch_max setting, not by a fixed number."""

REPEATED_LIMITS: Mapping[str, int] = {
    # A claim (CMS-1500 box 21) carries at most 12 diagnosis codes.
    "massage_estimator.v1.SessionDetails.diagnosis_codes": 12,
    # Other procedures billed the same day; a visit with more than 20 is not a massage visit.
    "massage_estimator.v1.SessionDetails.same_day_procedure_codes": 20,
    # A treatment plan of one session a day for a year.
    "massage_estimator.v1.SessionDates.dates": 366,
    BATCH_SESSIONS: 1000,  # the default of batch_max; limits_for() uses the setting
    # A what-if batch: as many sessions as a preview prices (service.usecases.impact).
    "massage_estimator.v1.PreviewImpactBatch.sessions": MAX_SESSIONS,
}


def limits_for(batch_max: int) -> dict[str, int]:
    """The limits with the batch size the server was configured with."""
    return {**REPEATED_LIMITS, BATCH_SESSIONS: batch_max}


def over_limits(
    message: Message, limits: Mapping[str, int], prefix: str = ""
) -> list[FieldViolation]:
    """Every repeated field of `message` (nested ones included) longer than its limit, named by
    its path in the request ("sessions[3].diagnosis_codes"). A field without an entry is not
    checked here; the test above keeps that from happening for request types."""
    found: list[FieldViolation] = []
    for field, value in message.ListFields():
        path = prefix + field.name
        if field.is_repeated:
            limit = limits.get(field.full_name)
            if limit is not None and len(value) > limit:
                found.append(
                    FieldViolation(path, f"must hold at most {limit} entries, not {len(value)}")
                )
                continue  # too long to look inside
            if field.type == FieldDescriptor.TYPE_MESSAGE and not _is_map(field):
                for index, item in enumerate(value):
                    found.extend(over_limits(item, limits, f"{path}[{index}]."))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            found.extend(over_limits(value, limits, path + "."))
    return found


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and bool(field.message_type.GetOptions().map_entry)
