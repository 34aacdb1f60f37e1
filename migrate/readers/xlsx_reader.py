"""Stream the rows of an XLSX workbook as :class:`~migrate.records.TableRow`, one sheet per kind.

The engine is python-calamine (Rust), chosen by measurement (``bench/xlsx_engines.py``): about ten
times faster than openpyxl's read-only mode. It loads one sheet at a time into memory (about 1 KB
per row of 8 columns); rows are converted and yielded one by one. Before calamine sees the file,
:mod:`migrate.readers.xlsx_safety` refuses zip and entity bombs and finds the formula cells
calamine would silently read as empty.

Spreadsheets people maintain by hand have a title above the header, hidden helper sheets, numbers
Excel turned into dates or scientific notation, formulas: the reader finds the header row, skips
hidden sheets with a warning, renders values the way Excel shows them (``1500``, not ``1500.0``;
dates in ISO) and records each non-text cell's type so the model can tell "this was a number".
"""

from __future__ import annotations

import bisect
import collections
import functools
import itertools
import os
import threading
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from migrate.errors import InputFileError
from migrate.readers import tabular
from migrate.readers.tabular import (
    PROVENANCE_SLOTS,
    Report,
    ignore_problem,
    new_object,
    scientific_problem,
    unique_headers,
)
from migrate.readers.xlsx_cells import (
    EXACT_LIMIT,
    cell_text,
    column_letters,
    find_header,
    formula_problem,
    lost_digits,
    sheet_kind,
)
from migrate.readers.xlsx_safety import (
    DEFAULT_LIMITS,
    ArchiveLimits,
    CellMark,
    SheetScan,
    open_archive,
    scan_sheet,
    sheet_parts,
)
from migrate.records import Problem, Provenance, RowBlock, Severity, TableRow

__all__ = ["HEADER_SEARCH_ROWS", "SheetState", "read_xlsx", "read_xlsx_blocks", "sheet_kind"]

#: How many rows at the top of a sheet may hold titles before the header row.
HEADER_SEARCH_ROWS = 20


@dataclass(slots=True)
class SheetState:
    """Where a block reader is in its workbook, for a second process that takes over a part.

    Attributes:
        sheet: The sheet being read.
        last_line: The number of its last row (rows are numbered as :func:`read_xlsx` numbers them).
        skip_to: Set by a process that continues a copy of the reader from a later line: rows of
            the current sheet before that line are passed over without being converted.
    """

    sheet: str | None = None
    last_line: int = 0
    skip_to: int = 0


