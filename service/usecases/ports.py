"""What the use cases need of the store, and the types that cross that boundary.

The store (service.storage) implements these Protocols with SQLite or PostgreSQL; the service
layer's tests use an in-memory one. Signatures speak in domain and service-layer types, never
in the storage adapter's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from service.domain.clinics import ClinicVersion, ClinicVersionMeta
from service.domain.model import Clinic, RuleSetVersion
from service.domain.problems import Problem
from service.domain.versions import VersionIdentity
from service.rulefiles import ParsedRuleSet
from service.rulefiles.clinics import ParsedClinicProfile


@dataclass(frozen=True)
class PlanRef:
    """A plan as a published version's metadata names it."""

    plan_id: str


class VersionMeta(VersionIdentity, Protocol):
    """The metadata every published version has, whatever holds it (a domain version, a row)."""

    @property
    def published_at(self) -> datetime: ...
    @property
    def published_by(self) -> str: ...
    @property
    def note(self) -> str: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class PublishedVersion:
    """A published version's metadata, read without its content (lists, shows, diffs)."""

    payer_id: str
    payer_name: str
    version: str
    effective_from: date
    effective_to: date | None
    checksum: str
    published_at: datetime
    published_by: str
    note: str
    source: str
    plan_ids: tuple[str, ...] = ()
    withdrawn_at: datetime | None = None
    withdrawn_reason: str = ""

    @property
    def plans(self) -> tuple[PlanRef, ...]:
        """The plans it defines, in the shape the publish checks read."""
        return tuple(PlanRef(p) for p in self.plan_ids)

    @classmethod
    def of(cls, meta: VersionMeta, plan_ids: Sequence[str]) -> PublishedVersion:
        return cls(
            payer_id=meta.payer_id,
            payer_name=meta.payer_name,
            version=meta.version,
            effective_from=meta.effective_from,
            effective_to=meta.effective_to,
            checksum=meta.checksum,
            published_at=meta.published_at,
            published_by=meta.published_by,
            note=meta.note,
            source=meta.source,
            plan_ids=tuple(plan_ids),
        )


@dataclass(frozen=True)
class PublishResult:
    """The outcome of publishing one rule set: the version (new, or the identical one already
    published) and the warnings the checks raised (gaps, the rule file's own warnings)."""

    version: RuleSetVersion
    created: bool
    warnings: tuple[Problem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class NewQuote:
    """An estimate a client asked to keep: the request and the answer as the API's JSON, and
    the rule version that answered (None for self-pay), so a replay can pin that version."""

    request: Mapping[str, Any]
    response: Mapping[str, Any]
    plan_id: str
    payer_id: str | None = None
    version: str | None = None
    checksum: str | None = None
    # The clinic profile version that priced it (None when none covered the date).
    clinic_id: str | None = None
    clinic_version: str | None = None
    clinic_checksum: str | None = None


@dataclass(frozen=True)
class SavedQuote:
    """A kept estimate, with its id and when it was saved."""

    id: str
    created_at: datetime
    quote: NewQuote


class RuleStore(Protocol):
    """Published rule-set versions: immutable, checked against each other when published."""

    def latest_change_marker(self) -> str:
        """Changes whenever a version is published (by any replica)."""
        ...

    def list_versions(
        self, payer_id: str | None = None, plan_id: str | None = None
    ) -> list[PublishedVersion]:
        """Oldest publish first; one payer's, or those defining one plan, when given."""
        ...

    def get_content(self, payer_id: str, version: str) -> dict[str, Any] | None:
        """The canonical content of one version (None when not published)."""
        ...

    def load_versions(self, clinic: Clinic) -> list[RuleSetVersion]:
        """Every published version as a domain object, rebuilt from its stored content."""
        ...

    def check(self, parsed_list: Sequence[ParsedRuleSet]) -> list[Problem]:
        """The problems publishing `parsed_list` now would raise (writes nothing)."""
        ...

    def publish(
        self,
        parsed: ParsedRuleSet,
        published_by: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> PublishResult:
        """Publish one rule set, or raise PublishRejectedError and write nothing."""
        ...

    def withdraw(
        self,
        payer_id: str,
        version: str,
        withdrawn_by: str,
        reason: str,
        replacement: ParsedRuleSet | None = None,
        now: datetime | None = None,
    ) -> WithdrawResult | None:
        """Withdraw a version and publish its replacement, if any, in one transaction (None
        when the version is not published; PublishRejectedError writes nothing)."""
        ...


@dataclass(frozen=True)
class WithdrawResult:
    """The withdrawn version (with its withdrawal) and the replacement published with it."""

    withdrawn: PublishedVersion
    replacement: PublishResult | None = None
    already_withdrawn: bool = False


class QuoteStore(Protocol):
    """Saved quotes."""

    def save_quote(self, quote: NewQuote, now: datetime | None = None) -> SavedQuote:
        """Keep `quote`, saved at `now` (the current time when None); returns it with its id."""
        ...

    def get_quote(self, quote_id: str) -> SavedQuote | None: ...

    def list_quotes(
        self,
        plan_ids: Sequence[str],
        saved_from: datetime,
        saved_before: datetime | None = None,
        limit: int = 10_000,
    ) -> list[SavedQuote]:
        """The quotes of these plans saved at or after `saved_from` and before
        `saved_before` (None: no end), oldest first, at most `limit` (PreviewImpact)."""


@dataclass(frozen=True)
class ClinicPublishResult:
    """The outcome of publishing a clinic profile version (new, or the identical one)."""

    version: ClinicVersionMeta
    created: bool
    warnings: tuple[Problem, ...] = field(default_factory=tuple)


class ClinicStore(Protocol):
    """Published clinic profile versions: immutable, one clinic per store."""

    def list_clinic_versions(self) -> list[ClinicVersionMeta]:
        """Oldest publish first."""
        ...

    def get_clinic_content(self, clinic_id: str, version: str) -> dict[str, Any] | None: ...

    def load_clinic_versions(self, catalogue: Clinic) -> list[ClinicVersion]:
        """Every published version rebuilt from its stored content (checksums verified)."""
        ...

    def publish_clinic(
        self,
        parsed: ParsedClinicProfile,
        published_by: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> ClinicPublishResult:
        """Publish one version, or raise PublishRejectedError and write nothing."""
        ...
