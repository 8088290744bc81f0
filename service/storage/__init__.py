"""Storage adapter: published rule-set versions and saved quotes in SQLite or PostgreSQL
(SQLModel tables, Alembic migrations in service/storage/migrations/), plus a watcher that
tells a replica when another one published."""

from service.domain.versions import Problem, PublishRejectedError
from service.storage.store import (
    NOTIFY_CHANNEL,
    PublishResult,
    RuleStore,
    StoreIntegrityError,
    create_store,
)
from service.storage.tables import PlanVersionPublic, RuleSetVersionPublic, SavedQuotePublic
from service.storage.watch import ChangeWatcher

__all__ = [
    "NOTIFY_CHANNEL",
    "ChangeWatcher",
    "PlanVersionPublic",
    "Problem",
    "PublishRejectedError",
    "PublishResult",
    "RuleSetVersionPublic",
    "RuleStore",
    "SavedQuotePublic",
    "StoreIntegrityError",
    "create_store",
]
