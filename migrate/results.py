"""Per-row result records, the result log (JSONL and CSV), the run summary and secret redaction.

Every input row of an import ends with exactly one :class:`ResultRecord`. :class:`ResultLog`
writes each record the moment it is added and flushes it, so a killed run (even ``kill -9``)
leaves a log of everything that completed. The log's columns are :data:`COLUMNS` (DESIGN.md,
"Result log"), the same in both files:

- JSONL: one object per line with exactly those keys, in that order; ``sheet`` and ``line`` are
  ``null`` when unknown; the text is exactly what was recorded (after redaction).
- CSV: UTF-8 (no BOM: the log is read by programs first), a header line, ``,`` delimiter, unknown
  values empty. Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) gets
  a leading ``'``, the convention of :mod:`migrate.exporters.tabular_writer`.

Secrets never reach the files: the log's :class:`~migrate.results_redact.Redactor` is applied to
``code`` and ``message`` of every record. ``key`` is an account address and is written as is.

The rejects file (failed and invalid input rows in the input's own format) is written by
:class:`~migrate.results_rejects.RejectsWriter`, re-exported here.
"""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from migrate.errors import FatalError
from migrate.exporters.tabular_writer import neutralize
from migrate.records import KINDS
from migrate.results_redact import Redactor
from migrate.results_rejects import RejectsWriter

__all__ = [
    "COLUMNS",
    "STATUSES",
    "Redactor",
    "RejectsWriter",
    "ResultLog",
    "ResultRecord",
    "log_paths",
    "render_summary",
]

#: Every status a row can end with.
STATUSES: tuple[str, ...] = ("created", "updated", "unchanged", "failed", "invalid", "skipped")
#: The result log's columns, in order (JSONL keys and CSV header).
COLUMNS: tuple[str, ...] = (
    "source",
    "sheet",
    "line",
    "kind",
    "key",
    "action",
    "status",
    "code",
    "message",
    "attempts",
    "ms",
)
_STATUS_SET = frozenset(STATUSES)


@dataclass(frozen=True)
class ResultRecord:
    """The outcome of one input row.

    Attributes:
        source: Input file as the user named it.
        sheet: XLSX sheet, or ``None``.
        line: 1-based line/row of the input, or ``None`` when not known.
        kind: Account kind (``user``, ``alias``...).
        key: Account key (email or domain).
        action: What was done or attempted (``create``, ``update``, ``none``...).
        status: One of :data:`STATUSES`.
        code: Machine readable code (an API ``_msg``, ``VERIFY_MISMATCH``, a validation code).
        message: Human readable detail; redacted before it is written.
        attempts: API calls made for the row, retries included.
        ms: Time spent on the row, in milliseconds.
        column: The input column an error points at (used by the rejects file, not logged).

    Raises:
        ValueError: for a status that is not in :data:`STATUSES`.
    """

    source: str
    sheet: str | None
    line: int | None
    kind: str
    key: str
    action: str
    status: str
    code: str = ""
    message: str = ""
    attempts: int = 0
    ms: int = 0
    column: str | None = None

    def __post_init__(self) -> None:
        if self.status not in _STATUS_SET:
            raise ValueError(f"unknown result status {self.status!r}; expected one of {', '.join(STATUSES)}")

    def as_row(self) -> dict[str, Any]:
        """Return the logged columns (:data:`COLUMNS`) as a dict, in order."""
        # Not dataclasses.asdict(): it deep-copies every field, a visible cost per finished row.
        return {name: getattr(self, name) for name in COLUMNS}


def log_paths(path: str | os.PathLike[str]) -> tuple[Path, ...]:
    """Return the files a result log at ``path`` writes.

    ``x.jsonl`` -> JSONL only, ``x.csv`` -> CSV only; any other name -> ``<path>.jsonl`` and
    ``<path>.csv`` (the name is extended, not replaced: ``run.log`` -> ``run.log.jsonl``).
    """
    base = Path(path)
    suffix = base.suffix.lower()
    if suffix in (".jsonl", ".csv"):
        return (base,)
    return (Path(f"{base}.jsonl"), Path(f"{base}.csv"))


def _open_output(path: Path) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise FatalError(
            f"cannot write the result log: {exc.strerror or exc}",
            code="OUTPUT_NOT_WRITABLE",
            hint="choose another --log path, or fix the directory's permissions",
            source=str(path),
        ) from exc


