"""From input files to validated model objects: read, map, build, one entry per row.

This is the pipeline every command shares (``validate``, ``import``, ``diff``): it streams, so a
million-row CSV is never held in memory, and it keeps each row's provenance and raw cells so results
and rejects can point back at the exact place in the admin's file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migrate.errors import InputFileError
from migrate.model import Account, Domain, build, build_clean
from migrate.model_fields import Context
from migrate.passwords import PasswordPolicy
from migrate.readers import detect_format, read_records, read_table, read_table_blocks
from migrate.records import Problem, Provenance, Record, RowBlock, TableRow

if TYPE_CHECKING:
    from migrate.bulk import BulkChecker, BulkCount
    from migrate.crosscheck import CrossCheck
    from migrate.mapping_mapper import Mapper
    from migrate.readers.csv_reader import CsvPart, CsvState
    from migrate.readers.xlsx_reader import SheetState
    from migrate.split import SheetPart, Split
    from migrate.tally import Merged

__all__ = ["BulkEntries", "Entry", "InputOptions", "load", "load_checked", "load_entries", "load_file"]

Report = Callable[[Problem], None]


@dataclass(slots=True)
class Entry:
    """One input row after validation.

    Attributes:
        record: The mapped record (provenance, fields, columns, raw cells).
        obj: The model object, or ``None`` when the row is unusable.
        problems: Everything found about this row, errors and warnings.
    """

    record: Record
    obj: Account | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when the row produced an object and has no error."""
        return self.obj is not None and not any(p.is_error for p in self.problems)

    @property
    def prov(self) -> Provenance:
        """Where the row came from."""
        return self.record.prov


@dataclass(slots=True)
class BulkEntries:
    """Consecutive rows bulk validation proved clean, as entries (see :func:`load_entries`).

    Attributes:
        entries: The rows' entries, in row order; their facts are in the cross-checks already.
    """

    entries: list[Entry]


@dataclass(frozen=True, slots=True)
class InputOptions:
    """How to read the inputs.

    Attributes:
        mapping: Mapping profile name or path; ``None`` = detect from the headers.
        encoding: Force a CSV encoding.
        delimiter: Force a CSV delimiter.
    """

    mapping: str | None = None
    encoding: str | None = None
    delimiter: str | None = None


def _types_by_field(types: dict[str, str], record: Record) -> dict[str, str] | None:
    """Field -> spreadsheet type of its cell, from a row's header -> type (``None`` when none)."""
    if not types:
        return None
    found = {name: types[col] for name, col in record.columns.items() if col in types}
    return found or None


def _learn(ctx: Context, obj: Account | None) -> None:
    """Remember a domain's own password policy for the rows that follow it."""
    if isinstance(obj, Domain) and (obj.minPasswordLength is not None or obj.maxPasswordLength is not None):
        ctx.policies[obj.domain] = PasswordPolicy(
            min_length=obj.minPasswordLength if obj.minPasswordLength is not None else 8,
            max_length=obj.maxPasswordLength or 0,
        )


def _chain_reporting(
    first: TableRow | RowBlock, rest: Iterator[TableRow | RowBlock], held: list[Problem], report: Report
) -> Iterator[TableRow | RowBlock]:
    """Yield the rows of the first read; notes the reader makes later go straight to ``report``."""
    yield first
    reported = len(held)
    for row in rest:
        while reported < len(held):
            report(held[reported])
            reported += 1
        yield row
    for problem in held[reported:]:
        report(problem)


