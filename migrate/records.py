"""Rows as they travel from readers through mapping to the model, and the problems found on the way.

Every row carries its :class:`Provenance` (file, sheet, line) from the reader onwards, so any
problem found later (mapping, validation, the server's answer) can be pinned to where the admin
can fix it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "KINDS",
    "ErrorFields",
    "Problem",
    "Provenance",
    "Record",
    "RowBlock",
    "Severity",
    "TableRow",
    "render_error",
]

#: The account kinds, in the order an import applies them. Sheet names and ``kind`` values use these.
KINDS: tuple[str, ...] = ("domain", "admin", "user", "alias", "list", "spam_policy", "throttle")

#: An error as plain values: code, message, hint, source, sheet, line, column, key (the first
#: eight of :meth:`Problem.fields`). Paths that find an error in many rows pass these around and
#: render them directly (:func:`render_error`): a frozen dataclass per row costs more than the row.
ErrorFields = tuple[str, str, str, str | None, str | None, int | None, str | None, str | None]


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

    @classmethod
    def quick(
        cls,
        code: str,
        message: str,
        hint: str,
        source: str | None,
        sheet: str | None,
        line: int | None,
        column: str | None,
        key: str | None,
    ) -> Problem:
        """Build an error as the constructor does, without its per-field ``object.__setattr__``.

        For paths that report a problem for many rows (bulk validation): a frozen dataclass's
        ``__init__`` costs more than the rest of the work done for such a row.
        """
        problem: Problem = _new(cls)
        for setter, value in zip(_PROBLEM_SLOTS, (code, message, hint, source, sheet, line, column, key or None)):  # noqa: B905
            setter(problem, value)
        _set_severity(problem, Severity.ERROR)
        return problem

    def fields(self) -> tuple[Any, ...]:
        """The problem as a plain tuple (cheap to send to another process)."""
        return (
            self.code,
            self.message,
            self.hint,
            self.source,
            self.sheet,
            self.line,
            self.column,
            self.key,
            self.severity is Severity.ERROR,
        )

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Problem:
        """The problem :meth:`fields` gave."""
        problem = cls.quick(*fields[:8])
        if not fields[8]:
            _set_severity(problem, Severity.WARNING)
        return problem

    @property
    def is_error(self) -> bool:
        """True when the problem makes the row invalid."""
        return self.severity is Severity.ERROR

    def location(self) -> str:
        """Return ``file:sheet:line column C`` with the parts that are known."""
        return _location(self.source, self.sheet, self.line, self.column)

    def render(self) -> str:
        """Render as ``file:sheet:line column: message (CODE)`` plus an indented hint line."""
        return _render(
            self.code,
            self.message,
            self.hint,
            _location(self.source, self.sheet, self.line, self.column),
            "" if self.severity is Severity.ERROR else "warning: ",
        )

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


def _location(source: str | None, sheet: str | None, line: int | None, column: str | None) -> str:
    if source and line is not None and not sheet:
        where = f"{source}:{line}"  # the common case (a CSV or LDIF row), without the general join
    else:
        where = ":".join(p for p in (source or "", sheet or "", "" if line is None else str(line)) if p)
    if column:
        where = f"{where} column {column}" if where else f"column {column}"
    return where


def _render(code: str, message: str, hint: str, where: str, label: str) -> str:
    text = f"{where}: {label}{message} ({code})" if where else f"{label}{message} ({code})"
    return f"{text}\n    hint: {hint}" if hint else text


def render_error(fields: ErrorFields) -> str:
    """Render an error given as :data:`ErrorFields` exactly as :meth:`Problem.render` does."""
    code, message, hint, source, sheet, line, column, _key = fields
    return _render(code, message, hint, _location(source, sheet, line, column), "")


_new = object.__new__
_PROBLEM_SLOTS = tuple(
    Problem.__dict__[slot].__set__ for slot in ("code", "message", "hint", "source", "sheet", "line", "column", "key")
)
_set_severity = Problem.__dict__["severity"].__set__


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
class RowBlock:
    """Consecutive plain rows of one sheet or file, kept as lists: what bulk validation reads.

    A reader puts a row in a block only when it has nothing to say about it: exactly one cell
    per header, no NUL byte or scientific number, not blank, and (XLSX) the cell types of
    ``typed`` for every row. Every other row comes as a :class:`TableRow` in file order, between
    blocks.

    Attributes:
        source: The input file as the user named it.
        sheet: The XLSX sheet name, or ``None``.
        fmt: Reader format (``csv`` or ``xlsx``).
        kind: The account kind the sheet name says, or ``None``.
        headers: The column names, one per cell of each row.
        rows: The rows' cells, in header order.
        lines: The line (row number) each row starts on.
        typed: Header -> spreadsheet type for columns that hold a number, date or bool in every
            row of the block (see :attr:`TableRow.types`).
        columns: The same cells column by column, when the reader read them that way.
    """

    source: str
    sheet: str | None
    fmt: str
    kind: str | None
    headers: list[str]
    rows: Sequence[Sequence[str]]
    lines: list[int]
    typed: dict[str, str] = field(default_factory=dict)
    columns: list[tuple[str, ...]] | None = None

    def by_column(self) -> list[tuple[str, ...]]:
        """The cells column by column (as the reader had them, or transposed once here)."""
        if self.columns is None:
            self.columns = list(zip(*self.rows))  # noqa: B905 - every row has one cell per header
        return self.columns

    def row(self, index: int) -> TableRow:
        """Return row ``index`` as the :class:`TableRow` a row-by-row reader would have given."""
        prov = Provenance(self.source, self.sheet, self.lines[index], self.fmt)
        return TableRow(prov, dict(zip(self.headers, self.rows[index])), self.kind, [], dict(self.typed))  # noqa: B905

    def table_rows(self) -> Iterator[TableRow]:
        """Yield every row as a :class:`TableRow`."""
        for index in range(len(self.rows)):
            yield self.row(index)


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
