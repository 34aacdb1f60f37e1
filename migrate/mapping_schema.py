"""Mapping profile files: the TOML schema, its checks, and the frozen :class:`Profile` it builds.

Every mistake in a profile is a :class:`~migrate.errors.ConfigError` that names the file and,
where the TOML text allows, the line: an unknown key, a value of the wrong type, a field the model
does not have, a template naming something the row cannot provide. ``mappings/README.md``
documents every key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.mapping_toml import ProfileText, Resolve, read_raw
from migrate.mapping_values import BYTE_UNITS, template_names
from migrate.model_fields import SPECS
from migrate.normalize import normalize_header
from migrate.records import KINDS

__all__ = [
    "BYTE_FIELDS",
    "LIST_FIELDS",
    "MB_FIELDS",
    "Detect",
    "Layout",
    "Profile",
    "Rule",
    "build_profile",
    "parse_profile",
]

#: Fields whose model unit is MB, and those whose unit is bytes (reference §10).
MB_FIELDS = frozenset({"quota", "defaultQuota", "maxUserQuota", "maxQuota"})
BYTE_FIELDS = frozenset({"msg_size", "max_quota", "max_message_size"})
#: Multi-valued fields of the vocabulary.
LIST_FIELDS = frozenset(
    {"catchall", "aliasDomains", "admins", "services", "disabledDomainProfiles", "disabledUserProfiles",
     "disabledUserPreferences", "domains", "forwarding", "aliases", "lists", "members", "owners",
     "moderators", "banned_rulenames"}
)  # fmt: skip
#: Placeholders every template may use besides the layout's own fields and vars.
BUILTIN_NAMES = frozenset({"first", "last", "domain"})


@dataclass(frozen=True, slots=True)
class Rule:
    """How one model field (or template variable) gets its value from a row.

    Attributes:
        name: Target field or variable name.
        columns: Header synonyms (header files) or 1-based positions (headerless files), in
            order of preference: the first non-empty cell wins.
        rest: Positional only: take the first position and every one after it, as a list.
        default: Used when no column has a value.
        template: Built from other values when no column has one (``{first}.{last}@{domain}``).
        slug: Space replacement for template values (address parts); ``None`` keeps them as is.
        unit: Unit of a bare number in a size field (``MB``, ``bytes``, ``GB``...).
        split: ``""`` splits on commas, semicolons and newlines; another string splits on it;
            ``None`` passes the cell on as text.
        proxy: Microsoft 365 proxy addresses: keep the secondary ``smtp:`` ones only.
        exclude: ``fnmatch`` patterns of list items to drop (reported once per file).
        values: Folded cell text -> replacement (``"*"`` matches any other non-empty text).
        qualify: Append ``@`` and the row's domain to list items without one.
        detect_hash: A password cell that holds a hash goes to ``password_hash``.
    """

    name: str
    columns: tuple[str | int, ...] = ()
    rest: bool = False
    default: str | None = None
    template: str | None = None
    slug: str | None = None
    unit: str | None = None
    split: str | None = None
    proxy: bool = False
    exclude: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    qualify: bool = False
    detect_hash: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """The rules for one kind of row (or, with a record-type column, one record type).

    Attributes:
        name: The kind, or the record type as written in the type column (folded).
        kind: The model kind the rows become.
        fields: Rules for model fields.
        vars: Rules for template variables (values that are no model field).
        forward_if_account: An alias whose address is a mailbox seen earlier in the same file
            becomes that user's forwarding (Modoboa keeps forwards as aliases).
    """

    name: str
    kind: str
    fields: tuple[Rule, ...] = ()
    vars: tuple[Rule, ...] = ()
    forward_if_account: bool = False


@dataclass(frozen=True, slots=True)
class Detect:
    """How :func:`migrate.mapping.detect_profile` recognizes a file for this profile.

    Attributes:
        headers: Groups of folded headers; a file matches when it has every header of a group.
        first_row: Headerless files: regular expressions the first row's cells must match.
        min_columns: Headerless files: fewest cells the first row may have (0 = any).
        max_columns: Headerless files: most cells the first row may have (0 = any).
        row: Headerless files: a regular expression the first row, its cells joined by ``;``, must
            match from its start (for layouts that depend on a record type).
    """

    headers: tuple[tuple[str, ...], ...] = ()
    first_row: tuple[re.Pattern[str], ...] = ()
    min_columns: int = 0
    max_columns: int = 0
    row: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """A loaded mapping profile.

    The reader options (:attr:`header`, :attr:`delimiter`, :attr:`encoding`) are read by the
    reader registry before the file is opened.

    Attributes:
        name: Profile name (the file stem unless the file says otherwise).
        description: One line for listings.
        header: The file has a header row (``False``: columns are addressed by position).
        delimiter: Fixed CSV delimiter, or ``None`` to sniff it.
        encoding: Fixed CSV encoding, or ``None`` to detect it.
        kind: Kind of rows whose file does not say (CSV files, unknown sheets).
        kind_from_filename: A CSV named like a kind (``aliases.csv``) holds that kind.
        comment: Rows whose first cell starts with this are skipped.
        type_column: Column holding each row's record type (a header or a 1-based position).
        layouts: Kind (or folded record type) -> its layout.
        detect: Recognition rules.
        path: The file the profile was loaded from.
    """

    name: str
    description: str = ""
    header: bool = True
    delimiter: str | None = None
    encoding: str | None = None
    kind: str | None = None
    kind_from_filename: bool = False
    comment: str | None = "#"
    type_column: str | int | None = None
    layouts: Mapping[str, Layout] = field(default_factory=dict)
    detect: Detect = Detect()
    path: str = ""


# --------------------------------------------------------------------------- checking values


def _dotted(keys: tuple[str, ...]) -> str:
    return ".".join(keys)


_TYPE_NAMES = {bool: "true/false", str: "text", int: "a number", dict: "a table", list: "a list"}


def _get(
    raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], keys: tuple[str, ...], ctx: ProfileText
) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # TOML booleans are not numbers here, although Python counts bool as an int.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in kinds)
        raise ctx.error((*keys, key), f"{_dotted((*keys, key))!r} must be {names}", "see mappings/README.md")
    return value


def _columns(value: Any, keys: tuple[str, ...], header: bool, ctx: ProfileText) -> tuple[str | int, ...]:
    items = value if isinstance(value, list) else [value]
    want, what = (str, "header names (text)") if header else (int, "column positions (1, 2, ...)")
    for item in items:
        if not isinstance(item, want) or isinstance(item, bool) or (isinstance(item, int) and item < 1):
            raise ctx.error(
                keys,
                f"{_dotted(keys)!r}: this profile {'has a header row' if header else 'has no header row'}, "
                f"so columns are {what}; got {item!r}",
                "set read.header to match the file, and name columns accordingly",
            )
    return tuple(items)


def _rule(name: str, raw: Any, keys: tuple[str, ...], header: bool, is_var: bool, ctx: ProfileText) -> Rule:
    if not isinstance(raw, dict):
        return Rule(name, _columns(raw, keys, header, ctx))
    columns = _columns(raw["columns"], (*keys, "columns"), header, ctx) if "columns" in raw else ()
    slug_raw = _get(raw, "slug", (str, bool), keys, ctx)
    if slug_raw is True:
        raise ctx.error((*keys, "slug"), "slug must be a text (what spaces become) or false", 'write slug = "."')
    default_slug = "." if name in ("email", "domain") and not is_var else None
    slug = default_slug if slug_raw is None else (None if slug_raw is False else str(slug_raw))
    split_raw = _get(raw, "split", (str, bool), keys, ctx)
    split = None if split_raw in (None, False) else ("" if split_raw is True else str(split_raw))
    values = _get(raw, "values", dict, keys, ctx) or {}
    for key, repl in values.items():
        if not isinstance(repl, (str, int, float, bool)):
            raise ctx.error((*keys, "values", key), "value map entries must be text", 'write "Suspended" = "disabled"')
    default = raw.get("default")
    if default is not None and not isinstance(default, (str, int, float)):
        raise ctx.error((*keys, "default"), "a default must be text or a number", 'write default = "1024"')
    rule = Rule(
        name,
        columns,
        rest=bool(_get(raw, "rest", bool, keys, ctx)),
        default=None if default is None else str(default),
        template=_get(raw, "template", str, keys, ctx),
        slug=slug,
        unit=_get(raw, "unit", str, keys, ctx),
        split=split,
        proxy=bool(_get(raw, "proxy", bool, keys, ctx)),
        exclude=tuple(_get(raw, "exclude", list, keys, ctx) or ()),
        values={str(k).strip().casefold(): _text(v) for k, v in values.items()},
        qualify=bool(_get(raw, "qualify", bool, keys, ctx)),
        detect_hash=bool(_get(raw, "detect_hash", bool, keys, ctx)),
    )
    _check_rule(rule, keys, header, is_var, ctx)
    return rule


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _check_rule(rule: Rule, keys: tuple[str, ...], header: bool, is_var: bool, ctx: ProfileText) -> None:
    name = rule.name
    if rule.rest and (header or len(rule.columns) != 1):
        raise ctx.error(
            (*keys, "rest"),
            "rest needs a headerless profile and exactly one column position",
            "write columns = [4] with rest = true",
        )
    if not rule.columns and rule.default is None and rule.template is None:
        raise ctx.error(keys, f"{_dotted(keys)!r} has no columns, default or template", "give at least one of them")
    if rule.unit is not None:
        if name not in MB_FIELDS | BYTE_FIELDS:
            raise ctx.error((*keys, "unit"), f"{name!r} is not a size field", "use unit on quota, msg_size and similar")
        if rule.unit.strip().casefold() not in BYTE_UNITS:
            raise ctx.error((*keys, "unit"), f"unknown unit {rule.unit!r}", "use one of: bytes, KB, MB, GB, TB")
    listy = name in LIST_FIELDS and not is_var
    for flag, on in (("split", rule.split is not None), ("proxy", rule.proxy), ("qualify", rule.qualify),
                     ("exclude", bool(rule.exclude))):  # fmt: skip
        if on and not listy:
            raise ctx.error(
                (*keys, flag),
                f"{flag} only applies to multi-valued fields, not {name!r}",
                "use it on aliases, members, forwarding, lists and the like",
            )
    if rule.exclude and not all(isinstance(p, str) for p in rule.exclude):
        raise ctx.error((*keys, "exclude"), "exclude must be a list of patterns", 'write exclude = ["*@*.local"]')
    if rule.detect_hash and name != "password":
        raise ctx.error(
            (*keys, "detect_hash"), "detect_hash only applies to the password field", "move it to fields.password"
        )


def _layout(
    name: str, kind: str, raw: Mapping[str, Any], keys: tuple[str, ...], header: bool, ctx: ProfileText
) -> Layout:
    known = SPECS[kind]
    fields: list[Rule] = []
    for field_name, body in (raw.get("fields") or {}).items():
        if field_name not in known:
            raise ctx.error(
                (*keys, "fields", field_name),
                f"{field_name!r} is not a {kind} field",
                f"{kind} fields: " + ", ".join(known),
                "MAPPING_UNKNOWN_FIELD",
            )
        fields.append(_rule(field_name, body, (*keys, "fields", field_name), header, False, ctx))
    variables: list[Rule] = []
    for var_name, body in (raw.get("vars") or {}).items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var_name) or var_name in known:
            raise ctx.error(
                (*keys, "vars", var_name),
                f"variable name {var_name!r} must be an identifier that is not a {kind} field",
                "map model fields under fields, helper values under vars",
            )
        variables.append(_rule(var_name, body, (*keys, "vars", var_name), header, True, ctx))
    names = {r.name for r in fields} | {r.name for r in variables} | BUILTIN_NAMES
    for rule in (*fields, *variables):
        section = "fields" if rule in fields else "vars"
        for placeholder in template_names(rule.template or ""):
            if placeholder not in names:
                raise ctx.error(
                    (*keys, section, rule.name, "template"),
                    f"template of {rule.name!r} uses {{{placeholder}}}, which this layout does not define",
                    "use fields or vars of the same layout, or first, last, domain",
                )
    forward = bool(_get(raw, "forward_if_account", bool, keys, ctx))
    return Layout(name, kind, tuple(fields), tuple(variables), forward)


def _kind(value: Any, keys: tuple[str, ...], ctx: ProfileText) -> str:
    if value not in KINDS:
        raise ctx.error(keys, f"unknown kind {value!r}", "use one of: " + ", ".join(KINDS))
    return str(value)


def _detect(raw: Mapping[str, Any], ctx: ProfileText) -> Detect:
    keys = ("detect",)
    groups: list[tuple[str, ...]] = []
    for group in _get(raw, "headers", list, keys, ctx) or []:
        members = group if isinstance(group, list) else [group]
        if not members or not all(isinstance(h, str) for h in members):
            raise ctx.error(
                (*keys, "headers"), "detect.headers must list header names", 'write headers = [["Email", "Name"]]'
            )
        groups.append(tuple(normalize_header(h) for h in members))
    patterns: list[re.Pattern[str]] = []
    for pattern in [*(_get(raw, "first_row", list, keys, ctx) or []), _get(raw, "row", str, keys, ctx) or ""]:
        try:
            patterns.append(re.compile(str(pattern)))
        except re.error as exc:
            raise ctx.error(
                (*keys, "first_row"), f"bad regular expression {pattern!r}: {exc}", "check the brackets and backslashes"
            ) from None
    return Detect(
        tuple(groups),
        tuple(patterns[:-1]),
        int(_get(raw, "min_columns", int, keys, ctx) or 0),
        int(_get(raw, "max_columns", int, keys, ctx) or 0),
        patterns[-1] if raw.get("row") else None,
    )


def build_profile(raw: Mapping[str, Any], ctx: ProfileText, default_name: str) -> Profile:
    """Check the values of a (merged) profile dict and build the :class:`Profile`."""
    read = raw.get("read") or {}
    header = _get(read, "header", bool, ("read",), ctx)
    header = True if header is None else header
    type_column = _get(raw, "type_column", (str, int), (), ctx)
    if type_column is not None:
        _columns(type_column, ("type_column",), header, ctx)
    layouts: dict[str, Layout] = {}
    if type_column is None:
        if raw.get("types"):
            raise ctx.error(("types",), "[types] needs type_column", "set type_column, or use [user], [alias]...")
        for name in KINDS:
            if name in raw:
                layouts[name] = _layout(name, name, raw[name], (name,), header, ctx)
    else:
        stray = [k for k in KINDS if k in raw]
        if stray:
            raise ctx.error((stray[0],), "with type_column, layouts go under [types.NAME]", "add kind = ... there")
        for name, body in (raw.get("types") or {}).items():
            layout_kind = _kind(body.get("kind"), ("types", name, "kind"), ctx)
            layouts[name.strip().casefold()] = _layout(name, layout_kind, body, ("types", name), header, ctx)
    if not layouts:
        raise ctx.error((), "the profile maps no kind of row", "add a [user] table (or [types.NAME] tables)")
    kind = raw.get("kind")
    if kind is None and type_column is None and len(layouts) == 1:
        kind = next(iter(layouts))  # a profile that maps only users maps every row as a user
    comment = _get(raw, "comment", str, (), ctx)
    return Profile(
        name=_get(raw, "name", str, (), ctx) or default_name,
        description=_get(raw, "description", str, (), ctx) or "",
        header=header,
        delimiter=_get(read, "delimiter", str, ("read",), ctx),
        encoding=_get(read, "encoding", str, ("read",), ctx),
        kind=None if kind is None else _kind(kind, ("kind",), ctx),
        kind_from_filename=bool(_get(raw, "kind_from_filename", bool, (), ctx)),
        comment="#" if comment is None else (comment or None),
        type_column=type_column,
        layouts=layouts,
        detect=_detect(raw.get("detect") or {}, ctx),
        path=ctx.path,
    )


def parse_profile(path: Path, resolve: Resolve) -> Profile:
    """Load and check one profile file (following ``extends``)."""
    raw, ctx = read_raw(path, resolve)
    return build_profile(raw, ctx, path.stem)
