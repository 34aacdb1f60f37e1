"""Input readers and the small registry that picks one by file type.

Tabular readers (CSV, XLSX) yield :class:`~migrate.records.TableRow` that a mapping profile turns
into records; the LDIF and snapshot readers know the model vocabulary and yield
:class:`~migrate.records.Record` directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from migrate.errors import InputFileError
from migrate.records import Problem, Record, RowBlock, TableRow

__all__ = ["FORMATS", "detect_format", "read_records", "read_table", "read_table_blocks"]

#: File suffix -> reader format.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".ldif": "ldif",
    ".ldf": "ldif",
    ".json": "json",
}

Report = Callable[[Problem], None]


def detect_format(path: str | os.PathLike[str]) -> str:
    """Return the reader format for ``path`` from its suffix.

    Raises:
        InputFileError: for a suffix no reader handles.
    """
    suffix = Path(path).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise InputFileError(
            f"cannot tell what kind of file this is from its name ({suffix or 'no suffix'})",
            code="UNKNOWN_FORMAT",
            hint="name it .csv, .xlsx, .ldif or .json",
            source=str(path),
        )
    return fmt


def read_table(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool = True,
    report: Report,
) -> Iterator[TableRow]:
    """Stream the rows of a CSV or XLSX file."""
    if fmt == "csv":
        from migrate.readers.csv_reader import read_csv

        return read_csv(path, encoding=encoding, delimiter=delimiter, header=header, report=report)
    from migrate.readers.xlsx_reader import read_xlsx

    return read_xlsx(path, header=header, report=report)


def read_table_blocks(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool = True,
    report: Report,
    state: Any = None,
) -> Iterator[TableRow | RowBlock]:
    """Stream a CSV or XLSX file as :func:`read_table` does, plain rows gathered in blocks.

    ``state`` (a :class:`~migrate.readers.csv_reader.CsvState` for CSV, a
    :class:`~migrate.readers.xlsx_reader.SheetState` for XLSX) learns how the file is being read.
    """
    if fmt == "csv":
        from migrate.readers.csv_reader import read_csv_blocks

        return read_csv_blocks(path, encoding=encoding, delimiter=delimiter, header=header, report=report, state=state)
    from migrate.readers.xlsx_reader import read_xlsx_blocks

    return read_xlsx_blocks(path, header=header, report=report, state=state)


def read_records(path: str | os.PathLike[str], fmt: str, *, report: Report) -> Iterator[Record]:
    """Stream the records of an LDIF file or a JSON snapshot."""
    if fmt == "ldif":
        from migrate.readers.ldif_reader import read_ldif

        return read_ldif(path, report=report)
    from migrate.readers.snapshot_reader import read_snapshot

    return read_snapshot(path, report=report)
