"""Two processes for one big CSV file or worksheet: the second part is validated in a fork meanwhile.

Bulk validation (:mod:`migrate.bulk`) leaves CPython's own speed as the limit, on one core. For a
big file, ``validate`` forks once: the child reads the file from a record boundary about halfway
(a line start with an even number of double quotes before it, its line number counted from the
bytes before it) and sends back what it found: counts, problems in order, and what the cross-row
checks learnt. The parent checks the rows up to that line meanwhile, makes sure its own reading
has a record starting exactly there, then takes the child's part as if it had read it itself.

A worksheet is split the same way once calamine has loaded it: the child is a copy of the parent
with the sheet in memory and its reader in the same place, so it goes on reading that copy from a
row about halfway (rows are numbered exactly there, no boundary to find) to the end of the workbook.

The child knows the inputs read before the split (it is a copy of the parent at the fork), not
the parent's own part of the file. Every fact that depends on order is either kept as "the row
with the lowest place" (so adding the parts in any order gives the same result) or checked at the
join: an address the child indexed that the parent's part also has (a duplicate across the split)
makes the parent drop the child's work and read the second part itself, row by row as ever. Any
failure of the child does the same. The report never depends on whether the fork was used.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import dataclasses
import functools
import gc
import mmap
import os
import pickle
import select
import signal
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from migrate.crosscheck import CheckDelta, CrossCheck
from migrate.forking import can_fork
from migrate.readers.csv_reader import CsvPart, CsvState
from migrate.readers.xlsx_reader import SheetState
from migrate.records import ErrorFields, Problem, RowBlock, TableRow, render_error
from migrate.tally import KindSummary, Merged, Tally, new_summary

__all__ = [
    "MIN_SPLIT_BYTES",
    "MIN_SPLIT_ROWS",
    "SheetPart",
    "Split",
    "sheet_of",
    "start_sheet_split",
    "start_split",
    "tail_from",
]

#: Files smaller than this are read by one process: the fork and the join would cost more.
MIN_SPLIT_BYTES = 16 * 1024 * 1024
#: The same for the rows left in a worksheet (calamine's loading is not shared, only what follows).
MIN_SPLIT_ROWS = 20_000

# The parent's share of the file's bytes. The child's rows cost a little more (copy-on-write
# faults, then rendering and pickling its result) than the parent's printing does; measured runs
# put the balance near 0.52, within this machine's run-to-run noise.
_PARENT_SHARE = 0.52

# A sheet's rows after the parent's first block are as cheap for either process; the parent also
# prints its problems and joins, and the child pickles its result: about even.
_SHEET_PARENT_SHARE = 0.5

Item = TableRow | RowBlock
Outputs = Iterator[Any]
Sink = Callable[[Problem], None]
Stream = Callable[[CsvPart, Callable[[Problem], None]], Iterable[tuple[Item, Outputs]]]


@dataclass(frozen=True, slots=True)
class Finding:
    """A CSV part whose start the child is still looking for.

    Attributes:
        target: The byte the part starts at or after.
        consumed: How many bytes of the file the parent's reader has taken so far.
        part: The part, but for its offset and line (which the child announces).
    """

    target: int
    consumed: Callable[[], int]
    part: CsvPart


# What the child announces first: the part's offset and line, or -1 and -1 for no part.
_ANNOUNCE = struct.Struct("<qq")


@dataclass(frozen=True, slots=True)
class SheetPart:
    """Where a worksheet's second part starts: its sheet and the number of its first row."""

    sheet: str
    line: int


SheetStream = Callable[[SheetPart, Callable[[Problem], None]], Iterable[tuple[Item, Outputs]]]


