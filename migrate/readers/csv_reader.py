"""Stream the rows of a CSV file as :class:`~migrate.records.TableRow`, each with its line number.

Admins hand over CSV files from everywhere: Excel on Windows (cp1252, semicolons, a BOM), Google
and Microsoft exports (UTF-8), hand edits. The reader detects the encoding and the delimiter,
reads quoted multi-line cells, and reports what is wrong with a row (NUL bytes, ragged rows,
broken quoting, numbers Excel wrote in scientific notation) on the row itself, so one bad line
never hides the others. Only problems that make the whole file unreadable raise
:class:`~migrate.errors.InputFileError`.

The hot loop does as little as it can per row: the stdlib ``csv`` module parses, a byte-level
watch over the raw chunks says whether a row needs the slower per-cell checks at all.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from migrate.errors import InputFileError
from migrate.readers import tabular
from migrate.readers.csv_detect import (
    CHUNK_SIZE,
    SAMPLE_SIZE,
    ByteWatch,
    check_codec,
    check_delimiter,
    detect_encoding,
    encoding_error,
    not_text,
    sniff_delimiter,
)
from migrate.readers.tabular import (
    PROVENANCE_SLOTS,
    Report,
    ignore_problem,
    new_object,
    scientific_problem,
    unique_headers,
)
from migrate.records import Problem, Provenance, RowBlock, Severity, TableRow

__all__ = ["FIELD_SIZE_LIMIT", "CsvPart", "CsvState", "read_csv", "read_csv_blocks", "read_csv_part"]

# Broken records re-read for their values per file (each re-read scans from the file's start).
_RECOVER_LIMIT = 100
# Characters kept of each re-read value.
_RECOVERED_LENGTH = 200

#: Largest cell the reader accepts (bytes of text). Large enough for a 10 MB cell (the model
#: complains about such a value, not the reader), small enough that an unclosed quote in a huge
#: file stops with a located error instead of swallowing the file into one cell.
FIELD_SIZE_LIMIT = 64 * 1024 * 1024


@dataclass(slots=True)
class CsvState:
    """How a block reader read its file: filled as it reads, for reading a part of it elsewhere.

    Attributes:
        codec: The encoding in use.
        delimiter: The delimiter in use.
        headers: The column names and ``width``, how many positions they cover.
        watch: The byte watch, which says whether the file turned out to be in a legacy encoding.
    """

    codec: str = ""
    delimiter: str = ","
    headers: list[str] = field(default_factory=list)
    width: int = 0
    watch: ByteWatch | None = None


@dataclass(frozen=True, slots=True)
class CsvPart:
    """Where a part of a CSV file starts: a record boundary, with all it takes to read on from it.

    Attributes:
        offset: Byte offset of the part's first record.
        line: The line it starts on.
        codec: The encoding to read it with (UTF-8, cp1252 or latin-1: one byte per line break).
        delimiter: The delimiter.
        headers: The file's column names.
        width: How many positions they cover.
    """

    offset: int
    line: int
    codec: str
    delimiter: str
    headers: list[str]
    width: int


def read_csv_part(
    path: str | os.PathLike[str], part: CsvPart, *, report: Report = ignore_problem
) -> Iterator[TableRow | RowBlock]:
    """Read a CSV file from ``part`` on, as :func:`read_csv_blocks` reads that stretch of it.

    The rows, their lines and their problems are those the whole file's reader gives for them.
    The part must start at a record boundary (not inside a quoted value) and the file must not
    switch encodings before it: the caller makes sure (see :mod:`migrate.split`).
    """
    name = os.fspath(path)
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)
    raw = open(name, "rb")  # noqa: SIM115 - closed through the text wrapper below
    raw.seek(part.offset)
    watch = ByteWatch(raw, watch=True, ascii_guess=False)
    text = io.TextIOWrapper(watch, encoding=part.codec, newline="")  # type: ignore[type-var]
    text._CHUNK_SIZE = CHUNK_SIZE  # type: ignore[attr-defined]

    def recover(start: int, end: int) -> list[str]:
        return _reread(name, part.codec, part.delimiter, start, end)

    with text:
        try:
            yield from _blocks(text, watch, name, part.delimiter, True, report, recover, part=part)
        except UnicodeDecodeError:
            raise encoding_error(name, name, part.codec, True) from None


def read_csv(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool = True,
    source_name: str | None = None,
    report: Report = ignore_problem,
) -> Iterator[TableRow]:
    """Stream the rows of a CSV file.

    Args:
        path: The file.
        encoding: Force an encoding; by default it is detected (UTF-8 with or without BOM,
            UTF-16, cp1252, latin-1).
        delimiter: Force the delimiter (one character, or ``tab``); by default it is sniffed.
        header: The first non-blank row names the columns. Without a header, cells are keyed by
            their 1-based position (``"1"``, ``"2"``...).
        source_name: The file name shown in messages (default: ``path`` as given).
        report: Receives file-level notes (duplicate or empty headers, no data rows).

    Yields:
        One :class:`TableRow` per non-blank record; ``prov.line`` is the line where it starts.

    Raises:
        InputFileError: The file is empty, not text, or not in a readable encoding.
    """
    return _read(path, encoding, delimiter, header, source_name, report, _records)  # type: ignore[return-value]


def read_csv_blocks(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool = True,
    source_name: str | None = None,
    report: Report = ignore_problem,
    state: CsvState | None = None,
) -> Iterator[TableRow | RowBlock]:
    """Stream a CSV file as :func:`read_csv` does, its plain rows gathered in :class:`RowBlock`.

    The same rows in the same order, with the same problems: only the plain rows (one cell per
    header, nothing to report) come in blocks, for callers that check them a column at a time.
    Takes the arguments of :func:`read_csv`, and ``state`` to fill with how it read the file.
    """
    records = _blocks if state is None else functools.partial(_blocks, state=state)
    return _read(path, encoding, delimiter, header, source_name, report, records, state)


def _read(
    path: str | os.PathLike[str],
    encoding: str | None,
    delimiter: str | None,
    header: bool,
    source_name: str | None,
    report: Report,
    records: Callable[..., Iterator[TableRow | RowBlock]],
    state: CsvState | None = None,
) -> Iterator[TableRow | RowBlock]:
    name = os.fspath(path)
    source = source_name if source_name is not None else name
    forced = encoding is not None
    chosen_delimiter = check_delimiter(delimiter, source) if delimiter is not None else None
    if encoding is not None:
        encoding = check_codec(encoding, source)
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)  # process-wide, and only ever raised

    raw = open(name, "rb")  # noqa: SIM115 - closed through the text wrapper below
    try:
        sample = raw.read(SAMPLE_SIZE)
        raw.seek(0)
        codec = encoding or detect_encoding(sample)
        wide = codecs.lookup(codec).name.startswith(("utf-16", "utf-32"))
        if not forced and not wide:
            problem = not_text(sample, source)
            if problem is not None:
                raise problem
        if chosen_delimiter is None:
            chosen_delimiter = sniff_delimiter(sample.decode(codec, errors="replace").lstrip("\ufeff"))
        watch = ByteWatch(raw, watch=not wide, ascii_guess=not forced and codec == "utf-8" and sample.isascii())
    except BaseException:
        raw.close()
        raise
    text = io.TextIOWrapper(watch, encoding=codec, newline="")  # type: ignore[type-var]
    text._CHUNK_SIZE = CHUNK_SIZE  # type: ignore[attr-defined]  # fewer trips through ByteWatch.read1
    delimiter_used = chosen_delimiter
    if state is not None:
        state.codec, state.delimiter, state.watch = codec, chosen_delimiter, watch

    def recover(start: int, end: int) -> list[str]:
        return _reread(name, watch.legacy or codec, delimiter_used, start, end)

    with text:
        try:
            yield from records(text, watch, source, chosen_delimiter, header, report, recover)
        except UnicodeDecodeError:
            raise encoding_error(name, source, codec, forced) from None


def _empty(source: str) -> InputFileError:
    return InputFileError(
        "the file is empty", code="EMPTY_FILE", hint="check that you exported the data", source=source
    )


def _read_header(
    reader: Iterator[list[str]], source: str, line_of: Callable[[], int], report: Report
) -> tuple[list[str], int, int]:
    """Read up to the first non-blank record and turn it into headers; returns them, width, line."""
    line = 0
    try:
        for raw_header in reader:
            if any(cell.strip() for cell in raw_header):
                prov = Provenance(source, None, line + 1, "csv")
                if any("\0" in cell for cell in raw_header):
                    report(_nul_problem(prov, None))
                headers, width = unique_headers(raw_header, prov, report)
                return headers, width, prov.line
            line = line_of()
    except csv.Error as exc:
        raise InputFileError(
            f"the header row cannot be read as CSV: {exc}",
            code="MALFORMED_HEADER",
            hint="check the quotes in the first line",
            source=source,
            line=line + 1,
        ) from None
    raise _empty(source)


def _records(
    text: Iterable[str],
    watch: ByteWatch,
    source: str,
    delimiter: str,
    header: bool,
    report: Report,
    recover: Callable[[int, int], list[str]],
) -> Iterator[TableRow]:
    """The rows of :func:`_blocks`, each block's plain rows turned into TableRows."""
    set_source, set_sheet, set_line, set_fmt = PROVENANCE_SLOTS
    # Small blocks: the caller takes rows one at a time and memory must stay flat.
    for item in _blocks(text, watch, source, delimiter, header, report, recover, block_rows=256):
        if type(item) is TableRow:
            yield item
            continue
        assert isinstance(item, RowBlock)
        headers = item.headers
        for row, start in zip(item.rows, item.lines):  # noqa: B905 - one line per row
            prov = new_object(Provenance)
            set_source(prov, source)
            set_sheet(prov, None)
            set_line(prov, start)
            set_fmt(prov, "csv")
            # zip(strict=...) would double the cost of building the cells
            yield TableRow(prov, dict(zip(headers, row)))  # noqa: B905


