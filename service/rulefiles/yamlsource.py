"""Reading YAML text for rule files, and turning pydantic errors into plain-English problems.

A stricter YAML reader than yaml.safe_load: a key written twice in one block is an error (the
plain reader silently keeps the last one, which hides an analyst's typo).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails

from service.domain.suggest import close_matches
from service.rulefiles.problems import Problem


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys in a mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"the key {key!r} appears twice in the same block (first on line {seen[key]}); "
                "keep one",
                key_node.start_mark,
            )
        if isinstance(key, Hashable):
            seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


def _construct_timestamp(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    """An impossible unquoted date (2026-02-30) is reported at its line, not file-wide."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value} is not a real date ({exc})", node.start_mark
        ) from None


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)

_FastUniqueKeyLoader: type[yaml.CSafeLoader] | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CUniqueKeyLoader(yaml.CSafeLoader):
        """libyaml's parser (about 5x faster than PyYAML's) with the same constructors: the
        same duplicate-key and impossible-date checks, the same resolved values."""

    _CUniqueKeyLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
        _construct_mapping,
    )
    _CUniqueKeyLoader.add_constructor(
        "tag:yaml.org,2002:timestamp",
        _construct_timestamp,
    )
    _FastUniqueKeyLoader = _CUniqueKeyLoader

use_libyaml = _FastUniqueKeyLoader is not None
# Characters around which libyaml accepts text PyYAML refuses (a tab inside a plain key, "?"
# inside a flow list, found by tests/rulefiles/test_libyaml.py): such a file takes the pure
# reader, so it is refused exactly as before. Rule files rarely contain either.
_LIBYAML_DIFFERS = re.compile(r"[\t?]")
"""Read with libyaml when PyYAML has it. Only a file that reads without error takes that path:
any failure is read again with the pure-Python reader, so every problem keeps its wording and
position (libyaml words its errors differently). Tests switch it off to compare the paths."""


def load_yaml(text: str, source: str) -> tuple[Any, list[Problem]]:
    """Parse YAML text; on failure return a problem that names the line and column."""
    fast = _FastUniqueKeyLoader
    if use_libyaml and fast is not None and not _LIBYAML_DIFFERS.search(text):
        try:
            data = yaml.load(text, Loader=fast)  # a CSafeLoader subclass
        except (yaml.YAMLError, ValueError, RecursionError):
            pass  # read again below, for the pure-Python reader's wording of the problem
        else:
            return _top_level(data, source)
    try:
        data = yaml.load(
            text, Loader=_UniqueKeyLoader
        )  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        return None, [Problem(source, where, f"the file is not valid YAML: {what}")]
    except (yaml.YAMLError, ValueError) as exc:
        # e.g. an unquoted date that does not exist, such as 2026-02-30
        return None, [Problem(source, "(file)", f"the file is not valid YAML: {exc}")]
    except RecursionError:  # thousands of nested brackets: the reader recurses per level
        return None, [
            Problem(
                source,
                "(file)",
                "the file is nested too deeply to read; a rule file "
                "needs only a few levels of blocks and lists",
            )
        ]
    return _top_level(data, source)


def _top_level(data: Any, source: str) -> tuple[Any, list[Problem]]:
    if data is None:
        return None, [Problem(source, "(file)", "the file is empty")]
    if not isinstance(data, dict):
        return None, [
            Problem(source, "(file)", "the file must be a block of fields (key: value lines)")
        ]
    return data, []


# ---------------------------------------------------------------------------- paths


def readable_path(loc: Sequence[int | str], data: Any) -> str:
    """("plans", 0, "in_network", "copay") -> "plans[acme-ppo-gold].in_network.copay".

    List items are named by their `id` when they have one, else "#n" counted from 1. The path
    stops where the written data stops being a block (a shorthand value that pydantic expanded
    into fields is named by its own key).
    """
    out = ""
    node: Any = data
    for part in loc:
        if part == "[key]" or (isinstance(part, str) and part.startswith("<")):
            continue  # a dict key's own check, or the tag of a union's branch
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if 0 <= part < len(node) else None
            label = item.get("id") if isinstance(item, dict) else None
            out += f"[{label}]" if isinstance(label, str) and label else f"[#{part + 1}]"
            node = item
            continue
        if not isinstance(node, dict) and out:
            break
        out += f".{part}" if out else str(part)
        node = _get(node, part)
    return out or "(file)"


