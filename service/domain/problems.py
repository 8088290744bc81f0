"""A finding about rule data, said so a payer analyst can find and fix it.

One shape for every layer that checks rules (the rule-file loader, the publish-time checks
between versions), so transports report all of them the same way: `source` names the file or
version, `field` the place in it (e.g. "plans[acme-ppo-gold].in_network.coinsurance_percent"),
`message` the problem in plain English.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """Errors stop a load or a publish; warnings are shown only."""

    source: str
    field: str
    message: str
    severity: str = ERROR  # "error" | "warning"

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == WARNING else ""
        return f"{self.source}: {self.field}: {prefix}{self.message}"