def _blocks(
    text: Iterable[str],
    watch: ByteWatch,
    source: str,
    delimiter: str,
    header: bool,
    report: Report,
    recover: Callable[[int, int], list[str]],
    block_rows: int | None = None,
    state: CsvState | None = None,
    part: CsvPart | None = None,
) -> Iterator[TableRow | RowBlock]:
    """Read the records: plain rows gathered in blocks, every other non-blank row as a TableRow.

    A plain row has one cell per header and comes before any NUL byte or ``E+`` in the file; a
    row of empty cells is skipped. Order is kept: a block is handed out before the odd row that
    ends it. Records are taken from csv a block at a time (the parser's own loop, not ours); the
    line each starts on follows from how many lines the block took.
    """
    block_rows = block_rows or tabular.BLOCK_ROWS
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    headers: list[str] = []
    width = -1  # no row has -1 cells: without a header every row takes the positional path
    header_line = 0
    base = 0  # lines before the text the reader reads (a part of the file starts later)
    if part is not None:
        headers, width, base = part.headers, part.width, part.line - 1
    elif header:
        headers, width, header_line = _read_header(reader, source, lambda: reader.line_num, report)
        if state is not None:
            state.headers, state.width = headers, width
    line = base + reader.line_num
    found, broken = False, 0
    while True:
        chunk: list[list[str]] = []
        error: csv.Error | None = None
        try:
            chunk.extend(itertools.islice(reader, block_rows))  # keeps the records read before an error
        except csv.Error as exc:
            error = exc
        end = base + reader.line_num
        if chunk:
            if error is None and end - line == len(chunk):
                starts: Sequence[int] = range(line + 1, end + 1)
            else:
                starts = _starts(chunk, line)
            line = starts[-1] + _span(chunk[-1]) - 1
            suspect = watch.suspect
            if header and not suspect and set(map(len, chunk)) == {width} and all(map(any, chunk)):
                found = True
                yield RowBlock(source, None, "csv", None, headers, chunk, list(starts))
            else:
                for item in _sorted_rows(chunk, starts, source, headers, width, header, suspect):
                    found = True
                    yield item
        if error is not None:
            start = line + 1
            line = base + reader.line_num
            found = True
            broken += 1
            prov = Provenance(source, None, start, "csv")
            if "field larger than field limit" in str(error):
                raise _too_large(prov) from None
            values = recover(start, line) if broken <= _RECOVER_LIMIT else []
            yield _broken_row(prov, str(error), headers, header, line, values)
            if "end of data" in str(error):
                break
            continue
        if len(chunk) < block_rows:
            break
    if found or part is not None:
        return
    if not header:
        raise _empty(source)
    report(
        Problem(
            code="NO_DATA_ROWS",
            message="the file has a header but no data rows",
            hint="check that this is the file you meant to read",
            source=source,
            line=header_line,
            severity=Severity.ERROR,
        )
    )


