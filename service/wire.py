"""The API's shared vocabulary: what the client commands and the server both need to speak it.

Money (google.type.Money in USD, whole cents), calendar dates (google.type.Date), the tables
between the domain's enums and the proto enum numbers, google.rpc status details, and the
host:port form of an address. The CLI's client commands import this module, never the server's
adapter (service.api), so a client and the server cannot disagree on what a field means.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TypeVar

from google.protobuf import any_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from google.type import date_pb2, money_pb2
from massage_estimator.v1 import estimator_pb2 as pb
from massage_estimator.v1 import payer_rules_pb2 as rpb

from service.domain import model
from service.domain.money import Cents
from service.domain.problems import Problem

CURRENCY = "USD"
NANOS_PER_CENT = 10_000_000

E = TypeVar("E")

# --------------------------------------------------------------------------- enums
# Domain value -> proto number. The server reads UNSPECIFIED (0) as the documented default of
# each request enum (see estimator.proto and `inbound`).

REFERRAL_KINDS: Mapping[model.ReferralKind, pb.ReferralKind] = {
    model.ReferralKind.NONE: pb.REFERRAL_KIND_NONE,
    model.ReferralKind.PHYSICIAN_REFERRAL: pb.REFERRAL_KIND_PHYSICIAN_REFERRAL,
    model.ReferralKind.PRESCRIPTION: pb.REFERRAL_KIND_PRESCRIPTION,
    model.ReferralKind.INTEGRATIVE_CARE_PLAN: pb.REFERRAL_KIND_INTEGRATIVE_CARE_PLAN,
}
NETWORKS: Mapping[model.Network, pb.Network] = {
    model.Network.IN: pb.NETWORK_IN,
    model.Network.OUT: pb.NETWORK_OUT,
}
INJURIES: Mapping[model.Injury, pb.Injury] = {
    model.Injury.NONE: pb.INJURY_NONE,
    model.Injury.AUTO: pb.INJURY_AUTO_ACCIDENT,
    model.Injury.WORK: pb.INJURY_WORK,
}
COVERAGE_BASES: Mapping[model.CoverageBasis, pb.CoverageBasis] = {
    model.CoverageBasis.SELF_PAY: pb.COVERAGE_BASIS_SELF_PAY,
    model.CoverageBasis.MEDICAL_NECESSITY: pb.COVERAGE_BASIS_MEDICAL_NECESSITY,
    model.CoverageBasis.INTEGRATIVE_CARE_PROGRAM: pb.COVERAGE_BASIS_INTEGRATIVE_CARE_PROGRAM,
    model.CoverageBasis.SUPPLEMENTAL_BENEFIT: pb.COVERAGE_BASIS_SUPPLEMENTAL_BENEFIT,
}
UNIT_METHODS: Mapping[model.UnitMethod, pb.UnitMethod] = {
    model.UnitMethod.CMS_8_MINUTE: pb.UNIT_METHOD_CMS_8_MINUTE,
    model.UnitMethod.AMA_PER_CODE: pb.UNIT_METHOD_AMA_PER_CODE,
    model.UnitMethod.PER_VISIT_FLAT: pb.UNIT_METHOD_PER_VISIT_FLAT,
}
LINE_ITEM_KINDS: Mapping[model.LineItemKind, pb.LineItemKind] = {
    model.LineItemKind.ALLOWED: pb.LINE_ITEM_KIND_ALLOWED,
    model.LineItemKind.COPAY: pb.LINE_ITEM_KIND_COPAY,
    model.LineItemKind.DEDUCTIBLE: pb.LINE_ITEM_KIND_DEDUCTIBLE,
    model.LineItemKind.COINSURANCE: pb.LINE_ITEM_KIND_COINSURANCE,
    model.LineItemKind.PLAN_PAYMENT: pb.LINE_ITEM_KIND_PLAN_PAYMENT,
    model.LineItemKind.NOT_COVERED: pb.LINE_ITEM_KIND_NOT_COVERED,
    model.LineItemKind.BALANCE_BILLING: pb.LINE_ITEM_KIND_BALANCE_BILLING,
    model.LineItemKind.REDUCTION: pb.LINE_ITEM_KIND_REDUCTION,
}
PROVIDER_CREDENTIALS: Mapping[model.ProviderCredential, pb.ProviderCredential] = {
    model.ProviderCredential.LMT: pb.PROVIDER_CREDENTIAL_LMT,
    model.ProviderCredential.PT: pb.PROVIDER_CREDENTIAL_PT,
    model.ProviderCredential.DC: pb.PROVIDER_CREDENTIAL_DC,
    model.ProviderCredential.MD_DO: pb.PROVIDER_CREDENTIAL_MD_DO,
}


NETWORK_SOURCES: Mapping[model.NetworkSource, pb.ClinicNetworkSource] = {
    model.NetworkSource.REQUEST: pb.CLINIC_NETWORK_SOURCE_REQUEST,
    model.NetworkSource.LOCATION: pb.CLINIC_NETWORK_SOURCE_LOCATION,
}


def inbound(table: Mapping[E, int], unspecified: E) -> dict[int, E]:
    """Proto number -> domain value for a request enum, UNSPECIFIED (0) meaning `unspecified`."""
    return {0: unspecified, **{number: value for value, number in table.items()}}


# --------------------------------------------------------------------------- money


def money_to_proto(cents: Cents) -> money_pb2.Money:
    """USD Money for an amount in cents; units and nanos carry the same sign."""
    sign = -1 if cents < 0 else 1
    units, rest = divmod(abs(cents), 100)
    return money_pb2.Money(
        currency_code=CURRENCY, units=sign * units, nanos=sign * rest * NANOS_PER_CENT
    )


def cents_from_money(value: money_pb2.Money) -> Cents:
    """The cents of a Money in whole cents, in integers only (nanos truncate toward zero like
    units do, so -$1.50 is units -1, nanos -500000000). A fraction of a cent is a ValueError:
    an amount is never rounded on its way through."""
    units, nanos = int(value.units), int(value.nanos)
    if nanos % NANOS_PER_CENT:
        raise ValueError(f"amount {units}.{abs(nanos):09d} is not whole cents")
    nano_cents = abs(nanos) // NANOS_PER_CENT
    return units * 100 + (-nano_cents if nanos < 0 else nano_cents)


# --------------------------------------------------------------------------- dates


def date_to_proto(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_of(value: date_pb2.Date) -> date:
    """A full calendar date the service sent (ValueError for a partial or impossible one)."""
    return date(value.year, value.month, value.day)


def date_text(value: date_pb2.Date) -> str:
    """YYYY-MM-DD, or "-" for an unset date."""
    if value.year == 0:
        return "-"
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


# --------------------------------------------------------------------------- status details

DETAIL_TYPES: tuple[type[Message], ...] = (
    error_details_pb2.BadRequest,
    error_details_pb2.ErrorInfo,
    error_details_pb2.ResourceInfo,
    error_details_pb2.PreconditionFailure,
)
"""The google.rpc detail messages the service sends (and clients read)."""


def pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


MAX_STATUS_MESSAGE = 400
"""Characters of a status message (it travels twice: in grpc-message and in the details)."""
MAX_DETAIL_TEXT = 160
"""Characters of any one text inside a detail (a field path, a description, a metadata value):
a quoted 4,000-character diagnosis code is cut, not echoed."""
MAX_DETAIL_ITEMS = 8
"""Entries of any list inside a detail (field violations first): the rest are counted."""
# Together these keep grpc-message plus grpc-status-details-bin under about 5 KB, well inside
# the 8 KB of metadata a gRPC client accepts by default, so an error always reaches the caller
# instead of RESOURCE_EXHAUSTED "Stream removed".


def clip(text: str, limit: int = MAX_DETAIL_TEXT) -> str:
    """`text`, cut to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def bounded(message: Message) -> Message:
    """A copy of a detail message with every text clipped and every list capped (see
    MAX_DETAIL_TEXT and MAX_DETAIL_ITEMS); BadRequest says how many violations it left out."""
    copy = type(message)()
    copy.CopyFrom(message)
    _bound(copy)
    if isinstance(copy, error_details_pb2.BadRequest):
        left_out = len(message.field_violations) - len(copy.field_violations)  # type: ignore[attr-defined]
        if left_out > 0:
            del copy.field_violations[MAX_DETAIL_ITEMS - 1 :]
            copy.field_violations.add(
                field="\u2026", description=f"{left_out + 1} more violations not listed"
            )
    return copy


