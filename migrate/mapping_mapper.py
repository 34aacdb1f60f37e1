"""The :class:`Mapper`: one profile applied to the rows of one or more files.

Binding a layout's rules to a file's columns is done once per distinct header (cached), so the
per-row work for a plain rename profile like ``default`` is a dict copy of the non-empty cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from migrate.mapping_convert import apply_template, convert, template_context
from migrate.mapping_schema import Layout, Profile, Rule
from migrate.mapping_values import fold_value
from migrate.normalize import ValueProblem, normalize_header, parse_status
from migrate.records import Problem, Provenance, Record, Severity, TableRow

__all__ = ["Mapper", "Report", "copy_cells"]

Report = Callable[[Problem], None]


def _ignore(problem: Problem) -> None:
    """Default ``report``: drop file-level notes."""


# Words in a file name that say which kind of rows it holds (``aliases.csv``, ``acme-users.csv``).
_FILE_KINDS = {
    "domain": "domain", "domains": "domain", "admin": "admin", "admins": "admin",
    "user": "user", "users": "user", "mailbox": "user", "mailboxes": "user",
    "alias": "alias", "aliases": "alias", "list": "list", "lists": "list", "maillist": "list",
    "maillists": "list", "mailinglists": "list", "spampolicy": "spam_policy", "spampolicies": "spam_policy",
    "throttle": "throttle", "throttles": "throttle", "throttling": "throttle",
}  # fmt: skip


def _kind_from_filename(source: str) -> str | None:
    words = {normalize_header(w) for w in re.split(r"[^0-9A-Za-z]+", PurePath(source).stem)}
    kinds = {_FILE_KINDS[w] for w in words if w in _FILE_KINDS}
    return kinds.pop() if len(kinds) == 1 else None


@dataclass(slots=True)
class _Bound:
    """A rule bound to one file's columns: ``(cell key, label)`` pairs in order of preference."""

    rule: Rule
    sources: tuple[tuple[str, str], ...]
    simple: bool


@dataclass(slots=True)
class _Plan:
    layout: Layout
    fields: tuple[_Bound, ...]
    vars: tuple[_Bound, ...]
    unused: tuple[str, ...]
    complex: bool
    labels: dict[str, str]
    copies: tuple[tuple[str, str, str], ...]


def _is_simple(rule: Rule, sources: int) -> bool:
    """True for a rule that only copies one cell (no conversion, default or template)."""
    return (
        sources <= 1
        and not (rule.rest or rule.values or rule.proxy or rule.exclude or rule.qualify or rule.detect_hash)
        and rule.unit is None
        and rule.split is None
        and rule.default is None
        and rule.template is None
    )


def _mapped(rule: Rule, text: str) -> str:
    if rule.values:
        folded = fold_value(text)
        if folded in rule.values:
            return rule.values[folded]
        if "*" in rule.values:
            return rule.values["*"]
    return text.strip()


def _extract(bound: _Bound, cells: dict[str, str], out: dict[str, Any], columns: dict[str, str]) -> bool:
    """Put the rule's value (after the value map, or its default) into ``out``; False if none."""
    rule = bound.rule
    if rule.rest:
        items = [_mapped(rule, cells[k]) for k, _ in bound.sources if cells.get(k, "").strip()]
        items = [i for i in items if i]
        if items:
            out[rule.name] = items
            first = bound.sources[0][1]
            columns[rule.name] = first if len(bound.sources) == 1 else f"{first}+"
            return True
    else:
        for key, label in bound.sources:
            text = cells.get(key, "")
            if text and not text.isspace():
                value = _mapped(rule, text)
                if value:
                    out[rule.name] = value
                    columns[rule.name] = label
                    return True
    if rule.default is not None:
        out[rule.name] = rule.default
        return True
    return False


