"""Billable units for timed codes (CPT 97124, 97140): one unit per 15 minutes.

Two rules exist because payers follow different ones (see docs/cost-rules.md §1):
- CMS "8-minute rule": add the minutes of all timed codes of the visit, then count units;
- AMA/CPT "substantial portion": the same thresholds, applied to each code separately.
They agree for one code and differ when a visit mixes codes.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.domain.model import UnitMethod

UNIT_MINUTES = 15
MIDPOINT_MINUTES = 8  # a unit is earned once 8 minutes of a 15-minute block are done


def cms_units(minutes: int) -> int:
    """Units for a number of timed minutes: 0-7 -> 0, 8-22 -> 1, 23-37 -> 2, ..."""
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    full, rest = divmod(minutes, UNIT_MINUTES)
    return full + (1 if rest >= MIDPOINT_MINUTES else 0)


def billable_units(
    minutes_by_code: Sequence[tuple[str, int]], method: UnitMethod
) -> dict[str, int]:
    """Units per CPT code for the timed minutes of one visit.

    CMS (and per-visit flat, whose units are still counted this way): the total units of
    the visit go first to each code's full 15-minute blocks, then one by one to the codes
    with the most minutes left over (ties: the order given). AMA: each code on its own.
    """
    merged: dict[str, int] = {}
    for code, minutes in minutes_by_code:
        if minutes < 0:
            raise ValueError(f"minutes for {code} cannot be negative")
        merged[code] = merged.get(code, 0) + minutes

    if method is UnitMethod.AMA_PER_CODE:
        return {code: cms_units(minutes) for code, minutes in merged.items()}

    total_units = cms_units(sum(merged.values()))
    units = {code: minutes // UNIT_MINUTES for code, minutes in merged.items()}
    left_over = total_units - sum(units.values())
    by_remainder = sorted(
        merged, key=lambda code: merged[code] % UNIT_MINUTES, reverse=True
    )  # stable: ties keep the order given
    for code in by_remainder[:left_over]:
        units[code] += 1
    return units
