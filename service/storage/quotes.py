"""Saved quotes: the estimates a client asked to keep (table saved_quote, migration 0001).

A saved quote is written once and never changed; it holds the request and the answer as
protobuf JSON text (the storage layer does not know protobuf: the API adapter converts) and
the rule version that answered, so billing staff can say months later which rules a quote used.
Plain previews are never written here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from service.storage.tables import SavedQuotePublic, SavedQuoteRow


class SavedQuoteRepository:
    """Stores and reads saved quotes in the rule store's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(
        self,
        *,
        request: str,
        response: str,
        plan_id: str,
        payer_id: str | None,
        version: str | None,
        checksum: str | None,
        created_at: datetime,
        quote_id: str | None = None,
    ) -> SavedQuotePublic:
        """Write one quote (a new uuid4 id unless given) and return it as stored."""
        if created_at.tzinfo is None:
            raise ValueError(f"created_at {created_at.isoformat()} has no time zone; use UTC")
        row = SavedQuoteRow(
            id=quote_id or str(uuid.uuid4()),
            created_at=created_at.astimezone(UTC),
            request=request,
            response=response,
            plan_id=plan_id,
            payer_id=payer_id,
            version=version,
            checksum=checksum,
        )
        with Session(self.engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return SavedQuotePublic.model_validate(row, from_attributes=True)

    def get(self, quote_id: str) -> SavedQuotePublic | None:
        """The saved quote with this id, or None."""
        with Session(self.engine) as session:
            row = session.get(SavedQuoteRow, quote_id)
            if row is None:
                return None
            return SavedQuotePublic.model_validate(row, from_attributes=True)

    def count(self) -> int:
        """How many quotes are saved (tests check previews add none)."""
        with Session(self.engine) as session:
            return int(session.exec(select(func.count(col(SavedQuoteRow.id)))).one())
