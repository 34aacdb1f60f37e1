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
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from migrate.errors import InputFileError
from migrate.records import Problem, Provenance, Severity, TableRow

__all__ = [
    "FIELD_SIZE_LIMIT",
    "detect_encoding",
    "read_csv",
    "scientific_problem",
    "sniff_delimiter",
    "unique_headers",
]

#: Largest cell the reader accepts (bytes of text). Large enough for a 10 MB cell (the model
#: complains about such a value, not the reader), small enough that an unclosed quote in a huge
#: file stops with a located error instead of swallowing the file into one cell.
FIELD_SIZE_LIMIT = 64 * 1024 * 1024

_SAMPLE_SIZE = 64 * 1024
_CHUNK_SIZE = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bytes text files are made of: all but the C0 control characters other than tab, LF, FF, CR.
_TEXT_BYTES = bytes([9, 10, 12, 13, *range(32, 127), *range(128, 256)])
# A multi-byte UTF-8 character; in cp1252 text these byte pairs would read as mojibake ("Ã©").
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# How Excel displays (and writes to CSV) a number too long for its column: "1.23457E+11".
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?E\+\d+")
# The byte markers that make a chunk worth the per-cell checks: a NUL, or Excel's exponent.
_SUSPECT_MARKERS = (b"\0", b"E+")

Report = Callable[[Problem], None]

# Provenance is a frozen dataclass: its __init__ fills each slot through object.__setattr__ and
# costs more than parsing the CSV line. The hot loop fills the slots directly instead (the same
# object; a test compares it with the constructor's).
_new = object.__new__
_SET_SOURCE, _SET_SHEET, _SET_LINE, _SET_FMT = (
    Provenance.__dict__[slot].__set__ for slot in ("source", "sheet", "line", "fmt")
)


def _ignore(problem: Problem) -> None:
    """Drop a file-level problem (the default ``report``)."""


def detect_encoding(sample: bytes) -> str:
    """Guess the encoding of a CSV file from its first bytes.

    A BOM decides; otherwise UTF-16 without a BOM is recognised by its NUL bytes, then the sample is
    tried strictly as UTF-8, then cp1252, then latin-1 (which always decodes).

    Args:
        sample: The first bytes of the file (a few KB are enough).

    Returns:
        A Python codec name.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if len(sample) >= 4 and sample.count(0) * 3 >= len(sample):
        # Text in UTF-16 without a BOM: every other byte of ASCII is NUL.
        evens, odds = sample[0::2].count(0), sample[1::2].count(0)
        if odds > evens * 4:
            return "utf-16-le"
        if evens > odds * 4:
            return "utf-16-be"
    if sample.isascii():
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        if _UTF8_SEQUENCE.search(sample):
            # Real UTF-8 next to bytes that are not: a file edited with two encodings. Reading it as
            # cp1252 would turn the UTF-8 parts into mojibake silently; as UTF-8 it fails, located.
            return "utf-8"
    else:
        return "utf-8"
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _count_outside_quotes(line: str, char: str) -> int:
    if '"' not in line:
        return line.count(char)
    # Quoted parts are every other piece when the line is split at quotes ("" pairs cancel out).
    return sum(piece.count(char) for piece in line.split('"')[0::2])


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter (comma, semicolon, tab or pipe) from the first lines of a file.

    The delimiter that appears the same, non-zero number of times outside quotes on each of the
    first lines wins (the most frequent if several do); failing that, the most frequent one on the
    first line; a file without any is read as comma separated (a single column).

    Args:
        text: The beginning of the file, decoded.

    Returns:
        The delimiter character.
    """
    lines = [line for line in text.splitlines()[:6] if line.strip()]
    if len(lines) > 1 and len(text) >= _SAMPLE_SIZE:
        lines.pop()  # the sample may cut the last line short
    if not lines:
        return ","
    counts = {d: [_count_outside_quotes(line, d) for line in lines[:5]] for d in _DELIMITERS}
    steady = [d for d in _DELIMITERS if counts[d][0] > 0 and len(set(counts[d])) == 1]
    pool = steady or [d for d in _DELIMITERS if counts[d][0] > 0]
    if not pool:
        return ","
    return max(pool, key=lambda d: counts[d][0])  # max() keeps the first on ties: comma first