class ResultLog:
    """Writes result records as they complete, counts them, and redacts secrets.

    Use it as a context manager, or call :meth:`close`.

    Args:
        path: ``x.jsonl`` (JSONL only), ``x.csv`` (CSV only), any other name (both files, see
            :func:`log_paths`), or ``None`` to count without writing. Parent directories are
            created; existing files are replaced.
        secrets: Values to redact from every record (passwords, hashes, cookies).

    Attributes:
        counts: Kind -> status -> number of records; every status of a seen kind is present.
        paths: The files being written.
        redactor: The redactor applied to ``code`` and ``message`` (shared with the rejects
            writer by passing it as ``RejectsWriter(..., redactor=log.redactor)``).

    Raises:
        FatalError: ``OUTPUT_NOT_WRITABLE`` when a file cannot be created.
    """

    def __init__(self, path: str | os.PathLike[str] | None, *, secrets: Iterable[str | None] = ()) -> None:
        self.redactor = Redactor(secrets)
        self.counts: dict[str, dict[str, int]] = {}
        self.paths: tuple[Path, ...] = () if path is None else log_paths(path)
        self._lock = threading.Lock()
        self._jsonl: IO[str] | None = None
        self._csv_fh: IO[str] | None = None
        self._csv: Any = None
        self._closed = False
        try:
            for file in self.paths:
                if file.suffix.lower() == ".jsonl":
                    self._jsonl = _open_output(file)
                else:
                    self._csv_fh = _open_output(file)
                    self._csv = csv.writer(self._csv_fh)
                    self._csv.writerow(COLUMNS)
                    self._csv_fh.flush()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def add_secret(self, value: str | None) -> None:
        """Redact ``value`` from every record added from now on (``None`` is ignored)."""
        self.redactor.add(value)

    def add(self, record: ResultRecord) -> None:
        """Count ``record`` and write it (redacted) to the log files, flushed.

        Raises:
            ValueError: when the log is closed.
        """
        row = record.as_row()
        row["code"] = self.redactor(record.code)
        row["message"] = self.redactor(record.message)
        with self._lock:
            if self._closed:
                raise ValueError("the result log is closed")
            per_kind = self.counts.get(record.kind)
            if per_kind is None:
                per_kind = self.counts[record.kind] = dict.fromkeys(STATUSES, 0)
            per_kind[record.status] += 1
            if self._jsonl is not None:
                self._jsonl.write(json.dumps(row, ensure_ascii=False) + "\n")
                self._jsonl.flush()
            if self._csv_fh is not None:
                self._csv.writerow([_csv_cell(value) for value in row.values()])
                self._csv_fh.flush()

    @property
    def total(self) -> int:
        """Return the number of records added."""
        return sum(n for per_kind in self.counts.values() for n in per_kind.values())

    def summary_rows(self) -> list[tuple[str, dict[str, int]]]:
        """Return ``(kind, status -> n)`` per kind seen, in import order (:data:`KINDS` first)."""
        order = {kind: i for i, kind in enumerate(KINDS)}
        kinds = sorted(self.counts, key=lambda kind: (order.get(kind, len(order)), kind))
        return [(kind, dict(self.counts[kind])) for kind in kinds]

    def close(self) -> None:
        """Flush and close the files (safe to call twice)."""
        with self._lock:
            self._closed = True
            for fh in (self._jsonl, self._csv_fh):
                if fh is not None and not fh.closed:
                    fh.close()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralize(value)
    return str(value)


def render_summary(log: ResultLog) -> str:
    """Render a plain-text table of counts: one line per kind, a column per status, totals.

    Example::

        kind    created  updated  unchanged  failed  invalid  skipped  total
        domain        2        0          0       0        0        0      2
        user         10        1          0       1        2        0     14
        total        12        1          0       1        2        0     16
    """
    rows = log.summary_rows()
    totals = dict.fromkeys(STATUSES, 0)
    body: list[list[str]] = []
    for kind, counts in rows:
        for status in STATUSES:
            totals[status] += counts.get(status, 0)
        body.append([kind, *(str(counts.get(s, 0)) for s in STATUSES), str(sum(counts.values()))])
    body.append(["total", *(str(totals[s]) for s in STATUSES), str(sum(totals.values()))])
    header = ["kind", *STATUSES, "total"]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    return "\n".join(fmt(line) for line in [header, *body])
