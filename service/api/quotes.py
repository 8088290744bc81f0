"""Saved quotes on top of the estimator: EstimateSession with save_quote, and GetQuote.

Why a subclass of EstimatorServicer: plain previews (save_quote false) take exactly the
estimator's path and never touch the database; only a request that asks to be saved goes to
the saved-quote use cases (service.usecases.QuoteService: which moment's rules price it, and
the replay), with the rule version that answered.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

import grpc
from google.protobuf import json_format, struct_pb2
from google.protobuf.message import Message
from massage_estimator.v1 import estimator_pb2 as pb

from service.api import convert
from service.api.errors import abort, status_for_logged
from service.api.estimator import EstimatorServicer, QuoterLike, answer
from service.domain.clinics import ClinicVersion
from service.domain.errors import EstimateUnavailableError, InvalidRequestError
from service.domain.model import Clinic, Estimate, SessionRequest
from service.usecases import QuoteService, QuoteStoreUnavailableError, SavedQuote, known_at
from service.usecases.quotes import quote_id_from_text


def to_record(message: Message) -> dict[str, Any]:
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
            if request.session.eligibility_271:  # read the 271 against the rules that price it
                quotes.catch_up()
            session, found = self.parse_with_eligibility(request.session, "session.", as_of)
            kept = pb.EstimateSessionRequest()
            kept.CopyFrom(request)
            checked: dict[str, Any] = {}
            if found is not None:  # saved as priced: the 271's amounts, not the 271
                convert.fill_from_eligibility(kept.session, found.applied)
                checked = {"eligibility": to_record(convert.eligibility_to_proto(found))}
            try:
                estimate, saved = quotes.save(session, as_of, to_record(kept), checked)
            except InvalidRequestError as exc:
                raise exc.prefixed("session.") from None
            return pb.EstimateSessionResponse(estimate=answer(estimate, found), quote_id=saved.id)
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
            replayed = self._replay(quotes, saved, stored_request, replay_as_of, response.estimate)
            if replayed.clinic is not None:
                clinic_ref = replayed.clinic.ref()
                response.clinic_version.CopyFrom(convert.clinic_version_to_proto(clinic_ref))
        except Exception as exc:  # the saved quote is still returned, with why it cannot replay
            response.replay_error.CopyFrom(status_for_logged(exc, "GetQuote replay"))
            return response
        response.replay.CopyFrom(replayed.answer)
        response.replay_matches = replayed.answer == response.estimate
        return response

    def _replay(
        self,
        quotes: QuoteService,
        saved: SavedQuote,
        stored: pb.EstimateSessionRequest,
        as_of: datetime,
        answered: pb.Estimate,
    ) -> _Replay:
        """The saved request priced again with the rules known at `as_of` and the clinic
        version it was saved with; on the wire it carries the saved 271 check over (a record
        of the 271 read when saved, which the replay does not read again)."""
        session = self.parse_session(stored.session, "session.")
        estimate, clinic = quotes.replay(session, as_of, saved)
        answer = convert.estimate_to_proto(estimate)
        if answered.HasField("eligibility"):
            answer.eligibility.CopyFrom(answered.eligibility)
        return _Replay(session, estimate, clinic, answer)

    def GetQuoteFhir(
        self, request: pb.GetQuoteFhirRequest, context: grpc.ServicerContext
    ) -> pb.GetQuoteFhirResponse:
        try:
            quotes = self._require_quotes()
            saved = quotes.get(quote_id_from_text(request.quote_id))
            return self._fhir(quotes, saved)
        except Exception as exc:
            abort(context, exc, "GetQuoteFhir")

    def _fhir(self, quotes: QuoteService, saved: SavedQuote) -> pb.GetQuoteFhirResponse:
        """The saved quote as PCT FHIR, built from its replay, which must equal what was
        saved (the FHIR form then says exactly what the client was told)."""
        from service.interop.fhir import pct  # fhir.resources loads only when asked for

        response, stored_request, replay_as_of = _saved_to_proto(saved)
        replayed = self._replay(quotes, saved, stored_request, replay_as_of, response.estimate)
        if replayed.answer != response.estimate:
            raise EstimateUnavailableError(
                "QUOTE_NO_LONGER_REPLAYS",
                f"saved quote {saved.id} no longer prices the same with the rules known when "
                "it was saved (GetQuote shows both), so its FHIR form would not be what the "
                "client was told",
            )
        resource = pct.quote_resource(
            pct.SavedQuote(
                quote_id=saved.id,
                created_at=saved.created_at,
                request=replayed.session,
                estimate=replayed.estimate,
                clinic=_rendering_clinic(self._quoter.clinic, replayed.clinic, replayed.session),
            )
        )
        body = struct_pb2.Struct()
        body.update(json.loads(pct.to_json(resource)))
        return pb.GetQuoteFhirResponse(resource_type=resource.get_resource_type(), resource=body)


class _Replay(NamedTuple):
    session: SessionRequest
    estimate: Estimate
    clinic: ClinicVersion | None
    answer: pb.Estimate  # the estimate as the wire carries it, compared with the saved one


def _rendering_clinic(
    catalogue: Clinic, version: ClinicVersion | None, session: SessionRequest
) -> Clinic:
    """Who renders the session, as the FHIR resources name the provider: the location the
    quote named (in the clinic version it was saved with), else the clinic profile."""
    location = (
        version.location(session.location_id or version.default_location) if version else None
    )
    return location.clinic(catalogue, catalogue.ref) if location else catalogue


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
