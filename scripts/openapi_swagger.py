"""Finish the Swagger 2.0 file so it says what the gateway really sends and accepts.

protoc-gen-swagger from Debian's grpc-gateway v1.6 writes the paths and definitions, but it
does not read google.api.field_behavior, cannot be told the API's title or its error body,
and models error details as {type_url, value}. This step (run by scripts/check_openapi.sh on
the raw file and the descriptor set scripts/build_gateway.sh --swagger-only writes) adds, from
the descriptors:

- `required` lists: the fields marked REQUIRED (request bodies and query parameters), and in
  messages only ever sent by the gateway, every field it always writes (EmitDefaults writes
  every scalar, enum and list; a message or oneof member is written only when set; the
  gateway never writes null);
- `x-nullable` on the optional fields of the messages clients send: the proto3 JSON mapping
  reads null as "not set", and the gateway accepts it (a REQUIRED field may not be null);
- `readOnly` for OUTPUT_ONLY fields; `additionalProperties: false` on the API's messages
  (the gateway refuses unknown fields); the bounds of int32 and google.type.Date fields;
- the error body as it is on the wire (google.rpc.Status with details carrying "@type" and
  their fields inline) and each route's real error statuses.

Usage: python scripts/openapi_swagger.py RAW.json DESCRIPTORS.pb OUT.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.api import field_behavior_pb2  # type: ignore[import-untyped]  # no stubs shipped
from google.protobuf import descriptor_pb2

FD = descriptor_pb2.FieldDescriptorProto
REQUIRED = field_behavior_pb2.REQUIRED
OUTPUT_ONLY = field_behavior_pb2.OUTPUT_ONLY

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# The error statuses each RPC answers besides the 400 of a malformed request (which every
# route may give) and the 503 of an unreachable service: what the service raises, checked
# against service/api/errors.py. 401/403 come with the security work.
ROUTE_ERRORS: dict[str, dict[str, str]] = {
    "EstimateSession": {
        "404": "The plan is unknown (ErrorInfo PLAN_NOT_FOUND, with did_you_mean).",
        "412": "No rule version covers the date of service, no cash price for the length, or "
        "the session's 271 says coverage is inactive or rejects the request.",
    },
    "EstimateTreatmentPlan": {
        "404": "The plan is unknown (ErrorInfo PLAN_NOT_FOUND).",
        "412": "No rule version covers a date of the plan, or no cash price for the length.",
    },
    "EstimateSessions": {},
    "GetQuote": {"404": "No saved quote has this id (ErrorInfo QUOTE_NOT_FOUND)."},
    "GetQuoteFhir": {
        "404": "No saved quote has this id (ErrorInfo QUOTE_NOT_FOUND).",
        "412": "The saved quote no longer replays equal (ErrorInfo QUOTE_NO_LONGER_REPLAYS).",
    },
    "ValidateRuleSet": {},
    "PublishRuleSet": {
        "409": "This version label is already published with other content.",
    },
    "ListRuleSets": {},
    "GetRuleSet": {"404": "The payer or the version is unknown."},
    "DiffRuleSets": {"404": "The payer or one of the versions is unknown."},
    "ListPlans": {},
    "ValidateClinicProfile": {},
    "PublishClinicProfile": {
        "409": "This clinic profile version is already published with other content.",
    },
    "ListClinicProfiles": {},
    "GetClinicProfile": {"404": "The clinic or the version is unknown."},
    "DiffClinicProfiles": {"404": "The clinic or one of the versions is unknown."},
    "ListClinicLocations": {"404": "The location is unknown."},
    "WithdrawRuleSet": {"404": "The payer or the version is unknown (or not yours to see)."},
    "PreviewImpact": {
        "404": "The draft's payer is unknown, or has no published rules to compare with.",
    },
}

DESCRIPTION = (
    "REST/JSON view of the massage-estimator gRPC service, served by grpc-gateway v1.6. "
    "Field names are the proto field names. int64 values (Money.units) are JSON strings "
    "(a number is accepted too, as the proto3 JSON mapping says). The gateway never sends "
    "null: an unset message field is left out, and every scalar, enum and list is always "
    "sent, its default included. Every non-2xx answer is a google.rpc.Status "
    "(code, message, details); a malformed request is a 400 whose "
    "google.rpc.BadRequest names each bad field with a stable reason "
    "(docs/rest-gateway.md). HTTP statuses follow the gRPC code: 400 INVALID_ARGUMENT, "
    "404 NOT_FOUND, 409 ALREADY_EXISTS, 412 FAILED_PRECONDITION, 401 UNAUTHENTICATED, "
    "403 PERMISSION_DENIED, 503 UNAVAILABLE."
)


def _string(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


# What the error details really look like: "@type" plus the message's own fields inline.
DETAIL_DEFINITIONS: dict[str, Any] = {
    "protobufAny": {
        "type": "object",
        "description": (
            'A status detail: "@type" names the message and its fields are inline, e.g. '
            "rpcBadRequest for type.googleapis.com/google.rpc.BadRequest, rpcErrorInfo, "
            "rpcResourceInfo, rpcPreconditionFailure."
        ),
        "required": ["@type"],
        "properties": {"@type": _string("type.googleapis.com/<full message name>")},
        "additionalProperties": True,
    },
    "rpcBadRequest": {
        "type": "object",
        "description": "type.googleapis.com/google.rpc.BadRequest: every bad field.",
        "required": ["@type", "field_violations"],
        "properties": {
            "@type": _string("type.googleapis.com/google.rpc.BadRequest"),
            "field_violations": {
                "type": "array",
                "items": {"$ref": "#/definitions/rpcBadRequestFieldViolation"},
            },
        },
    },
    "rpcBadRequestFieldViolation": {
        "type": "object",
        "required": ["field", "description", "reason"],
        "properties": {
            "field": _string("The field path (proto names), e.g. sessions[1].minutes."),
            "description": _string("Why the value is refused, for people."),
            "reason": _string("A stable code, e.g. UNKNOWN_FIELD, NULL_ELEMENT, OUT_OF_RANGE."),
        },
    },
    "rpcErrorInfo": {
        "type": "object",
        "description": "type.googleapis.com/google.rpc.ErrorInfo: the error's stable reason.",
        "required": ["@type", "reason", "domain"],
        "properties": {
            "@type": _string("type.googleapis.com/google.rpc.ErrorInfo"),
            "reason": _string("e.g. PLAN_NOT_FOUND, NO_RULE_VERSION, INVALID_REQUEST_JSON."),
            "domain": _string("massage-estimator, or massage-estimator.gateway."),
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}


def _iter_messages(
    prefix: str, messages: Any, swagger_prefix: str
) -> Iterator[tuple[str, str, descriptor_pb2.DescriptorProto]]:
    for message in messages:
        name = f"{prefix}.{message.name}"
        yield name, swagger_prefix + message.name, message
        yield from _iter_messages(name, message.nested_type, swagger_prefix + message.name)


class Descriptors:
    """The messages and RPCs of a FileDescriptorSet, by full name (".pkg.Name")."""

    def __init__(self, data: bytes) -> None:
        files = descriptor_pb2.FileDescriptorSet.FromString(data).file
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.definition: dict[str, str] = {}
        self.methods: dict[str, descriptor_pb2.MethodDescriptorProto] = {}
        for f in files:
            short = f.package.split(".")[-1]
            for name, definition, message in _iter_messages("." + f.package, f.message_type, short):
                self.messages[name] = message
                self.definition[name] = definition
            if f.package.startswith("massage_estimator."):
                for service in f.service:
                    for method in service.method:
                        self.methods[method.name] = method

    def reachable(self, roots: set[str]) -> set[str]:
        """Every message reachable from `roots` through message fields."""
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            name = todo.pop()
            if name in seen or name not in self.messages:
                continue
            seen.add(name)
            todo.extend(f.type_name for f in self.messages[name].field if f.type == FD.TYPE_MESSAGE)
        return seen


def behaviors(field: descriptor_pb2.FieldDescriptorProto) -> set[int]:
    return set(field.options.Extensions[field_behavior_pb2.field_behavior])


def always_sent(field: descriptor_pb2.FieldDescriptorProto) -> bool:
    """True for the fields jsonpb with EmitDefaults always writes (never a null, never left out):
    scalars, enums and lists; not a singular message, not a oneof member (proto3 optional
    fields are oneof members too)."""
    if field.HasField("oneof_index"):
        return False
    return field.label == FD.LABEL_REPEATED or field.type != FD.TYPE_MESSAGE


def bound_integers(schema: dict[str, Any]) -> None:
    if schema.get("format") == "int32":
        schema.setdefault("minimum", INT32_MIN)
        schema.setdefault("maximum", INT32_MAX)
    elif schema.get("format") == "uint32":
        schema.setdefault("minimum", 0)
        schema.setdefault("maximum", 2**32 - 1)
    if schema.get("type") == "array":
        bound_integers(schema.get("items", {}))


DATE_BOUNDS = {"year": (0, 9999), "month": (0, 12), "day": (0, 31)}
# An int64 travels as a JSON string of decimal digits; up to 18 digits always fits.
INT64_PATTERN = "^-?(0|[1-9][0-9]{0,17})$"
# Facts about single fields the descriptors do not carry (the service refuses anything else).
FIELD_FORMATS: dict[str, dict[str, str]] = {
    ".massage_estimator.v1.GetQuoteRequest.quote_id": {"format": "uuid"},
}


def constrain(schema: dict[str, Any], field: descriptor_pb2.FieldDescriptorProto) -> None:
    """What a single field's value must look like beyond its JSON type."""
    bound_integers(schema)
    target = schema.get("items", schema) if schema.get("type") == "array" else schema
    if target.get("type") == "string" and target.get("format") in ("int64", "uint64"):
        target["pattern"] = INT64_PATTERN
    if REQUIRED in behaviors(field) and schema.get("type") == "string":
        schema["minLength"] = 1
        schema["pattern"] = "\\S"  # the service trims: blank is missing


