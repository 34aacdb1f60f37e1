"""Read an LDIF dump of an iRedMail directory (slapcat / ldapsearch) as model records.

Parsing is the ``ldif`` package's (RFC 2849: folded lines, ``::`` base64 values, comments,
``version: 1``), streamed one entry at a time; the mapping of iRedMail's tree is
:mod:`migrate.readers.ldif_dit`. Records come out in this order: users and alias accounts as their
entries are read, then domains, standalone admins and mailing lists once the whole file has been
seen (they need the catch-all, ``domainAdmin`` and membership entries found later in the file).

Line numbers: ``LDIFParser`` counts unfolded lines only, so the reader keeps its own. The file is
memory-mapped and the parser reads it through ``mmap.readline``; ahead of the parser, the ``dn:``
lines are found chunk by chunk with C-speed searches on the same mapping. Every entry has exactly
one ``dn:`` line, so the n-th entry's line is the n-th number found. Nothing runs in Python per line
(a ``readline`` wrapper would cost several percent of the parse).

Errors: the parser stops at the first malformed line with a bare ``ValueError``. The reader then
reads the file again from the last good entry with a small checker that follows the same rules,
to name the exact line and say what is wrong (:class:`~migrate.errors.InputFileError`, code
``LDIF_SYNTAX``). Change records (``changetype:``) are refused (``LDIF_CHANGE_RECORD``): this
reads directory contents, not change logs. A file whose last line has no newline may be truncated:
the last entry gets an ``LDIF_TRUNCATED`` error.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import mmap
import os
from collections import deque
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import IO, Any

import ldif

from migrate.errors import InputFileError
from migrate.readers.ldif_dit import DitMapper
from migrate.readers.ldif_split import LdifSplit, start_ldif_split
from migrate.records import Problem, Record

__all__ = ["read_ldif"]

_CHUNK = 1 << 16
_RELEASE_STEP = 8 << 20
_RELEASE_LAG = 1 << 20
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CHANGE_HINT = "export the directory with slapcat or ldapsearch (entries), not a change log or ldapmodify input"


class _Input:
    """The parser's input, and the line number of every ``dn:`` line in it.

    The file is memory-mapped: the parser reads it through ``mmap.readline`` (C, no wrapper), and
    :meth:`next_dn` finds the ``dn:`` lines ahead of the parser a chunk at a time with C-speed
    searches on the same mapping. Pages the parser has gone past are handed back to the kernel so
    the process stays small however big the file is. Files that cannot be mapped (empty, special
    files) are read into memory instead.

    Attributes:
        stream: What the parser reads.
        truncated: The file's last line has no newline (a cut-off export looks like that; a closing
            comment or stray blanks do not count).
        lines: Newlines seen by the scan so far (after the whole file: the line count).
    """

    def __init__(self, raw: IO[bytes], source: str) -> None:
        self.lines = 0
        self._source = source
        self._pending: deque[int] = deque()
        self._mm: mmap.mmap | None = None
        self._part: mmap.mmap | None = None
        self._fileno = raw.fileno()
        self._behind = False  # entries come from elsewhere: only the dn scan moves on
        self._released = 0
        try:
            self._mm = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
            self._data: bytes | mmap.mmap = self._mm
        except (OSError, ValueError):  # empty or unmappable: small or special, read it whole
            self._data = raw.read()
        data = self._data
        if data[:2] in _UTF16_BOMS:
            raise InputFileError(
                "the file is UTF-16 text; LDIF is UTF-8",
                code="LDIF_ENCODING",
                hint="save it as UTF-8 (slapcat and ldapsearch write UTF-8)",
                source=source,
                line=1,
            )
        self._pos = 3 if data[:3] == _UTF8_BOM else 0
        self.stream: Any = self._mm if self._mm is not None else BytesIO(data)
        self.stream.seek(self._pos)
        self._size = len(data)
        tail = data[data.rfind(b"\n") + 1 :]
        self.truncated = bool(tail.strip()) and not tail.startswith(b"#")

    @property
    def mapped(self) -> bool:
        """True when the file is memory-mapped (not read into memory)."""
        return self._mm is not None

    @property
    def data(self) -> bytes | mmap.mmap:
        """The file's bytes."""
        return self._data

    @property
    def start(self) -> int:
        """Where parsing starts (after a byte order mark)."""
        return 3 if self._data[:3] == _UTF8_BOM else 0

    def limit(self, end: int) -> Any:
        """Make the parser's input end at byte ``end`` (another process parses the rest)."""
        assert self._mm is not None
        part = mmap.mmap(self._fileno, end, access=mmap.ACCESS_READ)
        part.seek(self.start)
        self._part = part
        self.stream = part
        return part

    def resume(self, offset: int) -> Any:
        """Make the parser's input the rest of the file from byte ``offset`` (parsed here after all)."""
        assert self._mm is not None
        self._mm.seek(offset)
        self.stream = self._mm
        self._behind = False
        return self._mm

    def parsed_elsewhere(self) -> None:
        """The parser's input is done; the rest of the entries come from another process."""
        self._behind = True

    def next_dn(self) -> int:
        """Return the line of the next ``dn:`` line (the parser has just read it, so there is one)."""
        pending = self._pending
        while not pending:
            if not self._scan():
                # Cannot happen: the parser only yields entries whose dn: line is in the file.
                raise InputFileError("lost track of line numbers", code="LDIF_SYNTAX", source=self._source)
        return pending.popleft()

    def exhausted(self) -> bool:
        """Tell whether no ``dn:`` line is left after the ones handed out."""
        while not self._pending:
            if not self._scan():
                return True
        return False

    def last_line(self) -> int:
        """Return the number of the file's last line (scans the rest of the file)."""
        while self._scan():
            pass
        return self.lines + 1 if self.truncated else self.lines

    def _scan(self) -> bool:
        """Find the ``dn:`` lines in the next chunk of whole lines; ``False`` at the end."""
        start = self._pos
        if start >= self._size:
            return False
        data = self._data
        end = min(start + _CHUNK, self._size)
        if end < self._size:
            cut = data.rfind(b"\n", start, end)
            end = cut + 1 if cut >= 0 else data.find(b"\n", end) + 1 or self._size
        # A newline in front makes the first line of the chunk look like any other to the search.
        chunk = b"\n" + data[start:end]
        find, count, append = chunk.find, chunk.count, self._pending.append
        number = self.lines
        prev = 1
        pos = find(b"\ndn:")
        while pos >= 0:
            number += count(b"\n", prev, pos + 1)
            prev = pos + 1
            append(number + 1)
            pos = find(b"\ndn:", prev)
        self.lines = number + count(b"\n", prev)
        self._pos = end
        self._release()
        return True

    def _release(self) -> None:
        """Unmap the pages the parser is done with (they stay in the page cache, not in our RSS)."""
        if self._mm is None:
            return
        # Both mappings start at the file's first byte: positions in one are positions in the other.
        done = (self._pos if self._behind else min(self._pos, self.stream.tell())) - _RELEASE_LAG
        done -= done % mmap.PAGESIZE
        if done - self._released >= _RELEASE_STEP:
            for view in (self._mm, self._part):
                if view is not None and self._released < len(view):
                    view.madvise(mmap.MADV_DONTNEED, self._released, min(done, len(view)) - self._released)
            self._released = done

    def close(self) -> None:
        """Unmap the file."""
        for view in (self._part, self._mm):
            if view is not None:
                view.close()


