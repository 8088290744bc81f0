"""The clinic profile's own checks."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from service.rulefiles import RuleFileError, parse_clinic

from .conftest import RULES_DIR, find

SOURCE = "payer_rules/clinic.yaml"


def clinic_data() -> dict[str, Any]:
    data = yaml.safe_load((RULES_DIR / "clinic.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def problems_for(data: dict[str, Any]) -> RuleFileError:
    with pytest.raises(RuleFileError) as excinfo:
        parse_clinic(yaml.safe_dump(data), SOURCE)
    return excinfo.value


def test_unquoted_npi_is_read_as_text() -> None:
    text = (
        (RULES_DIR / "clinic.yaml")
        .read_text(encoding="utf-8")
        .replace('"1234567893"', "1234567893")
    )
    assert parse_clinic(text, SOURCE).npi == "1234567893"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"npi": "1234567890"}, "npi", "check digit does not match"),
        ({"npi": "12345"}, "npi", "10 digits"),
        ({"tin": "123456789"}, "tin", "two digits, a dash, seven digits"),
        (
            {"charge_per_unit": {"97124": 40.0, "97140": "40.00"}},
            "charge_per_unit.97124",
            '"40.00"',
        ),
        ({"address": []}, "address", "at least 1"),
        ({"fax": "555"}, "fax", 'unknown field "fax"'),
    ],
)
def test_clinic_mistakes(change: dict[str, Any], field: str, message: str) -> None:
    data = clinic_data()
    data.update(change)
    find(problems_for(data).problems, field, message)


def test_session_type_with_a_code_the_clinic_does_not_charge() -> None:
    data = clinic_data()
    data["session_types"]["therapeutic"]["cupping"] = "97039"
    find(problems_for(data).problems, "session_types.therapeutic.cupping", "has no charge")


def test_group_without_cash_prices() -> None:
    data = clinic_data()
    data["session_types"]["spa"] = {"facial": "97124"}
    find(problems_for(data).problems, "cash_prices", 'group "spa" has no cash prices')


def test_cash_prices_for_an_unknown_group() -> None:
    data = clinic_data()
    data["cash_prices"]["therapeutik"] = {60: "110.00"}
    find(problems_for(data).problems, "cash_prices.therapeutik", 'Did you mean "therapeutic"?')


def test_session_type_in_two_groups() -> None:
    data = clinic_data()
    data["session_types"]["relaxation"]["medical"] = "97124"
    error = problems_for(data)
    find(error.problems, "session_types.therapeutic.medical", "already listed")
