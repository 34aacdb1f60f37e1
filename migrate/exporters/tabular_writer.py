r"""CSV and XLSX export in the ``default`` mapping profile's columns (the model's field names).

One table per kind: XLSX sheets ``Domains``, ``Admins``, ``Users``, ``Aliases``, ``Lists``,
``Spam Policies``, ``Throttles``; CSV files ``<stem>-<section>.csv`` (see :func:`csv_paths`).
Columns are the model fields in dataclass order, limited to the fields some object of that kind
has; ``password`` is never a column, ``password_hash`` is (the export is a backup). Multi-valued
fields are joined with ``", "``, booleans are ``yes``/``no``.

Formula injection: a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR gets a
leading ``'`` so a spreadsheet shows it as text instead of running it; so does a cell that
already starts with ``'`` followed by one of those (so stripping one ``'`` always restores the
value). Numbers are not text: XLSX gets numeric cells for integer and decimal fields, and a text
that is a plain decimal number (``-1``, ``+4930123``) is left alone in both formats. Readers
undo it exactly by removing one leading ``'`` from a text cell whose first character after its
leading ``'`` characters is ``=``, ``+``, ``-``, ``@``, tab or CR (regex ``^'+[=+\-@\t\r]``).
"""

from __future__ import annotations

import csv
import io
import os
import re
from functools import partial
from operator import attrgetter, is_not
from pathlib import Path
from typing import Any

from migrate.errors import FatalError
from migrate.model import field_names
from migrate.snapshot import SECTIONS, Snapshot, atomic_output, gc_paused

__all__ = ["SHEETS", "columns_for", "csv_paths", "neutralize", "table_rows", "write_csv", "write_xlsx"]

#: Snapshot section -> XLSX sheet name.
SHEETS: dict[str, str] = {
    "domains": "Domains",
    "admins": "Admins",
    "users": "Users",
    "aliases": "Aliases",
    "lists": "Lists",
    "spam_policies": "Spam Policies",
    "throttles": "Throttles",
}
_FORMULA_START = frozenset("=+-@\t\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?\Z")
_RISKY_START = frozenset("=+-@\t\r'")
_ABSENT = object()
_KEYS = frozenset({"domain", "email", "scope", "target", "direction"})
# Per section: the model fields that can be columns (never the plain password), in dataclass order.
_NAMES: dict[str, tuple[str, ...]] = {
    section: tuple(name for name in field_names(cls) if name != "password") for section, cls in SECTIONS.items()
}
# Excel's limits: characters in a cell, rows in a sheet.
_XLSX_CELL_MAX = 32767
_XLSX_ROWS_MAX = 1048576

Cell = str | int | float


def neutralize(text: str) -> str:
    """Prefix ``'`` to a text a spreadsheet would read as a formula (see the module docstring)."""
    if not text:
        return text
    first = text[0]
    if first == "'":
        first = text.lstrip("'")[:1]
        if first not in _FORMULA_START:
            return text
    elif first not in _FORMULA_START:
        return text
    return text if _NUMBER.match(text) else "'" + text


def columns_for(section: str, objs: list[Any]) -> list[str]:
    """Return the columns of a section: fields some object has, in dataclass order.

    A section without objects gets its key columns only.
    """
    names = _NAMES[section]
    if not objs:
        return [name for name in names if name in _KEYS]
    # map/filter with C callables stop at the first object that has the field, and scan fields
    # nobody has without a Python-level loop. (0, "", False and () count as present.)
    has = partial(is_not, None)
    return [name for name in names if next(filter(has, map(attrgetter(name), objs)), _ABSENT) is not _ABSENT]


def _text_cell(value: Any) -> str:
    cls = value.__class__
    if cls is str:
        return neutralize(value) if value and value[0] in _RISKY_START else value
    if value is None:
        return ""
    if cls is tuple:
        return neutralize(", ".join(sorted(value)))
    if cls is bool:
        return "yes" if value else "no"
    return repr(value)


def _number_cell(value: Any) -> Cell:
    cls = value.__class__
    if cls is int or cls is float:
        number: int | float = value
        return number
    return _text_cell(value)


def table_rows(section: str, objs: list[Any], *, numbers: bool = False) -> tuple[list[str], list[list[Cell]]]:
    """Return the header and the cell rows of one section, objects sorted by key.

    Args:
        section: A snapshot section name (``users``...).
        objs: The section's objects.
        numbers: Keep ints and floats as numbers (XLSX) instead of text (CSV).
    """
    header = columns_for(section, objs)
    if not header:
        return header, []
    getter = attrgetter(*header)
    convert = _number_cell if numbers else _text_cell
    ordered = sorted(objs, key=_key)
    if len(header) == 1:
        # attrgetter with one name returns the value itself, not a 1-tuple.
        return header, [[convert(getter(obj))] for obj in ordered]
    risky = _RISKY_START
    # The common cells (absent, or text that needs no quote) are handled inline: a function call
    # per cell was most of the time.
    with gc_paused():
        rows = [
            ["" if v is None else v if v.__class__ is str and v[:1] not in risky else convert(v) for v in getter(obj)]
            for obj in ordered
        ]
    return header, rows