def _tabular(
    path: str, fmt: str, options: InputOptions, ctx: Context, report: Report, bulk: BulkChecker | None
) -> Iterator[Entry | BulkCount | BulkEntries | Merged]:
    # Imported here so `validate` of an LDIF never pays for the mapping machinery.
    from migrate.mapping import Mapper, detect_profile, load_profile

    read: Callable[..., Iterable[TableRow | RowBlock]] = read_table
    state: CsvState | SheetState | None = None
    relay: _Relay | None = None
    if bulk is not None:
        from migrate.readers.csv_reader import CsvState
        from migrate.readers.xlsx_reader import SheetState

        state = CsvState() if fmt == "csv" else SheetState()
        read = functools.partial(read_table_blocks, state=state)
        if fmt == "xlsx":
            # A second process may go on with a copy of this reading: what it reports must then
            # reach its own sink, in order with its rows' problems, not this process's.
            report = relay = _Relay(report)

    profile = load_profile(options.mapping) if options.mapping else None
    header = profile.header if profile else True
    encoding = options.encoding or (profile.encoding if profile else None)
    delimiter = options.delimiter or (profile.delimiter if profile else None)
    # While the profile is still unknown, hold the reader's file-level notes back: a headerless
    # file read as if it had a header produces notes (duplicate headers...) that are not true.
    held: list[Problem] = []
    reread = functools.partial(read, path, fmt, encoding=encoding, delimiter=delimiter, header=header)
    rows: Iterable[TableRow | RowBlock] = reread(report=report if profile else held.append)
    if profile is None:
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            for problem in held:
                report(problem)
            _no_rows(path, fmt, report)
            return
        name = detect_profile(first.headers if isinstance(first, RowBlock) else list(first.cells)) or "default"
        profile = load_profile(name)
        if profile.header != header or (profile.delimiter and not options.delimiter) or profile.encoding:
            # The detected profile reads the file differently (positional columns, fixed
            # delimiter): read it again with its options.
            reread = functools.partial(
                read,
                path,
                fmt,
                encoding=options.encoding or profile.encoding,
                delimiter=options.delimiter or profile.delimiter,
                header=profile.header,
            )
            rows = reread(report=report)
        else:
            for problem in held:
                report(problem)
            rows = _chain_reporting(first, iterator, held, report)
    mapper = Mapper(profile, report=report)
    seen = 0
    split: Split | None = None
    # A CSV file is tried once, a workbook once per sheet until a sheet is split.
    tried: bool | str | None = bulk is None or state is None
    broken = False
    try:
        for item in rows:
            if tried is not True and type(item) is RowBlock and item.sheet != tried:
                # A big file's second part may be checked by a second process meanwhile.
                assert bulk is not None and state is not None
                if type(state) is SheetState:
                    assert relay is not None
                    tried = item.sheet
                    sheet_stream = functools.partial(_sheet_stream, rows, relay, state, mapper, bulk, ctx)
                    split = bulk.split_sheet(item, mapper, state, sheet_stream)
                else:
                    assert isinstance(state, CsvState)
                    tried = True
                    stream = functools.partial(_part_stream, path, mapper, bulk, ctx)
                    split = bulk.split(path, item, mapper, state, stream)
                tried = True if split is not None else tried
            if type(item) is TableRow and item.problems and not broken:
                broken = any(p.code in _BROKEN for p in item.problems)
            if split is not None:
                mine, theirs = split.cut(item)
                if theirs is not None:
                    if mine is not None:
                        seen += len(mine.rows) if type(mine) is RowBlock else 1
                        yield from _items(mine, mapper, bulk, ctx, report)
                    # The two readings agree only if a record starts on the child's first line
                    # here too, nothing before it was broken, and the file kept one encoding.
                    legacy = type(state) is CsvState and state.watch is not None and state.watch.legacy is not None
                    if split.aligned and not broken and not legacy:
                        merged = split.join()
                    else:
                        merged = None
                        split.cancel()
                    split = None
                    if merged is not None:
                        yield merged
                        return
                    item = theirs  # the second part is read here after all, row by row as ever
            seen += len(item.rows) if type(item) is RowBlock else 1
            yield from _items(item, mapper, bulk, ctx, report)
    finally:
        if split is not None:
            split.cancel()
    if seen == 0:
        _no_rows(path, fmt, report)


# Problems of records csv could not read: after one, a part read on its own may not match.
_BROKEN = frozenset({"MALFORMED_ROW", "UNCLOSED_QUOTE"})


def _part_stream(
    path: str, mapper: Mapper, bulk: BulkChecker, ctx: Context, part: CsvPart, report: Report
) -> Iterator[tuple[TableRow | RowBlock, Iterator[Entry | BulkCount]]]:
    """A part of a CSV file, each item with what it gives, for a process that checks that part."""
    from migrate.readers.csv_reader import read_csv_part

    for item in read_csv_part(path, part, report=report):
        yield item, _process(item, mapper, bulk, ctx, report)


class _Relay:
    """A problem sink that passes problems on to a target that can be swapped."""

    __slots__ = ("target",)

    def __init__(self, target: Report) -> None:
        self.target = target

    def __call__(self, problem: Problem) -> None:
        self.target(problem)


