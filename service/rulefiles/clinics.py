"""Clinic profile files (payer_rules/clinics/<clinic id>/*.yaml) -> validated ClinicVersion.

A clinic profile version lists the clinic's locations, each with its identity (name, NPI, TIN,
address), its charge per unit and cash prices, its therapists' credentials and the payers'
plans it is in network with, from which date. Every problem of a file is reported in one
pass, naming the file and the field; nothing is built while any error remains. The session
types are the clinic-wide catalogue of clinic.yaml, so each location's prices are checked
against it. See docs/rule-format.md, "Clinic profiles".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError

from service.domain.clinics import ClinicVersion, Location, Participation, Therapist
from service.domain.model import CashPrice, Clinic, ProviderCredential
from service.domain.money import parse_dollars
from service.rulefiles.canonical import content_checksum
from service.rulefiles.clinic import npi_check_digit_ok
from service.rulefiles.models import (
    CptCode,
    Money,
    Name,
    ProviderName,
    Slug,
    _npi,
    _Strict,
)
from service.rulefiles.problems import ERROR, WARNING, Problem, RuleFileError
from service.rulefiles.yamlsource import did_you_mean, load_yaml, pydantic_problems, read_text

CLINICS_DIR_NAME = "clinics"  # under the rules folder; the payer loader skips it


# ---------------------------------------------------------------------------- the file shape


class ClinicIdModel(_Strict):
    id: Slug = Field(description="The clinic's id, e.g. harbor.")
    name: str = Field(min_length=1, description="The clinic's name.")


class TherapistModel(_Strict):
    id: Slug
    name: str = Field(min_length=1)
    credential: ProviderName = Field(description="lmt, pt, dc or md_do.")


class ParticipationModel(_Strict):
    payer: Slug = Field(description="The payer id of the rule files.")
    plans: list[Slug] = Field(
        default_factory=list, description="The payer's plans; none listed: all of them."
    )
    effective_from: date = Field(description="First date of service in network.")
    effective_to: date | None = Field(default=None, description="Last date; none: open-ended.")


class LocationModel(_Strict):
    id: Slug = Field(description="The location id quotes name (location_id).")
    name: str = Field(min_length=1)
    npi: Annotated[str, BeforeValidator(_npi)] = Field(
        description="10-digit National Provider Identifier, quoted."
    )
    tin: str = Field(description="Taxpayer Identification Number, NN-NNNNNNN.")
    address: list[str] = Field(min_length=1, description="Address lines.")
    charge_per_unit: dict[CptCode, Money] = Field(
        min_length=1, description="The location's charge per 15-minute unit by CPT code."
    )
    cash_prices: dict[Name, dict[Annotated[int, Field(ge=1, le=480)], Money]] = Field(
        description="group -> session length in minutes -> whole-session cash price."
    )
    default_provider_credential: ProviderName = "lmt"
    therapists: list[TherapistModel] = Field(default_factory=list)
    in_network: list[ParticipationModel] = Field(
        default_factory=list,
        description="The payers' plans this location is in network with, and from when; "
        "any other plan is out of network.",
    )


class ClinicProfileModel(_Strict):
    """One version of the clinic profile: payer_rules/clinics/<clinic id>/<version>.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Clinic profile version")

    clinic: ClinicIdModel
    version: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    effective_from: date
    effective_to: date | None = None
    note: str = ""
    default_location: Slug = Field(description="The location of requests that name none.")
    locations: list[LocationModel] = Field(min_length=1)


# ---------------------------------------------------------------------------- parsed


@dataclass(frozen=True)
class ParsedClinicProfile:
    """A validated clinic profile file: canonical content, its checksum, the domain version."""

    clinic_id: str
    clinic_name: str
    version: str
    effective_from: date
    effective_to: date | None
    default_location: str
    locations: tuple[Location, ...]
    content: dict[str, Any]
    checksum: str
    source: str
    note: str = ""
    warnings: tuple[Problem, ...] = ()

    def to_version(
        self, published_at: datetime, published_by: str = "", note: str | None = None
    ) -> ClinicVersion:
        return ClinicVersion(
            clinic_id=self.clinic_id,
            clinic_name=self.clinic_name,
            version=self.version,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            default_location=self.default_location,
            locations=self.locations,
            checksum=self.checksum,
            published_at=published_at,
            published_by=published_by,
            note=self.note if note is None else note,
            source=self.source,
        )


PlansByPayer = Mapping[str, frozenset[str]]


