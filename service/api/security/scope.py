"""The payer scope of the call in progress, set by the interceptor and read by the servicers.

None means every payer (an admin, a billing or quoter identity, or an open local service); a
set means a payer_admin limited to those payers.
"""

from __future__ import annotations

from contextvars import ContextVar

payer_scope: ContextVar[frozenset[str] | None] = ContextVar("payer_scope", default=None)


def may_see(payer_id: str) -> bool:
    allowed = payer_scope.get()
    return allowed is None or payer_id in allowed
