"""The per-field steps of mapping a row after the cells are read: templates, units, lists, hashes.

Each function works on the ``fields``/``columns`` dicts of one record being built and puts any
problem with the value into ``problems``, located at the column it came from.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from migrate.mapping_schema import LIST_FIELDS, MB_FIELDS, Rule
from migrate.mapping_values import fill_template, looks_like_hash, parse_bytes, parse_proxies, template_names
from migrate.normalize import ValueProblem, parse_size, split_multi
from migrate.records import Problem, Provenance, Severity

__all__ = ["apply_template", "convert", "template_context"]

#: ``(once-key, problem)`` -> report the problem unless that key was reported before.
Note = Callable[[tuple[Any, ...], Problem], None]


def template_context(
    fields: dict[str, Any],
    columns: dict[str, str],
    variables: dict[str, Any],
    var_columns: dict[str, str],
    known: dict[str, str],
) -> tuple[dict[str, str], dict[str, str]]:
    """Return what a template can use (fields, vars, ``first``/``last``/``domain``) and its columns.

    Args:
        fields: Field values found so far.
        columns: Field -> column it came from.
        variables: Var values found so far.
        var_columns: Var -> column it came from.
        known: Field or var -> the column it would come from, so an empty one can be named.
    """
    values = {k: v for k, v in fields.items() if isinstance(v, str)}
    labels = {**known, **columns}
    for name, value in variables.items():
        if isinstance(value, str):
            values[name] = value
    labels.update(var_columns)
    for builtin, source in (("first", "gn"), ("last", "sn")):
        if builtin not in variables:
            labels[builtin] = labels.get(source, source)
            if source in values:
                values[builtin] = values[source]
    if "domain" not in variables:
        labels["domain"] = labels.get("email", "email")
        email = values.get("email", "")
        if "@" in email:
            values["domain"] = email.rpartition("@")[2]
    return values, labels


def apply_template(
    rule: Rule,
    context: tuple[dict[str, str], dict[str, str]],
    out: dict[str, Any],
    out_columns: dict[str, str],
    prov: Provenance,
    problems: list[Problem],
) -> None:
    """Fill ``rule.template`` into ``out[rule.name]``.

    A key (``email``, ``domain``) is built only when every placeholder has a value, else the row
    gets ``TEMPLATE_INCOMPLETE``; other fields take what there is ("Ana" when only the first name
    is known) and stay absent when nothing is.
    """
    values, labels = context
    template = rule.template or ""
    names = template_names(template)
    filled, missing = fill_template(template, values, slug=rule.slug)
    if missing and rule.name in ("email", "domain"):
        # A half-built key ("@acme.example") would name nobody.
        wanted = ", ".join(labels.get(n, n) for n in missing)
        where = " + ".join(labels.get(n, n) for n in missing)
        problems.append(
            Problem.at(
                prov,
                "TEMPLATE_INCOMPLETE",
                f"cannot build {rule.name} from the template {template!r}: {wanted} is empty",
                hint=f"fill {wanted}, or give {rule.name} directly",
                column=where,
            )
        )
        # The model then knows this field's problem is reported and adds no MISSING_VALUE.
        out_columns[rule.name] = where
        return
    if len(missing) == len(names) or not filled.strip(" .@-_"):
        return
    out[rule.name] = filled
    out_columns[rule.name] = " + ".join(dict.fromkeys(labels.get(n, n) for n in names)) or "template"


def convert(
    rule: Rule,
    fields: dict[str, Any],
    columns: dict[str, str],
    variables: dict[str, Any],
    prov: Provenance,
    problems: list[Problem],
    note: Note,
) -> None:
    """Convert ``fields[rule.name]``: sizes to MB or bytes, lists split, hashes routed."""
    name = rule.name
    value = fields[name]
    label = columns.get(name, name)
    if rule.unit is not None and isinstance(value, str):
        try:
            fields[name] = parse_size(value, rule.unit) if name in MB_FIELDS else parse_bytes(value, rule.unit)
        except ValueProblem as exc:
            del fields[name]
            problems.append(Problem.at(prov, exc.code, exc.message, hint=exc.hint, column=label))
        return
    if name in LIST_FIELDS and (
        rule.split is not None or rule.proxy or rule.qualify or rule.exclude or isinstance(value, list)
    ):
        fields[name] = _to_list(rule, value, fields, variables, label, prov, problems, note)
        return
    hashed = isinstance(value, str) and (looks_like_hash(value) or bool(fields.get("password_hash_function")))
    if rule.detect_hash and hashed:
        fields["password_hash"] = fields.pop(name)
        columns["password_hash"] = columns.pop(name, name)


def _to_list(
    rule: Rule,
    value: str | list[str],
    fields: dict[str, Any],
    variables: dict[str, Any],
    label: str,
    prov: Provenance,
    problems: list[Problem],
    note: Note,
) -> list[str]:
    email = str(fields.get("email", ""))
    if isinstance(value, list):
        items = value
    elif rule.proxy:
        primary, items = parse_proxies(value)
        if primary and email and primary.lower() != email.lower():
            problems.append(
                Problem.at(
                    prov,
                    "PRIMARY_ADDRESS_DIFFERS",
                    f"the primary SMTP address {primary} is not the account's address {email}; "
                    "it is not imported as an alias",
                    hint="check which address the mailbox should have",
                    column=label,
                    severity=Severity.WARNING,
                )
            )
        # The account's own address is never its alias (the model would drop it anyway).
        items = [i for i in items if i.lower() != email.lower()]
    elif rule.split:
        items = [i.strip() for i in value.split(rule.split) if i.strip()]
    else:
        items = split_multi(value)
    if rule.exclude:
        kept = [i for i in items if not any(fnmatch.fnmatchcase(i.lower(), p.lower()) for p in rule.exclude)]
        if len(kept) != len(items):
            note(
                ("exclude", prov.source, prov.sheet, rule.name),
                Problem.at(
                    prov,
                    "EXCLUDED_VALUES",
                    f"values matching {', '.join(rule.exclude)} are dropped from {label} by the profile "
                    "(first such row here; not repeated)",
                    hint="they name nothing the mail server can host; edit the profile's exclude to keep them",
                    column=label,
                    severity=Severity.WARNING,
                ),
            )
        items = kept
    if rule.qualify:
        domain = str(variables.get("domain") or email.rpartition("@")[2])
        items = [i if "@" in i or not domain else f"{i}@{domain}" for i in items]
    return items
