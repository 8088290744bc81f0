"""docs/rule-versions.md can be followed literally: its commands name the shipped example
file and show that file's checksum and note.

The page and the shipped docs/examples/ file must agree on the file's name, checksum and
note, or an analyst's real run would never match the page.
"""

from __future__ import annotations

import re
from pathlib import Path

from service.rulefiles import load_clinic_file, load_rule_set_file

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "rule-versions.md"
EXAMPLE = REPO / "docs" / "examples" / "acme-2026-07.yaml"


def test_every_checksum_on_the_page_is_the_example_files() -> None:
    clinic = load_clinic_file(REPO / "payer_rules" / "clinic.yaml")
    checksum = load_rule_set_file(EXAMPLE, clinic).checksum
    text = DOC.read_text(encoding="utf-8")
    full = set(re.findall(r"sha256:[0-9a-f]{64}", text))
    short = set(re.findall(r"sha256:[0-9a-f]{12}(?![0-9a-f])", text))
    assert full == {checksum}, full
    assert short == {checksum[:19]}, short


def test_the_files_the_commands_name_exist_or_are_made_on_the_page() -> None:
    text = DOC.read_text(encoding="utf-8")
    made = set(re.findall(r"> (\S+\.yaml)\s*$", text, re.M))
    named = re.findall(r"massage-estimator rules (?:validate|publish) (\S+\.yaml)", text)
    assert named
    for name in named:
        assert name in made or (REPO / name).is_file(), name


def test_the_example_files_note_is_what_the_diff_shows() -> None:
    note = re.search(r"^note: (.*)$", EXAMPLE.read_text(encoding="utf-8"), re.M)
    assert note is not None
    row = re.search(r"changed\s+note\s+2026 fee schedule\s+(.+?)\s*$", DOC.read_text(), re.M)
    assert row is not None and row.group(1) == note.group(1).strip()
