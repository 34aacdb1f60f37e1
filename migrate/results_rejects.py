"""The rejects file: failed and invalid input rows handed back in the input's own format.

Each rejected row is written with three columns appended, ``error_code``, ``error_message`` and
``error_column``, so the admin can fix the rows and import the file again. The file's name picks
the format: ``.csv``, ``.xlsx``, ``.jsonl`` (or ``.json``/``.ndjson``); with any other name the
first rejected row's input format decides (CSV -> CSV, XLSX -> XLSX, LDIF/JSON -> JSONL).

- **CSV**: the input's header columns (first-seen order; when rows of several inputs meet, the
  union of their headers), ``,`` delimiter, UTF-8 with a BOM so Excel opens it. Headerless inputs
  (columns ``1``, ``2``...) stay headerless with the error columns at the end. Rows are written and
  flushed as they come; when a later row brings a new column the file is rewritten once with the
  wider header.
- **XLSX**: one sheet per input sheet (CSV rows go to the sheet of their kind, ``Users``...), each
  with its own header + the error columns. Rows are spooled to a temporary file and the workbook is
  written on :meth:`RejectsWriter.close` (a header must come first and is known only at the end).
- **JSONL**: ``{"source", "sheet", "line", "kind", "fields", "error_code", "error_message",
  "error_column"}`` per row, ``fields`` in the model's vocabulary.

Rows from LDIF or JSON inputs have no cells of their own; in a CSV or XLSX file their fields go
under the field names (lists joined with ``", "``, booleans ``yes``/``no``), the ``default``
mapping profile's headers. Text a spreadsheet would run as a formula gets a leading ``'`` (the
convention of :mod:`migrate.exporters.tabular_writer`, which the readers undo). A column of the
input named like an error column is replaced by this run's value, so a rejects file can be
re-imported and rejected again without growing columns.

**Secrets** (a decision): the issue requires that no password, hash or cookie appear anywhere in
the rejects. So password and hash cells (the columns the mapping read ``password`` and
``password_hash`` from, and any cell holding the row's password or hash) are written **empty**,
and ``password``/``password_hash`` never appear in ``fields``. An empty cell means "not given" on
re-import; it never sets a wrong password, unlike a placeholder such as ``***`` would. Whoever
needs the plain passwords back in the file (they were in the admin's own input) passes
``keep_passwords=True``; hashes from LDIF/JSON fields are dropped either way. The error codes and
messages are always redacted: the row's own secrets are added to the redactor first.

When the run rejects nothing, :meth:`RejectsWriter.close` still leaves an empty file (an XLSX with
one empty sheet), so a rejects file from an earlier run is never mistaken for this one's.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from migrate.errors import FatalError
from migrate.exporters.tabular_writer import SHEETS, neutralize
from migrate.records import KINDS, Record
from migrate.results_redact import Redactor
from migrate.results_sinks import CsvSink, JsonlSink, OutRow, Sink, XlsxSink

__all__ = ["ERROR_COLUMNS", "RejectsWriter"]

#: The columns appended to every rejected row.
ERROR_COLUMNS: tuple[str, str, str] = ("error_code", "error_message", "error_column")
_SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
_FROM_INPUT = {"csv": "csv", "xlsx": "xlsx"}
_SECRET_FIELDS = ("password", "password_hash")
# Fields never copied from a record into the rejects (the hash function is useless without it).
_DROPPED = frozenset({"password", "password_hash", "password_hash_function"})
# Kind -> sheet name for rows that come without a sheet ("user" -> "Users"); same order as KINDS.
_KIND_SHEETS = dict(zip(KINDS, SHEETS.values(), strict=True))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(item) for item in value)
    return str(value)


def _is_headerless(keys: list[str]) -> bool:
    return bool(keys) and keys == [str(i) for i in range(1, len(keys) + 1)]


class RejectsWriter:
    """Writes failed and invalid input rows, in the input's own format, with their errors.

    Use it as a context manager, or call :meth:`close` (the XLSX workbook is written then).

    Args:
        path: The rejects file; its suffix picks the format (see the module docstring).
        redactor: Redacts error codes and messages; pass the result log's so secrets learned
            during the run are hidden here too. A private one is used when omitted.
        keep_passwords: Write plain password and hash cells of tabular inputs back as they were
            instead of empty (see "Secrets" in the module docstring).

    Attributes:
        count: Rows written so far.
        path: The rejects file.

    Raises:
        FatalError: ``OUTPUT_NOT_WRITABLE`` when the file cannot be created.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        redactor: Redactor | None = None,
        keep_passwords: bool = False,
    ) -> None:
        self.path = Path(path)
        self.count = 0
        self.redactor = redactor if redactor is not None else Redactor()
        self._keep_passwords = keep_passwords
        self._fmt: str | None = _SUFFIXES.get(self.path.suffix.lower())
        self._sink: Sink | None = None
        self._closed = False
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Truncate now: a stale rejects file must not survive a run that crashes, and an
            # unwritable path is better reported before the import starts than after it ends.
            self.path.open("wb").close()
        except OSError as exc:
            raise FatalError(
                f"cannot write the rejects file: {exc.strerror or exc}",
                code="OUTPUT_NOT_WRITABLE",
                hint="choose another --rejects path, or fix the directory's permissions",
                source=str(self.path),
            ) from exc

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def add(self, record: Record, *, code: str, message: str, column: str | None) -> None:
        """Write one rejected input row with its error.

        Args:
            record: The input row (provenance, fields, raw cells).
            code: The error code.
            message: The error message (redacted before it is written).
            column: The input column the error points at, if known.

        Raises:
            ValueError: when the writer is closed.
        """
        secrets = self._row_secrets(record)
        for value in secrets:
            self.redactor.add(value)
        errors = (self.redactor(code), self.redactor(message), column or "")
        with self._lock:
            if self._closed:
                raise ValueError("the rejects writer is closed")
            if self._fmt is None:
                self._fmt = _FROM_INPUT.get(record.prov.fmt, "jsonl")
            sink = self._open_sink()
            if isinstance(sink, JsonlSink):
                sink.add(self._json_row(record, errors))
            else:
                sink.add(self._table_row(record, secrets, errors))
            self.count += 1

    def close(self) -> None:
        """Finish the file (writes the XLSX workbook); safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._sink is None and self._fmt is None:
                return  # nothing rejected and no format to speak of: the truncated file stays empty
            self._open_sink().close()

    def _open_sink(self) -> Sink:
        if self._sink is None:
            if self._fmt == "csv":
                self._sink = CsvSink(self.path, ERROR_COLUMNS)
            elif self._fmt == "xlsx":
                self._sink = XlsxSink(self.path, ERROR_COLUMNS)
            else:
                self._sink = JsonlSink(self.path)
        return self._sink

    @staticmethod
    def _row_secrets(record: Record) -> list[str]:
        found = [v for name in _SECRET_FIELDS if isinstance(v := record.fields.get(name), str) and v.strip()]
        if record.raw:
            for name in _SECRET_FIELDS:
                header = record.columns.get(name)
                cell = record.raw.get(header, "") if header else ""
                if cell.strip():
                    found.append(cell)
        return found

    def _table_row(self, record: Record, secrets: list[str], errors: tuple[str, str, str]) -> OutRow:
        prov = record.prov
        if record.raw is not None and prov.fmt in ("csv", "xlsx"):
            cells = {k: v for k, v in record.raw.items() if k not in ERROR_COLUMNS}
            headerless = _is_headerless(list(cells))
            if not self._keep_passwords:
                hidden = {record.columns[n] for n in _SECRET_FIELDS if n in record.columns}
                stripped = {s.strip() for s in secrets}
                for header, value in cells.items():
                    if header in hidden or (value.strip() and value.strip() in stripped):
                        cells[header] = ""
        else:
            cells = {k: _text(v) for k, v in record.fields.items() if k not in _DROPPED and k not in ERROR_COLUMNS}
            headerless = False
        sheet = prov.sheet if prov.fmt == "xlsx" and prov.sheet else _KIND_SHEETS.get(record.kind, record.kind)
        return OutRow(
            sheet=sheet,
            cells={k: neutralize(v) for k, v in cells.items()},
            headerless=headerless,
            errors=tuple(neutralize(e) for e in errors),
        )

    @staticmethod
    def _json_row(record: Record, errors: tuple[str, str, str]) -> dict[str, Any]:
        prov = record.prov
        return {
            "source": prov.source,
            "sheet": prov.sheet,
            "line": prov.line,
            "kind": record.kind,
            "fields": {k: v for k, v in record.fields.items() if k not in _DROPPED},
            **dict(zip(ERROR_COLUMNS, errors, strict=True)),
        }