def finish_definitions(doc: dict[str, Any], desc: Descriptors) -> None:
    requests = {m.input_type for m in desc.methods.values()}
    responses = {m.output_type for m in desc.methods.values()}
    sent_by_clients = desc.reachable(requests)
    response_only = desc.reachable(responses) - sent_by_clients
    definitions = doc["definitions"]
    for name, message in desc.messages.items():
        definition = definitions.get(desc.definition[name])
        if definition is None or definition.get("type") != "object":
            continue
        properties = definition.setdefault("properties", {})
        required = []
        for field in message.field:
            prop = properties.get(field.name)
            if prop is None:
                continue
            constrain(prop, field)
            if name == ".google.type.Date":
                prop["minimum"], prop["maximum"] = DATE_BOUNDS[field.name]
            marks = behaviors(field)
            if OUTPUT_ONLY in marks:
                prop["readOnly"] = True
            if REQUIRED in marks or (name in response_only and always_sent(field)):
                required.append(field.name)
            if REQUIRED not in marks and name in sent_by_clients:
                prop["x-nullable"] = True  # a client may send null for "not set"
        if required:
            definition["required"] = required
        if not name.startswith(".google.protobuf.") and name != ".google.rpc.Status":
            definition["additionalProperties"] = False
    status = definitions["rpcStatus"]
    status["description"] = (
        "google.rpc.Status: the body of every error answer, and a batch row's error."
    )
    status["required"] = ["code", "message", "details"]
    status["additionalProperties"] = False
    definitions.update(DETAIL_DEFINITIONS)


