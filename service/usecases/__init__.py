"""The service layer: the use cases every transport calls (validate, publish, list, show and
diff rule-set versions; save and replay quotes; keep the quote index current), over the store
Protocols of service.usecases.ports. Transports parse, call one of these, serialize."""

from service.usecases.errors import (
    NotFoundError,
    QuoteStoreUnavailableError,
    RuleSetInvalidError,
    RuleSetRejectedError,
)
from service.usecases.ports import (
    PublishedVersion,
    PublishResult,
    QuoteStore,
    RuleStore,
    SavedQuote,
)
from service.usecases.quotes import QuoteService, known_at
from service.usecases.refresh import IndexRefresher
from service.usecases.rule_sets import RuleSetService, Validation, VersionDiff

__all__ = [
    "IndexRefresher",
    "NotFoundError",
    "PublishResult",
    "PublishedVersion",
    "QuoteService",
    "QuoteStore",
    "QuoteStoreUnavailableError",
    "RuleSetInvalidError",
    "RuleSetRejectedError",
    "RuleSetService",
    "RuleStore",
    "SavedQuote",
    "Validation",
    "VersionDiff",
    "known_at",
]
