"""Composition root: settings -> rule store -> in-memory RuleIndex -> Quoter -> use cases ->
gRPC server.

The only module that knows every adapter. Start-up order: migrate the store, seed it from the
rule files on first start, load the published versions once, index them in memory and only
then report SERVING; quotes never read the database.

Replicas: an IndexRefresher (service.usecases) rebuilds the index from the store and swaps it
into the Quoter whole, so a quote never sees a half-loaded index. It runs after a publish
through this server (before the publish is answered) and, through the storage ChangeWatcher
(LISTEN/NOTIFY on PostgreSQL plus polling), after a publish through any other replica, off the
request path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from service.api.estimator import SERVICE_NAME
from service.api.impact import saved_request
from service.api.quotes import estimate_record
from service.api.security import scope
from service.api.server import BindError, GrpcServer, build_server
from service.app_security import InsecureStartError, Security, secure
from service.domain.clinics import ClinicIndex, ClinicVersion
from service.domain.heap import collector_paused
from service.domain.index import RuleIndex
from service.domain.model import Clinic, RuleSetVersion
from service.domain.quoting import Quoter
from service.observability.runtime import Telemetry
from service.settings import Settings
from service.startup import retry_while_unreachable
from service.storage import RuleStore, create_store
from service.storage.watch import ChangeWatcher
from service.usecases import IndexRefresher, QuoteService
from service.usecases.clinics import ClinicProfileService
from service.usecases.impact import ImpactPreviewService

log = logging.getLogger("service.app")

WATCH_POLL_SECONDS = 0.5
"""How often a replica polls the store for versions published elsewhere (PostgreSQL
NOTIFY usually wakes it sooner), so a version published anywhere is served everywhere within
2 seconds."""


@dataclass(frozen=True)
class LoadedRules:
    """What start-up read: the clinic profile and every published rule-set version."""

    clinic: Clinic
    versions: list[RuleSetVersion]
    clinic_versions: list[ClinicVersion]
    seeded: int  # versions this start published into an empty store (0 otherwise)
    store: RuleStore  # kept open for publishing and for the replica watcher
    marker: str = ""  # the store's change marker read before the versions were loaded


def load_rules(settings: Settings) -> LoadedRules:
    """Migrate the store, seed it from rules_dir when it is empty, read the versions back.

    The clinic profile (clinic.yaml) is always read from rules_dir: it is the clinic's own
    configuration, not a published payer version.
    """
    settings.ensure_database_dir()
    store = create_store(settings.database_url)
    try:
        store.migrate()
        seeded = store.seed_from_dir(settings.rules_dir)
        clinic = store.clinic
        if clinic is None:  # seed_from_dir always reads clinic.yaml; guard the contract
            raise RuntimeError(f"no clinic profile was read from {settings.rules_dir}")
        store.seed_clinics_from_dir(settings.rules_dir, clinic)  # moves clinic.yaml in once
        marker = store.latest_change_marker()  # before loading: a later publish reloads
        versions = store.load_versions(clinic)
        clinic_versions = store.load_clinic_versions(clinic)
    except BaseException:
        store.engine.dispose()
        raise
    return LoadedRules(
        clinic=clinic,
        versions=versions,
        clinic_versions=clinic_versions,
        seeded=seeded,
        store=store,
        marker=marker,
    )


def build_quoter(settings: Settings) -> tuple[Quoter, LoadedRules]:
    """A Quoter over the published versions, indexed in memory (waits for the store while it
    is unreachable: service.startup)."""
    with collector_paused(freeze=True):  # service.domain.heap: 2/3 of a large start's CPU
        rules = retry_while_unreachable(lambda: load_rules(settings), settings)
        index = RuleIndex.build(rules.versions)
    return Quoter(index, rules.clinic, ClinicIndex(rules.clinic_versions)), rules


@dataclass
class Application:
    """A running service: its settings, the quoter it answers from and the gRPC server."""

    settings: Settings
    quoter: Quoter
    server: GrpcServer
    store: RuleStore
    refresher: IndexRefresher | None = None
    watcher: ChangeWatcher | None = None
    telemetry: Telemetry | None = None
    security: Security | None = None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def target(self) -> str:
        """Where a local client can reach the server, e.g. "127.0.0.1:50051"."""
        return self.server.target

    def stop(self, grace: float | None = None, drain: float = 0.0) -> None:
        """Graceful stop: health NOT_SERVING, `drain` seconds still answering everything (the
        watcher keeps the index current meanwhile), then in-flight calls get the grace period.
        `serve` passes settings.drain_seconds on SIGTERM."""
        self.server.stop(self.settings.shutdown_grace_seconds if grace is None else grace, drain)
        if self.watcher is not None:
            self.watcher.stop()
        if self.security is not None:
            self.security.stop()
        self.store.engine.dispose()
        if self.telemetry is not None:
            self.telemetry.stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self.server.wait(timeout)


def start(
    settings: Settings, telemetry: Telemetry | None = None, *, reuse_port: bool = False
) -> Application:
    """Load the rules, start the server on the configured address and mark it SERVING
    (`reuse_port`: one of the processes of `serve --processes N`, see service.api.server).

    `telemetry` (metrics, tracing) comes from the settings unless given (tests)."""
    telemetry = telemetry or Telemetry.start(settings)
    quoter, rules = build_quoter(settings)
    store = rules.store
    telemetry.watch_store(store.engine)
    refresher = telemetry.refresher(
        store,
        rules.clinic,
        quoter,
        rules.marker,
        clinics=(lambda: store.load_clinic_versions(rules.clinic), quoter.replace_clinics),
    )
    watcher = ChangeWatcher(store, refresher.on_change, poll_interval=WATCH_POLL_SECONDS)
    try:
        security = secure(settings, store.engine)
        server = build_server(
            quoter,
            host=settings.host,
            port=settings.port,
            max_workers=settings.max_workers,
            batch_max=settings.batch_max,
            quotes=QuoteService(quoter, store, estimate_record, catch_up=refresher.refresh),
            rule_sets=telemetry.rule_sets(
                store,
                rules.clinic,
                lambda: quoter.index,
                refresher.refresh,
                scope.may_see,
                max_content_bytes=settings.max_rule_file_bytes,
            ),
            reuse_port=reuse_port,
            impact=ImpactPreviewService(
                store,
                rules.clinic,
                lambda: quoter.index,
                saved_request,
                payer_allowed=scope.may_see,
            ),
            clinics=ClinicProfileService(
                store, rules.clinic, lambda: quoter.index, lambda: quoter.clinics, refresher.refresh
            ),
            # telemetry outermost: a call refused for its credentials is counted and logged
            interceptors=[telemetry.interceptor(), security.interceptor],
            credentials=security.credentials,
            max_message_bytes=settings.max_message_bytes,
            max_concurrent_rpcs=settings.max_concurrent_rpcs,
        )
    except BaseException:
        store.engine.dispose()
        raise
    try:
        security.authenticator.start()
        watcher.start()
        refresher.refresh()  # a publish between loading and watching is not missed
    except BaseException:
        security.stop()
        watcher.stop()
        server.stop(0)
        store.engine.dispose()
        raise
    watcher.on_state = server.mark_store  # the store's own health name (see build_server)
    server.mark_store(True)
    try:
        telemetry.serve_metrics(settings.host, settings.metrics_port)
    except OSError:
        watcher.stop()
        server.stop(0)
        store.engine.dispose()
        raise
    server.mark_serving()
    index = quoter.index
    log.info(
        "%s listening on %s: %d rule versions, %d plans (%s)%s",
        SERVICE_NAME,
        server.address,
        len(index.versions),
        len(index.plan_ids()),
        ", ".join(index.plan_ids()),
        f"; seeded {rules.seeded} versions from {settings.rules_dir}" if rules.seeded else "",
    )
    return Application(
        settings=settings,
        quoter=quoter,
        server=server,
        store=store,
        refresher=refresher,
        watcher=watcher,
        telemetry=telemetry,
        security=security,
    )


__all__ = [
    "Application",
    "BindError",
    "IndexRefresher",
    "InsecureStartError",
    "LoadedRules",
    "build_quoter",
    "start",
]