def unique_headers(
    raw: Sequence[str], prov: Provenance, report: Report, *, label: Callable[[int], str] | None = None
) -> tuple[list[str], int]:
    """Strip header cells, name empty ones and make duplicates distinct.

    Trailing empty header cells are dropped (spreadsheets export them); an empty header between
    named ones becomes ``column N``; a repeated header (compared ignoring case) becomes
    ``name (2)`` and is reported once as an error, since the mapping could not tell the two apart.

    Args:
        raw: The header cells as read.
        prov: Where the header row is (for messages).
        report: Receives the file-level problems.
        label: Names the 1-based position of a column without a header (default ``column N``).

    Returns:
        The headers and how many positions they cover.
    """
    names = [cell.replace("\0", "").strip().lstrip("\ufeff").strip() for cell in raw]
    while names and not names[-1]:
        names.pop()
    headers: list[str] = []
    taken = {name.casefold() for name in names}  # a copy's new name must not be a header already
    counts: dict[str, int] = {}
    duplicates: list[tuple[str, str]] = []
    for position, name in enumerate(names, 1):
        if not name:
            name = label(position) if label else f"column {position}"
            report(
                Problem.at(
                    prov,
                    "EMPTY_HEADER",
                    f"a column has no header; its values are read as {name!r}",
                    hint="give the column a header, or delete it",
                    severity=Severity.WARNING,
                )
            )
        folded = name.casefold()
        if folded in counts:
            number = counts[folded] + 1
            while f"{folded} ({number})" in taken:
                number += 1
            counts[folded] = number
            renamed = f"{name} ({number})"
            taken.add(renamed.casefold())
            duplicates.append((name, renamed))
            name = renamed
        else:
            counts[folded] = 1
        headers.append(name)
    if duplicates:
        listed = ", ".join(dict.fromkeys(repr(name) for name, _ in duplicates))
        renamed = ", ".join(repr(copy) for _, copy in duplicates)
        report(
            Problem.at(
                prov,
                "DUPLICATE_HEADER",
                f"the header names {listed} more than once; the copies are read as {renamed}",
                hint="give every column its own header, or delete the extra column",
                column=duplicates[0][0],
            )
        )
    return headers, len(headers)


def scientific_problem(prov: Provenance, column: str, value: str) -> Problem | None:
    """Return an ``EXCEL_SCIENTIFIC`` warning when ``value`` is a number Excel wrote as ``1.5E+15``.

    Args:
        prov: Where the cell is.
        column: The cell's header.
        value: The cell text.
    """
    if "E+" not in value or not _SCIENTIFIC.fullmatch(value.strip()):
        return None
    return Problem.at(
        prov,
        "EXCEL_SCIENTIFIC",
        f"{value.strip()!r} is a number in scientific notation: its digits were probably cut by Excel",
        hint="format the column as Text in the spreadsheet and type the full value again",
        column=column,
        severity=Severity.WARNING,
    )


