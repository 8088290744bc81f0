"""What publishing a list of rule sets next to the published versions would do, as pure logic:
every store (the SQL one inside its publish transaction, the in-memory one of the tests) runs
these, so they cannot disagree about what is new, what is already there, and what is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from service.domain.problems import Problem
from service.domain.versions import PlanVersions, check_publish
from service.rulefiles import ParsedRuleSet
from service.usecases.ports import PublishedVersion, PublishResult


@dataclass
class PublishPlan:
    """The result for each rule set (in order), which of them are new (indexes, to be written
    in that order), and every problem found (nothing may be written when one is an error)."""

    results: list[PublishResult] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return any(p.is_error for p in self.problems)


def plan_publish(
    parsed_list: Sequence[ParsedRuleSet],
    published: Sequence[PublishedVersion],
    published_at: datetime,
    published_by: str,
    note: str | None,
) -> PublishPlan:
    """Publish `parsed_list` in order next to `published`: a rule set whose content is already
    published (or came earlier in the list) gives the existing version with created=False;
    each new one is checked against the published versions and the new ones before it."""
    plan = PublishPlan()
    seen = PlanVersions(published)  # plan id -> versions, built once for the whole list
    by_content = {(p.payer_id, p.checksum): p for p in reversed(published)}  # first one wins
    in_batch: dict[tuple[str, str], PublishResult] = {}
    for parsed in parsed_list:
        twin = in_batch.get((parsed.payer_id, parsed.checksum))
        if twin is not None:  # the same file twice in one list
            plan.results.append(PublishResult(twin.version, False, ()))
            continue
        same = by_content.get((parsed.payer_id, parsed.checksum))
        if same is not None:
            existing = parsed.to_version(same.published_at, same.published_by, same.note)
            # Same content, but the stored version keeps where it first came from.
            existing = dataclasses.replace(existing, source=same.source)
            plan.results.append(PublishResult(existing, False, ()))
            continue
        found = check_publish(parsed, seen.versions, seen)
        plan.problems.extend(found)
        warnings = tuple(p for p in found if not p.is_error) + parsed.warnings
        version = parsed.to_version(
            published_at, published_by, note if note is not None else parsed.note
        )
        plan.results.append(PublishResult(version, True, warnings))
        in_batch[(parsed.payer_id, parsed.checksum)] = plan.results[-1]
        plan.new.append(len(plan.results) - 1)
        seen.add(parsed)
    return plan
