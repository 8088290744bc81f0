"""Keeps the Quoter's in-memory index in step with the rule store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from service.domain.clinics import ClinicIndex, ClinicVersion
from service.domain.heap import collector_paused
from service.domain.index import RuleIndex
from service.domain.model import Clinic, RuleSetVersion

log = logging.getLogger(__name__)


class VersionSource(Protocol):
    """What a refresh reads of the rule store."""

    def latest_change_marker(self) -> str: ...

    def load_versions(self, clinic: Clinic) -> list[RuleSetVersion]: ...


class IndexHolder(Protocol):
    """What serves quotes from an index that can be swapped whole (the Quoter)."""

    @property
    def index(self) -> RuleIndex: ...

    def replace_index(self, index: RuleIndex) -> None: ...


class IndexRefresher:
    """Rebuilds the RuleIndex from the store and swaps it into the Quoter.

    It runs after a publish through this server (before the publish is answered), before a
    quote is saved or replayed, and when the store's watcher sees another replica publish.
    Serialised by a lock so an older load never replaces a newer one; skipped when the store's
    change marker is the one already loaded.
    """

    def __init__(
        self,
        store: VersionSource,
        clinic: Clinic,
        quoter: IndexHolder,
        marker: str,
        clinics: tuple[Callable[[], list[ClinicVersion]], Callable[[ClinicIndex], None]]
        | None = None,
    ) -> None:
        self.store = store
        self.clinic = clinic
        self.quoter = quoter
        self.marker = marker
        # (load the clinic versions, serve them): the store's change marker counts both.
        self._clinics = clinics
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        """Load and swap in the published versions if they changed; True when swapped."""
        with self._lock:
            marker = self.store.latest_change_marker()
            if marker == self.marker:
                return False
            with collector_paused():
                versions = self.store.load_versions(self.clinic)
                index = RuleIndex.build(versions, previous=self.quoter.index)
            if self._clinics is not None:
                load, serve = self._clinics
                serve(ClinicIndex(load()))
            self.quoter.replace_index(index)
            self.marker = marker
        log.info(
            "rule index reloaded: %d versions, %d plans", len(index.versions), len(index.plan_ids())
        )
        return True

    def on_change(self) -> None:
        """The watcher's callback (another replica published)."""
        self.refresh()
