"""Publish-time checks between rule-set versions, and field-by-field diffs of their content.

Pure logic (no database): service.storage calls `check_publish` inside its publish transaction
with the versions already published, so the checks see exactly what the index will see.

The overlap rule keeps the in-memory index unambiguous. For a date of service the index takes,
among the versions of a plan that cover the date, the one with the latest effective_from. That
choice is only well defined and intended when two overlapping versions of a plan relate as
"the later one ends the earlier one's range" (a mid-year change): the later version starts
strictly after the earlier one starts and covers the rest of the earlier one's range. Anything
else overlapping (the same start date, one version nested inside another, or a later version
ending before the earlier one ends, which would make the earlier one "come back") is rejected.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from service.domain.errors import EstimatorError
from service.domain.problems import ERROR, WARNING, Problem

__all__ = ["ERROR", "WARNING", "Problem"]  # re-exported for callers of the checks


class PublishRejectedError(EstimatorError):
    """Publishing was refused and nothing was written; `problems` holds every error and
    warning found (transports answer INVALID_ARGUMENT with the errors as field violations)."""

    reason = "RULE_SET_REJECTED"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.is_error]
        super().__init__(
            f"not published, {len(errors)} error(s): " + "; ".join(str(p) for p in errors)
        )

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


class PlanLike(Protocol):
    @property
    def plan_id(self) -> str: ...


class VersionIdentity(Protocol):
    """What names a version and the dates it covers: shared by a domain RuleSetVersion, a
    parsed rule file and a stored row."""

    @property
    def payer_id(self) -> str: ...

    @property
    def payer_name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def effective_from(self) -> date: ...

    @property
    def effective_to(self) -> date | None: ...

    @property
    def checksum(self) -> str: ...


class VersionLike(VersionIdentity, Protocol):
    """What the checks need from a version: a domain RuleSetVersion or a parsed rule file."""

    @property
    def plans(self) -> Sequence[PlanLike]: ...


class VersionName(Protocol):
    @property
    def payer_id(self) -> str: ...

    @property
    def version(self) -> str: ...


def version_label(v: VersionName) -> str:
    """How people and problems name a version: "acme-health 2026.1"."""
    return f"{v.payer_id} {v.version}"


def _range_text(start: date, end: date | None) -> str:
    return f"{start.isoformat()} to {end.isoformat() if end else 'open-ended'}"


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (a_to is None or b_from <= a_to) and (b_to is None or a_from <= b_to)


def _ends_earlier(
    late_from: date, late_to: date | None, early_from: date, early_to: date | None
) -> bool:
    """True when the later-starting range cleanly takes over the rest of the earlier range."""
    if late_from <= early_from:
        return False
    if late_to is None:
        return True
    return early_to is not None and late_to >= early_to


def overlap_is_allowed(a: VersionLike, b: VersionLike) -> bool:
    """Whether two overlapping versions of one plan leave the index choice unambiguous."""
    return _ends_earlier(
        a.effective_from, a.effective_to, b.effective_from, b.effective_to
    ) or _ends_earlier(b.effective_from, b.effective_to, a.effective_from, a.effective_to)


def _plan_ids(v: VersionLike) -> list[str]:
    return [p.plan_id for p in v.plans]


class PlanVersions:
    """Plan id -> the versions defining it, in the order they were added.

    Built once per publish (or dry run) and grown as each candidate of a batch is accepted, so
    checking a candidate looks up its plans instead of rebuilding every published version's
    plan list for each of them (which grew with the square of the versions).
    """

    def __init__(self, versions: Iterable[VersionLike] = ()) -> None:
        self.versions: list[VersionLike] = []
        self._by_plan: dict[str, list[VersionLike]] = {}
        for v in versions:
            self.add(v)

    def add(self, version: VersionLike) -> None:
        self.versions.append(version)
        for plan_id in dict.fromkeys(_plan_ids(version)):
            self._by_plan.setdefault(plan_id, []).append(version)

    def of_plan(self, plan_id: str) -> list[VersionLike]:
        return self._by_plan.get(plan_id, [])


def _same_content(a: VersionLike, b: VersionLike) -> bool:
    return a.payer_id == b.payer_id and a.checksum == b.checksum


def check_publish(
    candidate: VersionLike,
    published: Iterable[VersionLike],
    plans: PlanVersions | None = None,
) -> list[Problem]:
    """Every error and warning publishing `candidate` next to `published` would cause.

    An identical version (same payer and checksum) in `published` is not a problem: publishing
    is idempotent and the caller returns the existing version instead. `plans`, when given,
    must index exactly `published` (callers checking many candidates build it once).
    """
    label = version_label(candidate)
    problems: list[Problem] = []

    def error(path: str, message: str) -> None:
        problems.append(Problem(label, path, message, ERROR))

    if plans is None:
        plans = PlanVersions(published)
    others = [p for p in plans.versions if not _same_content(p, candidate)]

    if candidate.effective_to is not None and candidate.effective_to < candidate.effective_from:
        error(
            "effective_to",
            f"ends {candidate.effective_to.isoformat()}, before it starts "
            f"{candidate.effective_from.isoformat()}",
        )
        return problems

    if not candidate.plans:
        error("plans", "the version defines no plans")
    seen: set[str] = set()
    for plan_id in _plan_ids(candidate):
        if plan_id in seen:
            error(f"plans[{plan_id}]", "the plan is defined twice in this version")
        seen.add(plan_id)

    problems.extend(_label_problems(candidate, others))
    for plan_id in sorted(seen):
        same_plan = [o for o in plans.of_plan(plan_id) if not _same_content(o, candidate)]
        problems.extend(_plan_problems(candidate, same_plan, plan_id))
    return problems


def _label_problems(candidate: VersionLike, others: Sequence[VersionLike]) -> list[Problem]:
    """A version label of the payer already taken by other content; a changed payer name."""
    label = version_label(candidate)
    problems: list[Problem] = []
    for other in others:
        if other.payer_id != candidate.payer_id:
            continue
        if other.version == candidate.version:
            problems.append(
                Problem(
                    label,
                    "version",
                    f"version {candidate.version!r} of {candidate.payer_id} is already "
                    f"published with different content ({other.checksum}); published versions "
                    "never change, publish the change under a new version label",
                    ERROR,
                )
            )
        elif other.payer_name != candidate.payer_name:
            problems.append(
                Problem(
                    label,
                    "payer_name",
                    f"payer name {candidate.payer_name!r} differs from {other.payer_name!r} "
                    f"in {version_label(other)}",
                    WARNING,
                )
            )
    return problems


def _plan_problems(
    candidate: VersionLike, same_plan: Sequence[VersionLike], plan_id: str
) -> list[Problem]:
    """A plan id another payer owns; an overlap with another version of the plan (`same_plan`:
    the others defining it) that leaves the index's choice ambiguous; dates next to the
    candidate that nothing covers."""
    label = version_label(candidate)
    base = f"plans[{plan_id}]"
    problems: list[Problem] = []
    for other in same_plan:
        if other.payer_id != candidate.payer_id:
            problems.append(
                Problem(
                    label,
                    base,
                    f"plan {plan_id!r} already belongs to payer {other.payer_id} "
                    f"({version_label(other)}); a plan id must name one payer's plan",
                    ERROR,
                )
            )
        elif (
            other.version != candidate.version  # else reported as a changed published version
            and _overlaps(
                candidate.effective_from,
                candidate.effective_to,
                other.effective_from,
                other.effective_to,
            )
            and not overlap_is_allowed(candidate, other)
        ):
            problems.append(
                Problem(
                    label,
                    f"{base}.effective_from",
                    _overlap_message(candidate, other, plan_id),
                    ERROR,
                )
            )
    return problems + _gap_warnings(candidate, same_plan, plan_id, label)


def _overlap_message(candidate: VersionLike, other: VersionLike, plan_id: str) -> str:
    mine = _range_text(candidate.effective_from, candidate.effective_to)
    theirs = _range_text(other.effective_from, other.effective_to)
    head = (
        f"effective {mine} overlaps {version_label(other)} (effective {theirs}) for plan "
        f"{plan_id!r}"
    )
    if candidate.effective_from == other.effective_from:
        why = "both start on the same day, so neither clearly replaces the other"
    else:
        later, earlier = (
            (candidate, other)
            if candidate.effective_from > other.effective_from
            else (other, candidate)
        )
        why = (
            f"{version_label(later)} starts later but ends before {version_label(earlier)} "
            "does, so the earlier rules would apply again afterwards"
        )
    return (
        f"{head}: {why}; a newer version may only take over the rest of an earlier one's range "
        "(start later and end no earlier, or be open-ended)"
    )


def _gap_warnings(
    candidate: VersionLike, same_plan: Sequence[VersionLike], plan_id: str, label: str
) -> list[Problem]:
    """Warn when, with the candidate published, dates of service right next to it are covered
    by no version of the plan at all. Gaps are taken over the union of every version's range,
    so dates an earlier, longer version still covers are never reported as uncovered."""
    mine = [o for o in same_plan if o.payer_id == candidate.payer_id]
    if not mine:
        return []

    def end(o: VersionLike) -> date:
        return o.effective_to or date.max  # open-ended: covers every later date

    out: list[Problem] = []
    # The uncovered dates just before the candidate starts: up to the furthest any earlier
    # version reaches.
    reach_before = [end(o) for o in mine if o.effective_from < candidate.effective_from]
    last_end = max(reach_before, default=date.max)
    if last_end < candidate.effective_from - timedelta(days=1):
        prev = max(
            (o for o in mine if o.effective_from < candidate.effective_from),
            key=lambda o: (end(o), o.effective_from),
        )
        out.append(
            Problem(
                label,
                f"plans[{plan_id}].effective_from",
                f"starts {candidate.effective_from.isoformat()} but "
                f"{version_label(prev)} ends {last_end.isoformat()}: dates of service "
                f"{(last_end + timedelta(days=1)).isoformat()} to "
                f"{(candidate.effective_from - timedelta(days=1)).isoformat()} have no "
                "rules for this plan",
                WARNING,
            )
        )
    # The uncovered dates just after the candidate ends: from its end to the next start,
    # unless a version starting no later than the candidate's end reaches further.
    if candidate.effective_to is not None:
        gap_start = candidate.effective_to + timedelta(days=1)
        reaches = any(
            o.effective_from <= candidate.effective_to and end(o) >= gap_start for o in mine
        )
        after = [o for o in mine if o.effective_from > candidate.effective_to]
        if not reaches and after:
            nxt = min(after, key=lambda o: o.effective_from)
            if gap_start < nxt.effective_from:
                out.append(
                    Problem(
                        label,
                        f"plans[{plan_id}].effective_to",
                        f"ends {candidate.effective_to.isoformat()} but {version_label(nxt)} "
                        f"starts {nxt.effective_from.isoformat()}: dates of service "
                        f"{gap_start.isoformat()} to "
                        f"{(nxt.effective_from - timedelta(days=1)).isoformat()} have no rules "
                        "for this plan",
                        WARNING,
                    )
                )
    return out


def check_publish_batch(
    candidates: Sequence[VersionLike], published: Sequence[VersionLike]
) -> list[Problem]:
    """Check a batch as if published in order: each candidate also meets the ones before it.
    A candidate whose content is there already (same payer and checksum) is skipped:
    publishing it again changes nothing."""
    problems: list[Problem] = []
    seen = PlanVersions(published)
    contents = {(p.payer_id, p.checksum) for p in published}
    for cand in candidates:
        if (cand.payer_id, cand.checksum) not in contents:
            problems.extend(check_publish(cand, seen.versions, seen))
            seen.add(cand)
            contents.add((cand.payer_id, cand.checksum))
    return problems


# ---------------------------------------------------------------------------- diff


class ChangeKind(enum.Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class Change:
    """One difference between two versions' content, at a field path."""

    kind: ChangeKind
    path: str
    before: str | None  # display text; None when added
    after: str | None  # display text; None when removed

    def __str__(self) -> str:
        if self.kind is ChangeKind.ADDED:
            return f"{self.path}: added ({self.after})"
        if self.kind is ChangeKind.REMOVED:
            return f"{self.path}: removed (was {self.before})"
        return f"{self.path}: {self.before} -> {self.after}"


