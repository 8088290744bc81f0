"""Unit limits: caps on the covered units of a visit. Units above a cap are not covered and
cost the clinic's charge per unit (docs/cost-rules.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from service.domain.pieces.context import Visit
from service.domain.words import plural


class UnitLimit(Protocol):
    @property
    def ref(self) -> str: ...

    def most(self, visit: Visit) -> int:
        """The most units this limit lets the plan cover for the visit."""
        ...

    def note(self, visit: Visit) -> str:
        """Why units were cut, for the UNITS reason."""
        ...

    def above(self, excess: int) -> str:
        """The words of the not-covered line for `excess` units above this limit."""
        ...


@dataclass(frozen=True)
class PerVisitCap:
    units: int
    ref: str

    def most(self, visit: Visit) -> int:
        return self.units

    def note(self, visit: Visit) -> str:
        return f"the plan covers at most {self.units} per visit"

    def above(self, excess: int) -> str:
        return f"{plural(excess, 'unit')} above the {self.units}-unit visit cap"


@dataclass(frozen=True)
class PerDayCap:
    """At most `units` a day across the day's visits; the request says how many this plan
    covered earlier that day."""

    units: int
    ref: str

    def most(self, visit: Visit) -> int:
        return max(0, self.units - visit.request.units_billed_today)

    def note(self, visit: Visit) -> str:
        return (
            f"the plan covers at most {self.units} a day and "
            f"{visit.request.units_billed_today} were billed earlier today"
        )

    def above(self, excess: int) -> str:
        return f"{plural(excess, 'unit')} above the {self.units}-unit daily cap"


@dataclass(frozen=True)
class UnitCut:
    limit: UnitLimit
    excess: int


def apply_unit_limits(limits: tuple[UnitLimit, ...], visit: Visit) -> tuple[int, list[UnitCut]]:
    """Covered units after every limit, and the units each limit cut, in order."""
    covered = visit.billed_units
    cuts: list[UnitCut] = []
    for limit in limits:
        most = limit.most(visit)
        if covered > most:
            cuts.append(UnitCut(limit, covered - most))
            covered = most
    return covered, cuts
