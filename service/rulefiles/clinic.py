"""The clinic profile (payer_rules/clinic.yaml): read, check and build the domain Clinic."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.domain.model import (
    CashPrice,
    Clinic,
    ProviderCredential,
    SessionType,
)
from service.domain.money import parse_dollars
from service.rulefiles.models import (
    ClinicModel,
)
from service.rulefiles.problems import ERROR, WARNING, Problem, RuleFileError
from service.rulefiles.yamlsource import did_you_mean, load_yaml, pydantic_problems, read_text


def load_clinic_file(path: str | Path) -> Clinic:
    """Read and validate a clinic profile (payer_rules/clinic.yaml)."""
    text, problems = read_text(Path(path))
    if text is None:
        raise RuleFileError(problems)
    return parse_clinic(text, str(path))


def parse_clinic(text: str, source: str) -> Clinic:
    """Validate clinic YAML text; raises RuleFileError with every problem found."""
    clinic, problems = clinic_or_problems(text, source)
    if clinic is None:
        raise RuleFileError(problems)
    return clinic


def clinic_or_problems(text: str, source: str) -> tuple[Clinic | None, list[Problem]]:
    data, problems = load_yaml(text, source)
    if data is None:
        return None, problems
    return parse_clinic_data(data, source)


def parse_clinic_data(data: Any, source: str) -> tuple[Clinic | None, list[Problem]]:
    """Validate an already-parsed clinic mapping; (clinic, warnings) or (None, problems)."""
    try:
        model = ClinicModel.model_validate(data)
    except ValidationError as exc:
        return None, pydantic_problems(exc, data, source, ClinicModel)
    problems = _check_clinic(model, source)
    if any(p.is_error for p in problems):
        return None, problems
    session_types = {
        name: SessionType(name=name, group=group, cpt_code=code)
        for group, members in model.session_types.items()
        for name, code in members.items()
    }
    cash_prices = {
        group: tuple(
            CashPrice(minutes=m, price=parse_dollars(p)) for m, p in sorted(prices.items())
        )
        for group, prices in model.cash_prices.items()
    }
    clinic = Clinic(
        name=model.name,
        npi=model.npi,
        tin=model.tin,
        address_lines=tuple(model.address),
        charge_per_unit={c: parse_dollars(v) for c, v in sorted(model.charge_per_unit.items())},
        session_types=session_types,
        cash_prices=cash_prices,
        default_provider=ProviderCredential(model.default_provider_credential),
    )
    return clinic, problems


def npi_check_digit_ok(npi: str) -> bool:
    """NPI check digit: Luhn over the prefix 80840 plus the first nine digits."""
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _check_clinic(m: ClinicModel, source: str) -> list[Problem]:
    out: list[Problem] = []

    def err(field: str, message: str, severity: str = ERROR) -> None:
        out.append(Problem(source, field, message, severity))

    if not re.fullmatch(r"\d{10}", m.npi):
        err("npi", f'"{m.npi}" is not an NPI: write the 10 digits in quotes')
    elif not npi_check_digit_ok(m.npi):
        err("npi", f'"{m.npi}" is not a valid NPI (its check digit does not match)')
    if not re.fullmatch(r"\d{2}-\d{7}", m.tin):
        err("tin", f'"{m.tin}" is not a TIN: write it as two digits, a dash, seven digits')
    _check_session_types(m, err)
    _check_cash_prices(m, err)
    return out


def _check_session_types(m: ClinicModel, err: Callable[..., None]) -> None:
    codes = sorted(m.charge_per_unit)
    seen: dict[str, str] = {}
    for group, members in m.session_types.items():
        if not members:
            err(f"session_types.{group}", "the group lists no session types")
        if group in {n for ms in m.session_types.values() for n in ms}:
            err(
                f"session_types.{group}",
                f'"{group}" is both a group and a session type; give them different names',
            )
        for name, code in members.items():
            if name in seen:
                err(
                    f"session_types.{group}.{name}",
                    f'session type "{name}" is already listed in group "{seen[name]}"',
                )
            seen[name] = group
            if code not in m.charge_per_unit:
                err(
                    f"session_types.{group}.{name}",
                    f'CPT code "{code}" has no charge in charge_per_unit '
                    f"(codes with a charge: {', '.join(codes)})",
                )


def _check_cash_prices(m: ClinicModel, err: Callable[..., None]) -> None:
    for group, prices in m.cash_prices.items():
        if group not in m.session_types:
            err(
                f"cash_prices.{group}",
                f'"{group}" is not a session-type group; groups: '
                f"{', '.join(m.session_types)}.{did_you_mean(group, list(m.session_types))}",
            )
        if not prices:
            err(f"cash_prices.{group}", "lists no prices")
        last = -1
        for minutes, price in sorted(prices.items()):
            cents = parse_dollars(price)
            if cents < last:
                err(
                    f"cash_prices.{group}.{minutes}",
                    f"a {minutes}-minute session costs less than a shorter one; check the price",
                    WARNING,
                )
            last = cents
    for group in m.session_types:
        if group not in m.cash_prices:
            err(
                "cash_prices",
                f'group "{group}" has no cash prices; sessions of that group could not be '
                "priced when a plan does not cover them",
            )