class HasContent(Protocol):
    @property
    def content(self) -> Mapping[str, Any]: ...


_MONEY_KEY = re.compile(
    r"(allowed|copay|deductible(?!_applies)|maximum|max(?!_units)|charge|price|amount|"
    r"first_unit|later_units|per_unit|per_visit|out_of_pocket)",
)
_MONEY_TEXT = re.compile(r"^-?\d+\.\d{2}$")
_ID_KEYS = ("id", "plan_id", "code", "name", "minutes")


def diff_versions(
    a: Mapping[str, Any] | HasContent, b: Mapping[str, Any] | HasContent
) -> list[Change]:
    """Field-by-field changes from `a` to `b` over canonical content, in analyst words.

    Lists of records are matched by their id (plans by plan id), not by position, so a plan
    added in the middle shows as one added plan rather than every later plan changing.
    """
    ca = a if isinstance(a, Mapping) else a.content
    cb = b if isinstance(b, Mapping) else b.content
    out: list[Change] = []
    _diff(ca, cb, "", "", out)
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _record_key(items: Sequence[Any]) -> str | None:
    """The field that identifies each record of a list of mappings, when there is one."""
    if not items or not all(isinstance(i, Mapping) for i in items):
        return None
    for key in _ID_KEYS:
        values = [i.get(key) for i in items]
        if all(v is not None and not isinstance(v, (dict, list)) for v in values) and len(
            {str(v) for v in values}
        ) == len(values):
            return key
    return None


