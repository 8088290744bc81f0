"""X12 interchanges as segments: the delimiters come from the ISA, nothing is assumed.

An element keeps its repetitions (ISA11, e.g. EB03 written `30^BE`) and each repetition its
components (ISA16, e.g. EB13 `HC:97124`), because pyx12, the validator the tests use, reads
neither and a payer may use both. Errors name the segment's position and id, never a value
that may be protected health information (names, member ids, dates of birth).
"""

from __future__ import annotations

from dataclasses import dataclass

ISA_LENGTH = 106  # the ISA is fixed width: 105 characters and its terminator
MAX_INTERCHANGE_BYTES = 1_000_000  # far above a real 271 (a few kilobytes to ~100 KB)


class X12Error(ValueError):
    """The text is not a well-formed interchange of the kind asked for; the message says
    where (segment position and id) and why, without echoing member data."""


@dataclass(frozen=True)
class Delimiters:
    element: str
    repetition: str
    component: str
    segment: str


@dataclass(frozen=True)
class Segment:
    """One segment: `elements[0]` is the first data element (EB01), each element a tuple of
    repetitions, each repetition a tuple of components. `position` counts from 1 in the
    interchange (the ISA is 1)."""

    tag: str
    elements: tuple[tuple[tuple[str, ...], ...], ...]
    position: int

    def value(self, index: int) -> str:
        """Element `index` (1-based, as in EB03), first repetition and component; '' when
        absent."""
        if index < 1 or index > len(self.elements):
            return ""
        element = self.elements[index - 1]
        return element[0][0] if element and element[0] else ""

    def repeats(self, index: int) -> tuple[str, ...]:
        """Every repetition of element `index` (first component of each), empties dropped."""
        if index < 1 or index > len(self.elements):
            return ()
        return tuple(rep[0] for rep in self.elements[index - 1] if rep and rep[0])

    def components(self, index: int) -> tuple[str, ...]:
        """The components of the first repetition of element `index`."""
        if index < 1 or index > len(self.elements):
            return ()
        element = self.elements[index - 1]
        return element[0] if element else ()

    def where(self) -> str:
        return f"segment {self.position} ({self.tag})"


def decode(data: bytes) -> str:
    """X12 text from a file's bytes: ASCII or UTF-8, within the size limit."""
    if len(data) > MAX_INTERCHANGE_BYTES:
        raise X12Error(
            f"the file is {len(data):,} bytes; an eligibility response is at most "
            f"{MAX_INTERCHANGE_BYTES:,}"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise X12Error("the file is not text (X12 is ASCII)") from None


def split(text: str) -> tuple[Delimiters, tuple[Segment, ...]]:
    """The interchange's delimiters and segments, or X12Error."""
    body = text.lstrip()
    if not body.startswith("ISA"):
        raise X12Error("not an X12 interchange: it does not start with an ISA segment")
    if len(body) < ISA_LENGTH:
        raise X12Error("the ISA segment is cut short (it is 106 characters long)")
    element = body[3]
    delimiters = Delimiters(
        element=element, repetition=body[82], component=body[104], segment=body[105]
    )
    chosen = (delimiters.element, delimiters.repetition, delimiters.component, delimiters.segment)
    if body[:ISA_LENGTH].count(element) != 16 or len(set(chosen)) != 4:
        raise X12Error(
            "the ISA segment is not 106 characters with 16 element separators; its "
            "delimiters cannot be read"
        )
    if any(ch.isalnum() or ch == " " for ch in chosen):
        raise X12Error("the ISA segment names a letter, digit or space as a delimiter")
    segments: list[Segment] = []
    for position, raw in enumerate(body.split(delimiters.segment), start=1):
        raw = raw.strip("\r\n")
        if not raw.strip():
            continue
        parts = raw.split(element)
        tag = parts[0].strip()
        if not tag.isalnum() or not 2 <= len(tag) <= 3:
            raise X12Error(f"segment {position} has no segment id (got {len(tag)} characters)")
        elements: tuple[tuple[tuple[str, ...], ...], ...]
        if tag == "ISA":
            # ISA elements are fixed width and ISA11 *is* the repetition separator itself.
            elements = tuple(((value,),) for value in parts[1:])
        else:
            elements = tuple(
                tuple(
                    tuple(rep.split(delimiters.component))
                    for rep in value.split(delimiters.repetition)
                )
                for value in parts[1:]
            )
        segments.append(Segment(tag, elements, position))
    return delimiters, tuple(segments)
