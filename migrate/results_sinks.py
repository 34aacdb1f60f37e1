"""File writers behind :class:`~migrate.results_rejects.RejectsWriter`: CSV, XLSX and JSONL.

They receive rows that are already final (secrets removed, formula text neutralized, errors
redacted) and only deal with layout: column unions, headerless files, sheets.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeAlias

from migrate.errors import FatalError

__all__ = ["CsvSink", "JsonlSink", "OutRow", "Sink", "XlsxSink", "sheet_name"]

# Excel's limits: rows per sheet, characters per sheet name.
_XLSX_ROWS = 1_048_576
_SHEET_NAME_MAX = 31
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class OutRow:
    """One rejected row, ready to write in a table.

    Attributes:
        sheet: The sheet it belongs to (XLSX only).
        cells: Header -> cell text, in the input's column order.
        headerless: The input had no header line (columns ``1``, ``2``...).
        errors: ``error_code``, ``error_message``, ``error_column`` values.
    """

    sheet: str
    cells: dict[str, str]
    headerless: bool
    errors: tuple[str, ...]


def _write_error(path: Path, exc: BaseException) -> FatalError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return FatalError(
        f"cannot write the rejects file: {reason}",
        code="OUTPUT_NOT_WRITABLE",
        hint="choose another --rejects path, or fix the directory's permissions",
        source=str(path),
    )


class CsvSink:
    """Streams rows to a CSV file (UTF-8 with BOM), widening the header when a new column shows up.

    Args:
        path: The file (replaced).
        error_columns: Appended to every row.
    """

    def __init__(self, path: Path, error_columns: tuple[str, ...]) -> None:
        self.path = path
        self.error_columns = error_columns
        self.columns: list[str] = []
        self.headerless = True
        self._fh: IO[str] | None = None
        self._writer: Any = None

    def add(self, row: OutRow) -> None:
        """Write one row (rewriting the file once if it brings new columns), flushed."""
        if self._fh is None:
            self._start(row)
        else:
            known = set(self.columns)
            new = [c for c in row.cells if c not in known]
            headerless = self.headerless and row.headerless
            if new or headerless != self.headerless:
                self._rewrite([*self.columns, *new], headerless)
        self._writer.writerow([row.cells.get(c, "") for c in self.columns] + list(row.errors))
        assert self._fh is not None
        self._fh.flush()

    def close(self) -> None:
        """Close the file; with no rows at all, leave it empty."""
        if self._fh is None:
            self._open("w", "utf-8").close()
            return
        self._fh.close()

    def _open(self, mode: str, encoding: str) -> IO[str]:
        try:
            return self.path.open(mode, encoding=encoding, newline="")
        except OSError as exc:
            raise _write_error(self.path, exc) from exc

    def _start(self, row: OutRow) -> None:
        self.columns = list(row.cells)
        self.headerless = row.headerless
        # The BOM makes Excel read the file as UTF-8 instead of the machine's code page.
        self._fh = self._open("w", "utf-8-sig")
        self._writer = csv.writer(self._fh)
        if not self.headerless:
            self._writer.writerow([*self.columns, *self.error_columns])

    def _rewrite(self, columns: list[str], headerless: bool) -> None:
        assert self._fh is not None
        self._fh.close()
        width = len(self.columns)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            with (
                self.path.open(encoding="utf-8-sig", newline="") as src,
                tmp.open("w", encoding="utf-8-sig", newline="") as dst,
            ):
                reader = csv.reader(src)
                writer = csv.writer(dst)
                if not self.headerless:
                    next(reader, None)
                if not headerless:
                    writer.writerow([*columns, *self.error_columns])
                for values in reader:
                    cells = dict(zip(self.columns, values[:width], strict=False))
                    writer.writerow([cells.get(c, "") for c in columns] + values[width:])
            os.replace(tmp, self.path)
        except OSError as exc:
            raise _write_error(self.path, exc) from exc
        self.columns = columns
        self.headerless = headerless
        # The BOM is already at the start of the file; "utf-8" does not write a second one.
        self._fh = self._open("a", "utf-8")
        self._writer = csv.writer(self._fh)


class JsonlSink:
    """Streams one JSON object per line (UTF-8), flushed per row.

    Args:
        path: The file (replaced).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fh = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise _write_error(path, exc) from exc

    def add(self, row: dict[str, Any]) -> None:
        """Write one object."""
        self._fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