class _Watch(io.RawIOBase):
    """The raw bytes under the text decoder: flags suspect chunks, rescues legacy encodings.

    ``suspect`` turns on as soon as a chunk holds a NUL byte or ``E+``; rows read after that get
    the per-cell checks. When the encoding was only guessed as UTF-8 because the start of the file
    is plain ASCII, the first chunk that is not valid UTF-8 switches the rest of the file to
    cp1252 (or latin-1), re-encoded as UTF-8 for the decoder above: the ASCII before it reads the
    same in both.
    """

    def __init__(self, raw: io.BufferedReader, *, watch: bool, ascii_guess: bool) -> None:
        super().__init__()
        self._raw = raw
        self._watch = watch
        self._ascii_guess = ascii_guess
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.legacy: str | None = None
        self.suspect = not watch
        self._last = b""

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        data = self._raw.read1(size if size > 0 else _CHUNK_SIZE)
        if self._watch and not self.suspect and data:
            # The byte before the chunk catches an "E+" cut in two.
            edge = self._last + data[:1]
            self.suspect = any(m in data or m in edge for m in _SUSPECT_MARKERS)
            self._last = data[-1:]
        if self._ascii_guess and not data.isascii():
            self._ascii_guess = False
            try:
                self._utf8.decode(data, final=False)
            except UnicodeDecodeError:
                self.legacy = _legacy_codec(data)
        if self.legacy is not None:
            try:
                data = data.decode(self.legacy).encode("utf-8")
            except UnicodeDecodeError:
                data = data.decode("latin-1").encode("utf-8")
        return data

    def read(self, size: int = -1) -> bytes:
        return self.read1(size)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _legacy_codec(data: bytes) -> str:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _check_codec(encoding: str, source: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputFileError(
            f"unknown encoding {encoding!r}",
            code="UNKNOWN_ENCODING",
            hint="use a Python codec name such as utf-8, utf-16, cp1252 or latin-1",
            source=source,
        ) from None


def _check_delimiter(delimiter: str, source: str) -> str:
    chosen = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    if len(chosen) != 1 or chosen in '"\r\n':
        raise InputFileError(
            f"{delimiter!r} cannot be a delimiter",
            code="BAD_DELIMITER",
            hint="give one character: ',', ';', 'tab' or '|'",
            source=source,
        )
    return chosen


def _not_text(sample: bytes, source: str) -> InputFileError | None:
    """Recognise the binary files people rename to .csv by mistake."""
    if sample.startswith(b"PK\x03\x04"):
        what, hint = "a zip archive (an XLSX workbook?)", "if it is a workbook, name it .xlsx"
    elif sample.startswith(b"\xd0\xcf\x11\xe0"):
        what, hint = "an old Excel .xls workbook", "save it as CSV UTF-8 or as .xlsx"
    elif (control := len(sample.translate(None, _TEXT_BYTES))) >= 4 and control * 10 > len(sample):
        what, hint = "a binary file", "export the data as CSV"
    else:
        return None
    return InputFileError(f"is not a CSV text file: it looks like {what}", code="NOT_TEXT", hint=hint, source=source)


def _locate_bad_bytes(path: str, encoding: str) -> int | None:
    """Find the line of the first bytes ``encoding`` cannot decode (only after a decode error)."""
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        return None
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return None


def _encoding_error(path: str, source: str, encoding: str, forced: bool) -> InputFileError:
    line = _locate_bad_bytes(path, encoding)
    if forced:
        message = f"the file is not valid {encoding}"
        hint = "check --encoding, or leave it out: UTF-8, UTF-16, cp1252 and latin-1 are detected"
    else:
        message = f"the file is not valid {encoding} (detected from its start; tried utf-8, cp1252, latin-1)"
        hint = "save the file as UTF-8, or pass --encoding (e.g. --encoding cp1252 or --encoding latin-1)"
    return InputFileError(message, code="ENCODING", hint=hint, source=source, line=line)


def read_csv(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool = True,
    source_name: str | None = None,
    report: Report = _ignore,
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
    name = os.fspath(path)
    source = source_name if source_name is not None else name
    forced = encoding is not None
    chosen_delimiter = _check_delimiter(delimiter, source) if delimiter is not None else None
    if encoding is not None:
        encoding = _check_codec(encoding, source)
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)  # process-wide, and only ever raised

    raw = open(name, "rb")  # noqa: SIM115 - closed through the text wrapper below
    try:
        sample = raw.read(_SAMPLE_SIZE)
        raw.seek(0)
        codec = encoding or detect_encoding(sample)
        wide = codecs.lookup(codec).name.startswith(("utf-16", "utf-32"))
        if not forced and not wide:
            problem = _not_text(sample, source)
            if problem is not None:
                raise problem
        if chosen_delimiter is None:
            chosen_delimiter = sniff_delimiter(sample.decode(codec, errors="replace").lstrip("\ufeff"))
        watch = _Watch(raw, watch=not wide, ascii_guess=not forced and codec == "utf-8" and sample.isascii())
    except BaseException:
        raw.close()
        raise
    text = io.TextIOWrapper(watch, encoding=codec, newline="")  # type: ignore[type-var]
    text._CHUNK_SIZE = _CHUNK_SIZE  # type: ignore[attr-defined]  # fewer trips through _Watch.read1
    with text:
        try:
            yield from _records(text, watch, source, chosen_delimiter, header, report)
        except UnicodeDecodeError:
            raise _encoding_error(name, source, codec, forced) from None


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
    text: Iterable[str], watch: _Watch, source: str, delimiter: str, header: bool, report: Report
) -> Iterator[TableRow]:
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    headers: list[str] = []
    width = -1  # no row has -1 cells: without a header every row takes the positional path
    header_line = 0
    if header:
        headers, width, header_line = _read_header(reader, source, lambda: reader.line_num, report)
    line = reader.line_num
    rows = 0
    set_source, set_sheet, set_line, set_fmt = _SET_SOURCE, _SET_SHEET, _SET_LINE, _SET_FMT
    while True:
        try:
            for row in reader:
                start = line + 1
                line = reader.line_num
                if len(row) == width and not watch.suspect:
                    if any(row):
                        rows = 1
                        prov = _new(Provenance)
                        set_source(prov, source)
                        set_sheet(prov, None)
                        set_line(prov, start)
                        set_fmt(prov, "csv")
                        # zip(strict=...) would double the cost of building the cells
                        yield TableRow(prov, dict(zip(headers, row)))  # noqa: B905
                    continue
                if not any(cell.strip() for cell in row):
                    continue
                rows = 1
                prov = Provenance(source, None, start, "csv")
                if not header and not watch.suspect:
                    yield TableRow(prov, dict(zip(_positions(len(row)), row)))  # noqa: B905
                else:
                    yield _odd_row(prov, row, headers, width, header)
        except csv.Error as exc:
            start = line + 1
            line = reader.line_num
            rows = 1
            yield _broken_row(Provenance(source, None, start, "csv"), str(exc), headers, line)
            if "end of data" in str(exc):
                break
            continue
        break
    if rows:
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
            severity=Severity.WARNING,
        )
    )


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
                problems.append(
                    Problem.at(
                        prov,
                        "RAGGED_ROW",
                        f"the row has {len(row)} values but the header names {width} columns; "
                        f"value {where} ({', '.join(repr(row[i][:40]) for i in extra[:3])}) has no column",
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


def _broken_row(prov: Provenance, error: str, headers: list[str], end: int) -> TableRow:
    """Turn a csv.Error into a row that carries it, so the row is reported and the rest read."""
    if "field larger than field limit" in error:
        raise InputFileError(
            f"a value starting on this line is larger than {FIELD_SIZE_LIMIT // (1024 * 1024)} MB: "
            "probably a double quote that is never closed",
            code="FIELD_TOO_LARGE",
            hint="close the quote, or double the quote character inside the value",
            source=prov.source,
            line=prov.line,
        )
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
    cells = dict.fromkeys(headers, "")
    return TableRow(prov, cells, problems=[Problem.at(prov, code, message, hint=hint)])
