"""What one RPC carries from the interceptors to the servicers and the log line: the request
id (taken from `x-request-id` metadata or made) and the identity that made the call.

Interceptors set them for the call (gRPC's sync server runs an interceptor and its handler
in the same worker thread, so a ContextVar set there is the call's own); anything else reads
them. Empty when unknown (an open local service has no identity)."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
identity_id: ContextVar[str] = ContextVar("identity_id", default="")  # a token id or JWT subject
identity_name: ContextVar[str] = ContextVar("identity_name", default="")
