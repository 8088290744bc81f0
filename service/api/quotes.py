"""Saved quotes on top of the estimator: EstimateSession with save_quote, and GetQuote.

Why a subclass of EstimatorServicer: plain previews (save_quote false) take exactly the
estimator's path and never touch the database; only a request that asks to be saved is
written, with the rule version that answered.

Replay: a saved quote is priced with rules_as_of = its own rules_as_of when it had one (but
no later than created_at), else the moment it was saved (created_at), and the saving call
itself is priced with that same moment. GetQuote prices the stored request again with that
moment, so versions published later are invisible to the replay and the numbers match. The
replay is compared with the stored estimate and a mismatch is reported (replay_matches
false), never hidden.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc
from google.protobuf import json_format
from massage_estimator.v1 import estimator_pb2 as pb

from service.api import convert
from service.api.errors import abort, status_for_logged
from service.api.estimator import EstimatorServicer, QuoterLike
from service.api.payer_rules import abort_not_found
from service.domain.errors import EstimatorError, FieldViolation, InvalidRequestError
from service.storage.tables import SavedQuotePublic


class QuoteStoreUnavailableError(EstimatorError):
    """This server was started without a quote store (FAILED_PRECONDITION)."""

    reason = "QUOTE_STORE_UNAVAILABLE"


class QuoteStore(Protocol):
    """What saved quotes need of service.storage.RuleStore."""

    def save_quote(
        self,
        *,
        request: Mapping[str, Any],
        response: Mapping[str, Any],
        plan_id: str,
        payer_id: str | None = None,
        version: str | None = None,
        checksum: str | None = None,
        now: datetime | None = None,
    ) -> SavedQuotePublic: ...

    def get_quote(self, quote_id: str) -> SavedQuotePublic | None: ...


def _to_dict(message: pb.EstimateSessionRequest | pb.Estimate) -> dict[str, Any]:
    """Protobuf JSON that keeps field presence (unset optional fields stay unset)."""
    value: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return value


def _known_at(as_of: datetime | None, created_at: datetime) -> datetime:
    """The moment whose rules a saved quote uses: its own rules_as_of, but never later than
    when it was saved. A future rules_as_of meant "all known rules", which at saving time are
    those published by created_at; used as it was, the replay would also see versions
    published after the save and stop matching."""
    return created_at if as_of is None or as_of > created_at else as_of


class QuotingServicer(EstimatorServicer):
    """EstimatorService with saved quotes (see the module docstring)."""

    def __init__(
        self,
        quoter: QuoterLike,
        batch_max: int = 1000,
        quotes: QuoteStore | None = None,
        clock: Callable[[], datetime] | None = None,
        catch_up: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(quoter, batch_max=batch_max)
        self._quotes = quotes
        self._clock = clock or (lambda: datetime.now(UTC))
        self._catch_up = catch_up

    def EstimateSession(
        self, request: pb.EstimateSessionRequest, context: grpc.ServicerContext
    ) -> pb.EstimateSessionResponse:
        if not request.save_quote:
            return super().EstimateSession(request, context)
        try:
            if self._quotes is None:
                raise QuoteStoreUnavailableError(
                    "this server keeps no saved quotes (no quote store is configured); "
                    "send save_quote false for a preview"
                )
            as_of = convert.rules_as_of_from_proto(
                request.HasField("rules_as_of"), request.rules_as_of, "rules_as_of"
            )
            if self._catch_up is not None:
                # A saved quote is about to be written anyway: make sure the index holds
                # every version committed so far (one marker read; a reload only when another
                # replica published and the watcher has not caught up yet), so the replay
                # with created_at sees the same versions this answer did.
                self._catch_up()
            created_at = self._clock()
            estimate = self._estimate_one(request.session, "session.", _known_at(as_of, created_at))
            answer = convert.estimate_to_proto(estimate)
            version = estimate.rule_version
            saved = self._quotes.save_quote(
                request=_to_dict(request),
                response=_to_dict(answer),
                plan_id=estimate.plan_id,  # as priced (stripped), not as sent
                payer_id=version.payer_id if version else None,
                version=version.version if version else None,
                checksum=version.checksum if version else None,
                now=created_at,
            )
            return pb.EstimateSessionResponse(estimate=answer, quote_id=saved.id)
        except Exception as exc:
            abort(context, exc, "EstimateSession (save_quote)")

    def GetQuote(
        self, request: pb.GetQuoteRequest, context: grpc.ServicerContext
    ) -> pb.GetQuoteResponse:
        try:
            if self._quotes is None:
                raise QuoteStoreUnavailableError("this server keeps no saved quotes")
            text = request.quote_id.strip()
            try:
                quote_id = str(uuid.UUID(text))
            except ValueError:
                raise InvalidRequestError(
                    [
                        FieldViolation(
                            "quote_id",
                            f"{text!r} is not a quote id (a UUID such as "
                            "3f0c2d9e-6b1a-4c55-9d1e-2a7b8c9d0e1f)"
                            if text
                            else "is required",
                        )
                    ]
                ) from None
            saved = self._quotes.get_quote(quote_id)
        except Exception as exc:
            abort(context, exc, "GetQuote")
        if saved is None:
            abort_not_found(
                context, "quote", quote_id, f"no saved quote has id {quote_id}", "QUOTE_NOT_FOUND"
            )
        try:
            stored_request = pb.EstimateSessionRequest()
            json_format.ParseDict(json.loads(saved.request), stored_request)
            stored_estimate = pb.Estimate()
            json_format.ParseDict(json.loads(saved.response), stored_estimate)
            response = pb.GetQuoteResponse(
                quote_id=saved.id,
                request=stored_request,
                estimate=stored_estimate,
                created_at=convert.datetime_to_timestamp(saved.created_at),
            )
            if stored_estimate.HasField("rule_version"):
                response.rule_version.CopyFrom(stored_estimate.rule_version)
            replay_as_of = _known_at(
                convert.rules_as_of_from_proto(True, stored_request.rules_as_of, "rules_as_of")
                if stored_request.HasField("rules_as_of")
                else None,
                saved.created_at,
            )
            response.replay_rules_as_of.CopyFrom(convert.datetime_to_timestamp(replay_as_of))
        except Exception as exc:
            abort(context, exc, "GetQuote")
        try:
            if self._catch_up is not None:
                # The quote may have been saved on another replica right after a publish this
                # one's watcher has not seen yet: replaying on the stale index would not match.
                self._catch_up()
            replay = convert.estimate_to_proto(
                self._estimate_one(stored_request.session, "session.", replay_as_of)
            )
        except Exception as exc:  # the saved quote is still returned, with why it cannot replay
            response.replay_error.CopyFrom(status_for_logged(exc, "GetQuote replay"))
            return response
        response.replay.CopyFrom(replay)
        response.replay_matches = replay == stored_estimate
        return response


__all__ = ["QuoteStoreUnavailableError", "QuotingServicer"]
