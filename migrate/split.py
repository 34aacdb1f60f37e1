"""Two processes for one big CSV file: the second part is validated in a fork meanwhile.

Bulk validation (:mod:`migrate.bulk`) leaves CPython's own speed as the limit, on one core. For a
big file, ``validate`` forks once: the child reads the whole file with the same reader (so rows,
lines and reader notes are exactly the parent's), checks only the rows past a split line, and
sends back what it found: counts, problems in order, and what the cross-row checks learnt. The
parent checks the rows up to the split line meanwhile, then takes the child's part as if it had
read it itself.

The child knows the inputs read before the split (it is a copy of the parent at the fork), not
the parent's own part of the file. Every fact that depends on order is either kept as "the row
with the lowest place" (so adding the parts in any order gives the same result) or checked at the
join: an address the child indexed that the parent's part also has (a duplicate across the split)
makes the parent drop the child's work and read the second part itself, row by row as ever. Any
failure of the child does the same. The report never depends on whether the fork was used.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from migrate.crosscheck import CheckDelta, CrossCheck
from migrate.records import Problem, RowBlock, TableRow
from migrate.tally import Merged, Tally, new_summary

__all__ = ["MIN_SPLIT_BYTES", "Split", "start_split"]

#: Files smaller than this are read by one process: the fork and the join would cost more.
MIN_SPLIT_BYTES = 16 * 1024 * 1024

# The parent's share of the file. The child reads the parent's part too (without checking it)
# and the parent prints every problem; measured on bench/bench_csv.py, a bit over half balances.
_PARENT_SHARE = 0.54

Item = TableRow | RowBlock
Outputs = Iterator[Any]
Stream = Callable[[Callable[[Problem], None]], Iterable[tuple[Item, Outputs]]]


def _line(item: Item) -> int:
    return item.lines[0] if type(item) is RowBlock else item.prov.line  # type: ignore[union-attr]


class Split:
    """A forked child validating the rows of one file past ``line``.

    Args:
        pid: The child's process id.
        channel: The read end of the pipe the child writes its result to.
        line: Rows starting after this line are the child's.
        check: The parent's cross-row checks, to merge the child's facts into.
    """

    def __init__(self, pid: int, channel: int, line: int, check: CrossCheck) -> None:
        self.pid = pid
        self.channel = channel
        self.line = line
        self.check = check
        self._done = False

    def owns(self, item: Item) -> bool:
        """True for the first item (and all after it) that the child checked."""
        return _line(item) > self.line

    def join(self) -> Merged | None:
        """Wait for the child; merge its facts and return its counts and problems.

        Returns ``None`` when its part must be read again here: the child failed, or its part
        repeats an address of the parent's part (the per-row path reports that in order).
        """
        try:
            with os.fdopen(self.channel, "rb") as pipe:
                payload = pipe.read()
        finally:
            self._reap()
        try:
            status, merged, delta = pickle.loads(payload)
        except Exception:  # a child that died mid-write: its part is read here instead
            return None
        if status != "ok" or not self.check.merge(delta):
            return None
        merged.problems = [Problem.from_fields(fields) for fields in merged.problems]
        return merged  # type: ignore[no-any-return]

    def cancel(self) -> None:
        """Stop the child (the parent gave up on the file)."""
        if not self._done:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.close(self.channel)
            self._reap()

    def _reap(self) -> None:
        if not self._done:
            self._done = True
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)


def start_split(
    path: str, first: RowBlock, check: CrossCheck, stream: Stream, owned: Callable[[], bool]
) -> Split | None:
    """Fork a child to validate the second part of ``path``, if the file is big enough.

    Args:
        path: The CSV file.
        first: Its first block of rows (read by the parent, not yet checked).
        check: The cross-row checks (the child starts from a copy).
        stream: Given a problem sink, reads the file anew and yields each item with the outputs
            its check gives (lazily: an item not iterated is not checked).
        owned: Called in the child after its part: False when its mapper reported something
            (a note the parent's part could report too), which makes the parent read on itself.

    Returns:
        The running split, or ``None`` when the file is read by one process.
    """
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return None
    size = os.path.getsize(path)
    if size < MIN_SPLIT_BYTES:
        return None
    line = first.lines[0] + int(_estimated_lines(path, size) * _PARENT_SHARE)
    # Places of this file are numbered before the fork, so both processes number them alike.
    check.place_base(first.source, first.sheet, first.fmt)
    read_end, write_end = os.pipe()
    gc.freeze()  # the child's collections then leave the shared pages alone
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which leaves through os._exit
        os.close(read_end)
        _child(write_end, line, check, stream, owned)
    gc.unfreeze()
    os.close(write_end)
    return Split(pid, read_end, line, check)


def _estimated_lines(path: str, size: int) -> int:
    """How many lines the file has, from the line length of its first megabyte."""
    with open(path, "rb") as handle:
        sample = handle.read(1024 * 1024)
    return max(1, int(size * (sample.count(b"\n") or 1) / max(1, len(sample))))


def _child(
    channel: int, line: int, check: CrossCheck, stream: Stream, owned: Callable[[], bool]
) -> None:  # pragma: no cover
    """Validate the rows past ``line`` and write the result to ``channel``; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent reports, the child just ends
        mark = check.mark()
        problems: list[Problem] = []
        active = False

        def sink(problem: Problem) -> None:
            if active:
                problems.append(problem)

        summary = new_summary()
        take = Tally(summary, check, problems.append).take
        for item, outputs in stream(sink):
            if not active:
                if _line(item) <= line:
                    continue  # the parent's part: read, not checked
                active = True
            for output in outputs:
                take(output)
        result: tuple[str, Merged | None, CheckDelta | None]
        if owned():
            merged = Merged(summary, [p.fields() for p in problems])  # type: ignore[misc]
            result = ("ok", merged, check.since(mark))
        else:
            result = ("notes", None, None)
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(channel, "wb") as pipe:
            pipe.write(data)
        code = 0
    except BaseException:  # whatever went wrong, the parent reads the part itself
        import traceback

        with open("/tmp/child_err.txt", "w") as f:
            traceback.print_exc(file=f)
    finally:
        os._exit(code)
