"""The one "did you mean" matcher: every typo hint in the service and the CLI comes from here,
so they all find the same near names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's ratio; below it a name is not "near"


def close_matches(word: str, choices: Iterable[str], most: int = 1) -> list[str]:
    """Up to `most` of `choices` close to `word`, nearest first."""
    return difflib.get_close_matches(word, list(choices), n=most, cutoff=CUTOFF)


def did_you_mean(word: str, choices: Iterable[str], most: int = 1) -> str:
    """' (did you mean 'a' or 'b'?)' for a near miss, else ''."""
    close = close_matches(word, choices, most)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
