"""Use cases on saved quotes: price and save one, find one, replay it.

Replay: a saved quote is priced with rules_as_of = its own rules_as_of when it had one (but no
later than created_at), else the moment it was saved (created_at), and the saving call itself
is priced with that same moment. A replay prices the stored request again with that moment,
so versions published later are invisible to it and the numbers match; the transport compares
the two and reports a mismatch, never hides it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from service.domain.clinics import ClinicVersion
from service.domain.errors import FieldViolation, InvalidRequestError
from service.domain.model import Estimate, SessionRequest
from service.usecases.errors import NotFoundError
from service.usecases.ports import NewQuote, QuoteStore, SavedQuote


class Pricer(Protocol):
    def estimate_priced(
        self,
        request: SessionRequest,
        as_of: datetime | None = None,
        clinic_version: tuple[str, str] | None = None,
    ) -> tuple[Estimate, ClinicVersion | None]: ...


def known_at(as_of: datetime | None, created_at: datetime) -> datetime:
    """The moment whose rules a saved quote uses: its own rules_as_of, but never later than
    when it was saved. A future rules_as_of means "all known rules", which at saving time are
    those published by created_at; taken literally, the replay would also see versions
    published after the save and stop matching."""
    return created_at if as_of is None or as_of > created_at else as_of


def quote_id_from_text(text: str) -> str:
    """The canonical form of a quote id (a UUID), or InvalidRequestError naming `quote_id`."""
    text = text.strip()
    try:
        return str(uuid.UUID(text))
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


class QuoteService:
    """Saved quotes on top of a QuoteStore.

    `record` turns an estimate into the JSON the store keeps (the API's own form, so a saved
    quote reads back exactly as it was answered); `catch_up` brings the index up to date with
    the rule store before a quote is saved or replayed.
    """

    def __init__(
        self,
        pricer: Pricer,
        store: QuoteStore,
        record: Callable[[Estimate], Mapping[str, Any]],
        clock: Callable[[], datetime] | None = None,
        catch_up: Callable[[], object] | None = None,
    ) -> None:
        self._pricer = pricer
        self._store = store
        self._record = record
        self._clock = clock or (lambda: datetime.now(UTC))
        self._catch_up = catch_up or (lambda: None)

    def save(
        self,
        request: SessionRequest,
        as_of: datetime | None,
        request_record: Mapping[str, Any],
        annotations: Mapping[str, Any] | None = None,
    ) -> tuple[Estimate, SavedQuote]:
        """Price `request` as of the moment it is saved (or its own earlier rules_as_of) and
        keep it with the rule version that answered; `annotations` are kept beside the
        answer (e.g. what a 271 filled in), never priced again by a replay."""
        # A saved quote is about to be written anyway: make sure the index holds every version
        # committed so far (one marker read; a reload only when another replica published and
        # the watcher has not caught up yet), so the replay with created_at sees the same
        # versions this answer did.
        self._catch_up()
        created_at = self._clock()
        estimate, clinic = self._pricer.estimate_priced(request, known_at(as_of, created_at))
        version = estimate.rule_version
        quote = NewQuote(
            request=request_record,
            response={**self._record(estimate), **(annotations or {})},
            plan_id=estimate.plan_id,  # as priced (stripped), not as sent
            payer_id=version.payer_id if version else None,
            version=version.version if version else None,
            checksum=version.checksum if version else None,
            clinic_id=clinic.clinic_id if clinic else None,
            clinic_version=clinic.version if clinic else None,
            clinic_checksum=clinic.checksum if clinic else None,
        )
        saved = self._store.save_quote(quote, now=created_at)
        return estimate, saved

    def catch_up(self) -> None:
        """Bring the index up to date with the rule store (what `save` does first), for a
        caller that reads the rules before saving (a 271 read against them)."""
        self._catch_up()

    def get(self, quote_id: str) -> SavedQuote:
        saved = self._store.get_quote(quote_id)
        if saved is None:
            raise NotFoundError(
                "quote", quote_id, f"no saved quote has id {quote_id}", "QUOTE_NOT_FOUND"
            )
        return saved

    def replay(
        self, request: SessionRequest, as_of: datetime, saved: SavedQuote | None = None
    ) -> tuple[Estimate, ClinicVersion | None]:
        """Price a saved request again with the rules known at `as_of` (see known_at) and
        the clinic version it was saved with (its prices and participation, even when a
        later clinic version covers the same dates)."""
        # The quote may have been saved on another replica right after a publish this one's
        # watcher has not seen yet: replaying on the stale index would not match.
        self._catch_up()
        quote = saved.quote if saved is not None else None
        pinned = None
        if quote is not None and quote.clinic_id and quote.clinic_version:
            pinned = (quote.clinic_id, quote.clinic_version)
        return self._pricer.estimate_priced(request, as_of, pinned)
