"""Two processes parse one big LDIF file: the second half is parsed in a fork meanwhile.

The ``ldif`` package's parser is pure Python and sets the pace of reading a dump. For a big file
the reader forks once: the child parses the file from an entry boundary about halfway with its
own ``LDIFParser`` and writes the parsed entries, pickled in batches, to a temporary file; the
parent parses the first half meanwhile, then takes the child's entries in order and maps them
itself, exactly as if its own parser had produced them. Entries are independent between blank
lines, so a parser started at an entry boundary reads the rest of the file exactly as one that
started at the top: same entries, same order.

Anything unexpected (the child fails, its parser refuses a line, its output is incomplete) and
the parent parses the second half itself, so errors are reported as they always were.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import signal
import struct
import tempfile
import time
from collections.abc import Iterator
from typing import IO, Any

import ldif

from migrate.forking import can_fork

__all__ = ["MIN_SPLIT_BYTES", "LdifSplit", "start_ldif_split"]

#: Files smaller than this are parsed by one process: the fork would cost more than it saves.
MIN_SPLIT_BYTES = 16 * 1024 * 1024

# The parent's share of the bytes: it also maps and checks every entry, and unpickles the
# child's, so it parses a bit less than half.
_PARENT_SHARE = 0.47
_BATCH = 1000
_TRAILER = struct.Struct("<8sQ")
_MAGIC = b"LDIFDONE"

Entry = tuple[str, dict[str, list[bytes]]]


class LdifSplit:
    """A forked child parsing ``path`` from byte ``offset`` to the end.

    Args:
        pid: The child's process id.
        spool: The temporary file the child writes its entries to.
        offset: Where the child's half starts (an entry boundary).
    """

    def __init__(self, pid: int, spool: IO[bytes], offset: int) -> None:
        self.pid = pid
        self.spool = spool
        self.offset = offset
        self._done = False
        self._started = time.monotonic()

    def entries(self) -> Iterator[Entry] | None:
        """Wait for the child and return its entries, or None when they cannot be trusted."""
        status = self._reap()
        spool = self.spool
        if status == 0:
            spool.seek(0, os.SEEK_END)
            if spool.tell() >= _TRAILER.size:
                spool.seek(-_TRAILER.size, os.SEEK_END)
                magic, count = _TRAILER.unpack(spool.read(_TRAILER.size))
                if magic == _MAGIC:
                    spool.seek(0)
                    return _batches(spool, count)
        spool.close()
        return None

    def cancel(self) -> None:
        """Stop the child and drop its output."""
        if not self._done:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        self.spool.close()

    def _reap(self) -> int:
        """Wait for the child's exit code; a child that hangs well past the parent's time is killed."""
        if self._done:
            return -1
        self._done = True
        now = time.monotonic()
        deadline = now + max(60.0, 2 * (now - self._started))
        try:
            while True:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    return os.waitstatus_to_exitcode(status)
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    return -1
                time.sleep(0.005)
        except (ChildProcessError, ProcessLookupError):
            return -1


def _batches(spool: IO[bytes], count: int) -> Iterator[Entry]:
    try:
        seen = 0
        while seen < count:
            batch: list[Entry] = pickle.load(spool)
            seen += len(batch)
            yield from batch
    finally:
        spool.close()


def start_ldif_split(path: str, data: bytes | mmap.mmap, start: int) -> LdifSplit | None:
    """Fork a child to parse the second half of ``path``, if the file is big enough.

    Args:
        path: The LDIF file.
        data: Its bytes (the reader's mapping).
        start: Where parsing starts (after a byte order mark).

    Returns:
        The running split, or None when one process parses the whole file.
    """
    size = len(data)
    if size < MIN_SPLIT_BYTES or not can_fork():
        return None
    offset = _boundary(data, max(start, int(size * _PARENT_SHARE)))
    if offset is None:
        return None
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the split, which closes it
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which leaves through os._exit
        _child(path, offset, spool)
    return LdifSplit(pid, spool, offset)


def _boundary(data: bytes | mmap.mmap, target: int) -> int | None:
    """The start of an entry at or after ``target``: a line after a blank line, not a continuation."""
    at = target
    while True:
        at = data.find(b"\n\n", at)
        if at < 0 or at + 2 >= len(data):
            return None
        begin = at + 2
        if data[begin : begin + 1] not in (b" ", b"\n", b"\r"):
            return begin
        at = begin


def _child(path: str, offset: int, spool: IO[bytes]) -> None:  # pragma: no cover - the forked child
    """Parse ``path`` from ``offset`` and write the entries to ``spool``; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        with open(path, "rb") as raw, mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as view:
            view.seek(offset)
            count = 0
            batch: list[Any] = []
            for dn, entry in ldif.LDIFParser(view).parse():
                batch.append((dn, entry))
                if len(batch) == _BATCH:
                    pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
                    count += len(batch)
                    batch = []
            if batch:
                pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
                count += len(batch)
            spool.write(_TRAILER.pack(_MAGIC, count))
            spool.flush()
        code = 0
    except BaseException:
        pass
    finally:
        os._exit(code)
