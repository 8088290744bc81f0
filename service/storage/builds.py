"""Built plans kept beside their version, so a restart does not re-run the rule-file checks.

Rebuilding a version from its canonical JSON (pydantic, every check, the build, the checksum)
costs about 40 ms per 100-plan version: 20 s of CPU for a store of 10,000 plans x 5 versions,
all of it on every start. The first process that rebuilds a version stores the built plans
(pickled) under a key made of everything that could change them: the version's checksum and
stored text, the clinic profile and the source code of the domain model and the rule-file
reader. A start finds them by key and unpickles them (about 4 ms per version); anything else
(new code, another clinic, a changed row) misses the key and rebuilds through the checks, which
still refuse a changed row. Stale builds are never read again; they cost only disk.

Unpickling only ever constructs the domain's own classes and a few standard value types
(`_SafeUnpickler`): a build row someone wrote by hand cannot run code in the service.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from service.domain.model import Clinic, PlanRules

_SOURCES = ("domain", "rulefiles")  # packages under service/ whose code shapes a build
_MODEL_MODULE = "service.domain.model"
_ALLOWED = {
    ("decimal", "Decimal"),
    ("datetime", "date"),
    ("builtins", "frozenset"),
    ("builtins", "set"),
}


class _SafeUnpickler(pickle.Unpickler):
    """Constructs the domain model's classes and the value types they hold, nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module == _MODEL_MODULE and not name.startswith("_"):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"a stored build may not construct {module}.{name}")


@cache
def code_fingerprint() -> str:
    """A digest of the source of every module that turns stored content into plans."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in _SOURCES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_key(
    payer_id: str, version: str, checksum: str, content_digest: bytes, clinic: Clinic
) -> str:
    """What a stored build is found by: it matches only the same version, stored text, clinic
    and code."""
    digest = hashlib.sha256()
    parts = (code_fingerprint(), payer_id, version, checksum, content_digest.hex(), repr(clinic))
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class Built(NamedTuple):
    """What a version takes from its content: the rest (labels, who published, when) comes
    from its row."""

    payer_name: str
    effective_from: date
    effective_to: date | None
    plans: tuple[PlanRules, ...]


def dump_built(built: Built) -> bytes:
    return pickle.dumps(tuple(built), protocol=pickle.HIGHEST_PROTOCOL)


def load_built(payload: bytes) -> Built:
    """A stored build; raises pickle.UnpicklingError on anything but a build of plans."""
    value = _SafeUnpickler(io.BytesIO(payload)).load()
    if not isinstance(value, tuple) or len(value) != len(Built._fields):
        raise pickle.UnpicklingError("a stored build holds no plans")
    built = Built(*value)
    if not isinstance(built.plans, tuple) or not all(isinstance(p, PlanRules) for p in built.plans):
        raise pickle.UnpicklingError("a stored build holds no plans")
    return built