def _bound(message: Message) -> None:
    for field, value in message.ListFields():
        repeated = field.is_repeated
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for key in list(value):
                if isinstance(value[key], str):
                    value[key] = clip(value[key])
                else:
                    _bound(value[key])
        elif field.type == FieldDescriptor.TYPE_STRING:
            if repeated:
                del value[MAX_DETAIL_ITEMS:]
                value[:] = [clip(v) for v in value]
            else:
                setattr(message, field.name, clip(value))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if repeated:
                del value[MAX_DETAIL_ITEMS:]
                for item in value:
                    _bound(item)
            else:
                _bound(value)


def status(code: int, message: str, *details: Message) -> status_pb2.Status:
    """A google.rpc.Status carrying `details`, bounded in size (see MAX_STATUS_MESSAGE) so it
    always fits in the trailers that carry it."""
    return status_pb2.Status(
        code=code,
        message=clip(message, MAX_STATUS_MESSAGE),
        details=[pack(bounded(d)) for d in details],
    )


def details_of(value: status_pb2.Status) -> dict[str, Message]:
    """The known detail messages of a status, keyed by their type name ("BadRequest")."""
    found: dict[str, Message] = {}
    for detail in value.details:
        for cls in DETAIL_TYPES:
            if detail.Is(cls.DESCRIPTOR):
                msg = cls()
                detail.Unpack(msg)
                found[cls.DESCRIPTOR.name] = msg
    return found