def _span(row: list[str]) -> int:
    """How many lines a record took: one, plus the line breaks inside its quoted values."""
    breaks = 0
    for cell in row:
        if "\n" in cell or "\r" in cell:
            breaks += cell.count("\n") + cell.count("\r") - cell.count("\r\n")
    return 1 + breaks


def _starts(chunk: list[list[str]], line: int) -> list[int]:
    """The line each record of ``chunk`` starts on, the first one after ``line``."""
    starts = []
    for row in chunk:
        starts.append(line + 1)
        line += _span(row)
    return starts


def _sorted_rows(
    chunk: list[list[str]],
    starts: Sequence[int],
    source: str,
    headers: list[str],
    width: int,
    header: bool,
    suspect: bool,
) -> Iterator[TableRow | RowBlock]:
    """A block of records that are not all plain: runs of plain ones as blocks, the others as rows."""
    rows: list[list[str]] = []
    lines: list[int] = []
    for row, start in zip(chunk, starts):  # noqa: B905 - one start per record
        if len(row) == width and not suspect:
            if any(row):
                rows.append(row)
                lines.append(start)
            continue
        if not any(cell.strip() for cell in row):
            continue
        if rows:
            yield RowBlock(source, None, "csv", None, headers, rows, lines)
            rows, lines = [], []
        prov = Provenance(source, None, start, "csv")
        if not header and not suspect:
            yield TableRow(prov, dict(zip(_positions(len(row)), row)))  # noqa: B905
        else:
            yield _odd_row(prov, row, headers, width, header)
    if rows:
        yield RowBlock(source, None, "csv", None, headers, rows, lines)


