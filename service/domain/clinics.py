"""Clinic profiles as versioned data: locations, their prices and their network participation.

A clinic profile version is immutable and effective-dated like a rule-set version: it has a
label, a date-of-service range, a checksum of its canonical content and the moment it became
known (published_at). A saved quote replays with the clinic version known when it was saved,
so a later price change never alters an old answer (docs/rule-format.md, "Clinic profiles").

Each location carries what the engine needs of a clinic (charge per unit, cash prices, who
renders) plus who it is (name, NPI, TIN, address, for Good Faith Estimates) and which payers'
plans it is in network with, from which date. Session types stay the clinic-wide catalogue of
clinic.yaml: rule files name them, so every location offers the same ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from service.domain.errors import EstimateUnavailableError, FieldViolation, InvalidRequestError
from service.domain.model import (
    CashPrice,
    Clinic,
    ClinicVersionRef,
    Network,
    ProviderCredential,
)
from service.domain.money import Cents
from service.domain.problems import Problem
from service.domain.suggest import did_you_mean


@dataclass(frozen=True)
class Therapist:
    id: str
    name: str
    credential: ProviderCredential


@dataclass(frozen=True)
class Participation:
    """In network with a payer (all its plans, or the plans listed) over a date range."""

    payer_id: str
    plan_ids: tuple[str, ...]  # empty: every plan of the payer
    effective_from: date
    effective_to: date | None = None

    def applies(self, payer_id: str, plan_id: str, day: date) -> bool:
        return (
            self.payer_id == payer_id
            and (not self.plan_ids or plan_id in self.plan_ids)
            and self.effective_from <= day
            and (self.effective_to is None or day <= self.effective_to)
        )


@dataclass(frozen=True)
class Location:
    """One location of the clinic: who it is, what it charges, whom it is in network with."""

    id: str
    name: str
    npi: str
    tin: str
    address_lines: tuple[str, ...]
    charge_per_unit: Mapping[str, Cents]
    cash_prices: Mapping[str, tuple[CashPrice, ...]]
    default_provider: ProviderCredential
    therapists: tuple[Therapist, ...] = ()
    networks: tuple[Participation, ...] = ()

    def network_for(self, payer_id: str, plan_id: str, day: date) -> Network:
        """In network when a participation covers the payer's plan on `day`, else out."""
        if any(p.applies(payer_id, plan_id, day) for p in self.networks):
            return Network.IN
        return Network.OUT

    def clinic(self, catalogue: Clinic, ref: str) -> Clinic:
        """The engine's view of this location: the clinic-wide session types with this
        location's identity and prices; rule references name `ref`."""
        return dataclasses.replace(
            catalogue,
            name=self.name,
            npi=self.npi,
            tin=self.tin,
            address_lines=self.address_lines,
            charge_per_unit=self.charge_per_unit,
            cash_prices=self.cash_prices,
            default_provider=self.default_provider,
            ref=ref,
        )


@dataclass(frozen=True)
class ClinicVersion:
    """One published, immutable version of the clinic profile."""

    clinic_id: str
    clinic_name: str
    version: str
    effective_from: date
    effective_to: date | None
    default_location: str
    locations: tuple[Location, ...]
    checksum: str
    published_at: datetime
    published_by: str = ""
    note: str = ""
    source: str = ""

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def location(self, location_id: str) -> Location | None:
        for location in self.locations:
            if location.id == location_id:
                return location
        return None

    def label(self) -> str:
        return f"{self.clinic_id} {self.version}"

    def ref(self) -> ClinicVersionRef:
        return ClinicVersionRef(
            clinic_id=self.clinic_id,
            version=self.version,
            checksum=self.checksum,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            published_at=self.published_at,
        )


@dataclass(frozen=True)
class PricedAt:
    """What a quote is priced with: the location, the clinic version, and the engine's view."""

    location: Location
    version: ClinicVersion
    clinic: Clinic