def validate_clinic_profile(
    text: str, source: str, catalogue: Clinic, plans: PlansByPayer | None = None
) -> tuple[ParsedClinicProfile | None, list[Problem]]:
    """Dry run of a clinic profile file: (parsed, warnings) or (None, every problem)."""
    data, problems = load_yaml(text, source)
    if data is None:
        return None, problems
    return validate_clinic_profile_content(data, source, catalogue, plans)


def parse_clinic_profile_content(
    content: Mapping[str, Any], source: str, catalogue: Clinic
) -> ParsedClinicProfile:
    """Rebuild a stored version from its canonical content (raises RuleFileError)."""
    parsed, problems = validate_clinic_profile_content(content, source, catalogue)
    if parsed is None:
        raise RuleFileError(problems)
    return parsed


def validate_clinic_profile_content(
    data: Any, source: str, catalogue: Clinic, plans: PlansByPayer | None = None
) -> tuple[ParsedClinicProfile | None, list[Problem]]:
    """The checks and the build from a parsed mapping. `plans` (payer id -> plan ids), when
    given, lets the check warn about a participation naming a payer or plan nobody serves."""
    try:
        model = ClinicProfileModel.model_validate(data)
    except ValidationError as exc:
        return None, pydantic_problems(exc, data, source, ClinicProfileModel)
    problems = _check_profile(model, source, catalogue, plans)
    if any(p.is_error for p in problems):
        return None, problems
    content = model.model_dump(mode="json")
    parsed = ParsedClinicProfile(
        clinic_id=model.clinic.id,
        clinic_name=model.clinic.name,
        version=model.version,
        effective_from=model.effective_from,
        effective_to=model.effective_to,
        default_location=model.default_location,
        locations=tuple(_location(loc) for loc in model.locations),
        content=content,
        checksum=content_checksum(content),
        source=source,
        note=model.note,
        warnings=tuple(problems),
    )
    return parsed, problems


def load_clinic_profiles_dir(
    root: Path, catalogue: Clinic, plans: PlansByPayer | None = None
) -> list[ParsedClinicProfile]:
    """Every clinic profile file under `root` (payer_rules/clinics), all problems at once."""
    out: list[ParsedClinicProfile] = []
    problems: list[Problem] = []
    if not root.is_dir():
        return out
    for file in sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml")):
        text, read_problems = read_text(file)
        if text is None:
            problems.extend(read_problems)
            continue
        parsed, found = validate_clinic_profile(text, str(file), catalogue, plans)
        problems.extend(found)
        if parsed is not None:
            out.append(parsed)
    labels: dict[tuple[str, str], str] = {}
    for parsed in out:
        key = (parsed.clinic_id, parsed.version)
        if key in labels:
            problems.append(
                Problem(
                    parsed.source,
                    "version",
                    f'version "{parsed.version}" of clinic {parsed.clinic_id} is also defined '
                    f"in {labels[key]}; give each version its own label",
                )
            )
        labels.setdefault(key, parsed.source)
    if any(p.is_error for p in problems):
        raise RuleFileError(problems)
    return sorted(out, key=lambda p: (p.clinic_id, p.effective_from, p.version))


def profile_from_clinic(catalogue: Clinic, location_id: str = "main") -> ParsedClinicProfile:
    """Today's single clinic profile (clinic.yaml) as a one-location clinic version, for a
    store whose rules folder has no clinic profile files yet: it keeps answering as before."""
    content = {
        "clinic": {"id": location_id, "name": catalogue.name},
        "version": "1",
        "effective_from": "2000-01-01",
        "effective_to": None,
        "note": "moved from clinic.yaml",
        "default_location": location_id,
        "locations": [
            {
                "id": location_id,
                "name": catalogue.name,
                "npi": catalogue.npi,
                "tin": catalogue.tin,
                "address": list(catalogue.address_lines),
                "charge_per_unit": {c: _dollars(v) for c, v in catalogue.charge_per_unit.items()},
                "cash_prices": {
                    g: {str(p.minutes): _dollars(p.price) for p in prices}
                    for g, prices in catalogue.cash_prices.items()
                },
                "default_provider_credential": catalogue.default_provider.value,
            }
        ],
    }
    parsed, problems = validate_clinic_profile_content(content, "clinic.yaml", catalogue)
    if parsed is None:
        raise RuleFileError(problems)
    return parsed


def _dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# ---------------------------------------------------------------------------- build


def _location(m: LocationModel) -> Location:
    return Location(
        id=m.id,
        name=m.name,
        npi=m.npi,
        tin=m.tin,
        address_lines=tuple(m.address),
        charge_per_unit={c: parse_dollars(v) for c, v in sorted(m.charge_per_unit.items())},
        cash_prices={
            group: tuple(
                CashPrice(minutes=mins, price=parse_dollars(p)) for mins, p in sorted(ps.items())
            )
            for group, ps in m.cash_prices.items()
        },
        default_provider=ProviderCredential(m.default_provider_credential),
        therapists=tuple(
            Therapist(t.id, t.name, ProviderCredential(t.credential)) for t in m.therapists
        ),
        networks=tuple(
            Participation(p.payer, tuple(p.plans), p.effective_from, p.effective_to)
            for p in m.in_network
        ),
    )


