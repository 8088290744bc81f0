"""Saved quotes on top of the estimator: EstimateSession with save_quote, and GetQuote.

Why a subclass of EstimatorServicer: plain previews (save_quote false) take exactly the
estimator's path and never touch the database; only a request that asks to be saved goes to
the saved-quote use cases (service.usecases.QuoteService: which moment's rules price it, and
the replay), with the rule version that answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
from google.protobuf import json_format
from massage_estimator.v1 import estimator_pb2 as pb

from service.api import convert
from service.api.errors import abort, status_for_logged
from service.api.estimator import EstimatorServicer, QuoterLike
from service.domain.errors import InvalidRequestError
from service.domain.model import Estimate
from service.usecases import QuoteService, QuoteStoreUnavailableError, SavedQuote, known_at
from service.usecases.quotes import quote_id_from_text


def to_record(message: pb.EstimateSessionRequest | pb.Estimate) -> dict[str, Any]:
    """Protobuf JSON that keeps field presence (unset optional fields stay unset)."""
    value: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return value


def estimate_record(estimate: Estimate) -> dict[str, Any]:
    """How a saved quote keeps its answer: the API's own JSON of it."""
    return to_record(convert.estimate_to_proto(estimate))


class QuotingServicer(EstimatorServicer):
    """EstimatorService with saved quotes (see the module docstring)."""

    def __init__(
        self, quoter: QuoterLike, batch_max: int = 1000, quotes: QuoteService | None = None
    ) -> None:
        super().__init__(quoter, batch_max=batch_max)
        self._quotes = quotes

    def _require_quotes(self, hint: str = "") -> QuoteService:
        if self._quotes is None:
            raise QuoteStoreUnavailableError(f"this server keeps no saved quotes{hint}")
        return self._quotes

    def EstimateSession(
        self, request: pb.EstimateSessionRequest, context: grpc.ServicerContext
    ) -> pb.EstimateSessionResponse:
        if not request.save_quote:
            return super().EstimateSession(request, context)
        try:
            quotes = self._require_quotes(
                " (no quote store is configured); send save_quote false for a preview"
            )
            as_of = convert.rules_as_of_from_proto(
                request.HasField("rules_as_of"), request.rules_as_of, "rules_as_of"
            )
            session = self.parse_session(request.session, "session.")
            try:
                estimate, saved = quotes.save(session, as_of, to_record(request))
            except InvalidRequestError as exc:
                raise exc.prefixed("session.") from None
            answer = convert.estimate_to_proto(estimate)
            return pb.EstimateSessionResponse(estimate=answer, quote_id=saved.id)
        except Exception as exc:
            abort(context, exc, "EstimateSession (save_quote)")

    def GetQuote(
        self, request: pb.GetQuoteRequest, context: grpc.ServicerContext
    ) -> pb.GetQuoteResponse:
        try:
            quotes = self._require_quotes()
            saved = quotes.get(quote_id_from_text(request.quote_id))
            response, stored_request, replay_as_of = _saved_to_proto(saved)
        except Exception as exc:
            abort(context, exc, "GetQuote")
        try:
            replayed, clinic = quotes.replay(
                self.parse_session(stored_request.session, "session."), replay_as_of, saved
            )
            replay = convert.estimate_to_proto(replayed)
            if clinic is not None:
                response.clinic_version.CopyFrom(convert.clinic_version_to_proto(clinic.ref()))
        except Exception as exc:  # the saved quote is still returned, with why it cannot replay
            response.replay_error.CopyFrom(status_for_logged(exc, "GetQuote replay"))
            return response
        response.replay.CopyFrom(replay)
        response.replay_matches = replay == response.estimate
        return response


def _saved_to_proto(
    saved: SavedQuote,
) -> tuple[pb.GetQuoteResponse, pb.EstimateSessionRequest, datetime]:
    """The answer to GetQuote without its replay, the request as it was saved, and the moment
    whose rules the replay uses."""
    stored_request = pb.EstimateSessionRequest()
    json_format.ParseDict(dict(saved.quote.request), stored_request)
    stored_estimate = pb.Estimate()
    json_format.ParseDict(dict(saved.quote.response), stored_estimate)
    response = pb.GetQuoteResponse(
        quote_id=saved.id,
        request=stored_request,
        estimate=stored_estimate,
        created_at=convert.datetime_to_timestamp(saved.created_at),
    )
    if stored_estimate.HasField("rule_version"):
        response.rule_version.CopyFrom(stored_estimate.rule_version)
    requested = convert.rules_as_of_from_proto(
        stored_request.HasField("rules_as_of"), stored_request.rules_as_of, "rules_as_of"
    )
    replay_as_of = known_at(requested, saved.created_at)
    response.replay_rules_as_of.CopyFrom(convert.datetime_to_timestamp(replay_as_of))
    return response, stored_request, replay_as_of


__all__ = ["QuotingServicer", "estimate_record"]
