"""X12 interchanges of a file, read segment by segment with their envelopes checked (pyx12).

A file may hold several interchanges (ISA..IEA), one segment per line or all on one line; each
interchange declares its own separators in its ISA header, so each is read on its own. What
makes a file unreadable (an ISA header that is not 106 characters, control numbers or counts
that disagree, a missing trailer, a component separator other than ISA16's) raises
`FileRejected` naming the problem; nothing else is decided here (no 835 mapping, no ORM).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from ingestion.parsers import FileRejected

ISA_LENGTH = 106
# pyx12 segment-level error codes that are tolerated: trailing element separators ("CLP*..*~")
# break no meaning and real payers send them.
_TOLERATED_SEGMENT_ERRORS = {"SEG1"}


class Segment:
    """One segment: its position in the file (ISA of the first interchange is 1) and elements.

    Elements are kept as sent; components are split on demand (SVC01 is the only composite the
    835 mapping reads), which keeps a 100,000-claim file cheap to read.
    """

    __slots__ = ("index", "seg_id", "elements", "interchange", "component_separator")

    def __init__(
        self, index: int, seg_id: str, elements: list[str], interchange: int, component: str
    ) -> None:
        self.index = index
        self.seg_id = seg_id
        self.elements = elements
        self.interchange = interchange
        self.component_separator = component

    def value(self, position: int) -> str:
        """Element `position` (1-based) as sent; empty when the element is absent."""
        try:
            return self.elements[position - 1] if position > 0 else ""
        except IndexError:
            return ""

    def components(self, position: int) -> tuple[str, ...]:
        """The components of element `position` (1-based); empty when the element is absent."""
        if position > len(self.elements):
            return ()
        return tuple(c.strip() for c in self.elements[position - 1].split(self.component_separator))


def split_interchanges(text: str) -> list[str]:
    """The file's interchanges, each from its ISA to the end of its IEA segment."""
    out: list[str] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        if text[pos : pos + 3] != "ISA":
            if not out:
                raise FileRejected("not an X12 file: it must start with an ISA segment")
            raise FileRejected(
                f"after interchange {len(out)} (ended by its IEA segment) the file goes on with "
                f"text starting '{text[pos : pos + 3]}' where another ISA segment or the end of "
                "the file was expected; an IEA is misplaced, or two files were joined badly"
            )
        header = text[pos : pos + ISA_LENGTH]
        _check_header(header, len(out) + 1)
        terminator, separator = header[-1], header[3]
        trailer = re.compile(re.escape(terminator) + r"\s*IEA" + re.escape(separator))
        found = trailer.search(text, pos + ISA_LENGTH - 1)
        end = text.find(terminator, found.end()) if found else -1
        if end == -1:  # no IEA: pyx12 names the missing trailer
            out.append(text[pos:])
            return out
        out.append(text[pos : end + 1])
        pos = end + 1


def _check_header(header: str, number: int) -> None:
    where = f"interchange {number}: " if number > 1 else ""
    if len(header) < ISA_LENGTH:
        raise FileRejected(
            f"not a readable X12 file: {where}ISA line is only {len(header)} characters; the ISA "
            f"header is exactly {ISA_LENGTH} (fixed-width fields): the file is truncated or the "
            "header was edited"
        )
    separator, terminator, component = header[3], header[-1], header[-2]
    if len({separator, terminator, component}) != 3 or component.isalnum():
        raise FileRejected(
            f"{where}ISA16 declares '{component}' as the component separator, which is a letter, "
            "a digit, or the same character as the element separator or the segment terminator"
        )
    fields = header[:-1].split(separator)
    if len(fields) != 17:
        raise FileRejected(
            f"{where}the ISA header splits into {len(fields) - 1} elements with its element "
            f"separator '{separator}' where 16 fixed-width elements are expected: a field was "
            "shortened or lengthened"
        )


def _check_terminator(text: str, terminator: str, number: int) -> None:
    """The terminator the ISA header declares must end the segments that follow."""
    rest = text[ISA_LENGTH:].strip()
    if rest and terminator not in rest:
        raise FileRejected(
            f"interchange {number}: the ISA header declares {terminator!r} as the segment "
            f"terminator (its last character), but no segment after it ends with "
            f"{terminator!r}; the file's segment terminators were changed or the ISA header is "
            "wrong"
        )


def _envelope_problems(errors: list) -> list[str]:
    return [
        str(err[2])
        for err in errors
        if not (err[0] == "seg" and err[1] in _TOLERATED_SEGMENT_ERRORS)
    ]


_ENVELOPE_IDS = ("ISA", "IEA", "GS", "GE", "ST", "SE")


def _envelope_only(chunk: str) -> str:
    """The interchange with every segment but ISA/IEA/GS/GE/ST/SE cut to its identifier.

    pyx12's envelope checks (control numbers, counts, trailers, segment identifiers) read the
    same segments in the same order, without building every element of a 100,000-claim file.
    """
    terminator, separator = chunk[ISA_LENGTH - 1], chunk[3]
    out = io.StringIO()
    start = 0
    while True:
        end = chunk.find(terminator, start)
        raw = chunk[start : len(chunk) if end == -1 else end]
        cut = raw.find(separator)
        seg_id = (raw if cut == -1 else raw[:cut]).lstrip("\r\n")
        # one placeholder element keeps the segment non-empty, as it was
        out.write(raw if seg_id in _ENVELOPE_IDS or cut == -1 else raw[: cut + 1] + "X")
        if end == -1:
            return out.getvalue()
        out.write(terminator)
        start = end + 1


def _check_envelope(chunk: str, number: int) -> None:
    """pyx12 reads the whole interchange: control numbers, counts and trailers must agree."""
    import pyx12.errors
    import pyx12.x12file

    try:
        reader = pyx12.x12file.X12Reader(io.StringIO(_envelope_only(chunk)))
        for _ in reader:
            pass
        reader.cleanup()  # checks the trailers (IEA, GE, SE) and their counts
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, ValueError, IndexError) as exc:
        raise FileRejected(f"not a readable X12 file: {exc} (interchange {number})") from None
    problems = _envelope_problems(reader.err_list)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise FileRejected(
            f"interchange {number}: the X12 envelope is broken: "
            f"{'; '.join(problems[:3])}{more}; the file may be truncated or edited: ask the "
            "sender for the complete file (ISA..IEA, GS..GE and ST..SE with their counts and "
            "control numbers)"
        )


def read_segments(text: str) -> Iterator[Segment]:
    """Every segment of every interchange, in file order; envelope errors raise FileRejected.

    An interchange's envelope is checked whole before any of its segments is given out, so an
    envelope error is named first, whatever the segments inside say.
    """
    # The same interchange twice in one file (same ISA13) is read twice on purpose: its claims
    # repeat loaded keys, so ingestion SKIPS them instead of refusing the whole file.
    index = 0
    for number, chunk in enumerate(split_interchanges(text), start=1):
        header = chunk[:ISA_LENGTH]
        separator, component, terminator = header[3], header[-2], header[-1]
        _check_terminator(chunk, terminator, number)
        _check_envelope(chunk, number)
        start = 0
        while True:  # segment by segment: a 100,000-claim file is never split into one list
            end = chunk.find(terminator, start)
            raw = chunk[start : len(chunk) if end == -1 else end].strip("\r\n ")
            if raw:
                index += 1
                elements = raw.split(separator)
                yield Segment(index, elements[0], elements[1:], number, component)
            if end == -1:
                break
            start = end + 1