class ClinicIndex:
    """Every published clinic version in memory; picks the one for a date as known at a moment.

    Choosing a version: among the versions published at or before `as_of` (default: all) whose
    range contains the date of service, the latest effective_from wins, and among those the
    latest published (a corrected price list for the same dates supersedes the earlier one
    from the moment it is published; a replay as of an earlier moment still sees the old one).
    """

    def __init__(self, versions: Iterable[ClinicVersion]) -> None:
        self.versions = tuple(sorted(versions, key=lambda v: (v.published_at, v.version)))
        self._by_label = {(v.clinic_id, v.version): v for v in self.versions}
        self._location_ids = sorted({loc.id for v in self.versions for loc in v.locations})
        self._views: dict[tuple[str, str, str, str], tuple[Clinic, Clinic]] = {}

    def get(self, clinic_id: str, version: str) -> ClinicVersion | None:
        return self._by_label.get((clinic_id, version))

    def resolve(self, day: date, as_of: datetime | None = None) -> ClinicVersion | None:
        """The version that answers for `day` as known at `as_of`; None when none covers it."""
        known = [
            v for v in self.versions if (as_of is None or v.published_at <= as_of) and v.covers(day)
        ]
        if not known:
            return None
        return max(known, key=lambda v: (v.effective_from, v.published_at))

    def location_ids(self) -> list[str]:
        return list(self._location_ids)

    def latest(self) -> ClinicVersion | None:
        return max(self.versions, key=lambda v: (v.effective_from, v.published_at), default=None)

    def priced_at(
        self,
        catalogue: Clinic,
        location_id: str,
        day: date,
        as_of: datetime | None = None,
        pinned: ClinicVersion | None = None,
    ) -> PricedAt | None:
        """The location a quote names (its default location when `location_id` is empty) in
        the version for `day` (or `pinned`, for a replay). None only when no location is
        named and no version covers the day: such a request is priced exactly as before, from
        the clinic profile alone. A named location must exist in that version."""
        version = pinned or self.resolve(day, as_of)
        if version is None:
            if not location_id:
                return None
            raise EstimateUnavailableError(
                "NO_CLINIC_VERSION",
                f"no clinic profile version covers the date of service {day.isoformat()}",
            )
        wanted = location_id or version.default_location
        location = version.location(wanted)
        if location is None:
            known = [loc.id for loc in version.locations]
            raise InvalidRequestError(
                [
                    FieldViolation(
                        "location_id",
                        f"unknown location {wanted!r}{did_you_mean(wanted, known)}; "
                        f"locations: {', '.join(known)}",
                    )
                ]
            )
        # A request without a location keeps the references it always had ("clinic ...").
        ref = f"clinic {location.id} {version.version}" if location_id else catalogue.ref
        key = (version.clinic_id, version.version, location.id, ref)
        cached = self._views.get(key)
        if cached is None or cached[0] is not catalogue:  # once per location and version
            cached = (catalogue, location.clinic(catalogue, ref))
            self._views[key] = cached
        return PricedAt(location, version, cached[1])


# ---------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class ClinicVersionMeta:
    """A published clinic version's metadata, read without building its locations."""

    clinic_id: str
    clinic_name: str
    version: str
    effective_from: date
    effective_to: date | None
    checksum: str
    published_at: datetime
    published_by: str
    note: str
    source: str
    location_ids: tuple[str, ...] = ()

    def label(self) -> str:
        return f"{self.clinic_id} {self.version}"


def check_clinic_publish(
    clinic_id: str, version: str, checksum: str, published: Iterable[ClinicVersionMeta]
) -> tuple[ClinicVersionMeta | None, list[Problem]]:
    """(the identical version already published, or None; the problems that refuse it).

    One clinic per store: its locations are the service's locations, so a profile of another
    clinic id is refused. A version label is published once; the same content again is
    idempotent. Overlapping dates are allowed: the later publish supersedes for its dates.
    """
    label = f"{clinic_id} {version}"
    problems: list[Problem] = []
    for meta in published:
        if meta.clinic_id != clinic_id:
            problems.append(
                Problem(
                    label,
                    "clinic.id",
                    f'this service keeps the profile of clinic "{meta.clinic_id}"; publish its '
                    "locations as a new version of that clinic",
                )
            )
            break
    for meta in published:
        if meta.clinic_id == clinic_id and meta.checksum == checksum:
            return meta, []
        if meta.clinic_id == clinic_id and meta.version == version:
            problems.append(
                Problem(
                    label,
                    "version",
                    f"version {version!r} of clinic {clinic_id} is already published with "
                    f"other content (checksum {meta.checksum}); give the new version its own "
                    "label",
                )
            )
    return None, problems
