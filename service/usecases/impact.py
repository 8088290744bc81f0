"""What-if before publishing: price sessions under the published rules and under a draft.

A payer analyst edits a rule-set file and asks what it would do before anyone is quoted with
it. The draft is parsed and checked like a publish, but never written: a second RuleIndex is
built in memory from the versions served now, with the draft in place of any version of the
same label (an edited file) or beside them (a new one), and each session is priced under both.

The sessions are the quotes saved for the draft payer's plans on a range of days, or a batch
the caller gives. The report says how many answers change, the totals before and after (of
the sessions priced on both sides), the largest changes in what the patient pays and every
coverage flip. Its lines name quote ids, plans, dates of service and amounts: never a
diagnosis code, a reason message (which may quote one) or any other client detail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from service import rulefiles
from service.domain.errors import EstimatorError, FieldViolation, InvalidRequestError
from service.domain.index import RuleIndex
from service.domain.model import Clinic, Estimate, SessionRequest
from service.domain.money import Cents
from service.domain.problems import Problem
from service.domain.quoting import Quoter
from service.domain.versions import check_publish_batch
from service.usecases.errors import PermissionDeniedError, RuleSetInvalidError
from service.usecases.ports import QuoteStore, RuleStore, SavedQuote

LARGEST_CHANGES = 20
MAX_SESSIONS = 10_000
"""The most sessions one preview prices (about a second per thousand); narrow the range."""
DRAFT_PUBLISHER = "impact-preview"


@dataclass(frozen=True)
class Priced:
    """One side of a session's answer, reduced to what the report may show."""

    covered: bool
    patient_pays: Cents
    plan_pays: Cents
    reason_codes: tuple[str, ...]

    @classmethod
    def of(cls, estimate: Estimate) -> Priced:
        return cls(
            covered=estimate.covered,
            patient_pays=estimate.patient_pays,
            plan_pays=estimate.plan_pays,
            reason_codes=tuple(r.code for r in estimate.reasons),
        )


@dataclass(frozen=True)
class ImpactLine:
    """A session before and after; an error side carries the error's reason code instead."""

    plan_id: str
    date_of_service: date | None
    quote_id: str = ""
    batch_index: int = 0
    before: Priced | None = None
    after: Priced | None = None
    error_before: str = ""
    error_after: str = ""

    @property
    def priced_both(self) -> bool:
        return self.before is not None and self.after is not None

    @property
    def patient_change(self) -> Cents:
        if self.before is None or self.after is None:
            return 0
        return self.after.patient_pays - self.before.patient_pays

    @property
    def coverage_flipped(self) -> bool:
        return self.priced_both and self.before.covered != self.after.covered  # type: ignore[union-attr]

    @property
    def changed(self) -> bool:
        if not self.priced_both:
            return self.error_before != self.error_after or self.before != self.after
        before, after = self.before, self.after
        assert before is not None and after is not None
        return (before.covered, before.patient_pays, before.plan_pays) != (
            after.covered,
            after.patient_pays,
            after.plan_pays,
        )


@dataclass(frozen=True)
class Totals:
    patient_pays: Cents = 0
    plan_pays: Cents = 0


@dataclass(frozen=True)
class ImpactReport:
    payer_id: str
    draft_version: str
    draft_checksum: str
    problems: tuple[Problem, ...]
    session_count: int
    changed_count: int
    before: Totals
    after: Totals
    largest_changes: tuple[ImpactLine, ...]
    coverage_flips: tuple[ImpactLine, ...]
    failures: tuple[ImpactLine, ...]


@dataclass(frozen=True)
class SavedQuoteRange:
    """Saved quotes chosen by the UTC day they were saved: saved_from to saved_to inclusive
    (saved_to None: up to now)."""

    saved_from: date
    saved_to: date | None = None


@dataclass(frozen=True)
class BatchSessions:
    """A caller's sessions; `violations` are what the transport could not parse, per index."""

    sessions: Sequence[SessionRequest | None]
    violations: Mapping[int, Sequence[FieldViolation]] = field(default_factory=dict)


class ImpactStore(RuleStore, QuoteStore, Protocol):
    """The store a preview reads: published versions and saved quotes (it writes nothing)."""