def copy_cells(
    copies: Iterable[tuple[str, str, str]], cells: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of a row mapped by plain copies, and the column each came from.

    Args:
        copies: ``(field, cell key, label)`` of each copied column (see :meth:`Mapper.plain_copies`).
        cells: The row's cells by key.

    Returns:
        Each copied cell's stripped value where it is not blank, and its label.
    """
    fields: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for name, key, label in copies:
        value = cells.get(key)
        if value and not value.isspace():
            fields[name] = value.strip()
            columns[name] = label
    return fields, columns


class Mapper:
    """Maps rows with one profile, remembering per file what it already reported.

    Args:
        profile: The profile (see :func:`migrate.mapping.load_profile`).
        report: Receives file-level notes, each once per file and sheet: columns the profile does
            not map (``IGNORED_COLUMN``, a warning), rows of a kind or record type it does not map,
            list items its ``exclude`` rules drop.
    """

    def __init__(self, profile: Profile, *, report: Report = _ignore) -> None:
        self.profile = profile
        self._report = report
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
        self._type_keys: dict[tuple[str, ...], str | None] = {}
        self._once: set[tuple[Any, ...]] = set()
        self._reported: dict[tuple[str, str | None, str], set[str]] = {}
        self._file_kinds: dict[str, str | None] = {}
        # Only profiles that turn aliases into forwardings need to remember mailbox addresses.
        self._track_accounts = any(layout.forward_if_account for layout in profile.layouts.values())
        self._accounts: dict[str, set[str]] = {}

    def _note(self, key: tuple[Any, ...], problem: Problem) -> None:
        if key not in self._once:
            self._once.add(key)
            self._report(problem)

    def _named(self, key: str) -> str:
        """A column as a message names it: the header, or ``column 3``."""
        return key if self.profile.header else f"column {key}"

    def _type_key(self, row: TableRow) -> str | None:
        column = self.profile.type_column
        if isinstance(column, int):
            return str(column)
        keys = tuple(row.cells)
        if keys not in self._type_keys:
            wanted = normalize_header(str(column))
            self._type_keys[keys] = next((k for k in keys if normalize_header(k) == wanted), None)
        return self._type_keys[keys]

    def _layout(self, row: TableRow) -> Layout | None:
        profile = self.profile
        prov = row.prov
        if profile.type_column is not None:
            key = self._type_key(row)
            record_type = fold_value(row.cells.get(key, "")) if key else ""
            layout = profile.layouts.get(record_type)
            if layout is None:
                self._report(
                    Problem.at(
                        prov,
                        "UNKNOWN_RECORD_TYPE",
                        f"record type {record_type!r} is not one the {profile.name} profile maps; row skipped",
                        hint="record types mapped: " + ", ".join(sorted(profile.layouts)),
                        column=key,
                        severity=Severity.WARNING,
                    )
                )
            return layout
        kind = row.kind
        if kind is None and profile.kind_from_filename:
            if prov.source not in self._file_kinds:
                self._file_kinds[prov.source] = _kind_from_filename(prov.source)
            kind = self._file_kinds[prov.source]
        kind = kind or profile.kind
        if kind is None:
            self._note(
                ("nokind", prov.source, prov.sheet),
                Problem(
                    "UNKNOWN_KIND",
                    f"cannot tell which kind of accounts these rows are; the {profile.name} profile names none",
                    hint="name the sheet or file after the kind (users, aliases...) or use another profile",
                    source=prov.source,
                    sheet=prov.sheet,
                ),
            )
            return None
        layout = profile.layouts.get(kind)
        if layout is None:
            self._note(
                ("kind", prov.source, prov.sheet, kind),
                Problem(
                    "KIND_NOT_MAPPED",
                    f"the {profile.name} profile does not map {kind} rows; they are skipped",
                    hint="use a profile that maps them (default maps every kind)",
                    source=prov.source,
                    sheet=prov.sheet,
                ),
            )
        return layout

    def _bind(self, rule: Rule, keys: tuple[str, ...], by_folded: dict[str, str]) -> _Bound:
        sources: list[tuple[str, str]] = []
        for column in rule.columns:
            if self.profile.header:
                key = by_folded.get(normalize_header(str(column)))
                if key is not None and all(key != k for k, _ in sources):
                    sources.append((key, key))
            elif rule.rest:
                start = int(column)
                sources.extend((k, k) for k in keys if k.isdigit() and int(k) >= start)
            else:
                # Problems render their column as "column 3", so the label is the bare position.
                sources.append((str(column), str(column)))
        return _Bound(rule, tuple(sources), _is_simple(rule, len(sources)))

    def _plan(self, layout: Layout, row: TableRow) -> _Plan:
        keys = tuple(row.cells)
        plan = self._plans.get((layout.name, keys))
        if plan is not None:
            return plan
        by_folded: dict[str, str] = {}
        for key in keys:
            by_folded.setdefault(normalize_header(key), key)
        fields = tuple(self._bind(r, keys, by_folded) for r in layout.fields)
        variables = tuple(self._bind(r, keys, by_folded) for r in layout.vars)
        used = {k for b in (*fields, *variables) for k, _ in b.sources}
        type_key = self._type_key(row) if self.profile.type_column is not None else None
        unused = tuple(k for k in keys if k not in used and k != type_key and k.strip())
        complex_ = bool(variables) or not all(b.simple for b in fields)
        labels = {b.rule.name: b.sources[0][1] for b in (*fields, *variables) if b.sources}
        # The fast path of a plain rename: (field, cell key, label) of each simple rule with a column.
        copies = tuple((b.rule.name, *b.sources[0]) for b in fields if b.simple and b.sources)
        plan = _Plan(layout, fields, variables, unused, complex_, labels, copies)
        self._plans[(layout.name, keys)] = plan
        if self.profile.header:
            self._report_unused(row.prov, unused, None, layout)
        return plan

    def _report_unused(self, prov: Provenance, columns: Iterable[str], line: int | None, layout: Layout) -> None:
        # Positions mean different things per record type, so those are reported per type.
        per_type = layout.name if self.profile.type_column is not None else ""
        seen = self._reported.setdefault((prov.source, prov.sheet, per_type), set())
        new = [c for c in columns if c not in seen]
        if not new:
            return
        seen.update(new)
        names = ", ".join(self._named(c) for c in new)
        where = f" of {per_type!r} records" if per_type else ""
        self._report(
            Problem(
                "IGNORED_COLUMN",
                f"the {self.profile.name} profile does not map these columns{where}; their values are not imported: "
                f"{names}",
                hint="remove them, or write a profile that maps them (extends = ...; see mappings/README.md)",
                source=prov.source,
                sheet=prov.sheet,
                line=line,
                severity=Severity.WARNING,
            )
        )

    def notes_given(self) -> tuple[int, int]:
        """How many once-per-file notes this mapper has given so far (to tell if more came)."""
        return len(self._once), sum(len(columns) for columns in self._reported.values())

    def plain_copies(self, row: TableRow) -> tuple[str, tuple[tuple[str, str, str], ...]] | None:
        """How rows with ``row``'s columns map, when each mapped column is only copied to a field.

        Returns ``(kind, copies)`` with ``(field, cell key, label)`` per copied column: what
        :meth:`map_row` does to every such row, so a caller may map many at once. ``None`` when
        rows are mapped any other way (conversions, templates, record types, no header). Rows the
        profile skips as comments are the caller's to find. Notes the profile makes about the
        columns are reported now, as for the first row mapped.
        """
        profile = self.profile
        if not profile.header or profile.type_column is not None or self._track_accounts:
            return None
        layout = self._layout(row)
        if layout is None:
            return None
        plan = self._plan(layout, row)
        return None if plan.complex else (layout.kind, plan.copies)

    def map_row(self, row: TableRow) -> Record | None:
        """Map one row; ``None`` for a row to skip (blank, comment, unmapped kind or record type)."""
        cells = row.cells
        for first in cells.values():
            if first and not first.isspace():
                break
        else:
            return None
        comment = self.profile.comment
        if comment and first.lstrip().startswith(comment):
            return None
        layout = self._layout(row)
        if layout is None:
            return None
        plan = self._plan(layout, row)
        if plan.unused and not self.profile.header:
            filled = [k for k in plan.unused if cells.get(k, "").strip()]
            if filled:
                self._report_unused(row.prov, filled, row.prov.line, layout)
        problems = list(row.problems)
        if not plan.complex:
            fields, columns = copy_cells(plan.copies, cells)
            return self._finish(layout, row, fields, columns, problems)
        fields = {}
        columns = {}
        pending = [b for b in plan.fields if not _extract(b, cells, fields, columns)]
        variables: dict[str, Any] = {}
        var_columns: dict[str, str] = {}
        for bound in plan.vars:
            if not _extract(bound, cells, variables, var_columns) and bound.rule.template:
                context = template_context(fields, columns, variables, var_columns, plan.labels)
                apply_template(bound.rule, context, variables, var_columns, row.prov, problems)
        for bound in pending:
            if bound.rule.template:
                context = template_context(fields, columns, variables, var_columns, plan.labels)
                apply_template(bound.rule, context, fields, columns, row.prov, problems)
        for bound in plan.fields:
            if not bound.simple and bound.rule.name in fields:
                convert(bound.rule, fields, columns, variables, row.prov, problems, self._note)
        return self._finish(layout, row, fields, columns, problems)

    def _finish(
        self, layout: Layout, row: TableRow, fields: dict[str, Any], columns: dict[str, str], problems: list[Problem]
    ) -> Record | None:
        kind = layout.kind
        if self._track_accounts:
            email = str(fields.get("email", "")).strip().lower()
            accounts = self._accounts.setdefault(row.prov.source, set())
            if kind == "user" and email:
                accounts.add(email)
            elif layout.forward_if_account and email in accounts:
                return self._forwarding(row, email, fields, columns, problems)
        return Record(row.prov, kind, fields, columns, problems, row.cells)

    def _forwarding(
        self, row: TableRow, email: str, fields: dict[str, Any], columns: dict[str, str], problems: list[Problem]
    ) -> Record | None:
        """An alias on a mailbox address is that mailbox's forwarding (how Modoboa keeps forwards)."""
        try:
            disabled = parse_status(str(fields.get("accountStatus", "active"))) == "disabled"
        except ValueProblem:
            disabled = False
        if disabled:
            self._report(
                Problem.at(
                    row.prov,
                    "FORWARD_DISABLED",
                    f"the disabled forwarding of {email} is not imported",
                    hint="enable it in the source, or set it by hand after the import",
                    column=columns.get("accountStatus"),
                    key=email,
                    severity=Severity.WARNING,
                )
            )
            return None
        return Record(
            row.prov,
            "user",
            {"email": fields["email"], "forwarding": fields.get("members", [])},
            {"email": columns.get("email", "email"), "forwarding": columns.get("members", "members")},
            problems,
            row.cells,
        )