def _sheet_stream(
    rows: Iterable[TableRow | RowBlock],
    relay: _Relay,
    state: SheetState,
    mapper: Mapper,
    bulk: BulkChecker,
    ctx: Context,
    part: SheetPart,
    report: Report,
) -> Iterator[tuple[TableRow | RowBlock, Iterator[Entry | BulkCount]]]:
    """The rest of a workbook from ``part`` on, in a process that took over a copy of its reading."""
    from migrate.split import sheet_of, tail_from

    relay.target = report
    state.skip_to = part.line
    started = False
    for item in rows:
        if not started:
            tail = tail_from(item, part.line) if sheet_of(item) == part.sheet else item
            if tail is None:
                continue
            started, item = True, tail
        yield item, _process(item, mapper, bulk, ctx, report)


def _items(
    item: TableRow | RowBlock, mapper: Mapper, bulk: BulkChecker | None, ctx: Context, report: Report
) -> Iterator[Entry | BulkCount | BulkEntries]:
    """What one row or block gives: as :func:`_process`, or entries built in bulk (``load_entries``)."""
    if bulk is not None and bulk.entries and type(item) is RowBlock:
        return _built(item, mapper, bulk, ctx, report)
    return _process(item, mapper, bulk, ctx, report)


def _process(
    item: TableRow | RowBlock, mapper: Mapper, bulk: BulkChecker | None, ctx: Context, report: Report
) -> Iterator[Entry | BulkCount]:
    """Map and validate one row, or a block of rows (in bulk where it can be)."""
    pending: Iterable[TableRow | BulkCount]
    if type(item) is RowBlock:
        pending = item.table_rows() if bulk is None else _settle(item, *bulk.run(mapper, item))
    else:
        assert isinstance(item, TableRow)
        pending = (item,)
    for row in pending:
        if not isinstance(row, TableRow):
            yield row  # what bulk validation settled
            continue
        entry = _entry(row, mapper, ctx, report)
        if entry is not None:
            yield entry


def _entry(row: TableRow, mapper: Mapper, ctx: Context, report: Report) -> Entry | None:
    """Map and validate one row; ``None`` for a row the profile skips."""
    record = mapper.map_row(row)
    if record is None:
        # A row the profile skips (blank, comment) may still carry what the reader found
        # wrong with it (an unclosed quote that swallowed its cells): never lose that.
        for problem in row.problems:
            report(problem)
        return None
    obj, problems = build(record, ctx=ctx, types=_types_by_field(row.types, record))
    _learn(ctx, obj)
    return Entry(record, obj, problems)


def _built(
    block: RowBlock, mapper: Mapper, bulk: BulkChecker, ctx: Context, report: Report
) -> Iterator[Entry | BulkEntries]:
    """A block's entries, those of the rows bulk validation proves clean without mapping row by row.

    A clean row's record is what :meth:`Mapper.map_row` makes of a plain row (each copied column's
    stripped value, when it is not blank), and its object what :func:`build` makes of it
    (:func:`build_clean`, without checking again what bulk validation checked). Runs of clean
    rows come together, their facts already in the cross-checks.
    """
    from migrate.mapping_mapper import copy_cells

    copies, clean = bulk.clean_rows(mapper, block)
    run: list[Entry] = []
    headers, rows, lines, typed = block.headers, block.rows, block.lines, block.typed
    for index in range(len(rows)):
        if index not in clean:
            if run:
                yield BulkEntries(run)
                run = []
            entry = _entry(block.row(index), mapper, ctx, report)
            if entry is not None:
                yield entry
            continue
        cells = dict(zip(headers, rows[index]))  # noqa: B905 - every row has one cell per header
        fields, columns = copy_cells(copies, cells)
        prov = Provenance(block.source, block.sheet, lines[index], block.fmt)
        record = Record(prov, "user", fields, columns, [], cells)
        obj, problems = build_clean(record, ctx=ctx, types=_types_by_field(typed, record))
        run.append(Entry(record, obj, problems))
    if run:
        yield BulkEntries(run)


def _settle(block: RowBlock, clean: int, others: Sequence[int | BulkCount]) -> Iterator[TableRow | BulkCount]:
    """What bulk validation made of a block, in row order: counts, and rows for the per-row path."""
    from migrate.bulk import BulkCount

    if clean:
        yield BulkCount("user", clean, clean)
    for other in others:
        yield block.row(other) if type(other) is int else other  # type: ignore[misc]


def _no_rows(path: str, fmt: str, report: Report) -> None:
    """A workbook with nothing to read is an error (the CSV reader reports its own case)."""
    if fmt == "xlsx":
        report(
            Problem(
                code="NO_DATA_ROWS",
                message="no sheet of the workbook has data rows",
                hint="check that this is the workbook you meant to read",
                source=path,
            )
        )


