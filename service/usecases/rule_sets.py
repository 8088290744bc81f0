"""Use cases on payer rule-set versions: validate, publish, list, show, diff, and the plans
served. Transports (service.api.payer_rules) parse a request, call one of these and serialize
the answer; the store sits behind service.usecases.ports.RuleStore.

After a publish creates a version, `refresh` (the IndexRefresher) rebuilds the in-memory index
and swaps it in BEFORE the publish returns, so a quote sent right after already sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from service import rulefiles
from service.domain.errors import FieldViolation, InvalidRequestError
from service.domain.index import RuleIndex, ServedPlan
from service.domain.model import Clinic
from service.domain.problems import Problem
from service.domain.versions import Change, PublishRejectedError, diff_versions
from service.rulefiles import ParsedRuleSet, with_later_defaults
from service.usecases.errors import (
    NotFoundError,
    PermissionDeniedError,
    RuleSetInvalidError,
    RuleSetRejectedError,
)
from service.usecases.ports import PublishedVersion, PublishResult, RuleStore, WithdrawResult

DEFAULT_SOURCE = "upload"
MAX_PUBLISHED_BY = 200  # the rule_set_version.published_by column (PostgreSQL enforces it)


Parsed = TypeVar("Parsed")
Meta = TypeVar("Meta")


@dataclass(frozen=True)
class Validation(Generic[Parsed]):
    """A dry run of publishing one file (a rule set or a clinic profile): its identity when
    it parses, every problem (its own and those against the published versions), and whether
    it is published already."""

    parsed: Parsed | None
    problems: list[Problem]
    already_published: bool = False

    @property
    def valid(self) -> bool:
        return self.parsed is not None and not any(p.is_error for p in self.problems)


@dataclass(frozen=True)
class VersionDiff(Generic[Meta]):
    """What changed between two published versions, and which two they are."""

    before: Meta
    after: Meta
    changes: list[Change]


class RuleSetService:
    """Rule-set versions on top of a RuleStore; `index` gives the index quotes use right now."""

    def __init__(
        self,
        store: RuleStore,
        clinic: Clinic,
        index: Callable[[], RuleIndex],
        refresh: Callable[[], object],
        payer_allowed: Callable[[str], bool] | None = None,
        max_content_bytes: int | None = None,
    ) -> None:
        """`payer_allowed(payer_id)` says whether the caller may act for a payer (the call's
        payer scope): other payers' versions read as absent, writing for them is refused."""
        self._store = store
        self._allowed = payer_allowed or _every_payer
        self._max_bytes = max_content_bytes
        self._clinic = clinic
        self._index = index
        self._refresh = refresh

    # ------------------------------------------------------------------ validate / publish

    def validate(self, content: str, source: str) -> Validation[ParsedRuleSet]:
        """Check a file as publishing it now would; writes nothing."""
        parsed, problems = self._parse(content, file_name(source) or DEFAULT_SOURCE)
        if parsed is None:
            return Validation(None, problems)
        self._require_writable(parsed.payer_id)
        published = any(
            m.checksum == parsed.checksum
            for m in self._store.list_versions(payer_id=parsed.payer_id)
        )
        found = problems if published else problems + self._store.check([parsed])
        return Validation(parsed, found, already_published=published)

    def publish(self, content: str, source: str, published_by: str, note: str) -> PublishResult:
        """Publish a file as a new version (or find the identical one); refuse with every
        problem and write nothing when it has errors or clashes with the published ones."""
        source = file_name(source) or DEFAULT_SOURCE
        by = published_by.strip()
        parsed, problems = self._parse(content, source, _publish_violations(by, note, source))
        if parsed is None:
            raise RuleSetInvalidError(source, problems)
        self._require_writable(parsed.payer_id)
        try:
            result = self._store.publish(parsed, by, note=note.strip() or None)
        except PublishRejectedError as exc:
            raise RuleSetRejectedError(parsed.payer_id, parsed.version, exc.problems) from None
        if result.created:
            self._refresh()  # serve it before answering: a quote right after sees it
        return result

    def withdraw(
        self,
        payer_id: str,
        version: str,
        reason: str,
        withdrawn_by: str,
        replacement_content: str = "",
        replacement_source: str = "",
    ) -> WithdrawResult:
        """Withdraw a published version (it stops answering at once; quotes saved before still
        replay with it), with a replacement published in the same transaction when given;
        otherwise the version it had superseded answers again."""
        payer_id, version, by = payer_id.strip(), version.strip(), withdrawn_by.strip()
        _require({"payer_id": payer_id, "version": version, "reason": reason.strip()})
        violations = _publish_violations(by, reason, "")
        if violations:
            raise InvalidRequestError(
                [
                    FieldViolation(v.field.replace("published_by", "withdrawn_by"), v.description)
                    for v in violations
                ]
            )
        self._require_writable(payer_id)
        replacement: ParsedRuleSet | None = None
        if replacement_content.strip():
            source = file_name(replacement_source) or DEFAULT_SOURCE
            replacement, problems = self._parse(replacement_content, source)
            if replacement is None:
                raise RuleSetInvalidError(source, problems)
            if replacement.payer_id != payer_id:
                raise InvalidRequestError(
                    [FieldViolation("replacement_content",
                                    f"is a rule set of {replacement.payer_id!r}, not {payer_id!r}")]
                )  # fmt: skip
        self._find(payer_id, version, "version")  # NOT_FOUND (also for another payer's)
        try:
            result = self._store.withdraw(payer_id, version, by, reason.strip(), replacement)
        except PublishRejectedError as exc:
            assert replacement is not None
            raise RuleSetRejectedError(payer_id, replacement.version, exc.problems) from None
        if result is None:  # withdrawn between the check and the write is impossible: rows stay
            raise RuntimeError(f"{payer_id} {version} vanished while being withdrawn")
        if not result.already_withdrawn:
            self._refresh()  # stop serving it before answering
        return result

    def _require_writable(self, payer_id: str) -> None:
        if not self._allowed(payer_id):
            raise PermissionDeniedError(f"you may not publish or validate rules of {payer_id!r}")

    def _parse(
        self, content: str, source: str, extra: Sequence[FieldViolation] = ()
    ) -> tuple[ParsedRuleSet | None, list[Problem]]:
        violations = list(extra)
        if not content.strip():
            violations.insert(
                0,
                FieldViolation("content", "is empty: send the rule-set file's text (YAML or JSON)"),
            )
        size = len(content.encode("utf-8"))
        if self._max_bytes is not None and size > self._max_bytes:
            violations.append(
                FieldViolation(
                    "content",
                    f"is {size} bytes; a rule file may be at most {self._max_bytes} bytes "
                    "(max_rule_file_bytes)",
                )
            )
        if violations:
            raise InvalidRequestError(violations)
        return rulefiles.validate_rule_set(content, source, self._clinic)

    # ------------------------------------------------------------------ reads

    def list_versions(
        self, payer_id: str | None = None, plan_id: str | None = None
    ) -> list[PublishedVersion]:
        found = self._store.list_versions(payer_id=payer_id or None, plan_id=plan_id or None)
        return [m for m in found if self._allowed(m.payer_id)]

    def get(self, payer_id: str, version: str) -> tuple[PublishedVersion, dict[str, Any]]:
        """One version's metadata and canonical content."""
        _require({"payer_id": payer_id, "version": version})
        return self._with_content(payer_id, version, "version")

    def diff(
        self, payer_id: str, from_version: str, to_version: str
    ) -> VersionDiff[PublishedVersion]:
        """What changed between two versions of one payer, field by field."""
        _require({"payer_id": payer_id, "from_version": from_version, "to_version": to_version})
        before, content_a = self._with_content(payer_id, from_version, "from_version")
        after, content_b = self._with_content(payer_id, to_version, "to_version")
        changes = diff_versions(with_later_defaults(content_a), with_later_defaults(content_b))
        return VersionDiff(before, after, changes)

    def served_plans(self, payer_id: str | None = None) -> list[ServedPlan]:
        """The plans the index answers for right now, with their versions."""
        plans = self._index().served_plans(payer_id or None)
        return [p for p in plans if self._allowed(p.payer_id)]

    def _with_content(
        self, payer_id: str, version: str, field: str
    ) -> tuple[PublishedVersion, dict[str, Any]]:
        meta = self._find(payer_id, version, field)
        content = self._store.get_content(payer_id, version)
        if content is None:  # listed a moment ago; versions are never deleted
            raise RuntimeError(f"{payer_id} {version} has metadata but no content")
        return meta, content

    def _find(self, payer_id: str, version: str, field: str) -> PublishedVersion:
        """The published version, or NotFoundError naming the versions the payer does have."""
        metas = self._store.list_versions(payer_id=payer_id) if self._allowed(payer_id) else []
        for meta in metas:
            if meta.version == version:
                return meta
        if metas:
            known = ", ".join(m.version for m in metas)
            message = f"{payer_id} has no published version {version!r} ({field}); it has {known}"
        else:
            message = f"no rule set of payer {payer_id!r} is published"
        raise NotFoundError("rule_set", f"{payer_id}/{version}", message, "RULE_SET_NOT_FOUND")


def _publish_violations(by: str, note: str, source: str) -> list[FieldViolation]:
    """Who publishes must be named and fit its column; no text may hold a NUL character,
    which PostgreSQL text cannot store."""
    out: list[FieldViolation] = []
    if not by:
        out.append(FieldViolation("published_by", "is required: name who publishes this version"))
    elif len(by) > MAX_PUBLISHED_BY:
        out.append(
            FieldViolation(
                "published_by", f"must be at most {MAX_PUBLISHED_BY} characters, not {len(by)}"
            )
        )
    for name, value in (("published_by", by), ("note", note), ("source", source)):
        if "\x00" in value:
            out.append(FieldViolation(name, "contains a NUL character (\\0); write plain text"))
    return out


def _require(fields: dict[str, str]) -> None:
    missing = [FieldViolation(name, "is required") for name, value in fields.items() if not value]
    if missing:
        raise InvalidRequestError(missing)


def file_name(source: str) -> str:
    """The file name of an upload's `source` without any folders (a client's local path, or a
    server's, is nobody else's business): what rule-set answers show."""
    return re.split(r"[\\/]", source.strip())[-1].strip()


def _every_payer(_payer_id: str) -> bool:
    return True
