"""Domain errors -> gRPC status with google.rpc error details.

The same google.rpc.Status is used twice: sent as the call's status (the details travel in
the `grpc-status-details-bin` trailer via grpcio-status) and embedded in a batch result, so a
session in a batch fails with exactly the details it would get alone.
"""

from __future__ import annotations

import logging
from typing import NoReturn

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.domain.errors import (
    EstimateUnavailableError,
    EstimatorError,
    InvalidRequestError,
    NoRuleVersionError,
    PlanNotFoundError,
)
from service.wire import pack as _pack

ERROR_DOMAIN = "massage-estimator"
INTERNAL_MESSAGE = "internal error: the request could not be completed; the failure was logged"

log = logging.getLogger(__name__)


def _error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)


def status_for(exc: BaseException) -> status_pb2.Status:
    """The google.rpc.Status a caller gets for `exc`; unexpected errors become a generic
    INTERNAL (the traceback is logged by the caller of this function, never sent)."""
    if isinstance(exc, InvalidRequestError):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in exc.violations
            ]
        )
        return status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT,
            message=f"invalid request: {exc}",
            details=[_pack(bad_request), _pack(_error_info(exc.reason))],
        )
    if isinstance(exc, PlanNotFoundError):
        metadata = {"plan_id": exc.plan_id}
        if exc.suggestions:
            metadata["did_you_mean"] = ",".join(exc.suggestions)
        return status_pb2.Status(
            code=code_pb2.NOT_FOUND,
            message=str(exc),
            details=[
                _pack(_error_info(exc.reason, **metadata)),
                _pack(
                    error_details_pb2.ResourceInfo(
                        resource_type="plan", resource_name=exc.plan_id, description=str(exc)
                    )
                ),
            ],
        )
    if isinstance(exc, NoRuleVersionError):
        return status_pb2.Status(
            code=code_pb2.FAILED_PRECONDITION,
            message=str(exc),
            details=[
                _pack(
                    _error_info(
                        exc.reason,
                        plan_id=exc.plan_id,
                        date_of_service=exc.date_of_service.isoformat(),
                    )
                ),
                _pack(
                    error_details_pb2.PreconditionFailure(
                        violations=[
                            error_details_pb2.PreconditionFailure.Violation(
                                type="RULE_VERSION",
                                subject=f"{exc.plan_id}@{exc.date_of_service.isoformat()}",
                                description=str(exc),
                            )
                        ]
                    )
                ),
            ],
        )
    if isinstance(exc, EstimateUnavailableError | EstimatorError):
        return status_pb2.Status(
            code=code_pb2.FAILED_PRECONDITION,
            message=str(exc),
            details=[_pack(_error_info(exc.reason))],
        )
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=INTERNAL_MESSAGE,
        details=[_pack(_error_info("INTERNAL"))],
    )


def status_for_logged(exc: BaseException, what: str) -> status_pb2.Status:
    """status_for, logging unexpected errors with their traceback (server side only)."""
    if not isinstance(exc, EstimatorError):
        log.error("unexpected error in %s", what, exc_info=exc)
    return status_for(exc)


def abort(context: grpc.ServicerContext, exc: BaseException, what: str) -> NoReturn:
    """End the RPC with the status for `exc` (details in grpc-status-details-bin)."""
    context.abort_with_status(rpc_status.to_status(status_for_logged(exc, what)))
    raise AssertionError("abort_with_status returned")  # pragma: no cover - it always raises