def _nul_problem(prov: Provenance, column: str | None) -> Problem:
    return Problem.at(
        prov,
        "NUL_BYTES",
        "NUL bytes in this row were removed",
        hint="the file may be damaged or in another encoding (UTF-16?); check the values",
        column=column,
        severity=Severity.WARNING,
    )


_POSITIONAL: list[str] = []


def _positions(count: int) -> list[str]:
    while len(_POSITIONAL) < count:
        _POSITIONAL.append(str(len(_POSITIONAL) + 1))
    return _POSITIONAL


def _odd_row(prov: Provenance, row: list[str], headers: list[str], width: int, header: bool) -> TableRow:
    """Build a row that needs checks: NUL bytes, scientific numbers, a count of cells off the header."""
    problems: list[Problem] = []
    nul = next((i for i, cell in enumerate(row) if "\0" in cell), None)
    if nul is not None:
        row = [cell.replace("\0", "") for cell in row]
        keyed = headers if header else _positions(len(row))
        problems.append(_nul_problem(prov, keyed[nul] if nul < len(keyed) else None))
    if not header:
        keys = _positions(len(row))
    else:
        keys = headers
        if len(row) > width:
            extra = [i for i in range(width, len(row)) if row[i].strip()]
            if extra:
                where = ", ".join(str(i + 1) for i in extra)
                shown = ", ".join(repr(row[i][:40]) for i in extra[:3])
                what = f"values {where} ({shown}) have" if len(extra) > 1 else f"value {where} ({shown}) has"
                problems.append(
                    Problem.at(
                        prov,
                        "RAGGED_ROW",
                        f"the row has {len(row)} values but the header names {width} columns; {what} no column",
                        hint="a value probably holds an unquoted delimiter: put it in double quotes",
                    )
                )
            row = row[:width]
        elif len(row) < width:
            problems.append(
                Problem.at(
                    prov,
                    "SHORT_ROW",
                    f"the row has {len(row)} values but the header names {width} columns; "
                    f"{', '.join(repr(h) for h in headers[len(row) :][:5])}{'...' if width - len(row) > 5 else ''} "
                    "read as empty",
                    hint="check that no value was lost or merged with its neighbour",
                    severity=Severity.WARNING,
                )
            )
            row = row + [""] * (width - len(row))
    cells = dict(zip(keys, row))  # noqa: B905 - row cut to the keys above
    for key, value in cells.items():
        found = scientific_problem(prov, key, value)
        if found is not None:
            problems.append(found)
    return TableRow(prov, cells, problems=problems)