class Split:
    """A forked child validating the rows of one file from ``part`` on.

    Args:
        pid: The child's process id.
        channel: The read end of the pipe the child writes its result to.
        part: Where the child's part starts; None while the child looks for a CSV boundary.
        check: The parent's cross-row checks, to merge the child's facts into.
        finding: For a CSV part the child still looks for (see :class:`Finding`).
    """

    def __init__(
        self,
        pid: int,
        channel: int,
        part: CsvPart | SheetPart | None,
        check: CrossCheck,
        finding: Finding | None = None,
    ) -> None:
        self.pid = pid
        self.channel = channel
        self.part = part
        self.check = check
        # A sheet's rows are numbered exactly: no record of the parent's reading can straddle the line.
        self.exact = isinstance(part, SheetPart)
        self.aligned = False
        self._finding = finding
        self._alone = False  # the child found no boundary: the parent reads the whole file
        self._done = False
        self._started = time.monotonic()

    def cut(self, item: Item) -> tuple[Item | None, Item | None]:
        """Split an item of the parent's reading at the child's first line: (parent's, child's).

        When the child's part starts here, :attr:`aligned` says whether a record of the parent's
        reading starts exactly on the child's first line (it does unless the file's quoting is
        broken before it): only then are the two readings the same.
        """
        if self.part is None:
            finding = self._finding
            assert finding is not None
            if self._alone or finding.consumed() <= finding.target:
                # Every record read so far ends before the byte the boundary is at or after.
                return item, None
            self.part = self._announced(finding)
            if self.part is None:
                self._alone = True
                return item, None
        first = self.part.line
        if isinstance(self.part, SheetPart) and sheet_of(item) != self.part.sheet:
            # A later sheet (the split's sheet has nothing left from its line on): the child's.
            self.aligned = True
            return None, item
        if type(item) is not RowBlock:
            assert isinstance(item, TableRow)
            if item.prov.line < first:
                return item, None
            self.aligned = self.exact or item.prov.line == first
            return None, item
        lines = item.lines
        if lines[-1] < first:
            return item, None
        at = bisect.bisect_left(lines, first)
        self.aligned = self.exact or (at < len(lines) and lines[at] == first)
        return (_rows(item, 0, at) if at else None), _rows(item, at, len(lines))

    def _announced(self, finding: Finding) -> CsvPart | None:
        """The part the child found (it says so first thing), or None if it found none."""
        data = _read_exact(self.channel, _ANNOUNCE.size, _deadline(self._started))
        if data is None:
            self.cancel()
            return None
        offset, line = _ANNOUNCE.unpack(data)
        if offset < 0:
            self.cancel()  # it has ended, or is about to
            return None
        return dataclasses.replace(finding.part, offset=offset, line=line)

    def join(self) -> Merged | None:
        """Wait for the child; merge its facts and return its counts and problems.

        Returns ``None`` when its part must be read again here: the child failed, or its part
        repeats an address of the parent's part (the per-row path reports that in order).
        """
        channel, self.channel = self.channel, -1  # _read_until closes it
        payload = _read_until(channel, _deadline(self._started))
        if payload is None:
            self.cancel()
            return None
        self._reap()
        try:
            status, summary, problems, delta = pickle.loads(payload)
        except Exception:  # a child that died mid-write: its part is read here instead
            return None
        if status != "ok" or not self.check.merge(delta):
            return None
        if type(problems) is tuple:  # rendered: (text, errors, warnings)
            text, errors, warnings = problems
            return Merged(summary, text=text, errors=errors, warnings=warnings)
        return Merged(summary, [Problem.from_fields(one) for one in problems])

    def cancel(self) -> None:
        """Stop the child (the parent reads its part itself, or gave up on the file)."""
        if not self._done:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            if self.channel >= 0:
                with contextlib.suppress(OSError):
                    os.close(self.channel)
                self.channel = -1
            self._reap()

    def _reap(self) -> None:
        if not self._done:
            self._done = True
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)


def sheet_of(item: Item) -> str | None:
    """The sheet an item of a reading comes from (None for a CSV file)."""
    return item.sheet if type(item) is RowBlock else item.prov.sheet  # type: ignore[union-attr]


def tail_from(item: Item, line: int) -> Item | None:
    """The rows of ``item`` from ``line`` on (all of it, part of a block, or None)."""
    if type(item) is not RowBlock:
        assert isinstance(item, TableRow)
        return item if item.prov.line >= line else None
    lines = item.lines
    if lines[-1] < line:
        return None
    at = bisect.bisect_left(lines, line)
    return item if at == 0 else _rows(item, at, len(lines))


def _deadline(started: float) -> float:
    """How long the parent waits for a child that should finish about when it did itself."""
    now = time.monotonic()
    return now + max(60.0, 2 * (now - started))