def _diff(a: Any, b: Any, path: str, key: str, out: list[Change]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keyed_by_plan = key == "plans"
        for k in sorted(set(a) | set(b), key=str):
            sub = f"{path}[{k}]" if keyed_by_plan else _join(path, str(k))
            if k not in a:
                out.append(Change(ChangeKind.ADDED, sub, None, _show(b[k], sub)))
            elif k not in b:
                out.append(Change(ChangeKind.REMOVED, sub, _show(a[k], sub), None))
            else:
                _diff(a[k], b[k], sub, str(k), out)
        return
    if isinstance(a, list) and isinstance(b, list):
        ka, kb = _record_key(a), _record_key(b)
        rk = ka or kb if (ka == kb or not a or not b) else None
        if rk is not None:
            ia = {str(i[rk]): i for i in a}
            ib = {str(i[rk]): i for i in b}
            for ident in [*ia, *(x for x in ib if x not in ia)]:
                sub = f"{path}[{ident}]"
                if ident not in ib:
                    out.append(Change(ChangeKind.REMOVED, sub, _show(ia[ident], sub), None))
                elif ident not in ia:
                    out.append(Change(ChangeKind.ADDED, sub, None, _show(ib[ident], sub)))
                else:
                    _diff(ia[ident], ib[ident], sub, ident, out)
            return
        if all(not isinstance(x, (Mapping, list)) for x in [*a, *b]):
            # Lists of plain values (codes, session types): say what came and went.
            for x in a:
                if x not in b:
                    out.append(Change(ChangeKind.REMOVED, f"{path}[{x}]", _show(x, path), None))
            for x in b:
                if x not in a:
                    out.append(Change(ChangeKind.ADDED, f"{path}[{x}]", None, _show(x, path)))
            return
    if a != b or type(a) is not type(b):
        out.append(Change(ChangeKind.CHANGED, path, _show(a, path), _show(b, path)))


def _show(value: Any, path: str) -> str:
    """A value as an analyst reads it: money as $31.00, rates as 20%, dates, yes/no.

    Money is recognised by a money word anywhere in the field path (allowed, copay, ...) and a
    decimal text value ("31.00") or an integer under a `_cents` key.
    """
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {_show(v, _join(path, str(k)))}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v, path) for v in value) + "]"
    if isinstance(value, date):
        return value.isoformat()
    leaf = re.split(r"[.\[]", path.lower())[-1].rstrip("]")
    if "coinsurance" in leaf and isinstance(value, (str, int, Decimal)):
        return _percent(value, already_percent=leaf.endswith("percent"))
    if isinstance(value, int) and leaf.endswith("_cents"):
        return _usd(Decimal(value) / 100)
    if isinstance(value, (str, Decimal)) and _MONEY_KEY.search(path.lower()):
        text = str(value).strip().lstrip("$").replace(",", "")
        if _MONEY_TEXT.match(text):
            return _usd(Decimal(text))
    return str(value)


def _usd(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def _percent(value: str | int | Decimal, already_percent: bool = False) -> str:
    """A rate as a percentage. `coinsurance_percent` values are percentages already ("0.5" is
    half a percent); other coinsurance values up to 1 written with a dot are fractions."""
    text = str(value).strip()
    if text.endswith("%"):
        return text
    try:
        rate = Decimal(text)
    except InvalidOperation:
        return text
    if not already_percent and rate <= 1 and "." in text:
        rate *= 100
    return f"{rate.normalize():f}%"