def _reread(path: str, codec: str, delimiter: str, start: int, end: int) -> list[str]:
    """Read lines ``start``..``end`` again, leniently, for the values of a record csv refused.

    Only for broken records (rare, and at most ``_RECOVER_LIMIT`` a file): it reads the file from
    its start. The values end up in the rejects file, so they are cut to a readable length.
    """
    with open(path, encoding=codec, errors="replace", newline="") as fh:
        lines = list(itertools.islice(fh, start - 1, min(end, start + 50)))
    try:
        values = next(csv.reader(lines, delimiter=delimiter), [])
    except csv.Error:
        return []
    return [v if len(v) <= _RECOVERED_LENGTH else v[:_RECOVERED_LENGTH] + "..." for v in values]


def _too_large(prov: Provenance) -> InputFileError:
    # Past this, csv cannot find where the next record starts: the file stops here.
    return InputFileError(
        f"a value starting on this line is larger than {FIELD_SIZE_LIMIT // (1024 * 1024)} MB: "
        "probably a double quote that is never closed",
        code="FIELD_TOO_LARGE",
        hint="close the quote, or double the quote character inside the value",
        source=prov.source,
        line=prov.line,
    )


def _broken_row(
    prov: Provenance, error: str, headers: list[str], header: bool, end: int, values: list[str]
) -> TableRow:
    """Turn a csv.Error into a row that carries it, so the row is reported and the rest read."""
    if "end of data" in error:
        code = "UNCLOSED_QUOTE"
        message = (
            f"a double quote opened in this row is never closed: the rest of the file, to line {end}, "
            "was read as one value"
        )
        hint = 'close the quote, or double the quote character inside the value ("")'
    else:
        code = "MALFORMED_ROW"
        message = f"the row cannot be read as CSV: {error}"
        hint = 'a quoted value must end right before the delimiter; double any quote inside it ("")'
    if header:
        cells = dict(zip(headers, values + [""] * (len(headers) - len(values))))  # noqa: B905 - padded
    else:
        cells = dict(zip(_positions(len(values)), values))  # noqa: B905 - same length
    # The values were read leniently (as csv would without strict=True): kept for the rejects file,
    # but the row stays invalid.
    return TableRow(prov, cells, problems=[Problem.at(prov, code, message, hint=hint)])
