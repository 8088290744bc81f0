"""Write the JSON Schemas of the rule-file formats into schemas/ for payer tooling.

The schemas come from the pydantic models in service/rulefiles/models.py, so they cannot
drift from what the loader accepts; tests/rulefiles/test_schemas.py fails when the committed
files are stale. Run `python scripts/export_schemas.py` after changing a model, or
`python scripts/export_schemas.py --check` to only compare.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "schemas"
sys.path.insert(0, str(ROOT))

from service.rulefiles.schemas import schema_texts  # noqa: E402 - needs the path above


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[str] = []
    for name, text in schema_texts().items():
        path = SCHEMAS_DIR / f"{name}.schema.json"
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
            continue
        SCHEMAS_DIR.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(
            "stale JSON Schema(s): " + ", ".join(stale) + "; run python scripts/export_schemas.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
