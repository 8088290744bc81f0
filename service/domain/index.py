"""The in-memory index of published rule versions that answers every quote.

Built once from the published versions (at start, and again whenever a version is
published) and then only read: no database query per quote. An index is immutable, so a
server swaps the whole object and a quote never sees a half-loaded one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from service.domain.errors import NoRuleVersionError, PlanNotFoundError
from service.domain.model import PlanRules, RuleSetVersion
from service.domain.pieces import CompiledPlan, compile_plan
from service.domain.suggest import close_matches


@dataclass(frozen=True)
class _Entry:
    version: RuleSetVersion
    plan: PlanRules
    compiled: CompiledPlan


@dataclass(frozen=True)
class ServedVersion:
    """A version of a plan as the index serves it: `superseded_by` is the later version that
    takes over part-way through its range (a mid-year change), from its effective_from."""

    version: RuleSetVersion
    superseded_by: RuleSetVersion | None = None


@dataclass(frozen=True)
class ServedPlan:
    """A plan the index answers for, named as its latest version names it, with every
    version of it by effective date."""

    plan_id: str
    plan_name: str
    payer_id: str
    payer_name: str
    versions: tuple[ServedVersion, ...]


class RuleIndex:
    """Plan id -> the versions that define it, ordered by effective date.

    Choosing a version (docs/rule-format.md): among the versions published at or before
    `as_of` (default: all) whose effective range contains the date of service, the one with
    the latest effective_from wins; a later-starting version therefore ends an earlier one's
    range (a mid-year change). Publishing rejects overlaps that would make this ambiguous.
    """

    def __init__(
        self, entries: dict[str, tuple[_Entry, ...]], versions: tuple[RuleSetVersion, ...]
    ):
        self._entries = entries
        self.versions = versions

    @classmethod
    def build(
        cls, versions: Iterable[RuleSetVersion], previous: RuleIndex | None = None
    ) -> RuleIndex:
        """Index `versions`. With `previous` (the index being replaced), a plan of a version
        object it already holds keeps its compiled plan: a reload after one publish compiles
        only the new version's plans, not every plan of the store."""
        ordered = tuple(sorted(versions, key=lambda v: (v.published_at, v.payer_id, v.version)))
        known: dict[tuple[int, str], _Entry] = {}
        if previous is not None:
            for items in previous._entries.values():
                for e in items:
                    known[(id(e.version), e.plan.plan_id)] = e
        entries: dict[str, list[_Entry]] = {}
        for version in ordered:
            for plan in version.plans:
                entry = known.get((id(version), plan.plan_id))
                if entry is None or entry.version is not version or entry.plan is not plan:
                    entry = _Entry(version, plan, compile_plan(version, plan))
                entries.setdefault(plan.plan_id, []).append(entry)
        frozen = {
            plan_id: tuple(
                sorted(
                    items,
                    key=lambda e: (e.version.effective_from, e.version.published_at),
                    reverse=True,
                )
            )
            for plan_id, items in entries.items()
        }
        return cls(frozen, ordered)

    def plan_ids(self) -> list[str]:
        return sorted(self._entries)

    def entries(self, plan_id: str) -> tuple[_Entry, ...]:
        return self._entries.get(plan_id, ())

    def served_plans(self, payer_id: str | None = None) -> list[ServedPlan]:
        """The plans served (one payer's, when given), by plan id."""
        out: list[ServedPlan] = []
        for plan_id in self.plan_ids():
            entries = sorted(
                (e for e in self._entries[plan_id] if e.version.withdrawn_at is None),
                key=lambda e: (e.version.effective_from, e.version.published_at),
            )
            if not entries:  # every version of it withdrawn
                continue
            latest = entries[-1]
            if payer_id is not None and latest.version.payer_id != payer_id:
                continue
            versions = [e.version for e in entries]
            out.append(
                ServedPlan(
                    plan_id=plan_id,
                    plan_name=latest.plan.plan_name,
                    payer_id=latest.version.payer_id,
                    payer_name=latest.version.payer_name,
                    versions=tuple(
                        ServedVersion(v, _taking_over(v, versions[i + 1 :]))
                        for i, v in enumerate(versions)
                    ),
                )
            )
        return out

    def resolve(
        self, plan_id: str, date_of_service: date, as_of: datetime | None = None
    ) -> tuple[RuleSetVersion, PlanRules]:
        """The version and plan rules that answer for this date, as known at `as_of`."""
        compiled = self.resolve_compiled(plan_id, date_of_service, as_of)
        return compiled.version, compiled.plan

    def resolve_compiled(
        self, plan_id: str, date_of_service: date, as_of: datetime | None = None
    ) -> CompiledPlan:
        """The compiled plan of the version that answers for this date, as known at `as_of`."""
        entries = self._entries.get(plan_id)
        if entries is None:
            suggestions = close_matches(plan_id, self._entries, most=2)
            raise PlanNotFoundError(plan_id, suggestions)
        known = [e for e in entries if _known(e.version, as_of)]
        if not known:
            raise NoRuleVersionError(
                plan_id,
                date_of_service,
                "no version of the plan had been published as of "
                + (as_of.isoformat() if as_of else "now"),
            )
        for entry in known:  # latest effective_from first
            if entry.version.covers(date_of_service):
                return entry.compiled
        ranges = ", ".join(
            f"{e.version.version} {e.version.effective_from.isoformat()} to "
            f"{e.version.effective_to.isoformat() if e.version.effective_to else 'open-ended'}"
            for e in sorted(known, key=lambda e: e.version.effective_from)
        )
        raise NoRuleVersionError(plan_id, date_of_service, f"published versions cover {ranges}")


def _known(version: RuleSetVersion, as_of: datetime | None) -> bool:
    """Published by `as_of` (default now) and not yet withdrawn then: a withdrawn version
    stops answering from its withdrawal on, while quotes saved before it still replay."""
    if as_of is None:
        return version.withdrawn_at is None
    return version.published_at <= as_of and (
        version.withdrawn_at is None or as_of < version.withdrawn_at
    )


def _taking_over(version: RuleSetVersion, later: list[RuleSetVersion]) -> RuleSetVersion | None:
    """The first of `later` (ordered by effective date) that starts inside `version`'s range
    after it starts, i.e. ends it early."""
    for other in later:
        if other.effective_from > version.effective_from and (
            version.effective_to is None or other.effective_from <= version.effective_to
        ):
            return other
    return None
