"""What the CSV and XLSX readers share: header clean-up, Excel's scientific numbers, fast rows.

Both readers turn a header row into column names the same way (stripped, empty ones named,
duplicates made distinct and reported once), flag numbers Excel wrote as ``1.23457E+11`` the same
way, and build one :class:`~migrate.records.Provenance` per row in their hot loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from migrate.records import Problem, Provenance, Severity

__all__ = [
    "BLOCK_ROWS",
    "PROVENANCE_SLOTS",
    "Report",
    "ignore_problem",
    "new_object",
    "scientific_problem",
    "unique_headers",
]

Report = Callable[[Problem], None]

#: Rows per :class:`~migrate.records.RowBlock`: large enough that per-block work vanishes, small
#: enough to stay in the processor's cache while a block is checked (measured: 4096 beat 512-16384).
BLOCK_ROWS = 4096

#: ``object.__new__``, bound once for the hot loops.
new_object = object.__new__

#: The setters of Provenance's slots (source, sheet, line, fmt). Provenance is a frozen dataclass:
#: its ``__init__`` fills each slot through ``object.__setattr__`` and costs more than parsing a CSV
#: line, so the readers' hot loops fill the slots directly (the same object; tests compare it with
#: the constructor's).
PROVENANCE_SLOTS: tuple[Callable[[Provenance, Any], None], ...] = tuple(
    Provenance.__dict__[slot].__set__ for slot in ("source", "sheet", "line", "fmt")
)

# How Excel displays (and writes to CSV) a number too long for its column: "1.23457E+11".
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?E\+\d+")


def ignore_problem(problem: Problem) -> None:
    """Drop a file-level problem (the readers' default ``report``)."""


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
