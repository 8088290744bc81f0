"""Storage adapter: published rule-set versions and saved quotes in SQLite or PostgreSQL
(SQLModel tables, Alembic migrations in service/storage/migrations/), implementing the store
Protocols of service.usecases.ports, plus a watcher that tells a replica when another one
published."""

from service.storage.store import NOTIFY_CHANNEL, RuleStore, StoreIntegrityError, create_store
from service.storage.watch import ChangeWatcher

__all__ = ["NOTIFY_CHANNEL", "ChangeWatcher", "RuleStore", "StoreIntegrityError", "create_store"]
