"""Use cases on clinic profile versions: validate, publish, list, show, diff, and the
locations that price a date (what GFEs and `plans --location` read)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from service.domain.clinics import ClinicIndex, ClinicVersion, ClinicVersionMeta
from service.domain.errors import EstimateUnavailableError, FieldViolation, InvalidRequestError
from service.domain.index import RuleIndex
from service.domain.model import Clinic
from service.domain.problems import Problem
from service.domain.suggest import did_you_mean
from service.domain.versions import PublishRejectedError, diff_versions
from service.rulefiles.clinics import ParsedClinicProfile, PlansByPayer, validate_clinic_profile
from service.usecases.errors import NotFoundError, RuleSetInvalidError, RuleSetRejectedError
from service.usecases.ports import ClinicPublishResult, ClinicStore
from service.usecases.rule_sets import Validation, VersionDiff, _publish_violations

DEFAULT_SOURCE = "(uploaded clinic profile)"


class ClinicProfileInvalidError(RuleSetInvalidError):
    """A clinic profile file has errors of its own; nothing was written (INVALID_ARGUMENT)."""

    reason = "CLINIC_PROFILE_INVALID"


class ClinicProfileRejectedError(RuleSetRejectedError):
    """A valid clinic profile clashes with the published versions; nothing was written."""

    reason = "CLINIC_PROFILE_REJECTED"
    exists_reason = "CLINIC_PROFILE_VERSION_EXISTS"
    resource_type = "clinic_profile"


# The same shapes as a rule set's (service.usecases.rule_sets), for clinic profile versions.
ClinicValidation = Validation[ParsedClinicProfile]
ClinicDiff = VersionDiff[ClinicVersionMeta]


class ClinicProfileService:
    """Clinic profile versions over a ClinicStore; `clinics` gives the versions quotes use."""

    def __init__(
        self,
        store: ClinicStore,
        catalogue: Clinic,
        index: Callable[[], RuleIndex],
        clinics: Callable[[], ClinicIndex],
        refresh: Callable[[], object],
    ) -> None:
        self._store = store
        self._catalogue = catalogue
        self._index = index
        self._clinics = clinics
        self._refresh = refresh

    def _plans(self) -> PlansByPayer:
        plans: dict[str, set[str]] = {}
        for served in self._index().served_plans():
            plans.setdefault(served.payer_id, set()).add(served.plan_id)
        return {payer: frozenset(ids) for payer, ids in plans.items()}

    def _parse(
        self, content: str, source: str, extra: Sequence[FieldViolation] = ()
    ) -> tuple[ParsedClinicProfile | None, list[Problem]]:
        violations = list(extra)
        if not content.strip():
            violations.insert(
                0, FieldViolation("content", "is empty: send the clinic profile file's text")
            )
        if violations:
            raise InvalidRequestError(violations)
        return validate_clinic_profile(content, source, self._catalogue, self._plans())

    def validate(self, content: str, source: str) -> ClinicValidation:
        """Check a file as publishing it now would; writes nothing."""
        from service.domain.clinics import check_clinic_publish

        parsed, problems = self._parse(content, source.strip() or DEFAULT_SOURCE)
        if parsed is None:
            return ClinicValidation(None, problems)
        existing, clashes = check_clinic_publish(
            parsed.clinic_id, parsed.version, parsed.checksum, self._store.list_clinic_versions()
        )
        return ClinicValidation(parsed, problems + clashes, already_published=existing is not None)

    def publish(
        self, content: str, source: str, published_by: str, note: str
    ) -> ClinicPublishResult:
        """Publish a file as a new version (or find the identical one), serve it before
        answering; refuse with every problem and write nothing otherwise."""
        source = source.strip() or DEFAULT_SOURCE
        by = published_by.strip()
        parsed, problems = self._parse(content, source, _publish_violations(by, note, source))
        if parsed is None:
            raise ClinicProfileInvalidError(source, problems)
        try:
            result = self._store.publish_clinic(parsed, by, note=note.strip() or None)
        except PublishRejectedError as exc:
            raise ClinicProfileRejectedError(
                parsed.clinic_id, parsed.version, exc.problems
            ) from None
        if result.created:
            self._refresh()
        return result

    def list_versions(self) -> list[ClinicVersionMeta]:
        return self._store.list_clinic_versions()

    def get(self, clinic_id: str, version: str) -> tuple[ClinicVersionMeta, dict[str, Any]]:
        _require({"clinic_id": clinic_id, "version": version})
        meta = self._find(clinic_id, version, "version")
        content = self._store.get_clinic_content(clinic_id, version)
        if content is None:  # listed a moment ago; versions are never deleted
            raise RuntimeError(f"clinic {clinic_id} {version} has metadata but no content")
        return meta, content

    def diff(self, clinic_id: str, from_version: str, to_version: str) -> ClinicDiff:
        _require({"clinic_id": clinic_id, "from_version": from_version, "to_version": to_version})
        before, a = self.get(clinic_id, from_version)
        after, b = self.get(clinic_id, to_version)
        return ClinicDiff(before, after, diff_versions(a, b))

    def locations(self, day: date, location_id: str = "") -> ClinicVersion:
        """The clinic version that prices `day` (as known now); with `location_id`, that
        location must be in it."""
        version = self._clinics().resolve(day)
        if version is None:
            raise EstimateUnavailableError(
                "NO_CLINIC_VERSION",
                f"no clinic profile version covers the date of service {day.isoformat()}",
            )
        if location_id and version.location(location_id) is None:
            known = [loc.id for loc in version.locations]
            raise InvalidRequestError(
                [
                    FieldViolation(
                        "location_id",
                        f"unknown location {location_id!r}{did_you_mean(location_id, known)}; "
                        f"locations: {', '.join(known)}",
                    )
                ]
            )
        return version

    def _find(self, clinic_id: str, version: str, field: str) -> ClinicVersionMeta:
        metas = [m for m in self._store.list_clinic_versions() if m.clinic_id == clinic_id]
        for meta in metas:
            if meta.version == version:
                return meta
        if metas:
            known = ", ".join(m.version for m in metas)
            message = (
                f"clinic {clinic_id} has no published version {version!r} ({field}); it has {known}"
            )
        else:
            message = f"no profile of clinic {clinic_id!r} is published"
        raise NotFoundError(
            "clinic_profile", f"{clinic_id}/{version}", message, "CLINIC_PROFILE_NOT_FOUND"
        )


def _require(fields: dict[str, str]) -> None:
    missing = [FieldViolation(name, "is required") for name, value in fields.items() if not value]
    if missing:
        raise InvalidRequestError(missing)