def read_xlsx(
    path: str | os.PathLike[str],
    *,
    header: bool = True,
    source_name: str | None = None,
    report: Report = ignore_problem,
    sheets: Collection[str] | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> Iterator[TableRow]:
    """Stream the rows of an XLSX workbook, sheet by sheet.

    Without ``sheets``, every visible sheet whose name is a kind (:func:`sheet_kind`) is read;
    hidden sheets and, when some sheet names a kind, sheets that do not are skipped with a
    warning. When no sheet names a kind, every visible sheet is read with ``kind=None``.

    Args:
        path: The workbook.
        header: Each sheet has a header row (found even below title rows). Without one, cells are
            keyed by their 1-based column number (column A is ``"1"``).
        source_name: The file name shown in messages (default: ``path`` as given).
        report: Receives file-level notes (skipped sheets, duplicate headers, no data rows).
        sheets: Read exactly these sheets (names compared ignoring case), hidden or not.
        limits: Zip bomb limits (see :class:`ArchiveLimits`).

    Yields:
        One :class:`TableRow` per non-blank row; ``prov.line`` is the spreadsheet row number,
        ``kind`` the kind the sheet name says.

    Raises:
        InputFileError: Not a workbook, damaged, a zip or entity bomb, a requested sheet missing,
            or no data at all.
    """
    return _read(path, header, source_name, report, sheets, limits, blocks=False)  # type: ignore[return-value]


def _read(
    path: str | os.PathLike[str],
    header: bool,
    source_name: str | None,
    report: Report,
    sheets: Collection[str] | None,
    limits: ArchiveLimits,
    *,
    blocks: bool,
    state: SheetState | None = None,
) -> Iterator[TableRow | RowBlock]:
    source = source_name if source_name is not None else os.fspath(path)
    archive = open_archive(path, source=source, limits=limits)
    try:
        yield from _read_workbook(path, archive, source, header, report, sheets, blocks, state)
    finally:
        archive.close()


def read_xlsx_blocks(
    path: str | os.PathLike[str],
    *,
    header: bool = True,
    source_name: str | None = None,
    report: Report = ignore_problem,
    state: SheetState | None = None,
) -> Iterator[TableRow | RowBlock]:
    """Stream a workbook as :func:`read_xlsx` does, plain rows gathered in :class:`RowBlock`.

    The same rows in the same order with the same problems; rows with nothing to report that
    share their cell types come in blocks, for callers that check them a column at a time.
    ``state`` (when given) follows the sheet being read (see :class:`SheetState`).
    """
    return _read(path, header, source_name, report, None, DEFAULT_LIMITS, blocks=True, state=state)


def _engine_error(exc: Exception, source: str, sheet: str | None = None) -> InputFileError:
    return InputFileError(
        f"the workbook cannot be read: {exc}",
        code="XLSX_UNREADABLE",
        hint="open it in Excel or LibreOffice and save it again as .xlsx",
        source=source,
        sheet=sheet,
    )


def _choose_sheets(
    metadata: list[Any], source: str, report: Report, wanted: Collection[str] | None
) -> list[tuple[str, str | None]]:
    """Return (sheet name, kind) for the sheets to read, reporting the ones skipped."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    if wanted is not None:
        by_fold = {meta.name.casefold(): meta.name for meta in metadata}
        chosen = []
        for name in wanted:
            actual = by_fold.get(name.casefold())
            if actual is None:
                raise InputFileError(
                    f"the workbook has no sheet {name!r}",
                    code="SHEET_NOT_FOUND",
                    hint=f"its sheets are: {', '.join(repr(m.name) for m in metadata)}",
                    source=source,
                )
            chosen.append((actual, sheet_kind(actual)))
        return chosen
    visible = []
    for meta in metadata:
        if meta.typ != SheetTypeEnum.WorkSheet:
            continue  # chart and macro sheets hold no rows
        if meta.visible != SheetVisibleEnum.Visible:
            report(
                Problem(
                    code="HIDDEN_SHEET",
                    message=f"the hidden sheet {meta.name!r} was skipped",
                    hint="unhide the sheet if its rows should be read",
                    source=source,
                    sheet=meta.name,
                    severity=Severity.WARNING,
                )
            )
            continue
        visible.append((meta.name, sheet_kind(meta.name)))
    known = any(kind for _, kind in visible)
    for name, kind in visible:
        if kind is None:
            # With other sheets named by kind, this one is notes or a helper; alone, it is the data.
            outcome = "was skipped" if known else "is read as the mapping profile says"
            report(
                Problem(
                    code="UNKNOWN_SHEET",
                    message=f"the sheet name {name!r} is no kind of account; the sheet {outcome}",
                    hint="name sheets domains, admins, users, aliases, lists, spam_policies or throttles",
                    source=source,
                    sheet=name,
                    severity=Severity.WARNING,
                )
            )
    return [(name, kind) for name, kind in visible if kind is not None or not known]


def _read_workbook(
    path: str | os.PathLike[str],
    archive: zipfile.ZipFile,
    source: str,
    header: bool,
    report: Report,
    wanted: Collection[str] | None,
    blocks: bool,
    state: SheetState | None,
) -> Iterator[TableRow | RowBlock]:
    from python_calamine import CalamineError, CalamineWorkbook

    parts = sheet_parts(archive)
    try:
        workbook = CalamineWorkbook.from_path(os.fspath(path))
        metadata = list(workbook.sheets_metadata)
    except CalamineError as exc:
        raise _engine_error(exc, source) from None
    chosen = _choose_sheets(metadata, source, report, wanted)
    if not chosen:
        raise InputFileError(
            "the workbook has no sheet to read",
            code="EMPTY_FILE",
            hint="name sheets domains, admins, users, aliases, lists, spam_policies or throttles, and unhide them",
            source=source,
        )
    content = False
    with workbook:
        for name, kind in chosen:
            part = parts.get(name)
            # The sheet's XML is streamed for formula cells while calamine loads it (calamine lets
            # go of the GIL). That is safe because open_archive has checked every declared size
            # and ratio, and calamine refuses a part that inflates past its declared size; where
            # both fail, the scan's error is the one reported.
            scanning = _Background(functools.partial(scan_sheet, archive, part, source=source)) if part else None
            try:
                sheet = workbook.get_sheet_by_name(name)
                start = sheet.start
                rows = sheet.iter_rows()
            except CalamineError as exc:
                if scanning is not None:
                    scanning.result()
                raise _engine_error(exc, source, name) from None
            scan = scanning.result() if scanning is not None else SheetScan()
            if state is not None:
                end = sheet.end  # 0-based (row, column); rows are read from row 0 on
                state.sheet, state.last_line, state.skip_to = name, end[0] + 1 if end else 0, 0
            if scan.unplaced:
                report(
                    Problem(
                        code="FORMULA_NO_VALUE",
                        message=f"{scan.unplaced} cells hold a formula error or a formula without a value; "
                        "they are read as empty",
                        hint="open the workbook in Excel or LibreOffice and save it",
                        source=source,
                        sheet=name,
                    )
                )
            reader = _SheetReader(source, name, kind, start[1] if start else 0, scan.marks, report, state)
            try:
                yield from reader.rows(rows, header, blocks)
            except CalamineError as exc:
                raise _engine_error(exc, source, name) from None
            content = content or reader.content or reader.data_rows
    if not content:
        raise InputFileError(
            "the workbook has no data",
            code="EMPTY_FILE",
            hint="check that this is the workbook you meant to read",
            source=source,
        )


class _Background:
    """Run ``work`` in a thread; :meth:`result` waits for it and returns or raises what it did."""

    def __init__(self, work: Callable[[], SheetScan]) -> None:
        self._work = work
        self._value: SheetScan | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="xlsx-scan", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> SheetScan:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


class _SheetReader:
    """Turns one sheet's rows (lists of calamine values) into TableRows."""

    def __init__(
        self,
        source: str,
        sheet: str,
        kind: str | None,
        first_column: int,
        marks: dict[int, list[CellMark]],
        report: Report,
        state: SheetState | None = None,
    ) -> None:
        self.state = state
        self.source = source
        self.sheet = sheet
        self.kind = kind
        self.first_column = first_column
        self.marks = marks
        self.report = report
        self.content = False  # a header or a row was found
        self.data_rows = False  # a row below the header was found

    def rows(self, rows: Iterator[list[Any]], header: bool, blocks: bool = False) -> Iterator[TableRow | RowBlock]:
        """Yield the sheet's data rows; rows are numbered from 1 as Excel shows them."""
        if not header:
            yield from self._data(enumerate(rows, 1), None, 0, blocks)
            if not self.data_rows:
                self._no_data("the sheet is empty")
            return
        top = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
        at = find_header(top)
        if at is None:
            if any(value != "" for row in top for value in row):
                self.content = True
                self.report(
                    Problem(
                        code="NO_HEADER",
                        message=f"no header row in the first {HEADER_SEARCH_ROWS} rows; the sheet was skipped",
                        hint="put the column names in one row above the data",
                        source=self.source,
                        sheet=self.sheet,
                    )
                )
            else:
                self._no_data("the sheet is empty")
            return
        self.content = True
        prov = Provenance(self.source, self.sheet, at + 1, "xlsx")
        texts = [value if type(value) is str else cell_text(value)[0] for value in top[at]]
        headers, width = unique_headers(
            texts, prov, self.report, label=lambda position: f"column {column_letters(self.first_column + position)}"
        )
        if blocks:
            yield from self._data(enumerate(top[at + 1 :], at + 2), headers, width, blocks)
            yield from self._column_blocks(rows, len(top) + 1, headers, width)
        else:
            numbered = itertools.chain(enumerate(top[at + 1 :], at + 2), enumerate(rows, len(top) + 1))
            yield from self._data(numbered, headers, width, blocks)
        if not self.data_rows:
            self._no_data("the sheet has a header but no data rows", prov.line)

    def _data(
        self, numbered: Iterator[tuple[int, list[Any]]], headers: list[str] | None, width: int, blocks: bool
    ) -> Iterator[TableRow | RowBlock]:
        # Rows of one sheet share a handful of type patterns: what to convert is worked out once
        # per pattern, so a row of text costs a list copy and a dict.
        plans: dict[tuple[type, ...], tuple[tuple[int, ...], bool]] = {}
        marks = self.marks
        source, sheet, kind = self.source, self.sheet, self.kind
        keys = headers or []
        found = False
        set_source, set_sheet, set_line, set_fmt = PROVENANCE_SLOTS
        # With blocks, plain rows that share their cell types are gathered (with a header only:
        # a block has one list of column names).
        blocks = blocks and headers is not None
        block_rows: list[list[Any]] = []
        block_lines: list[int] = []
        block_types: dict[str, str] = {}
        limit = tabular.BLOCK_ROWS
        for line, row in numbered:
            if headers is None:
                width = len(row)
                keys = _positions(self.first_column, width)
            signature = tuple(map(type, row))
            plan = plans.get(signature)
            if plan is None:
                plan = plans[signature] = _plan(signature, width)
            convert, typed_extra = plan
            values = row[:width]
            if len(values) < width:
                values += [""] * (width - len(values))
            types: dict[str, str] = {}
            lost: list[int] = []
            for index in convert:
                value = values[index]
                if type(value) is float and value.is_integer() and -EXACT_LIMIT < value < EXACT_LIMIT:
                    values[index] = "%d" % value  # noqa: UP031 - the common case, inlined; fastest form
                    types[keys[index]] = "number"
                    continue
                text, cell_type, digits_lost = cell_text(value)
                values[index] = text
                if cell_type is not None:
                    types[keys[index]] = cell_type
                if digits_lost:
                    lost.append(index)
            scientific = "E+" in "\x1f".join(values)
            marked = bool(marks) and line in marks
            ragged = len(row) > width and (typed_extra or any(row[width:]))
            if not (lost or scientific or marked or ragged):
                if not convert and not any(values):
                    continue  # a blank row
                if not found:
                    found = self.data_rows = True
                if blocks:
                    if types != block_types and block_rows:
                        yield RowBlock(source, sheet, "xlsx", kind, keys, block_rows, block_lines, block_types)
                        block_rows, block_lines = [], []
                    block_types = types
                    block_rows.append(values)
                    block_lines.append(line)
                    if len(block_rows) == limit:
                        yield RowBlock(source, sheet, "xlsx", kind, keys, block_rows, block_lines, block_types)
                        block_rows, block_lines = [], []
                    continue
                prov = new_object(Provenance)
                set_source(prov, source)
                set_sheet(prov, sheet)
                set_line(prov, line)
                set_fmt(prov, "xlsx")
                yield TableRow(prov, dict(zip(keys, values)), kind, [], types)  # noqa: B905
                continue
            prov = Provenance(source, sheet, line, "xlsx")
            problems = [lost_digits(prov, keys[index], values[index]) for index in lost]
            if scientific:
                problems.extend(
                    flagged
                    for key, value in zip(keys, values)  # noqa: B905 - values has one per key
                    if (flagged := scientific_problem(prov, key, value)) is not None
                )
            if marked:
                problems.extend(self._marked(prov, marks[line], keys))
            if ragged:
                problems.append(self._ragged(prov, row, width))
            if not found:
                found = self.data_rows = True
            if block_rows:
                yield RowBlock(source, sheet, "xlsx", kind, keys, block_rows, block_lines, block_types)
                block_rows, block_lines = [], []
            yield TableRow(prov, dict(zip(keys, values)), kind, problems, types)  # noqa: B905
        if block_rows:
            yield RowBlock(source, sheet, "xlsx", kind, keys, block_rows, block_lines, block_types)

    def _column_blocks(
        self, rows: Iterator[list[Any]], line: int, headers: list[str], width: int
    ) -> Iterator[TableRow | RowBlock]:
        """Rows taken a block at a time and checked by column; a block with anything odd row by row.

        The same rows, values, types and problems as :meth:`_data`: a block is plain when its
        rows are as wide as each other, each column holds one type (text, or whole numbers Excel
        shows without a fraction), no text has ``E+``, no cell past the header holds anything
        and no formula was marked on its lines. Blank rows are dropped, as :meth:`_data` does.
        """
        limit = tabular.BLOCK_ROWS
        marked = sorted(self.marks)
        state = self.state
        while True:
            if state is not None and state.skip_to > line:
                # A process that checks only the rows from skip_to on: drop the others unread.
                skipped = state.skip_to - line
                collections.deque(itertools.islice(rows, skipped), maxlen=0)
                line += skipped
            chunk = list(itertools.islice(rows, limit))
            if not chunk:
                return
            lines = range(line, line + len(chunk))
            line += len(chunk)
            has_marks = bisect.bisect_left(marked, lines.start) < bisect.bisect_left(marked, lines.stop)
            columns = None if has_marks else self._plain_columns(chunk, width)
            if columns is None:
                yield from self._data(zip(lines, chunk), headers, width, True)  # noqa: B905 - a line per row
                continue
            cells, typed = columns
            keep = _filled_rows(cells) if not typed else None
            if keep is not None:
                if not keep:
                    continue
                cells = [tuple(column[i] for i in keep) for column in cells]
                lines = [lines[i] for i in keep]  # type: ignore[assignment]
            if not self.data_rows:
                self.data_rows = True
            types = {headers[index]: "number" for index in typed}
            rows_of = list(zip(*cells))  # noqa: B905 - equal columns
            yield RowBlock(self.source, self.sheet, "xlsx", self.kind, headers, rows_of, list(lines), types, cells)

    @staticmethod
    def _plain_columns(chunk: list[list[Any]], width: int) -> tuple[list[tuple[Any, ...]], list[int]] | None:
        """A chunk's first ``width`` columns as text, and which were whole numbers; None if odd."""
        widths = set(map(len, chunk))
        if len(widths) != 1:
            return None
        columns = list(zip(*chunk))  # noqa: B905 - every row has the same width
        if len(columns) > width:
            if any(set(extra) != {""} for extra in columns[width:]):
                return None  # a value, or a typed cell, past the header: ragged rows
            del columns[width:]
        elif len(columns) < width:
            columns.extend([("",) * len(chunk)] * (width - len(columns)))
        typed: list[int] = []
        for index, column in enumerate(columns):
            kinds = set(map(type, column))
            if kinds == {str}:
                if "E+" in "\x1f".join(column):
                    return None
                continue
            # Whole numbers Excel shows without a fraction (what _data renders with "%d").
            if kinds != {float} or not all(map(float.is_integer, column)):
                return None
            if min(column) <= -EXACT_LIMIT or max(column) >= EXACT_LIMIT:
                return None
            columns[index] = tuple(map("%d".__mod__, column))
            typed.append(index)
        return columns, typed

    def _marked(self, prov: Provenance, marks: list[CellMark], keys: list[str]) -> Iterator[Problem]:
        for mark in marks:
            index = mark.column - 1 - self.first_column
            column = keys[index] if 0 <= index < len(keys) else column_letters(mark.column)
            yield formula_problem(prov, column, mark)

    def _no_data(self, message: str, line: int | None = None) -> None:
        self.report(
            Problem(
                code="NO_DATA_ROWS",
                message=message,
                hint="check that this is the sheet you meant to fill",
                source=self.source,
                sheet=self.sheet,
                line=line,
                severity=Severity.WARNING,
            )
        )

    def _ragged(self, prov: Provenance, row: list[Any], width: int) -> Problem:
        extra = [i for i in range(width, len(row)) if row[i] != ""]
        letters = ", ".join(column_letters(self.first_column + i + 1) for i in extra[:5])
        many = len(extra) > 1
        return Problem.at(
            prov,
            "RAGGED_ROW",
            f"column{'s' if many else ''} {letters}{'...' if len(extra) > 5 else ''} "
            f"hold{'' if many else 's'} a value but ha{'ve' if many else 's'} no header "
            f"(the header names {width} columns)",
            hint="give the column a header, or delete the value",
            column=column_letters(self.first_column + extra[0] + 1),
        )


def _filled_rows(columns: list[tuple[Any, ...]]) -> list[int] | None:
    """Indices of the rows with a value in some column, or None when every row has one."""
    if any("" not in column for column in columns):
        return None
    count = len(columns[0]) if columns else 0
    return [i for i in range(count) if any(column[i] for column in columns)]


def _plan(signature: tuple[type, ...], width: int) -> tuple[tuple[int, ...], bool]:
    """For one pattern of cell types: the positions to convert, and whether a typed cell is extra."""
    convert = tuple(i for i, kind in enumerate(signature[:width]) if kind is not str)
    return convert, any(kind is not str for kind in signature[width:])


_POSITIONS: dict[tuple[int, int], list[str]] = {}


def _positions(first_column: int, width: int) -> list[str]:
    """Keys for a sheet read without a header: the column numbers, column A being "1"."""
    keys = _POSITIONS.get((first_column, width))
    if keys is None:
        keys = _POSITIONS[(first_column, width)] = [str(first_column + i + 1) for i in range(width)]
    return keys
