"""Domain and use-case errors -> gRPC status with google.rpc error details.

The same google.rpc.Status is used twice: sent as the call's status (the details travel in
the `grpc-status-details-bin` trailer via grpcio-status) and embedded in a batch result, so a
session in a batch fails with exactly the details it would get alone.

Rule-file problems become BadRequest field violations named "<source>: <path>" (source is the
file name for a file's own problems, the version label for checks against published versions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.domain.errors import (
    EstimatorError,
    InvalidRequestError,
    NoRuleVersionError,
    PlanNotFoundError,
)
from service.domain.problems import Problem
from service.usecases.errors import (
    NotFoundError,
    PermissionDeniedError,
    RuleSetInvalidError,
    RuleSetRejectedError,
    StoreUnavailableError,
)
from service.wire import status

ERROR_DOMAIN = "massage-estimator"
INTERNAL_MESSAGE = "internal error: the request could not be completed; the failure was logged"

log = logging.getLogger(__name__)


def error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)


def _bad_request(violations: Iterable[tuple[str, str, str]]) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d, reason=r)
            for f, d, r in violations
        ]
    )


def _problems(problems: Iterable[Problem]) -> error_details_pb2.BadRequest:
    return _bad_request(
        (f"{p.source}: {p.field}", p.message, "RULE_PROBLEM") for p in problems if p.is_error
    )


def _not_found(resource_type: str, name: str, message: str, reason: str) -> status_pb2.Status:
    return status(
        code_pb2.NOT_FOUND,
        message,
        error_info(reason, **{resource_type: name}),
        error_details_pb2.ResourceInfo(
            resource_type=resource_type, resource_name=name, description=message
        ),
    )


def _invalid_request(exc: InvalidRequestError) -> status_pb2.Status:
    return status(
        code_pb2.INVALID_ARGUMENT,
        f"invalid request: {exc}",
        _bad_request((v.field, v.description, v.reason) for v in exc.violations),
        error_info(exc.reason),
    )


def _plan_not_found(exc: PlanNotFoundError) -> status_pb2.Status:
    metadata = {"plan_id": exc.plan_id}
    if exc.suggestions:
        metadata["did_you_mean"] = ",".join(exc.suggestions)
    return status(
        code_pb2.NOT_FOUND,
        str(exc),
        error_info(exc.reason, **metadata),
        error_details_pb2.ResourceInfo(
            resource_type="plan", resource_name=exc.plan_id, description=str(exc)
        ),
    )


def _no_rule_version(exc: NoRuleVersionError) -> status_pb2.Status:
    day = exc.date_of_service.isoformat()
    return status(
        code_pb2.FAILED_PRECONDITION,
        str(exc),
        error_info(exc.reason, plan_id=exc.plan_id, date_of_service=day),
        error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type="RULE_VERSION", subject=f"{exc.plan_id}@{day}", description=str(exc)
                )
            ]
        ),
    )


def _rule_set_invalid(exc: RuleSetInvalidError) -> status_pb2.Status:
    return status(
        code_pb2.INVALID_ARGUMENT,
        str(exc),
        _problems(exc.errors),
        error_info(exc.reason, source=exc.source),
    )


def _rule_set_rejected(exc: RuleSetRejectedError) -> status_pb2.Status:
    conflicts = exc.conflicts
    if not conflicts:
        return status(
            code_pb2.INVALID_ARGUMENT,
            str(exc),
            _problems(exc.errors),
            error_info(exc.reason, payer_id=exc.payer_id, version=exc.version),
        )
    others = [p for p in exc.errors if p not in conflicts]
    return status(
        code_pb2.ALREADY_EXISTS,
        f"{exc.label} not published: {conflicts[0].message}"
        + (f" (and {len(others)} other error(s))" if others else ""),
        *([_problems(exc.errors)] if others else []),
        error_info(exc.exists_reason, payer_id=exc.payer_id, version=exc.version),
        error_details_pb2.ResourceInfo(
            resource_type=exc.resource_type,
            resource_name=f"{exc.payer_id}/{exc.version}",
            description=conflicts[0].message,
        ),
    )


def _not_found_error(exc: NotFoundError) -> status_pb2.Status:
    return _not_found(exc.resource_type, exc.name, str(exc), exc.reason)


def _store_unavailable(exc: StoreUnavailableError) -> status_pb2.Status:
    """UNAVAILABLE: the caller may retry; the outage itself is logged by the store watcher
    (once per state change), not once per refused call."""
    return status(code_pb2.UNAVAILABLE, str(exc), error_info(exc.reason))


def _permission_denied(exc: PermissionDeniedError) -> status_pb2.Status:
    return status(code_pb2.PERMISSION_DENIED, str(exc), error_info(exc.reason))


def _unavailable(exc: EstimatorError) -> status_pb2.Status:
    return status(code_pb2.FAILED_PRECONDITION, str(exc), error_info(exc.reason))


# Most specific first: every one of these is an EstimatorError.
_STATUSES: tuple[tuple[type[EstimatorError], Callable[[Any], status_pb2.Status]], ...] = (
    (InvalidRequestError, _invalid_request),
    (PlanNotFoundError, _plan_not_found),
    (NoRuleVersionError, _no_rule_version),
    (RuleSetInvalidError, _rule_set_invalid),
    (RuleSetRejectedError, _rule_set_rejected),
    (NotFoundError, _not_found_error),
    (StoreUnavailableError, _store_unavailable),
    (PermissionDeniedError, _permission_denied),
    (EstimatorError, _unavailable),
)


def status_for(exc: BaseException) -> status_pb2.Status:
    """The google.rpc.Status a caller gets for `exc`; unexpected errors become a generic
    INTERNAL (the traceback is logged by the caller of this function, never sent)."""
    for kind, build in _STATUSES:
        if isinstance(exc, kind):
            return build(exc)
    return status(code_pb2.INTERNAL, INTERNAL_MESSAGE, error_info("INTERNAL"))


def status_for_logged(exc: BaseException, what: str) -> status_pb2.Status:
    """status_for, logging unexpected errors with their traceback (server side only)."""
    if not isinstance(exc, EstimatorError):
        log.error("unexpected error in %s", what, exc_info=exc)
    return status_for(exc)


def abort(context: grpc.ServicerContext, exc: BaseException, what: str) -> NoReturn:
    """End the RPC with the status for `exc` (details in grpc-status-details-bin)."""
    context.abort_with_status(rpc_status.to_status(status_for_logged(exc, what)))
    raise AssertionError("abort_with_status returned")  # pragma: no cover - it always raises
