"""Cell values and sheet layout for the XLSX reader: kinds from sheet names, Excel's renderings.

Values come from the engine as Python objects (str, float, bool, date...); the reader renders them
as Excel shows them in General format, records the type of every non-text cell, finds the header
row below titles, and words the problems of formula and mangled-number cells.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from typing import Any

from migrate.readers.xlsx_safety import CellMark
from migrate.records import Problem, Provenance, Severity

__all__ = [
    "EXACT_LIMIT",
    "cell_text",
    "column_letters",
    "find_header",
    "formula_problem",
    "lost_digits",
    "sheet_kind",
]

_STEMS = {
    "domain": "domain",
    "admin": "admin",
    "administrator": "admin",
    "domainadmin": "admin",
    "user": "user",
    "mailbox": "user",
    "mailuser": "user",
    "alias": "alias",
    "mailalias": "alias",
    "list": "list",
    "maillist": "list",
    "mailinglist": "list",
    "distributionlist": "list",
    "spampolicy": "spam_policy",
    "spam": "spam_policy",
    "throttle": "throttle",
    "throttling": "throttle",
}
#: Floats from this size up have lost digits: Excel keeps 15 significant ones.
EXACT_LIMIT = 1e15


def sheet_kind(sheet_name: str) -> str | None:
    """Return the account kind a sheet name stands for, or ``None``.

    Case, accents, spaces, underscores and hyphens are ignored, singular and plural both match:
    ``Users`` -> ``user``, ``spam policies`` and ``spam_policy`` -> ``spam_policy``,
    ``Lists`` and ``maillists`` -> ``list``.

    Args:
        sheet_name: The sheet's name as shown on its tab.
    """
    folded = unicodedata.normalize("NFKD", sheet_name).encode("ascii", "ignore").decode().casefold()
    name = "".join(ch for ch in folded if ch.isalnum())
    candidates = [name]
    if name.endswith("ies"):
        candidates.append(name[:-3] + "y")
    if name.endswith("es"):
        candidates.append(name[:-2])
    if name.endswith("s"):
        candidates.append(name[:-1])
    for candidate in candidates:
        kind = _STEMS.get(candidate)
        if kind is not None:
            return kind
    return None


def _number_text(value: float) -> tuple[str, bool]:
    """Render a number as Excel shows it in General format; True when digits were lost."""
    if not value.is_integer():
        return repr(value), False
    return str(int(value)), abs(value) >= EXACT_LIMIT


def cell_text(value: Any) -> tuple[str, str | None, bool]:
    """Return (text, type for TableRow.types, digits lost) for one non-text cell value."""
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            text, lost = _number_text(value)
            return text, "number", lost
        return repr(value), "number", False
    if kind is bool:
        return ("TRUE" if value else "FALSE"), "bool", False
    if kind is int:
        return str(value), "number", abs(value) >= EXACT_LIMIT
    if kind is dt.datetime:
        if value.time() == dt.time():
            return value.date().isoformat(), "date", False
        return value.isoformat(sep=" "), "date", False
    if kind in (dt.date, dt.time):
        return value.isoformat(), "date", False
    if kind is dt.timedelta:
        # As Excel's [h]:mm:ss shows a duration: hours keep counting past a day.
        seconds = round(value.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}", "date", False
    return str(value), None, False


def _text_count(row: list[Any]) -> int:
    """Return how many text cells a row has when it could be a header (mostly text), else 0."""
    filled = [v for v in row if v != ""]
    texts = sum(1 for v in filled if type(v) is str and v.strip())
    return texts if texts * 2 > len(filled) else 0


def _span(row: list[Any]) -> int:
    """Return the number of columns up to the last non-empty cell."""
    for index in range(len(row) - 1, -1, -1):
        if row[index] != "":
            return index + 1
    return 0


def find_header(top: list[list[Any]]) -> int | None:
    """Pick the header row among the first rows of a sheet.

    The header is the first row that is mostly text and about as wide as the rows below it: a
    title ("Users exported 2024-05-01", possibly merged across columns, or "Company: ACME") spans
    fewer columns than the table under it, and a header has at least two labels unless the whole
    table is one column wide.
    """
    spans = [_span(row) for row in top]
    counts = [_text_count(row) for row in top]
    for index, texts in enumerate(counts):
        if not texts:
            continue
        below = sorted(span for span in spans[index + 1 :] if span)
        typical = below[(len(below) - 1) // 2] if below else spans[index]  # the lower median
        if texts >= min(2, typical) and spans[index] * 4 >= typical * 3:
            return index
    # A small table whose rows are all wider than its header: the first row of labels will do.
    best = max(counts, default=0)
    return next((i for i, texts in enumerate(counts) if texts and texts >= min(2, best)), None)


def formula_problem(prov: Provenance, column: str | None, mark: CellMark) -> Problem:
    """Word the row error for a cell the engine read as empty: an error value or an uncomputed formula."""
    if mark.code == "FORMULA_ERROR":
        what = "the formula in this cell gives" if mark.formula else "the cell holds"
        return Problem.at(
            prov,
            "FORMULA_ERROR",
            f"{what} the error {mark.detail or 'value'}; read as empty",
            hint="fix the formula (or type the value) in the spreadsheet",
            column=column,
        )
    return Problem.at(
        prov,
        "FORMULA_NO_VALUE",
        "the cell holds a formula without a computed value (the file was never recalculated); read as empty",
        hint="open the workbook in Excel or LibreOffice and save it, or paste the values instead of formulas",
        column=column,
    )


def lost_digits(prov: Provenance, column: str, text: str) -> Problem:
    """Word the warning for a number of more than 15 digits (Excel has dropped the rest)."""
    return Problem.at(
        prov,
        "EXCEL_SCIENTIFIC",
        f"the number {text} has more than 15 digits: Excel kept only the first 15",
        hint="format the column as Text in the spreadsheet and type the full value again",
        column=column,
        severity=Severity.WARNING,
    )


def column_letters(number: int) -> str:
    """Return the spreadsheet letters of a 1-based column number (1 -> A, 28 -> AB)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