def read_ldif(
    path: str | os.PathLike[str],
    *,
    source_name: str | None = None,
    report: Callable[[Problem], None] = lambda p: None,
) -> Iterator[Record]:
    """Stream the records of an iRedMail LDIF dump.

    Args:
        path: The LDIF file.
        source_name: How to name the file in provenance and messages (default: ``path``).
        report: Receives problems that belong to no single record (skipped object classes, notes).

    Yields:
        Users and alias accounts in file order, then domains, standalone admins and lists. Each
        record's provenance line is its entry's ``dn:`` line.

    Raises:
        InputFileError: the file cannot be read, is not LDIF (``LDIF_SYNTAX``, with the line),
            is UTF-16 (``LDIF_ENCODING``) or holds change records (``LDIF_CHANGE_RECORD``).
    """
    name = source_name or os.fspath(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed in the finally below, across yields
    except OSError as exc:
        raise InputFileError(
            f"cannot open the file: {exc.strerror}", code="UNREADABLE_FILE", hint="check the path", source=name
        ) from None
    mapper = DitMapper(name, report)
    source: _Input | None = None
    split: LdifSplit | None = None
    try:
        source = _Input(raw, name)
        stream = source.stream
        if source.mapped:
            # A big file's second half is parsed by a second process meanwhile (ldif_split).
            split = start_ldif_split(os.fspath(path), source.data, source.start)
            if split is not None:
                stream = source.limit(split.offset)
        entries: Iterator[tuple[str | None, dict[str, list[bytes]]]] = ldif.LDIFParser(stream).parse()
        good = 1  # where the checker starts if the parser fails: the last entry that parsed
        while True:
            try:
                dn, entry = next(entries)
            except StopIteration:
                if split is None:
                    break
                theirs, offset, split = split.entries(), split.offset, None
                if theirs is None:
                    entries = ldif.LDIFParser(source.resume(offset)).parse()
                else:
                    source.parsed_elsewhere()
                    entries = theirs
                continue
            except ValueError as exc:
                raise _located(path, name, good, source, exc) from None
            except OSError as exc:
                raise InputFileError(
                    f"reading the file failed: {exc.strerror}", code="UNREADABLE_FILE", source=name
                ) from None
            if dn is None:
                continue  # the parser's empty record for a `version: 1` line
            line = good = source.next_dn()
            if "changetype" in entry or "changeType" in entry:
                raise _located(path, name, line, source, None)
            record = mapper.add(line, dn, entry)
            if source.truncated and source.exhausted():
                _mark_truncated(mapper, name, source.last_line())
            if record is not None:
                yield record
    finally:
        if split is not None:
            split.cancel()
        if source is not None:
            source.close()
        raw.close()
    if mapper.entries == 0:
        report(
            Problem(
                code="LDIF_EMPTY",
                message="the file holds no LDIF entries",
                hint="export the directory with slapcat or ldapsearch",
                source=name,
            )
        )
    yield from mapper.finish()


def _mark_truncated(mapper: DitMapper, source: str, line: int) -> None:
    problem = Problem(
        code="LDIF_TRUNCATED",
        message="the file ends in the middle of a line: this entry may be cut short",
        hint="export the directory again; if the entry is complete, end the file with a newline",
        source=source,
        line=line,
    )
    if mapper.last is not None:
        mapper.last.problems.append(problem)
    else:
        mapper.report(problem)


def _located(
    path: str | os.PathLike[str], source: str, start: int, feed: _Input, exc: ValueError | None
) -> InputFileError:
    """Name the line the parser stopped at, by checking the file again from line ``start``."""
    found = None
    try:
        with open(path, "rb") as raw:
            found = _check(raw, start)
    except OSError:
        pass
    if found is None:
        # The checker and the parser disagree: say what the parser said, at the entry we know.
        detail = f": {exc}" if exc is not None else ""
        return InputFileError(
            f"the file is not valid LDIF after this entry{detail}",
            code="LDIF_SYNTAX",
            hint="check the entries after this line",
            source=source,
            line=start,
        )
    line, code, message, hint, column = found
    if feed.truncated and line == feed.last_line() and code == "LDIF_SYNTAX":
        message += " (the file ends here without a newline: it looks truncated)"
    return InputFileError(message, code=code, hint=hint, source=source, line=line, column=column)


def _unfolded(raw: IO[bytes], start: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, unfolded line)`` from physical line ``start`` on, as LDIFParser unfolds."""
    lines = iter(raw)
    number = start - 1
    for _ in itertools.islice(lines, number):
        pass
    line = next(lines, b"")
    while line:
        number += 1
        first = number
        line = line.rstrip(b"\n").removesuffix(b"\r")
        if first == 1:
            line = line.removeprefix(_UTF8_BOM)
        follow = next(lines, b"")
        while follow[:1] == b" ":
            number += 1
            line += follow.rstrip(b"\n").removesuffix(b"\r")[1:]
            follow = next(lines, b"")
        yield first, line
        line = follow


def _check(raw: IO[bytes], start: int) -> tuple[int, str, str, str, str | None] | None:
    """Find the first line from ``start`` that LDIFParser refuses, and say why.

    Returns:
        ``(line, code, message, hint, attribute)``, or ``None`` when every line is acceptable.
    """
    syntax = "LDIF_SYNTAX"
    has_dn = False
    for number, line in _unfolded(raw, start):
        if not line:
            has_dn = False
            continue
        if line.startswith(b"#"):
            continue
        colon = line.find(b":")
        if colon < 0:
            return (
                number,
                syntax,
                "this line is not `attribute: value`",
                "each line of an entry is `name: value` or `name:: base64`, a continuation starts with one "
                "space, entries are separated by a blank line; the file may be damaged or not LDIF",
                None,
            )
        try:
            attr = line[:colon].decode("ascii")
        except UnicodeDecodeError:
            return number, syntax, "the attribute name is not ASCII", "check that the file is LDIF, in UTF-8", None
        value: Any = line[colon + 1 :].strip()
        if line[colon + 1 : colon + 2] == b":":
            try:
                value = base64.decodebytes(line[colon + 2 :])
            except binascii.Error:
                return (
                    number,
                    syntax,
                    f"the base64 value of {attr} is damaged",
                    "a value after `::` must be valid base64; export the entry again",
                    attr,
                )
        if attr.lower() == "changetype" and has_dn:
            kind = value.decode("utf-8", "replace").strip() if isinstance(value, bytes) else ""
            return number, "LDIF_CHANGE_RECORD", f"this is a change record (changetype: {kind})", _CHANGE_HINT, attr
        if attr == "version" and not has_dn:
            continue
        if attr == "dn":
            problem = _check_dn(value, has_dn)
            if problem is not None:
                return number, syntax, problem[0], problem[1], "dn"
            has_dn = True
        elif not has_dn:
            return (
                number,
                syntax,
                f"the entry does not start with a dn: line (it starts with {attr}:)",
                "every entry starts with `dn: ...`; look for a missing dn or a blank line inside an entry",
                attr,
            )
    return None


def _check_dn(value: bytes, has_dn: bool) -> tuple[str, str] | None:
    if has_dn:
        return "a second dn: line inside one entry", "separate entries with a blank line"
    try:
        dn = value.decode("utf-8")
    except UnicodeDecodeError:
        return "the DN is not UTF-8", "LDIF is UTF-8; export the directory again"
    if not ldif.is_dn(dn):
        return f"{dn!r} is not a valid DN", "write the DN as attribute=value pairs separated by commas"
    return None