def _read_exact(channel: int, size: int, deadline: float) -> bytes | None:
    """Exactly ``size`` bytes from ``channel``; None if it closes first or past ``deadline``."""
    data = b""
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([channel], [], [], left)[0]:
            return None
        chunk = os.read(channel, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_until(channel: int, deadline: float) -> bytes | None:
    """Everything the child writes to ``channel`` until it closes it; None past ``deadline``."""
    chunks: list[bytes] = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([channel], [], [], left)[0]:
                return None  # a child that hangs: its part is read here instead
            chunk = os.read(channel, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        with contextlib.suppress(OSError):
            os.close(channel)


def _rows(block: RowBlock, start: int, stop: int) -> RowBlock:
    """Rows ``start`` to ``stop`` of a block, as a block."""
    columns = None if block.columns is None else [column[start:stop] for column in block.columns]
    return RowBlock(
        block.source,
        block.sheet,
        block.fmt,
        block.kind,
        block.headers,
        block.rows[start:stop],
        block.lines[start:stop],
        block.typed,
        columns,
    )


def start_split(
    path: str,
    first: RowBlock,
    state: CsvState,
    check: CrossCheck,
    stream: Stream,
    owned: Callable[[], bool],
    *,
    rendered: bool = False,
) -> Split | None:
    """Fork a child to validate the second part of ``path``, if the file is big enough.

    Args:
        path: The CSV file.
        first: Its first block of rows (read by the parent, not yet checked).
        state: How the parent's reader reads the file (encoding, delimiter, headers).
        check: The cross-row checks (the child starts from a copy).
        stream: Given where a part starts and a problem sink, reads the part and yields each
            item with the outputs its check gives.
        owned: Called in the child after its part: False when its mapper reported something
            (a note the parent's part could report too), which makes the parent read on itself.
        rendered: Send the child's problems as rendered text (see :class:`Merged`).

    Returns:
        The running split, or ``None`` when the file is read by one process.
    """
    if not can_fork():
        return None
    size = os.path.getsize(path)
    codec = codecs.lookup(state.codec or "utf-8").name
    if size < MIN_SPLIT_BYTES or codec not in _ONE_BYTE_BREAKS or len(state.delimiter) != 1:
        return None
    watch = state.watch
    if watch is None:
        return None
    target = int(size * _PARENT_SHARE)
    codec = "utf-8" if codec == "utf-8-sig" else codec
    # The child finds the boundary (counting quotes and lines up to it takes a tenth of a second)
    # while the parent reads on: the records it reads before byte ``target`` are all its own.
    finding = Finding(target, lambda: watch.consumed, CsvPart(0, 0, codec, state.delimiter, state.headers, state.width))
    first_line = first.lines[0]

    def find() -> CsvPart | None:
        found = _boundary(path, target, first_line)
        return None if found is None else dataclasses.replace(finding.part, offset=found[0], line=found[1])

    # Places of this file are numbered before the fork, so both processes number them alike.
    check.place_base(first.source, first.sheet, first.fmt)
    return _fork(stream, None, check, owned, rendered, find=find, finding=finding)


def start_sheet_split(
    first: RowBlock,
    state: SheetState,
    check: CrossCheck,
    stream: SheetStream,
    owned: Callable[[], bool],
    *,
    rendered: bool = False,
) -> Split | None:
    """Fork a child to validate the second part of the worksheet ``first`` starts, if it is big.

    Args:
        first: The sheet's first block of rows (read by the parent, not yet checked).
        state: The reader's place: the sheet and its last row.
        check: The cross-row checks (the child starts from a copy).
        stream: Given where the part starts and a problem sink, goes on with the parent's own
            reading (the child's copy of it) from that line and yields each item with its outputs.
        owned: As for :func:`start_split`.
        rendered: Send the child's problems as rendered text (see :class:`Merged`).

    Returns:
        The running split, or ``None`` when the sheet is read by one process.
    """
    if not can_fork():
        return None
    start = first.lines[0]
    left = state.last_line - start
    if first.sheet is None or state.sheet != first.sheet or left < MIN_SPLIT_ROWS:
        return None
    part = SheetPart(first.sheet, start + int(left * _SHEET_PARENT_SHARE))
    check.place_base(first.source, first.sheet, first.fmt)
    return _fork(functools.partial(stream, part), part, check, owned, rendered)


def _fork(
    stream: Callable[..., Iterable[tuple[Item, Outputs]]],
    part: CsvPart | SheetPart | None,
    check: CrossCheck,
    owned: Callable[[], bool],
    rendered: bool,
    *,
    find: Callable[[], CsvPart | None] | None = None,
    finding: Finding | None = None,
) -> Split:
    """Start the child that checks what ``stream`` reads; the parent gets its :class:`Split`.

    With ``find``, the child first looks for its part and announces it; ``stream`` then takes
    the part as its first argument.
    """
    read_end, write_end = os.pipe()
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl  # (Linux: a bigger pipe, so the result crosses in a few dozen writes, not hundreds)

        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 1 << 20)
    gc.freeze()  # the child's collections then leave the shared pages alone
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which leaves through os._exit
        os.close(read_end)
        _child(write_end, check, stream, owned, rendered, find)
    gc.unfreeze()
    os.close(write_end)
    return Split(pid, read_end, part, check, finding)


# Encodings in which a line break and a double quote are one byte that means nothing else.
_ONE_BYTE_BREAKS = {"utf-8", "utf-8-sig", "cp1252", "latin-1", "iso8859-1", "iso8859-15", "ascii"}


def _boundary(path: str, target: int, first_line: int) -> tuple[int, int] | None:
    """A record boundary at or after byte ``target``: (offset, line), or None if there is none.

    A line start is a record boundary when an even number of double quotes comes before it
    (no quoted value is open). Lines are counted as the reader counts them: LF, CRLF or CR.
    """
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        at = data.find(b"\n", target)
        if at < 0:
            return None
        # Counted once over the bytes before the first candidate, then line by line after it (a
        # line ends with its LF, so a CRLF never straddles two counts).
        head = data[: at + 1]
        quotes = head.count(b'"')
        breaks = head.count(b"\n")
        returns = head.count(b"\r")
        if returns:  # a lone CR ends a line too (a CRLF is one break); most files have none
            breaks += returns - head.count(b"\r\n")
        del head
        for _ in range(64):  # a handful of lines on, if a quoted value spans the first one
            if at + 1 >= len(data):
                return None
            if quotes % 2 == 0:
                line = breaks + 1
                return (at + 1, line) if line > first_line else None
            following = data.find(b"\n", at + 1)
            if following < 0:
                return None
            segment = data[at + 1 : following + 1]
            quotes += segment.count(b'"')
            breaks += segment.count(b"\n") + segment.count(b"\r") - segment.count(b"\r\n")
            at = following
    return None


def _rendered(found: list[Problem | list[ErrorFields]]) -> tuple[str, int, int]:
    """The problems as the text :meth:`Problem.render` gives, a line each, and the counts."""
    parts: list[str] = []
    errors = warnings = 0
    for one in found:
        if type(one) is list:
            parts += [render_error(fields) + "\n" for fields in one]
            errors += len(one)
        else:
            assert isinstance(one, Problem)
            parts.append(one.render() + "\n")
            if one.is_error:
                errors += 1
            else:
                warnings += 1
    return "".join(parts), errors, warnings


def _fields(found: list[Problem | list[ErrorFields]]) -> list[tuple[Any, ...]]:
    """The problems as :meth:`Problem.fields` gives them."""
    fields: list[tuple[Any, ...]] = []
    for one in found:
        if type(one) is list:
            fields += [(*error, True) for error in one]
        else:
            assert isinstance(one, Problem)
            fields.append(one.fields())
    return fields


def _child(
    channel: int,
    check: CrossCheck,
    stream: Callable[..., Iterable[tuple[Item, Outputs]]],
    owned: Callable[[], bool],
    rendered: bool,
    find: Callable[[], CsvPart | None] | None,
) -> None:  # pragma: no cover
    """Validate the part ``stream`` reads and write the result to ``channel``; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent reports, the child just ends
        if find is not None:
            part = find()
            os.write(channel, _ANNOUNCE.pack(-1, -1) if part is None else _ANNOUNCE.pack(part.offset, part.line))
            if part is None:
                code = 0
                return
            stream = functools.partial(stream, part)
        mark = check.mark()
        # In order: problems, and runs of errors of rows settled in bulk (as plain fields).
        found: list[Problem | list[ErrorFields]] = []
        summary = new_summary()
        take = Tally(summary, check, found.append, emit_errors=found.append).take
        for _item, outputs in stream(found.append):
            for output in outputs:
                take(output)
        # Problems travel as text or plain tuples: cheaper to pickle than the frozen dataclasses.
        result: tuple[str, dict[str, KindSummary] | None, object, CheckDelta | None]
        if owned():
            result = ("ok", summary, _rendered(found) if rendered else _fields(found), check.since(mark))
        else:
            result = ("notes", None, None, None)
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(channel, "wb") as pipe:
            pipe.write(data)
        code = 0
    except BaseException:
        pass
    finally:
        os._exit(code)