def _get(node: Any, key: int | str) -> Any:
    if not isinstance(node, dict):
        return None
    if key in node:
        return node[key]
    for k, v in node.items():  # keys YAML read as numbers, e.g. 97124 or 30
        if str(k) == str(key):
            return v
    return None


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model class that validates the block at `loc` (for "allowed fields")."""
    annotation: Any = model
    for part in loc:
        if isinstance(part, str) and part.startswith("<"):
            annotation = _branch(annotation, part)
            continue
        annotation = unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
            continue
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is list and args:
            annotation = args[0]
        elif origin is dict and len(args) == 2:
            annotation = args[1]
        else:
            return None
    annotation = unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _branch(annotation: Any, tag: str) -> Any:
    """The member of a tagged union (pydantic Tag) that `tag` names, looking through
    Annotated and Optional layers; `annotation` itself when there is none."""
    found = _find_tag(annotation, tag)
    return annotation if found is None else found


def _find_tag(annotation: Any, tag: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        if any(isinstance(m, Tag) and m.tag == tag for m in annotation.__metadata__):
            return annotation
        return _find_tag(typing.get_args(annotation)[0], tag)
    if origin in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            found = _find_tag(member, tag)
            if found is not None:
                return found
    return None


def unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...] down to the model or container type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in rest if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else rest[0]
        else:
            return annotation


# ---------------------------------------------------------------------------- messages

_PATTERN_WORDS = {
    r"^[a-z0-9]+(-[a-z0-9]+)*$": "use lowercase letters, digits and single dashes, like "
    "acme-ppo-gold",
    r"^[a-z][a-z0-9_]*$": "use lowercase letters, digits and underscores, like deep_tissue",
    r"^[0-9]{4}[0-9A-Z]$": "is not a CPT code (five characters, like 97124)",
}


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """' Did you mean "x"?' or '' - for typos in names an analyst wrote."""
    close = close_matches(word, options)
    return f' Did you mean "{close[0]}"?' if close else ""


def pydantic_problems(
    exc: ValidationError, data: Any, source: str, model: type[BaseModel]
) -> list[Problem]:
    """One Problem per pydantic error, with a readable field path and a plain message."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        problems.append(Problem(source, readable_path(loc, data), _message(err, model)))
    return problems


# Values quoted in messages are cut short: YAML anchors let a few hundred bytes stand for a
# value of billions of items ("billion laughs"), which a plain repr would spell out in full.
_MAX_ITEMS = 4
_MAX_TEXT = 60


