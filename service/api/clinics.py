"""The ClinicService servicer: parse, call the clinic-profile use cases
(service.usecases.clinics.ClinicProfileService), serialize. Errors map to statuses in
service.api.errors (the clinic errors are rule-set errors' subclasses)."""

from __future__ import annotations

from datetime import date

import grpc
from massage_estimator.v1 import clinics_pb2 as cpb
from massage_estimator.v1 import clinics_pb2_grpc as cpb_grpc

from service import rulefiles, wire
from service.api import convert
from service.api.errors import abort
from service.api.payer_rules import _CHANGE_KIND, content_yaml
from service.domain.clinics import ClinicVersion, ClinicVersionMeta, Location
from service.domain.errors import FieldViolation, InvalidRequestError
from service.usecases.clinics import ClinicProfileService

SERVICE_NAME = cpb.DESCRIPTOR.services_by_name["ClinicService"].full_name


def info_to_proto(meta: ClinicVersionMeta) -> cpb.ClinicProfileInfo:
    info = cpb.ClinicProfileInfo(
        clinic_id=meta.clinic_id,
        clinic_name=meta.clinic_name,
        version=meta.version,
        effective_from=wire.date_to_proto(meta.effective_from),
        checksum=meta.checksum,
        published_at=convert.datetime_to_timestamp(meta.published_at),
        published_by=meta.published_by,
        note=meta.note,
        source=meta.source,
        location_ids=list(meta.location_ids),
    )
    if meta.effective_to is not None:
        info.effective_to.CopyFrom(wire.date_to_proto(meta.effective_to))
    return info


def location_to_proto(loc: Location, version: ClinicVersion, day: date) -> cpb.ClinicLocation:
    msg = cpb.ClinicLocation(
        id=loc.id,
        name=loc.name,
        npi=loc.npi,
        tin=loc.tin,
        address_lines=list(loc.address_lines),
        is_default=loc.id == version.default_location,
        default_provider_credential=wire.PROVIDER_CREDENTIALS[loc.default_provider],
        therapists=[
            cpb.ClinicTherapist(
                id=t.id, name=t.name, credential=wire.PROVIDER_CREDENTIALS[t.credential]
            )
            for t in loc.therapists
        ],
    )
    for p in loc.networks:
        part = msg.in_network.add(
            payer_id=p.payer_id,
            plan_ids=list(p.plan_ids),
            effective_from=wire.date_to_proto(p.effective_from),
            in_effect=p.effective_from <= day and (p.effective_to is None or day <= p.effective_to),
        )
        if p.effective_to is not None:
            part.effective_to.CopyFrom(wire.date_to_proto(p.effective_to))
    return msg


class ClinicServicer(cpb_grpc.ClinicServiceServicer):
    """Answers ClinicService from the clinic-profile use cases."""

    def __init__(self, clinics: ClinicProfileService) -> None:
        self._clinics = clinics

    def ValidateClinicProfile(
        self, request: cpb.ValidateClinicProfileRequest, context: grpc.ServicerContext
    ) -> cpb.ValidateClinicProfileResponse:
        try:
            checked = self._clinics.validate(request.content, request.source)
            response = cpb.ValidateClinicProfileResponse(
                problems=[wire.problem_to_proto(p) for p in checked.problems], valid=checked.valid
            )
            if checked.parsed is not None:
                response.checksum = checked.parsed.checksum
                response.clinic_id = checked.parsed.clinic_id
                response.version = checked.parsed.version
                response.already_published = checked.already_published
            return response
        except Exception as exc:
            abort(context, exc, "ValidateClinicProfile")

    def PublishClinicProfile(
        self, request: cpb.PublishClinicProfileRequest, context: grpc.ServicerContext
    ) -> cpb.PublishClinicProfileResponse:
        try:
            result = self._clinics.publish(
                request.content, request.source, request.published_by, request.note
            )
            return cpb.PublishClinicProfileResponse(
                clinic_profile=info_to_proto(result.version),
                created=result.created,
                warnings=[wire.problem_to_proto(p) for p in result.warnings],
            )
        except Exception as exc:
            abort(context, exc, "PublishClinicProfile")

    def ListClinicProfiles(
        self, request: cpb.ListClinicProfilesRequest, context: grpc.ServicerContext
    ) -> cpb.ListClinicProfilesResponse:
        try:
            metas = self._clinics.list_versions()
            return cpb.ListClinicProfilesResponse(clinic_profiles=[info_to_proto(m) for m in metas])
        except Exception as exc:
            abort(context, exc, "ListClinicProfiles")

    def GetClinicProfile(
        self, request: cpb.GetClinicProfileRequest, context: grpc.ServicerContext
    ) -> cpb.GetClinicProfileResponse:
        try:
            meta, content = self._clinics.get(request.clinic_id.strip(), request.version.strip())
            return cpb.GetClinicProfileResponse(
                clinic_profile=info_to_proto(meta),
                content_yaml=content_yaml(content),
                content_json=rulefiles.canonical_json(content),
            )
        except Exception as exc:
            abort(context, exc, "GetClinicProfile")

    def DiffClinicProfiles(
        self, request: cpb.DiffClinicProfilesRequest, context: grpc.ServicerContext
    ) -> cpb.DiffClinicProfilesResponse:
        try:
            diff = self._clinics.diff(
                request.clinic_id.strip(), request.from_version.strip(), request.to_version.strip()
            )
            response = cpb.DiffClinicProfilesResponse(
                from_clinic_profile=info_to_proto(diff.before),
                to_clinic_profile=info_to_proto(diff.after),
            )
            for change in diff.changes:
                response.changes.add(
                    kind=_CHANGE_KIND[change.kind],
                    field=change.path,
                    before=change.before or "",
                    after=change.after or "",
                    description=str(change),
                )
            return response
        except Exception as exc:
            abort(context, exc, "DiffClinicProfiles")

    def ListClinicLocations(
        self, request: cpb.ListClinicLocationsRequest, context: grpc.ServicerContext
    ) -> cpb.ListClinicLocationsResponse:
        try:
            day = date.today()
            if request.HasField("date_of_service"):
                problems: list[FieldViolation] = []
                parsed = convert.date_from_proto(
                    request.date_of_service, "date_of_service", problems, required=False
                )
                if problems:
                    raise InvalidRequestError(problems)
                day = parsed or day
            location_id = request.location_id.strip()
            version = self._clinics.locations(day, location_id)
            return cpb.ListClinicLocationsResponse(
                clinic_version=convert.clinic_version_to_proto(version.ref()),
                locations=[
                    location_to_proto(loc, version, day)
                    for loc in version.locations
                    if not location_id or loc.id == location_id
                ],
            )
        except Exception as exc:
            abort(context, exc, "ListClinicLocations")
