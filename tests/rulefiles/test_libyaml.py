"""libyaml reads rule files (about 5x faster than PyYAML's own reader); the answers must be the
pure-Python reader's: the same data for every file that reads, the same problems, worded the
same, for every file that does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.rulefiles import yamlsource
from service.rulefiles.yamlsource import load_yaml

from .conftest import ACME_2026, SAMPLE_RULE_FILES

pytestmark = pytest.mark.skipif(
    yamlsource._FastUniqueKeyLoader is None, reason="this PyYAML is built without libyaml"
)
FAST = yamlsource._FastUniqueKeyLoader or yaml.CSafeLoader


@pytest.fixture
def pure_python() -> Iterator[None]:
    """Within the fixture's test, nothing takes the libyaml path."""
    saved = yamlsource.use_libyaml
    yamlsource.use_libyaml = False
    try:
        yield
    finally:
        yamlsource.use_libyaml = saved


def both(text: str, source: str = "f.yaml") -> tuple[Any, Any]:
    """load_yaml's answer with libyaml, and with the pure-Python reader only."""
    assert yamlsource.use_libyaml
    fast = load_yaml(text, source)
    yamlsource.use_libyaml = False
    try:
        pure = load_yaml(text, source)
    finally:
        yamlsource.use_libyaml = True
    return fast, pure


@pytest.mark.parametrize("path", SAMPLE_RULE_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_sample_file_reads_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast, pure = both(text)
    assert fast == pure
    assert fast[1] == [] and isinstance(fast[0], dict)
    # The fast path really is libyaml's: its loader reads the file on its own.
    assert yaml.load(text, Loader=FAST) == fast[0]


BROKEN = {
    "syntax": "payer: {id: acme\nversion: [1, 2\n",
    "mapping in a scalar": "payer: acme\n  version: x: y\n",
    "tab indent": "payer:\n\tid: acme\n",
    "duplicate key": "payer: {id: acme}\nversion: '1'\nversion: '2'\n",
    "nested duplicate": "plans:\n- id: a\n  name: x\n  name: y\n",
    "impossible date": "effective_from: 2026-02-30\n",
    "empty": "",
    "comment only": "# nothing\n",
    "a list": "- a\n- b\n",
    "a scalar": "just text\n",
    "unknown tag": "payer: !!python/object:os.system {}\n",
    "bad escape": 'note: "\\q"\n',
    "undefined alias": "note: *nowhere\n",
    "too deep": "x: " + "[" * 5000 + "]" * 5000 + "\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_problems_are_worded_as_the_pure_reader_words_them(name: str) -> None:
    fast, pure = both(BROKEN[name])
    assert fast == pure
    assert fast[0] is None and fast[1]


def test_duplicate_keys_are_refused_by_the_libyaml_reader_itself() -> None:
    """The duplicate-key check runs on libyaml's path too, not only in the fallback."""
    with pytest.raises(yaml.constructor.ConstructorError, match="appears twice"):
        yaml.load(BROKEN["duplicate key"], Loader=FAST)
    with pytest.raises(yaml.constructor.ConstructorError, match="not a real date"):
        yaml.load(BROKEN["impossible date"], Loader=FAST)


def test_the_switch_turns_the_libyaml_path_off(
    pure_python: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("libyaml used")

    monkeypatch.setattr(yamlsource, "_FastUniqueKeyLoader", None)
    monkeypatch.setattr(yaml, "CSafeLoader", refuse)
    data, problems = load_yaml(ACME_2026.read_text(encoding="utf-8"), "acme.yaml")
    assert problems == [] and data["payer"]["id"] == "acme-health"


ACME_TEXT = ACME_2026.read_text(encoding="utf-8")
EDIT_CHARS = st.sampled_from(list(":-[]{}'\"#&*!|> \t\n\\,?%@`abc0129."))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, len(ACME_TEXT)), st.integers(0, 3), st.text(EDIT_CHARS, max_size=3)
        ),
        min_size=1,
        max_size=4,
    )
)
def test_randomly_damaged_files_read_the_same_on_both_paths(
    edits: list[tuple[int, int, str]],
) -> None:
    """Cut and insert a few characters anywhere in a real file: whatever the result, valid or
    not, both readers give the same data or the same problems."""
    text = ACME_TEXT
    for at, cut, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut :]
    assert both(text)[0] == both(text)[1]
