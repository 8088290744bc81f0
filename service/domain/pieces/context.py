"""What every piece reads (the Visit being priced) and what it writes to (the Ledger)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from service.domain.model import (
    Clinic,
    LineItem,
    LineItemKind,
    NetworkTerms,
    PlanRules,
    ProviderCredential,
    Reason,
    Requirement,
    RuleSetVersion,
    SessionRequest,
)
from service.domain.money import Cents


@dataclass(frozen=True)
class Visit:
    """One session under one plan version and network, with the facts every piece shares."""

    request: SessionRequest
    plan: PlanRules
    version: RuleSetVersion
    terms: NetworkTerms
    clinic: Clinic
    cpt: str
    billed_units: int
    provider: ProviderCredential
    period: tuple[date, date]

    @property
    def visit_number(self) -> int:
        """This visit's number in the plan's visit-limit bucket (visits used + 1)."""
        return self.request.accumulators.visits_used + 1


@dataclass(frozen=True)
class Finding:
    """A failed coverage check: why, and what the client could obtain to pass it."""

    reason: Reason
    need: Requirement | None = None


@dataclass
class Ledger:
    """Collects reasons, requirements and line items while an estimate is worked out."""

    reasons: list[Reason] = field(default_factory=list)
    missing: list[Requirement] = field(default_factory=list)
    lines: list[LineItem] = field(default_factory=list)

    def reason(self, code: str, message: str, rule_ref: str = "") -> None:
        self.reasons.append(Reason(code, message, rule_ref))

    def need(self, requirement: Requirement) -> None:
        if all(r.code != requirement.code for r in self.missing):
            self.missing.append(requirement)

    def finding(self, finding: Finding) -> None:
        self.reasons.append(finding.reason)
        if finding.need is not None:
            self.need(finding.need)

    def line(
        self,
        kind: LineItemKind,
        description: str,
        amount: Cents,
        rule_ref: str,
        *,
        cpt_code: str = "",
        units: int = 0,
        unit_amount: Cents | None = None,
    ) -> None:
        self.lines.append(
            LineItem(kind, description, amount, rule_ref, cpt_code, units, unit_amount)
        )
