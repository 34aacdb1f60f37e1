"""Rows as they travel from readers through mapping to the model, and the problems found on the way.

Every row carries its :class:`Provenance` (file, sheet, line) from the reader onwards, so any
problem found later (mapping, validation, the server's answer) can be pinned to where the admin
can fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "KINDS",
    "Problem",
    "Provenance",
    "Record",
    "Severity",
    "TableRow",
]

#: The account kinds, in the order an import applies them. Sheet names and ``kind`` values use these.
KINDS: tuple[str, ...] = ("domain", "admin", "user", "alias", "list", "spam_policy", "throttle")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a row came from.

    Attributes:
        source: The input file as the user named it.
        sheet: The XLSX sheet name, or ``None`` for files without sheets.
        line: 1-based line (CSV: where the record starts; LDIF: the ``dn:`` line; XLSX: row number;
            JSON: the object's index + 1).
        fmt: Reader format: ``csv``, ``xlsx``, ``ldif`` or ``json``.
    """

    source: str
    sheet: str | None
    line: int
    fmt: str = ""


class Severity(StrEnum):
    """How bad a problem is: errors make a row invalid, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem with an input.

    Attributes:
        code: Machine readable code (``INVALID_MAIL``, ``PW_NO_UPPERCASE``, ``RAGGED_ROW``...).
        message: What is wrong; never contains a secret.
        hint: How to fix it.
        source: Input file.
        sheet: XLSX sheet, if any.
        line: 1-based line/row number, if known.
        column: Column header (as written in the file) or LDIF attribute, if known.
        key: Account key (email or domain), if known.
        severity: ``error`` or ``warning``.
    """

    code: str
    message: str
    hint: str = ""
    source: str | None = None
    sheet: str | None = None
    line: int | None = None
    column: str | None = None
    key: str | None = None
    severity: Severity = Severity.ERROR

    @classmethod
    def at(
        cls,
        prov: Provenance | None,
        code: str,
        message: str,
        *,
        hint: str = "",
        column: str | None = None,
        key: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Problem:
        """Build a problem located at ``prov``."""
        return cls(
            code=code,
            message=message,
            hint=hint,
            source=prov.source if prov else None,
            sheet=prov.sheet if prov else None,
            line=prov.line if prov else None,
            column=column,
            key=key,
            severity=severity,
        )

    @property
    def is_error(self) -> bool:
        """True when the problem makes the row invalid."""
        return self.severity is Severity.ERROR

    def location(self) -> str:
        """Return ``file:sheet:line column C`` with the parts that are known."""
        parts = [self.source or "", self.sheet or "", "" if self.line is None else str(self.line)]
        where = ":".join(p for p in parts if p)
        if self.column:
            where = f"{where} column {self.column}" if where else f"column {self.column}"
        return where

    def render(self) -> str:
        """Render as ``file:sheet:line column: message (CODE)`` plus an indented hint line."""
        where = self.location()
        label = "" if self.is_error else "warning: "
        text = f"{where}: {label}{self.message} ({self.code})" if where else f"{label}{self.message} ({self.code})"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "severity": str(self.severity),
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "source": self.source,
            "sheet": self.sheet,
            "line": self.line,
            "column": self.column,
            "key": self.key,
        }


@dataclass(slots=True)
class TableRow:
    """A row from a tabular reader (CSV, XLSX), before mapping.

    Attributes:
        prov: Where the row came from.
        cells: Header as written in the file -> cell text (``""`` for an empty cell). Duplicate
            headers are made unique by the reader (``name``, ``name (2)``) and reported.
        kind: The account kind the sheet name says (XLSX), or ``None`` when the file does not say.
        problems: Problems the reader found in this row (NUL bytes, ragged row, mangled numbers).
        types: Header -> the spreadsheet type of a cell that was not text (``number``, ``date``,
            ``bool``), so mapping can tell "00123 lost its zeros" from a real number. Only
            non-text cells are listed; CSV rows leave it empty.
    """

    prov: Provenance
    cells: dict[str, str]
    kind: str | None = None
    problems: list[Problem] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Record:
    """A row in the model's vocabulary (API parameter names), ready for :func:`migrate.model.build`.

    Attributes:
        prov: Where the row came from.
        kind: One of :data:`KINDS`.
        fields: Model field -> value. Values are ``str`` (as read), ``list[str]`` for multi-valued
            fields, or already-normalized ``int``/``bool`` where the reader knows the type (LDIF,
            JSON). A field that is absent means "not given"; an empty string or list means "empty".
        columns: Model field -> the column header / attribute it was read from (for messages).
        problems: Problems found while reading and mapping this row.
        raw: The original cells, for writing rejects in the input's own format.
    """

    prov: Provenance
    kind: str
    fields: dict[str, Any]
    columns: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    raw: dict[str, str] | None = None
