"""Unit counting (docs/cost-rules.md §1): CMS 8-minute total time vs AMA per code."""

from __future__ import annotations

import pytest

from service.domain.model import UnitMethod
from service.domain.units import billable_units, cms_units

CMS = UnitMethod.CMS_8_MINUTE
AMA = UnitMethod.AMA_PER_CODE
FLAT = UnitMethod.PER_VISIT_FLAT


@pytest.mark.parametrize(
    ("minutes", "units"),
    [
        (0, 0),  # 0 // 15 = 0, remainder 0 < 8
        (1, 0),
        (7, 0),  # remainder 7 < 8: no unit
        (8, 1),  # remainder 8: one unit
        (15, 1),  # one full block
        (22, 1),  # 1 block + 7
        (23, 2),  # 1 block + 8
        (30, 2),
        (37, 2),  # 2 blocks + 7
        (38, 3),  # 2 blocks + 8
        (45, 3),
        (52, 3),  # 3 blocks + 7
        (53, 4),  # 3 blocks + 8
        (60, 4),
        (67, 4),  # 4 blocks + 7
        (68, 5),  # 4 blocks + 8
        (75, 5),
        (82, 5),  # 5 blocks + 7
        (83, 6),  # 5 blocks + 8
        (90, 6),
        (97, 6),  # 6 blocks + 7
        (98, 7),  # 6 blocks + 8
        (120, 8),
        (240, 16),  # 16 full blocks
    ],
)
def test_cms_thresholds(minutes: int, units: int) -> None:
    assert cms_units(minutes) == units


@pytest.mark.parametrize("method", [CMS, AMA, FLAT])
@pytest.mark.parametrize(("minutes", "units"), [(7, 0), (8, 1), (22, 1), (23, 2), (53, 4), (68, 5)])
def test_single_code_same_units_for_every_method(
    method: UnitMethod, minutes: int, units: int
) -> None:
    # One code per session: the per-code and total-time rules agree, and per-visit flat
    # plans count units by the 8-minute rule too.
    assert billable_units([("97124", minutes)], method).get("97124", 0) == units


def test_domain_example_8_plus_8_minutes() -> None:
    # DOMAIN.md: 8 min 97140 + 8 min 97124. CMS: 16 total minutes -> 1 unit (1 remainder-8
    # unit, the two codes tie on leftover minutes so either may get it). AMA: 8 min of each
    # code -> 1 unit each = 2.
    cms = billable_units([("97140", 8), ("97124", 8)], CMS)
    assert cms.get("97140", 0) + cms.get("97124", 0) == 1
    assert {cms.get("97140", 0), cms.get("97124", 0)} == {0, 1}
    ama = billable_units([("97140", 8), ("97124", 8)], AMA)
    assert (ama.get("97140", 0), ama.get("97124", 0)) == (1, 1)


def test_7_plus_7_minutes_cms_bills_one_ama_none() -> None:
    # CMS: 14 total minutes, remainder 14 >= 8 -> 1 unit. AMA: 7 min per code -> 0 + 0.
    cms = billable_units([("97140", 7), ("97124", 7)], CMS)
    assert cms.get("97140", 0) + cms.get("97124", 0) == 1
    ama = billable_units([("97140", 7), ("97124", 7)], AMA)
    assert ama.get("97140", 0) + ama.get("97124", 0) == 0


def test_cms_leftover_unit_goes_to_code_with_most_minutes_left() -> None:
    # 33 min 97140 + 7 min 97124 = 40 min -> 2 blocks + 10 -> 3 units.
    # Full blocks: 97140 2 (3 min left), 97124 0 (7 min left). The third unit goes to the
    # code with the most minutes left over: 97124 (7 > 3). -> {97140: 2, 97124: 1}.
    cms = billable_units([("97140", 33), ("97124", 7)], CMS)
    assert (cms.get("97140", 0), cms.get("97124", 0)) == (2, 1)
    # AMA: 33 -> 2 blocks + 3 -> 2; 7 -> 0.
    ama = billable_units([("97140", 33), ("97124", 7)], AMA)
    assert (ama.get("97140", 0), ama.get("97124", 0)) == (2, 0)


def test_cms_full_blocks_first_then_leftover() -> None:
    # 38 min 97124 + 10 min 97140 = 48 min -> 3 blocks + 3 -> 3 units.
    # Full blocks: 97124 2 (8 left), 97140 0 (10 left); 3rd unit -> 97140 (10 > 8).
    cms = billable_units([("97124", 38), ("97140", 10)], CMS)
    assert (cms.get("97124", 0), cms.get("97140", 0)) == (2, 1)
    # AMA: 38 -> 2 + 8 -> 3 units; 10 -> 1 unit; 4 in all (one more than CMS).
    ama = billable_units([("97124", 38), ("97140", 10)], AMA)
    assert (ama.get("97124", 0), ama.get("97140", 0)) == (3, 1)


def test_cms_no_leftover_unit_when_total_remainder_small() -> None:
    # 45 min 97124 + 7 min 97140 = 52 min -> 3 blocks + 7 -> 3 units, all full blocks of
    # 97124; 97140's 7 minutes earn nothing. AMA: 3 + 0 as well.
    cms = billable_units([("97124", 45), ("97140", 7)], CMS)
    assert (cms.get("97124", 0), cms.get("97140", 0)) == (3, 0)
    ama = billable_units([("97124", 45), ("97140", 7)], AMA)
    assert (ama.get("97124", 0), ama.get("97140", 0)) == (3, 0)


def test_cms_tie_on_leftover_splits_total() -> None:
    # 20 + 20 = 40 min -> 3 units: 1 full block each (5 left each), the third to one of them.
    cms = billable_units([("97124", 20), ("97140", 20)], CMS)
    assert sorted([cms.get("97124", 0), cms.get("97140", 0)]) == [1, 2]
    # AMA: 20 -> 1 + 5 -> 1 unit each = 2.
    ama = billable_units([("97124", 20), ("97140", 20)], AMA)
    assert (ama.get("97124", 0), ama.get("97140", 0)) == (1, 1)


def test_same_code_twice_counts_its_minutes_together() -> None:
    # 8 + 8 minutes of 97124 are 16 minutes of one code: 1 block + 1 -> 1 unit either way.
    assert billable_units([("97124", 8), ("97124", 8)], CMS).get("97124", 0) == 1
    assert billable_units([("97124", 8), ("97124", 8)], AMA).get("97124", 0) == 1
