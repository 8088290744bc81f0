"""The one server interceptor that checks every call against the permission table.

For each RPC it: lets health and reflection through; fails closed on a method with no table
entry; authenticates (UNAUTHENTICATED, never echoing the token); checks the role
(PERMISSION_DENIED); applies the identity's rate limit (RESOURCE_EXHAUSTED with RetryInfo);
puts the identity and its payer scope into the call's ContextVars (service.api.call_context,
service.api.security.scope) for the servicers and the access log; and audits the RPCs the
table marks audited, with their outcome.

The checks run inside the wrapped handler, in the worker thread that runs the servicer, so
the ContextVars they set are the call's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status

from service.api import call_context
from service.api.errors import error_info
from service.api.security import scope
from service.api.security.authn import Authenticator, AuthError, Identity
from service.api.security.permissions import (
    OPEN_SERVICES,
    PERMISSIONS,
    SAVE_QUOTE_ROLES,
    Permission,
    service_of,
)
from service.api.security.ratelimit import RateLimiter
from service.usecases.errors import StoreUnavailableError
from service.usecases.identities import AuditLog, AuditRecord
from service.wire import status

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"


def _abort(
    context: grpc.ServicerContext, code: int, message: str, reason: str, *extra: Any
) -> NoReturn:
    context.abort_with_status(
        rpc_status.to_status(status(code, message, error_info(reason), *extra))
    )
    raise AssertionError("abort_with_status returned")  # pragma: no cover - it always raises


class SecurityInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(
        self,
        authenticator: Authenticator,
        *,
        limiter: RateLimiter | None = None,
        audit: AuditLog | None = None,
        table: dict[str, Permission] | None = None,
    ) -> None:
        self._authn = authenticator
        self._limiter = limiter
        self._audit = audit
        self._table = PERMISSIONS if table is None else table
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or service_of(method) in OPEN_SERVICES:
            return handler
        # Each method's guarded handler is built once (grpcio runs interceptors per call);
        # the credentials are read from each call's own metadata inside it.
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            guarded: grpc.RpcMethodHandler[Any, Any] = cached[1]
            return guarded
        guarded = self._guard(method, handler)
        self._wrapped[method] = (handler, guarded)
        return guarded

    def _guard(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        if handler.unary_unary is None:  # every guarded RPC is unary; refuse anything else
            return grpc.unary_unary_rpc_method_handler(self._refuse(method))
        behavior = handler.unary_unary
        permission = self._table.get(method)

        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            caller: list[Identity | None] = [None]  # known once authenticated, for the audit

            def run() -> Any:
                identity = self._identify(method, permission, _authorization(context), context)
                caller[0] = identity
                if identity is not None and permission is not None:
                    self._authorize(method, identity, permission, request, context)
                # Set, not reset afterwards: the access line (written after the call, by the
                # outer telemetry interceptor, which runs each call in a context of its own)
                # names the identity. Every guarded call sets all three first, so nothing of
                # an earlier call on this worker thread is ever read.
                call_context.identity_id.set(identity.id if identity else "")
                call_context.identity_name.set(identity.name if identity else "")
                scope.payer_scope.set(identity.payer_scope if identity else None)
                return behavior(request, context)

            if permission is None or not permission.audited:
                return run()
            outcome, response = "OK", None
            try:
                response = run()
                return response
            except BaseException:
                code = context.code()  # type: ignore[attr-defined]
                outcome = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
                raise
            finally:
                self._record(method, caller[0], request, response, outcome)

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    # ------------------------------------------------------------------ checks

    def _identify(
        self,
        method: str,
        permission: Permission | None,
        authorization: str | None,
        context: grpc.ServicerContext,
    ) -> Identity | None:
        """The caller's identity (None on an open local service), or abort the call."""
        if permission is None:
            log.error("no permission entry for %s: refused", method)
            _abort(
                context, code_pb2.PERMISSION_DENIED, f"{method} is not permitted", "NO_PERMISSION"
            )
        if not self._authn.enabled:
            return None
        try:
            return self._authn.authenticate(authorization)
        except AuthError as exc:
            _abort(context, code_pb2.UNAUTHENTICATED, str(exc), "UNAUTHENTICATED")

    def _authorize(
        self,
        method: str,
        identity: Identity,
        permission: Permission,
        request: Any,
        context: grpc.ServicerContext,
    ) -> None:
        """Role, save_quote and rate limit; abort the call when one says no."""
        rpc = method.rsplit("/", 1)[-1]
        if identity.role not in permission.roles:
            _abort(
                context,
                code_pb2.PERMISSION_DENIED,
                f"role {identity.role.value} may not call {rpc}",
                "PERMISSION_DENIED",
            )
        if getattr(request, "save_quote", False) and identity.role not in SAVE_QUOTE_ROLES:
            _abort(
                context,
                code_pb2.PERMISSION_DENIED,
                f"role {identity.role.value} may not save quotes (save_quote)",
                "PERMISSION_DENIED",
            )
        if self._limiter is not None:
            wait = self._limiter.take(identity.id, identity.role.value)
            if wait > 0:
                delay = duration_pb2.Duration()
                delay.FromMilliseconds(max(1, int(wait * 1000)))
                _abort(
                    context,
                    code_pb2.RESOURCE_EXHAUSTED,
                    f"rate limit of {identity.name} reached: retry in {wait:.2f}s",
                    "RATE_LIMITED",
                    error_details_pb2.RetryInfo(retry_delay=delay),
                )

    def _record(
        self, method: str, identity: Identity | None, request: Any, response: Any, outcome: str
    ) -> None:
        if self._audit is None:
            return
        info = getattr(response, "rule_set", None)
        record = AuditRecord(
            at=datetime.now(UTC),
            identity_id=identity.id if identity else "",
            identity_name=identity.name if identity else ANONYMOUS,
            action=method.rsplit("/", 1)[-1],
            outcome=outcome,
            payer_id=str(getattr(info, "payer_id", "") or getattr(request, "payer_id", "")),
            version=str(getattr(info, "version", "") or getattr(request, "version", "")),
            checksum=str(getattr(info, "checksum", "")),
            detail=_detail(request, response),
        )
        try:
            self._audit.append_audit(record)
        except StoreUnavailableError:
            # The store is down (the watcher reports the outage): the record goes to the log
            # instead, in one line, so the attempt is not lost from the trail.
            log.error(
                "cannot write the audit record (the rule store is unreachable): %s by %s (%s) "
                "payer=%s version=%s outcome=%s",
                record.action,
                record.identity_name,
                record.identity_id,
                record.payer_id,
                record.version,
                record.outcome,
            )
        except Exception:  # the answer is already decided; an unwritten audit is loud
            log.exception("cannot write the audit record of %s", record.action)

    def _refuse(self, method: str) -> Callable[[Any, grpc.ServicerContext], Any]:
        def refuse(request: Any, context: grpc.ServicerContext) -> Any:
            _abort(
                context, code_pb2.PERMISSION_DENIED, f"{method} is not permitted", "NO_PERMISSION"
            )

        return refuse


def _authorization(context: grpc.ServicerContext) -> str | None:
    """The call's `authorization` metadata value (the last one sent), when it is text."""
    found: str | bytes | None = None
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            found = value
    return found if isinstance(found, str) else None


def _detail(request: Any, response: Any) -> str:
    """What else an auditor needs: the file name published, whether it was new, a reason."""
    parts = []
    source = getattr(request, "source", "")
    if source:
        parts.append(f"source={source}")
    if response is not None and hasattr(response, "created"):
        parts.append("created" if response.created else "already published")
    reason = getattr(request, "reason", "")
    if reason:
        parts.append(f"reason={reason}")
    replacement = getattr(response, "replacement", None)
    if replacement is not None and response.HasField("replacement"):
        parts.append(f"replacement={replacement.version} {replacement.checksum}")
    if getattr(request, "replacement_source", ""):
        parts.append(f"replacement_source={request.replacement_source}")
    return "; ".join(parts)