# --------------------------------------------------------------------------- retries

RETRIED_METHODS: Mapping[str, tuple[str, ...]] = {
    "massage_estimator.v1.EstimatorService": (
        "EstimateTreatmentPlan",
        "EstimateSessions",
        "GetQuote",
    ),
    "massage_estimator.v1.PayerRulesService": (
        "ValidateRuleSet",
        "PublishRuleSet",  # idempotent: the same content is published once (by checksum)
        "ListRuleSets",
        "GetRuleSet",
        "DiffRuleSets",
        "ListPlans",
    ),
}
"""The calls a client retries on UNAVAILABLE (a replica draining, the store down). Never
EstimateSession: the same method saves a quote when save_quote is set, and a save retried
after a lost answer would be saved twice."""

RETRY_POLICY: Mapping[str, object] = {
    # Short: every attempt against a refused address also waits for a reconnect, and a
    # client's own deadline (the CLI's --timeout 3) must still end in "cannot reach" (a
    # retried refusal) rather than in a deadline: 4 attempts end within about 0.7 s.
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def service_config(**extra: object) -> dict[str, object]:
    """The gRPC service config (retry policy) every client of the service dials with: the
    CLI through the grpc.service_config channel option, the gateway through
    grpc.WithDefaultServiceConfig (gateway/main.go, kept equal by a test)."""
    names = [
        {"service": service, "method": method}
        for service, methods in RETRIED_METHODS.items()
        for method in methods
    ]
    return {"methodConfig": [{"name": names, "retryPolicy": dict(RETRY_POLICY)}], **extra}


# --------------------------------------------------------------------------- addresses


def bracketed(host: str) -> str:
    """An IPv6 literal in brackets ("[::1]"), as host:port needs it; other hosts unchanged."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def host_port(host: str, port: int) -> str:
    return f"{bracketed(host)}:{port}"


# --------------------------------------------------------------------------- rule problems


def problem_to_proto(p: Problem) -> rpb.RuleProblem:
    """A rule-file problem as the API reports it (the service's checks and the CLI's offline
    checks print the same way)."""
    return rpb.RuleProblem(
        severity=rpb.SEVERITY_ERROR if p.is_error else rpb.SEVERITY_WARNING,
        source=p.source,
        field=p.field,
        message=p.message,
    )
