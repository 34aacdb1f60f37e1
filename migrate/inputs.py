"""From input files to validated model objects: read, map, build, one entry per row.

This is the pipeline every command shares (``validate``, ``import``, ``diff``): it streams, so a
million-row CSV is never held in memory, and it keeps each row's provenance and raw cells so results
and rejects can point back at the exact place in the admin's file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from migrate.errors import InputFileError
from migrate.model import Account, Domain, build
from migrate.model_fields import Context
from migrate.passwords import PasswordPolicy
from migrate.readers import detect_format, read_records, read_table
from migrate.records import Problem, Provenance, Record, TableRow

__all__ = ["Entry", "InputOptions", "load", "load_file"]

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


def _types_by_field(row: TableRow, record: Record) -> dict[str, str] | None:
    if not row.types:
        return None
    found = {name: row.types[col] for name, col in record.columns.items() if col in row.types}
    return found or None


def _learn(ctx: Context, obj: Account | None) -> None:
    """Remember a domain's own password policy for the rows that follow it."""
    if isinstance(obj, Domain) and (obj.minPasswordLength is not None or obj.maxPasswordLength is not None):
        ctx.policies[obj.domain] = PasswordPolicy(
            min_length=obj.minPasswordLength if obj.minPasswordLength is not None else 8,
            max_length=obj.maxPasswordLength or 0,
        )


def _chain_reporting(
    first: TableRow, rest: Iterator[TableRow], held: list[Problem], report: Report
) -> Iterator[TableRow]:
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


def _tabular(path: str, fmt: str, options: InputOptions, ctx: Context, report: Report) -> Iterator[Entry]:
    # Imported here so `validate` of an LDIF never pays for the mapping machinery.
    from migrate.mapping import Mapper, detect_profile, load_profile

    profile = load_profile(options.mapping) if options.mapping else None
    header = profile.header if profile else True
    encoding = options.encoding or (profile.encoding if profile else None)
    delimiter = options.delimiter or (profile.delimiter if profile else None)
    # While the profile is still unknown, hold the reader's file-level notes back: a headerless
    # file read as if it had a header produces notes (duplicate headers...) that are not true.
    held: list[Problem] = []
    rows: Iterable[TableRow] = read_table(
        path, fmt, encoding=encoding, delimiter=delimiter, header=header, report=report if profile else held.append
    )
    if profile is None:
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            for problem in held:
                report(problem)
            _no_rows(path, fmt, report)
            return
        name = detect_profile(list(first.cells)) or "default"
        profile = load_profile(name)
        if profile.header != header or (profile.delimiter and not options.delimiter) or profile.encoding:
            # The detected profile reads the file differently (positional columns, fixed
            # delimiter): read it again with its options.
            rows = read_table(
                path,
                fmt,
                encoding=options.encoding or profile.encoding,
                delimiter=options.delimiter or profile.delimiter,
                header=profile.header,
                report=report,
            )
        else:
            for problem in held:
                report(problem)
            rows = _chain_reporting(first, iterator, held, report)
    mapper = Mapper(profile, report=report)
    seen = 0
    for row in rows:
        seen += 1
        record = mapper.map_row(row)
        if record is None:
            # A row the profile skips (blank, comment) may still carry what the reader found
            # wrong with it (an unclosed quote that swallowed its cells): never lose that.
            for problem in row.problems:
                report(problem)
            continue
        obj, problems = build(record, ctx=ctx, types=_types_by_field(row, record))
        _learn(ctx, obj)
        yield Entry(record, obj, problems)
    if seen == 0:
        _no_rows(path, fmt, report)


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
    ctx = ctx or Context()
    name = os.fspath(path)
    fmt = detect_format(name)
    if not os.path.isfile(name):
        raise InputFileError("no such file", code="FILE_NOT_FOUND", hint="check the path", source=name)
    if fmt in ("csv", "xlsx"):
        yield from _tabular(name, fmt, options, ctx, report)
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
    ctx = Context()
    for path in paths:
        try:
            yield from load_file(path, options, ctx=ctx, report=report)
        except InputFileError as exc:
            if on_file_error is None:
                raise
            on_file_error(exc)