class ImpactPreviewService:
    """PreviewImpact on top of the store and the index served now.

    `parse_saved` turns a saved quote's request (the API's JSON) back into a SessionRequest;
    the transport knows that JSON, this layer does not.
    """

    def __init__(
        self,
        store: ImpactStore,
        clinic: Clinic,
        index: Callable[[], RuleIndex],
        parse_saved: Callable[[Mapping[str, Any]], SessionRequest],
        clock: Callable[[], datetime] | None = None,
        payer_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        """`payer_allowed(payer_id)`: whether the caller may act for the draft's payer
        (scoped like a publish: another payer's draft is PERMISSION_DENIED)."""
        self._allowed = payer_allowed or (lambda _payer: True)
        self._store = store
        self._clinic = clinic
        self._index = index
        self._parse_saved = parse_saved
        self._clock = clock or (lambda: datetime.now(UTC))

    def preview(
        self, content: str, source: str, sessions: SavedQuoteRange | BatchSessions
    ) -> ImpactReport:
        if not content.strip():
            raise InvalidRequestError(
                [FieldViolation("content", "is empty: send the draft rule-set file's text")]
            )
        source = source.strip() or "draft"
        parsed, warnings = rulefiles.validate_rule_set(content, source, self._clinic)
        if parsed is None:
            raise RuleSetInvalidError(source, warnings)
        if not self._allowed(parsed.payer_id):
            raise PermissionDeniedError(
                f"you may not preview the impact of rules of {parsed.payer_id!r}"
            )
        current = self._index()
        now = self._clock()
        latest = max((v.published_at for v in current.versions), default=now)
        draft = parsed.to_version(max(now, latest + timedelta(microseconds=1)), DRAFT_PUBLISHER)
        kept = [
            v
            for v in current.versions
            if (v.payer_id, v.version) != (parsed.payer_id, parsed.version)
        ]
        draft_quoter = Quoter(RuleIndex.build([*kept, draft]), self._clinic)
        current_quoter = Quoter(current, self._clinic)
        # What publishing would say, against the published versions but the one it replaces.
        others = [
            m
            for m in self._store.list_versions()
            if (m.payer_id, m.version) != (parsed.payer_id, parsed.version)
        ]
        problems = warnings + check_publish_batch([parsed], others)
        if isinstance(sessions, SavedQuoteRange):
            plan_ids = {p.plan_id for p in parsed.plans} | {
                p.plan_id for p in current.served_plans(parsed.payer_id)
            }
            lines = self._saved_lines(sessions, sorted(plan_ids), current_quoter, draft_quoter)
        else:
            lines = self._batch_lines(sessions, current_quoter, draft_quoter)
        return _report(parsed.payer_id, parsed.version, parsed.checksum, problems, lines)

    def _saved_lines(
        self, chosen: SavedQuoteRange, plan_ids: Sequence[str], before: Quoter, after: Quoter
    ) -> list[ImpactLine]:
        if chosen.saved_to is not None and chosen.saved_to < chosen.saved_from:
            raise InvalidRequestError(
                [
                    FieldViolation(
                        "saved_quotes.saved_to",
                        f"{chosen.saved_to.isoformat()} is before saved_from "
                        f"{chosen.saved_from.isoformat()}",
                        "OUT_OF_RANGE",
                    )
                ]
            )
        start = datetime.combine(chosen.saved_from, time(), UTC)
        end = (
            datetime.combine(chosen.saved_to + timedelta(days=1), time(), UTC)
            if chosen.saved_to is not None
            else None
        )
        quotes = self._store.list_quotes(plan_ids, start, end, limit=MAX_SESSIONS + 1)
        _check_count(len(quotes), "saved_quotes")
        return [self._saved_line(q, before, after) for q in quotes]

    def _saved_line(self, saved: SavedQuote, before: Quoter, after: Quoter) -> ImpactLine:
        try:
            request = self._parse_saved(saved.quote.request)
        except EstimatorError as exc:
            return ImpactLine(
                saved.quote.plan_id, None, saved.id, error_before=exc.reason, error_after=exc.reason
            )
        return _line(request, before, after, quote_id=saved.id)

    def _batch_lines(self, batch: BatchSessions, before: Quoter, after: Quoter) -> list[ImpactLine]:
        if not batch.sessions:
            raise InvalidRequestError(
                [FieldViolation("batch.sessions", "is required: give 1 or more sessions")]
            )
        _check_count(len(batch.sessions), "batch.sessions")
        lines = []
        for i, request in enumerate(batch.sessions):
            if request is None or batch.violations.get(i):
                reason = InvalidRequestError.reason
                lines.append(
                    ImpactLine(
                        request.plan_id if request else "",
                        request.date_of_service if request else None,
                        batch_index=i,
                        error_before=reason,
                        error_after=reason,
                    )
                )
                continue
            lines.append(_line(request, before, after, batch_index=i))
        return lines


def _check_count(count: int, field_name: str) -> None:
    if count > MAX_SESSIONS:
        raise InvalidRequestError(
            [
                FieldViolation(
                    field_name,
                    f"more than {MAX_SESSIONS} sessions; narrow the range",
                    "OUT_OF_RANGE",
                )
            ]
        )


def _price(quoter: Quoter, request: SessionRequest) -> tuple[Priced | None, str]:
    try:
        return Priced.of(quoter.estimate(request)), ""
    except EstimatorError as exc:
        return None, exc.reason


def _line(
    request: SessionRequest,
    before: Quoter,
    after: Quoter,
    quote_id: str = "",
    batch_index: int = 0,
) -> ImpactLine:
    priced_before, error_before = _price(before, request)
    priced_after, error_after = _price(after, request)
    return ImpactLine(
        plan_id=request.plan_id,
        date_of_service=request.date_of_service,
        quote_id=quote_id,
        batch_index=batch_index,
        before=priced_before,
        after=priced_after,
        error_before=error_before,
        error_after=error_after,
    )


def _report(
    payer_id: str,
    version: str,
    checksum: str,
    problems: Sequence[Problem],
    lines: Sequence[ImpactLine],
) -> ImpactReport:
    both = [line for line in lines if line.priced_both]
    before = Totals(
        sum(line.before.patient_pays for line in both if line.before),
        sum(line.before.plan_pays for line in both if line.before),
    )
    after = Totals(
        sum(line.after.patient_pays for line in both if line.after),
        sum(line.after.plan_pays for line in both if line.after),
    )
    moved = [line for line in both if line.patient_change]
    moved.sort(key=lambda line: (-abs(line.patient_change), line.quote_id, line.batch_index))
    return ImpactReport(
        payer_id=payer_id,
        draft_version=version,
        draft_checksum=checksum,
        problems=tuple(problems),
        session_count=len(lines),
        changed_count=sum(1 for line in lines if line.changed),
        before=before,
        after=after,
        largest_changes=tuple(moved[:LARGEST_CHANGES]),
        coverage_flips=tuple(line for line in lines if line.coverage_flipped),
        failures=tuple(line for line in lines if not line.priced_both),
    )