@dataclass
class _Sheet:
    name: str
    columns: list[str] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    headerless: bool = True


def sheet_name(name: str) -> str:
    """Return ``name`` as a valid Excel sheet name (brackets, colons, slashes... replaced; <= 31 chars)."""
    clean = _SHEET_BAD.sub("_", name).strip("'")[:_SHEET_NAME_MAX].strip()
    if not clean:
        return "Sheet"
    return "History_" if clean.lower() == "history" else clean


class XlsxSink:
    """Collects rows per sheet in a temporary spool and writes the workbook on :meth:`close`.

    A sheet's header (the union of its rows' columns) is known only after the last row, and the
    header must be the first row written; spooling to disk keeps memory flat however many rows
    are rejected, and lets xlsxwriter write each sheet in constant-memory mode.

    Args:
        path: The workbook (replaced atomically on close).
        error_columns: Appended to every row.
    """

    def __init__(self, path: Path, error_columns: tuple[str, ...]) -> None:
        self.path = path
        self.error_columns = error_columns
        self.sheets: dict[str, _Sheet] = {}
        # Lives as long as the sink; close() drops it.
        self._spool: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n")  # noqa: SIM115

    def add(self, row: OutRow) -> None:
        """Spool one row under its sheet."""
        name = sheet_name(row.sheet)
        key = name.lower()  # Excel's sheet names are case-insensitive
        sheet = self.sheets.get(key)
        if sheet is None:
            sheet = self.sheets[key] = _Sheet(name, headerless=row.headerless)
        for column in row.cells:
            if column not in sheet.known:
                sheet.known.add(column)
                sheet.columns.append(column)
        sheet.headerless = sheet.headerless and row.headerless
        self._spool.write(json.dumps([key, row.cells, list(row.errors)], ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Write the workbook (one empty sheet when there are no rows) and drop the spool."""
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        try:
            self._write(tmp)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, self.path)
        except Exception as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise _write_error(self.path, exc) from exc
        finally:
            self._spool.close()

    def _write(self, filename: str) -> None:
        options = {
            "constant_memory": True,
            # Cells are the admin's text: never turn them into formulas, links or numbers.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        }
        # Imported here: only XLSX rejects need it, and it adds 25 ms to every import's start.
        import xlsxwriter

        workbook = xlsxwriter.Workbook(filename, options)
        bold = workbook.add_format({"bold": True})
        if not self.sheets:
            workbook.add_worksheet("Rejects")
        for key, sheet in self.sheets.items():
            header = None if sheet.headerless else [*sheet.columns, *self.error_columns]
            part = 1
            worksheet = workbook.add_worksheet(sheet.name)
            row_index = self._header(worksheet, header, bold)
            self._spool.seek(0)
            for line in self._spool:
                row_key, cells, errors = json.loads(line)
                if row_key != key:
                    continue
                if row_index >= _XLSX_ROWS:
                    # More rejects than a sheet holds: go on in "Users (2)", "Users (3)"...
                    part += 1
                    suffix = f" ({part})"
                    worksheet = workbook.add_worksheet(sheet.name[: _SHEET_NAME_MAX - len(suffix)] + suffix)
                    row_index = self._header(worksheet, header, bold)
                values = [cells.get(c, "") for c in sheet.columns] + errors
                for col, value in enumerate(values):
                    if value:
                        worksheet.write_string(row_index, col, value)
                row_index += 1
        workbook.close()

    @staticmethod
    def _header(worksheet: Any, header: list[str] | None, bold: Any) -> int:
        if header is None:
            return 0
        for col, title in enumerate(header):
            worksheet.write_string(0, col, title, bold)
        return 1


#: Any of the three writers.
Sink: TypeAlias = CsvSink | XlsxSink | JsonlSink
