"""The one "did you mean" matcher: every typo hint in the service and the CLI comes from here,
so they all find the same near names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's ratio; below it a name is not "near"
SPREAD = 0.15  # a second suggestion must be about as near as the first


def close_matches(word: str, choices: Iterable[str], most: int = 1) -> list[str]:
    """Up to `most` of `choices` close to `word`, nearest first; names much farther than the
    nearest are left out (acme-helth suggests acme-health, not lakeside-health too)."""
    close = difflib.get_close_matches(word, list(choices), n=most, cutoff=CUTOFF)
    if len(close) < 2:
        return close
    best = difflib.SequenceMatcher(None, word, close[0]).ratio()
    return [c for c in close if difflib.SequenceMatcher(None, word, c).ratio() >= best - SPREAD]


def did_you_mean(word: str, choices: Iterable[str], most: int = 1) -> str:
    """' (did you mean 'a' or 'b'?)' for a near miss, else ''."""
    close = close_matches(word, choices, most)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
