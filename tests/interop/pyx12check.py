"""Validate X12 text in-process with pyx12 and the 005010X279A1 270/271 maps.

pyx12 4.0 ships no X279A1 map; its repository's history has the 270 and 271 maps (commit
a564361), which are not part of this repository (docs/interop.md says why and where they
go). The maps folder is found at $MASSAGE_ESTIMATOR_X12_MAPS, else at
shared/x12/pyx12-maps/ beside the repository or one of its parents. pyx12's own packaged
maps (control segments, data elements, codes) are copied into a temporary folder with the
two X279A1 maps, and maps.xml gains their two entries, so nothing installed is changed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pyx12.params  # type: ignore[import-untyped]
import pyx12.x12n_document  # type: ignore[import-untyped]

MAP_FILES = ("270.5010.X279.A1.xml", "271.5010.X279.A1.xml")
MAPS_ENV = "MASSAGE_ESTIMATOR_X12_MAPS"
REQUIRE_ENV = "MASSAGE_ESTIMATOR_REQUIRE_X12_MAPS"
SHARED_SUBDIR = Path("shared") / "x12" / "pyx12-maps"
REPO_ROOT = Path(__file__).resolve().parents[2]
_INDEX_ENTRIES = (
    '\n    <map vriic="005010X279A1" fic="HS" abbr="270">270.5010.X279.A1.xml</map>'
    '\n    <map vriic="005010X279A1" fic="HB" abbr="271">271.5010.X279.A1.xml</map>'
)


def find_maps() -> Path | None:
    """The folder holding both X279A1 maps, or None."""
    candidates = []
    if os.environ.get(MAPS_ENV):
        candidates.append(Path(os.environ[MAPS_ENV]))
    candidates += [parent / SHARED_SUBDIR for parent in (REPO_ROOT, *REPO_ROOT.parents)]
    for folder in candidates:
        if all((folder / name).is_file() for name in MAP_FILES):
            return folder
    return None


def build_map_dir(x279: Path, into: Path) -> Path:
    """pyx12's packaged maps plus the two X279A1 maps and their maps.xml entries."""
    packaged = files("pyx12").joinpath("map")
    for item in packaged.iterdir():
        if item.name.endswith((".xml", ".xsd", ".dtd")):
            (into / item.name).write_bytes(item.read_bytes())
    for name in MAP_FILES:
        shutil.copyfile(x279 / name, into / name)
    index = (into / "maps.xml").read_text(encoding="utf-8")
    marker = '<version icvn="00501">'
    assert marker in index, "pyx12's maps.xml has no 00501 section"
    (into / "maps.xml").write_text(
        index.replace(marker, marker + _INDEX_ENTRIES, 1), encoding="utf-8"
    )
    return into


def _errors(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "errors" and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and "err_str" in item:
                        yield str(item["err_str"])
                    else:
                        yield from _errors(item)
            else:
                yield from _errors(value)
    elif isinstance(node, list):
        for item in node:
            yield from _errors(item)


def validate(text: str, map_dir: Path) -> list[str]:
    """pyx12's errors for `text` (empty when it validates); pyx12 writes no file here."""
    report = io.StringIO()
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)  # errors come back in `report`
    valid = pyx12.x12n_document.x12n_document(
        pyx12.params.params(),
        io.StringIO(text),
        fd_997=None,
        fd_html=None,
        fd_xmldoc=None,
        fd_json=report,
        map_path=str(map_dir),
    )
    found = list(_errors(json.loads(report.getvalue() or "{}")))
    if not valid and not found:
        found.append("pyx12 reports the file invalid without an error text")
    return found
