"""Property tests: any spelling of the same amount means the same cents and the same
checksum; any key order gives the same checksum; content always round-trips."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.model import Clinic
from service.rulefiles import parse_rule_set, parse_rule_set_content

from .conftest import acme_plan, sample_data, to_yaml
from .test_checksum import shuffled


def spellings(cents: int) -> list[Any]:
    dollars, rest = divmod(cents, 100)
    out: list[Any] = [f"{dollars}.{rest:02d}", f"${dollars:,}.{rest:02d}"]
    if rest == 0:
        out += [dollars, str(dollars)]
    elif rest % 10 == 0:
        out.append(f"{dollars}.{rest // 10}")
    return out


@settings(max_examples=40, deadline=None)
# From 1 cent: an allowed amount of $0.00 is refused (a covered unit must cost something).
@given(cents=st.integers(min_value=1, max_value=10_000_000), pick=st.integers(0, 10))
def test_money_spellings_agree(clinic: Clinic, cents: int, pick: int) -> None:
    forms = spellings(cents)
    data = sample_data()
    acme_plan(data)["out_of_network"]["allowed_per_unit"]["97124"] = forms[0]
    base = parse_rule_set(to_yaml(data), "a.yaml", clinic)
    acme_plan(data)["out_of_network"]["allowed_per_unit"]["97124"] = forms[pick % len(forms)]
    other = parse_rule_set(to_yaml(data), "b.yaml", clinic)
    assert other.checksum == base.checksum
    oon = other.plans[0].out_of_network
    assert oon is not None and oon.allowed["97124"].first_unit == cents


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_key_order_never_matters_and_content_round_trips(clinic: Clinic, seed: int) -> None:
    base = parse_rule_set(to_yaml(sample_data()), "a.yaml", clinic)
    again = parse_rule_set(to_yaml(shuffled(sample_data(), random.Random(seed))), "b", clinic)
    assert again.checksum == base.checksum
    rebuilt = parse_rule_set_content(again.content, "db", clinic)
    assert (rebuilt.checksum, rebuilt.plans) == (base.checksum, base.plans)