def load_file(
    path: str | os.PathLike[str],
    options: InputOptions = InputOptions(),
    *,
    ctx: Context | None = None,
    report: Report,
) -> Iterator[Entry]:
    """Stream the validated entries of one input file.

    Args:
        path: CSV, XLSX, LDIF or JSON snapshot.
        options: Mapping profile and CSV options.
        ctx: Run context shared across files (domain password policies).
        report: Receives file-level problems (ignored columns, hidden sheets...).

    Raises:
        InputFileError: when the file as a whole cannot be read.
        ConfigError: when the mapping profile cannot be loaded.
    """
    return _load_file(path, options, ctx or Context(), report, None)  # type: ignore[return-value]


def _load_file(
    path: str | os.PathLike[str], options: InputOptions, ctx: Context, report: Report, bulk: BulkChecker | None
) -> Iterator[Entry | BulkCount | BulkEntries | Merged]:
    name = os.fspath(path)
    fmt = detect_format(name)
    if not os.path.isfile(name):
        raise InputFileError("no such file", code="FILE_NOT_FOUND", hint="check the path", source=name)
    if fmt in ("csv", "xlsx"):
        yield from _tabular(name, fmt, options, ctx, report, bulk)
        return
    for record in read_records(name, fmt, report=report):
        obj, problems = build(record, ctx=ctx)
        _learn(ctx, obj)
        yield Entry(record, obj, problems)


def load(
    paths: Iterable[str | os.PathLike[str]],
    options: InputOptions = InputOptions(),
    *,
    report: Report,
    on_file_error: Callable[[InputFileError], None] | None = None,
) -> Iterator[Entry]:
    """Stream the entries of several files in order, sharing one run context.

    A file that cannot be read is passed to ``on_file_error`` (when given) and skipped, so one bad
    file does not hide the problems of the others; without the callback the error propagates.
    """
    return _load(paths, options, report, on_file_error, None)  # type: ignore[return-value]


def load_checked(
    paths: Iterable[str | os.PathLike[str]],
    options: InputOptions,
    *,
    check: CrossCheck,
    report: Report,
    on_file_error: Callable[[InputFileError], None] | None = None,
    processes: int = 1,
    rendered: bool = False,
) -> Iterator[Entry | BulkCount | Merged]:
    """Stream as :func:`load` does, plain rows checked in bulk (:mod:`migrate.bulk`).

    Rows found clean in bulk are added to ``check`` and only counted (a :class:`BulkCount`);
    every other row comes as an :class:`Entry` to be given to ``check.add`` before the next item
    is asked for. With ``processes`` above 1, the second part of a big CSV file may come as one
    :class:`Merged` (checked by a second process, its facts already in ``check``). Problems
    come out exactly as :func:`load` reports them; with ``rendered``, a :class:`Merged` carries
    its problems as the text :meth:`Problem.render` gives, one per line, not as objects.
    """
    from migrate.bulk import BulkChecker

    return _load(  # type: ignore[return-value]
        paths, options, report, on_file_error, lambda ctx: BulkChecker(ctx, check, processes, rendered=rendered)
    )


def load_entries(
    paths: Iterable[str | os.PathLike[str]],
    options: InputOptions,
    *,
    check: CrossCheck,
    report: Report,
) -> Iterator[Entry | BulkEntries]:
    """Stream the entries as :func:`load` does, plain user rows checked in bulk first.

    The entries are the ones :func:`load` gives, in the same order, with the same problems
    reported. Rows proved clean in bulk come in :class:`BulkEntries`, already added to ``check``;
    every other row comes as an :class:`Entry` to be given to ``check.add`` before the next item
    is asked for. This spares a big import most of the per-row mapping and cross-check work.

    Raises:
        InputFileError: when a file as a whole cannot be read.
        ConfigError: when the mapping profile cannot be loaded.
    """
    from migrate.bulk import BulkChecker

    return _load(  # type: ignore[return-value]
        paths, options, report, None, lambda ctx: BulkChecker(ctx, check, entries=True)
    )


def _load(
    paths: Iterable[str | os.PathLike[str]],
    options: InputOptions,
    report: Report,
    on_file_error: Callable[[InputFileError], None] | None,
    bulk: Callable[[Context], BulkChecker] | None,
) -> Iterator[Entry | BulkCount | BulkEntries | Merged]:
    ctx = Context()
    checker = bulk(ctx) if bulk is not None else None
    for path in paths:
        try:
            yield from _load_file(path, options, ctx, report, checker)
        except InputFileError as exc:
            if on_file_error is None:
                raise
            on_file_error(exc)