def finish_paths(doc: dict[str, Any], desc: Descriptors) -> None:
    error = {"$ref": "#/definitions/rpcStatus"}
    for item in doc["paths"].values():
        for operation in item.values():
            # protoc-gen-swagger numbers additional bindings: ListRuleSets2 is ListRuleSets.
            rpc = operation["operationId"].rstrip("0123456789")
            method = desc.methods[rpc]
            request = desc.messages[method.input_type]
            required = {f.name for f in request.field if REQUIRED in behaviors(f)}
            fields = {f.name: f for f in request.field}
            for parameter in operation.get("parameters", []):
                field = fields.get(parameter["name"])
                if field is None:
                    continue
                if parameter["in"] == "query" and field.name in required:
                    parameter["required"] = True
                constrain(parameter, field)
                parameter.update(FIELD_FORMATS.get(f"{method.input_type}.{field.name}", {}))
            if "summary" not in operation:  # v1.6 takes one only from a two-paragraph comment
                text = " ".join(operation.get("description", rpc).split())
                operation["summary"] = text.split(". ")[0].rstrip(".")
            responses = operation["responses"]
            responses["400"] = {
                "description": (
                    "The request is malformed or a value is refused: google.rpc.BadRequest "
                    "names each field with a reason."
                ),
                "schema": error,
            }
            for code, text in ROUTE_ERRORS[rpc].items():
                responses[code] = {"description": text, "schema": error}
            # once API keys or a JWT issuer are configured (docs/security.md)
            responses["401"] = {
                "description": "Missing, malformed, expired, revoked or tampered credentials.",
                "schema": error,
            }
            responses["403"] = {
                "description": "The credentials' role or payers may not make this call.",
                "schema": error,
            }
            responses["429"] = {
                "description": "This identity's rate limit is used up (RetryInfo says when to "
                "retry).",
                "schema": error,
            }
            responses["503"] = {
                "description": "The estimator service is unavailable; retry shortly.",
                "schema": error,
            }
            responses["default"] = {
                "description": "Any other error (see the API description for the mapping).",
                "schema": error,
            }
            operation["responses"] = dict(sorted(responses.items(), key=lambda kv: kv[0]))


def finish(raw: dict[str, Any], descriptors: bytes) -> dict[str, Any]:
    desc = Descriptors(descriptors)
    doc = dict(raw)
    doc["info"] = {"title": "Massage Estimator API", "version": "v1", "description": DESCRIPTION}
    finish_definitions(doc, desc)
    finish_paths(doc, desc)
    doc["definitions"] = dict(sorted(doc["definitions"].items()))
    return doc


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    raw = json.loads(Path(argv[0]).read_text())
    doc = finish(raw, Path(argv[1]).read_bytes())
    Path(argv[2]).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