def _show(value: Any, depth: int = 0) -> str:
    """A value as the analyst would write it in YAML ("text", [a, b], {key: value}), cut to
    a glance."""
    if isinstance(value, str):
        text = value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 3] + "..."
        return '"' + text.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple, dict)):
        if depth >= 2:
            return "[...]" if not isinstance(value, dict) else "{...}"
        items = list(value.items()) if isinstance(value, dict) else list(value)
        shown = [
            f"{_show(k, depth + 1)}: {_show(v, depth + 1)}"
            if isinstance(value, dict)
            else _show(k, depth + 1)
            for k, v in (
                items[:_MAX_ITEMS]
                if isinstance(value, dict)
                else [(i, None) for i in items[:_MAX_ITEMS]]
            )
        ]
        if len(items) > _MAX_ITEMS:
            shown.append("...")
        body = ", ".join(shown)
        return "{" + body + "}" if isinstance(value, dict) else "[" + body + "]"
    text = str(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _kind(value: Any) -> str:
    """ "a list: [20]", "the text "20"", "the number 20"."""
    if isinstance(value, (list, tuple)):
        return f"a list: {_show(value)}"
    if isinstance(value, dict):
        return f"a block: {_show(value)}"
    if isinstance(value, str):
        return f"the text {_show(value)}"
    if isinstance(value, bool):
        return _show(value)
    if isinstance(value, (int, float)):
        return f"the number {_show(value)}"
    return _show(value)


# ---------------------------------------------------------------------------- unknown fields

# Words of a field name, for matching an unknown field with the field the analyst meant. Words
# that say how much or how often (per, day, max) are "generic": a name made only of them must
# be matched whole; a name with other words must share one of those. Payers' synonyms are
# folded into one word (a benefit maximum is the plan's payment limit).
_FILLER = frozenset(["a", "an", "the", "of", "at", "to", "is", "in", "for"])
_GENERIC = frozenset(["per", "visit", "day", "max", "min", "out", "from"])
_SYNONYMS = {
    "maximum": "max",
    "limit": "max",
    "limits": "max",
    "cap": "max",
    "most": "max",
    "benefit": "payment",
    "pays": "payment",
    "paid": "payment",
    "pay": "payment",
    "visits": "visit",
    "days": "day",
    "tiers": "tier",
    "oop": "pocket",
}


def _words(text: str) -> set[str]:
    words = (w for w in re.split(r"[^a-z0-9]+", text.lower()) if w and w not in _FILLER)
    return {_SYNONYMS.get(w, w) for w in words}


def _near(word: str, words: set[str]) -> bool:
    return word in words or any(
        difflib.SequenceMatcher(None, word, w).ratio() >= 0.8 for w in words
    )


@dataclass(frozen=True)
class _Place:
    """Where a field is written: the block path, its name, and the words it answers to (its
    own, and the words of the values it takes, e.g. copay_applies: after_deductible)."""

    at: tuple[str, ...]
    name: str
    words: frozenset[str]

    def context(self) -> set[str]:
        return _words(self.at[-1]) if self.at else set()


def _literal_words(annotation: Any) -> set[str]:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return set().union(*(_words(str(v)) for v in typing.get_args(annotation)))
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return set().union(*(_literal_words(a) for a in typing.get_args(annotation)))
    return set()


def _field_places(model: type[BaseModel], at: tuple[str, ...] = (), depth: int = 0) -> list[_Place]:
    """Every field of a model tree."""
    out: list[_Place] = []
    for name, info in model.model_fields.items():
        words = _words(name) | _literal_words(info.annotation)
        out.append(_Place(at, name, frozenset(words)))
        inner = unwrap(info.annotation)
        while typing.get_origin(inner) in (list, dict):
            args = typing.get_args(inner)
            inner = unwrap(args[-1]) if args else None
        if depth < 4 and isinstance(inner, type) and issubclass(inner, BaseModel):
            out.extend(_field_places(inner, (*at, name), depth + 1))
    return out


def _where(place: _Place) -> tuple[str, str]:
    """(the field's path as the analyst writes it, the block it is written in)."""
    at = place.at
    if at[:1] == ("plans",):
        rest = at[1:]
        if rest[:1] in (("in_network",), ("out_of_network",)):
            return ".".join((*rest[1:], place.name)), "in_network / out_of_network"
        return ".".join((*rest, place.name)), "the plan"
    return ".".join((*at, place.name)), ".".join(at) if at else "the top of the file"


def suggest_field(
    name: str, here: list[str], block: tuple[str, ...], model: type[BaseModel]
) -> str:
    """' Did you mean "x"?' for an unknown field: the field of the same concept that shares
    the most words with it (a typo of a field here, or a field written elsewhere)."""
    said = _words(name)
    subject = said - _GENERIC
    best: tuple[tuple[int, bool, int, float], _Place] | None = None
    for place in _field_places(model):
        known = set(place.words) | place.context()
        matched = {w for w in said if _near(w, known)}
        if subject and not matched & subject:
            continue  # shares only words of how much: another concept
        if 2 * len(matched) < len(said) or (not subject and matched != said):
            continue
        extra = {w for w in _words(place.name) if not _near(w, said)}
        local = place.at == block and place.name in here
        score = (len(matched), local, -len(extra), _ratio(name, place.name))
        if best is None or score > best[0]:
            best = (score, place)
    if best is None:
        return ""
    place = best[1]
    if place.at == block:
        return f' Did you mean "{place.name}"?'
    path, where = _where(place)
    if place.name == name:
        return f' "{name}" is written at {path} in {where}, not here.'
    return f' Did you mean "{path}"? It is written in {where}, not here.'


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _message(err: ErrorDetails, model: type[BaseModel]) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    loc = err["loc"]
    if kind == "missing":
        return "this field is required but missing"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        parent = _model_at(model, loc[:-1])
        allowed = list(parent.model_fields) if parent else []
        block = tuple(str(p) for p in loc[:-1] if isinstance(p, str) and not p.startswith("<"))
        hint = suggest_field(name, allowed, block, model)
        listed = f" Allowed here: {', '.join(allowed)}." if allowed else ""
        return f'unknown field "{name}".{hint}{listed}'
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error) if error is not None else err["msg"]
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        text = value if isinstance(value, str) else _show(value)
        hint = did_you_mean(text, options)
        return f'"{text}" is not allowed here; use one of: {", ".join(options)}.{hint}'
    if kind == "string_pattern_mismatch":
        words = _PATTERN_WORDS.get(str(ctx.get("pattern")), "has the wrong form")
        if str(loc[-1]) == "[key]":
            return (
                f'the key "{value}" {words}'
                if words.startswith("is")
                else (f'the key "{value}": {words}')
            )
        return f'"{value}" {words}' if words.startswith("is") else f'"{value}": {words}'
    if value is None and kind.endswith("_type"):
        return "has no value; give one or remove the line"
    if kind in ("string_type",):
        return f"must be text, not {_show(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, not {_show(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, not {_show(value)}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, not {_show(value)}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, not {_show(value)}"
    if kind.startswith("date_") or kind.startswith("datetime_"):
        return f"must be a date written like 2026-01-01, not {_show(value)}"
    if kind == "list_type":
        return f"must be a list, like [a, b], not {_kind(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a block of fields (key: value lines), not {_kind(value)}"
    if kind == "too_short":
        if isinstance(value, str):
            return "must not be empty"
        return f"must list at least {ctx.get('min_length', 1)} entry"
    if kind == "too_long":
        return f"is too long (at most {ctx.get('max_length')})"
    return err["msg"]


def read_text(path: Path) -> tuple[str | None, list[Problem]]:
    try:
        return path.read_text(encoding="utf-8"), []
    except FileNotFoundError:
        return None, [Problem(str(path), "(file)", "the file does not exist")]
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), "(file)", f"the file is not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return None, [Problem(str(path), "(file)", f"cannot read the file: {exc.strerror}")]