# ---------------------------------------------------------------------------- checks


def _check_profile(
    m: ClinicProfileModel, source: str, catalogue: Clinic, plans: PlansByPayer | None
) -> list[Problem]:
    out: list[Problem] = []

    def err(field: str, message: str, severity: str = ERROR) -> None:
        out.append(Problem(source, field, message, severity))

    if m.effective_to is not None and m.effective_to < m.effective_from:
        err("effective_to", f"{m.effective_to} is before effective_from {m.effective_from}")
    ids = [loc.id for loc in m.locations]
    if m.default_location not in ids:
        err(
            "default_location",
            f'"{m.default_location}" is not one of the locations '
            f"({', '.join(ids)}).{did_you_mean(m.default_location, ids)}",
        )
    seen: dict[str, str] = {}
    for loc in m.locations:
        at = f"locations[{loc.id}]"
        if loc.id in seen:
            err(f"{at}.id", f'location id "{loc.id}" is listed twice')
        seen.setdefault(loc.id, loc.id)
        _check_location(loc, at, catalogue, plans, err)
    npis: dict[str, str] = {}
    for loc in m.locations:
        other = npis.setdefault(loc.npi, loc.id)
        if other != loc.id:
            err(
                f"locations[{loc.id}].npi",
                f"location {other} has the same NPI; each location usually has its own",
                WARNING,
            )
    return out


def _check_location(
    loc: LocationModel,
    at: str,
    catalogue: Clinic,
    plans: PlansByPayer | None,
    err: Callable[..., None],
) -> None:
    if not re.fullmatch(r"\d{10}", loc.npi):
        err(f"{at}.npi", f'"{loc.npi}" is not an NPI: write the 10 digits in quotes')
    elif not npi_check_digit_ok(loc.npi):
        err(f"{at}.npi", f'"{loc.npi}" is not a valid NPI (its check digit does not match)')
    if not re.fullmatch(r"\d{2}-\d{7}", loc.tin):
        err(f"{at}.tin", f'"{loc.tin}" is not a TIN: write it as two digits, a dash, seven digits')
    for name, st in sorted(catalogue.session_types.items()):
        if st.cpt_code not in loc.charge_per_unit:
            err(
                f"{at}.charge_per_unit",
                f'CPT code "{st.cpt_code}" (session type {name}) has no charge per unit',
            )
            break
    groups = sorted(catalogue.groups())
    for group, prices in loc.cash_prices.items():
        if group not in groups:
            err(
                f"{at}.cash_prices.{group}",
                f'"{group}" is not a session-type group; groups: {", ".join(groups)}.'
                f"{did_you_mean(group, groups)}",
            )
        if not prices:
            err(f"{at}.cash_prices.{group}", "lists no prices")
        last = -1
        for minutes, price in sorted(prices.items()):
            cents = parse_dollars(price)
            if cents < last:
                err(
                    f"{at}.cash_prices.{group}.{minutes}",
                    f"a {minutes}-minute session costs less than a shorter one; check the price",
                    WARNING,
                )
            last = cents
    for group in groups:
        if group not in loc.cash_prices:
            err(
                f"{at}.cash_prices",
                f'group "{group}" has no cash prices; sessions of that group could not be '
                "priced when a plan does not cover them",
            )
    therapist_ids: set[str] = set()
    for t in loc.therapists:
        if t.id in therapist_ids:
            err(f"{at}.therapists[{t.id}].id", f'therapist id "{t.id}" is listed twice')
        therapist_ids.add(t.id)
    for i, p in enumerate(loc.in_network):
        where = f"{at}.in_network[{i}]"
        if p.effective_to is not None and p.effective_to < p.effective_from:
            err(f"{where}.effective_to", f"{p.effective_to} is before {p.effective_from}")
        if plans is None:
            continue
        if p.payer not in plans:
            err(
                f"{where}.payer",
                f'no published rules know payer "{p.payer}".{did_you_mean(p.payer, list(plans))}',
                WARNING,
            )
            continue
        for plan in p.plans:
            if plan not in plans[p.payer]:
                err(
                    f"{where}.plans",
                    f'payer {p.payer} has no plan "{plan}".'
                    f"{did_you_mean(plan, sorted(plans[p.payer]))}",
                )
