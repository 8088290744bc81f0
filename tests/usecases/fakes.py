"""An in-memory store for the service-layer tests: the RuleStore and QuoteStore Protocols of
service.usecases.ports in plain lists, with the same publish logic the SQL store runs inside
its transaction (service.usecases.publishing), so the use cases are tested fast, without a
server or a database. tests/storage holds the SQL store to the same behaviour."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from service.domain.model import Clinic, RuleSetVersion
from service.domain.problems import Problem
from service.domain.versions import PublishRejectedError, check_publish_batch
from service.rulefiles import ParsedRuleSet
from service.usecases.ports import (
    NewQuote,
    PublishedVersion,
    PublishResult,
    SavedQuote,
    WithdrawResult,
)
from service.usecases.publishing import plan_publish


class InMemoryStore:
    def __init__(self) -> None:
        self.published: list[tuple[PublishedVersion, ParsedRuleSet]] = []
        self.quotes: dict[str, SavedQuote] = {}

    def latest_change_marker(self) -> str:
        return str(len(self.published))

    def list_versions(
        self, payer_id: str | None = None, plan_id: str | None = None
    ) -> list[PublishedVersion]:
        return [
            m
            for m, _ in self.published
            if (payer_id is None or m.payer_id == payer_id)
            and (plan_id is None or plan_id in m.plan_ids)
        ]

    def get_content(self, payer_id: str, version: str) -> dict[str, Any] | None:
        for m, parsed in self.published:
            if (m.payer_id, m.version) == (payer_id, version):
                return dict(parsed.content)
        return None

    def load_versions(self, clinic: Clinic) -> list[RuleSetVersion]:
        return [
            replace(
                p.to_version(m.published_at, m.published_by, m.note), withdrawn_at=m.withdrawn_at
            )
            for m, p in self.published
        ]

    def check(self, parsed_list: Sequence[ParsedRuleSet]) -> list[Problem]:
        return check_publish_batch(parsed_list, self.list_versions())

    def publish(
        self,
        parsed: ParsedRuleSet,
        published_by: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> PublishResult:
        at = now or datetime.now(UTC)
        plan = plan_publish([parsed], self.list_versions(), at, published_by, note)
        if plan.rejected:
            raise PublishRejectedError(plan.problems)
        for i in plan.new:
            v = plan.results[i].version
            meta = PublishedVersion.of(v, [p.plan_id for p in v.plans])
            self.published.append((meta, parsed))
        return plan.results[0]

    def withdraw(
        self,
        payer_id: str,
        version: str,
        withdrawn_by: str,
        reason: str,
        replacement: ParsedRuleSet | None = None,
        now: datetime | None = None,
    ) -> WithdrawResult | None:
        """The SQL store's withdrawal in lists: all or nothing."""
        at = now or datetime.now(UTC)
        for i, (m, parsed) in enumerate(self.published):
            if (m.payer_id, m.version) != (payer_id, version):
                continue
            if m.withdrawn_at is not None:
                return WithdrawResult(m, None, already_withdrawn=True)
            before = list(self.published)
            gone = replace(m, withdrawn_at=at, withdrawn_reason=reason)
            self.published[i] = (gone, parsed)
            result = None
            if replacement is not None:
                active = [v for v in self.list_versions() if v.withdrawn_at is None]
                plan = plan_publish([replacement], active, at, withdrawn_by, None)
                if plan.rejected:
                    self.published = before
                    raise PublishRejectedError(plan.problems)
                result = plan.results[0]
                v = result.version
                self.published.append((PublishedVersion.of(v, [p.plan_id for p in v.plans]),
                                       replacement))  # fmt: skip
            return WithdrawResult(gone, result)
        return None

    def save_quote(self, quote: NewQuote, now: datetime | None = None) -> SavedQuote:
        saved = SavedQuote(str(uuid.uuid4()), now or datetime.now(UTC), quote)
        self.quotes[saved.id] = saved
        return saved

    def get_quote(self, quote_id: str) -> SavedQuote | None:
        return self.quotes.get(quote_id)

    def list_quotes(
        self,
        plan_ids: Sequence[str],
        saved_from: datetime,
        saved_before: datetime | None = None,
        limit: int = 10_000,
    ) -> list[SavedQuote]:
        chosen = [
            q
            for q in self.quotes.values()
            if q.quote.plan_id in plan_ids
            and q.created_at >= saved_from
            and (saved_before is None or q.created_at < saved_before)
        ]
        return sorted(chosen, key=lambda q: (q.created_at, q.id))[:limit]
