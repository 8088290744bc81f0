"""What a rule file gets wrong, said so a payer analyst can find and fix it.

Every problem names the file (`source`), the place in it (`field`, a readable path such as
"plans[acme-ppo-gold].in_network.coinsurance_percent") and the problem in plain English.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.domain.problems import ERROR, WARNING, Problem

__all__ = ["ERROR", "WARNING", "Problem", "RuleFileError"]


class RuleFileError(Exception):
    """One or more rule files are invalid; `problems` holds every finding (errors first is
    not guaranteed: they stay in file order), so an analyst can fix them all in one go."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]