def _key(obj: Any) -> str:
    key: str = obj.key
    return key


def csv_paths(path: str | os.PathLike[str]) -> dict[str, Path]:
    """Return the file :func:`write_csv` writes for each section.

    ``path`` is a directory when it exists as one or ends with a path separator: the files are
    ``<dir>/domains.csv``, ``<dir>/users.csv``... Otherwise it is a file stem (a ``.csv`` suffix is
    dropped): ``backup.csv`` gives ``backup-domains.csv``, ``backup-users.csv``...
    """
    text = os.fspath(path)
    if text.endswith(("/", os.sep)) or os.path.isdir(text):
        folder = Path(text)
        return {section: folder / f"{section}.csv" for section in SECTIONS}
    stem = Path(text)
    if stem.suffix.lower() == ".csv":
        stem = stem.with_suffix("")
    return {section: stem.with_name(f"{stem.name}-{section}.csv") for section in SECTIONS}


def write_csv(path: str | os.PathLike[str], s: Snapshot) -> None:
    """Write one UTF-8 CSV file per kind (names from :func:`csv_paths`), CRLF line ends.

    Kinds without objects get no file, and a file of that name left by an earlier export is
    removed: restoring a directory must not bring back accounts deleted since.
    """
    targets = csv_paths(path)
    next(iter(targets.values())).parent.mkdir(parents=True, exist_ok=True)
    for section, target in targets.items():
        objs = s.section(section)
        if not objs:
            target.unlink(missing_ok=True)
            continue
        header, rows = table_rows(section, objs)
        with atomic_output(target) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow(header)
            writer.writerows(rows)
            text.flush()
            # Hand the binary file back so atomic_output can sync and close it.
            text.detach()


def _check_xlsx(section: str, header: list[str], rows: list[list[Cell]], objs: list[Any]) -> None:
    if len(rows) + 1 > _XLSX_ROWS_MAX:
        raise FatalError(
            f"{len(rows)} {section} do not fit in one sheet (Excel's limit is {_XLSX_ROWS_MAX - 1} rows)",
            code="XLSX_TOO_MANY_ROWS",
            hint="export with --format csv or json",
        )
    ordered = sorted(objs, key=_key)
    for row, obj in zip(rows, ordered, strict=True):
        for name, cell in zip(header, row, strict=True):
            if isinstance(cell, str) and len(cell) > _XLSX_CELL_MAX:
                raise FatalError(
                    f"{SHEETS[section]}: {name} of {obj.key} has {len(cell)} characters;"
                    f" an Excel cell holds at most {_XLSX_CELL_MAX}",
                    code="XLSX_CELL_TOO_LONG",
                    hint="export with --format csv or json, which have no such limit",
                    key=obj.key,
                    column=name,
                )


def write_xlsx(path: str | os.PathLike[str], s: Snapshot) -> None:
    """Write an XLSX workbook with one sheet per kind that has objects.

    Text goes in as text cells (never formulas or links), integer and decimal fields as numbers.
    An empty snapshot still gets a ``Domains`` sheet with its header, as a workbook needs a sheet.

    Raises:
        FatalError: when a cell would exceed Excel's 32,767 characters or a sheet its row limit;
            nothing is written then.
    """
    import xlsxwriter

    tables: list[tuple[str, list[str], list[list[Cell]]]] = []
    for section, sheet in SHEETS.items():
        objs = s.section(section)
        if not objs:
            continue
        header, rows = table_rows(section, objs, numbers=True)
        _check_xlsx(section, header, rows, objs)
        tables.append((sheet, header, rows))
    if not tables:
        tables.append(("Domains", columns_for("domains", []), []))
    with atomic_output(path) as fh:
        book = xlsxwriter.Workbook(fh, {"constant_memory": True, "in_memory": False})
        bold = book.add_format({"bold": True})
        for sheet, header, rows in tables:
            ws = book.add_worksheet(sheet)
            for col, name in enumerate(header):
                ws.write_string(0, col, name, bold)
            write_string, write_number = ws.write_string, ws.write_number
            for r, row in enumerate(rows, start=1):
                for col, cell in enumerate(row):
                    if isinstance(cell, str):
                        if cell:
                            write_string(r, col, cell)
                    else:
                        write_number(r, col, cell)
            ws.freeze_panes(1, 0)
        book.close()
