"""The normalized account model: Domain, Admin, User, Alias, MailingList, SpamPolicy, Throttle.

Field names are the API's parameter names (DESIGN.md, "one vocabulary everywhere"). Objects are
frozen; :func:`build` is the one way in: it normalizes a :class:`~migrate.records.Record` once
(addresses lower-cased, sizes to MB, statuses to ``active``/``disabled``, languages to iRedAdmin's
spelling, hashes to an accepted scheme) and reports every problem at its file, line and column.

``None`` means "not given" (leave the server's value alone); an empty tuple means "empty".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from migrate.model_fields import SPECS, Context, FieldSpec
from migrate.normalize import ValueProblem
from migrate.passwords import PasswordPolicy, check_password, normalize_hash
from migrate.records import Problem, Record, Severity

__all__ = [
    "KIND_CLASSES",
    "Account",
    "Admin",
    "Alias",
    "Domain",
    "MailingList",
    "SpamPolicy",
    "Throttle",
    "User",
    "build",
    "build_clean",
    "field_names",
    "outside_domain",
    "replace_fields",
    "to_dict",
]

Strs = tuple[str, ...]
_SECRETS = ("password", "password_hash")


def _safe_repr(obj: msgspec.Struct) -> str:
    """A repr that shows which secrets are set, never their values."""
    parts = []
    for name in obj.__struct_fields__:
        value = getattr(obj, name)
        if value is not None:
            parts.append(f"{name}={'***' if name in _SECRETS else repr(value)}")
    return f"{type(obj).__name__}({', '.join(parts)})"


class Domain(msgspec.Struct, frozen=True, kw_only=True):
    """A mail domain and its settings (``POST``/``PUT /api/domain/<domain>``)."""

    domain: str
    name: str | None = None
    accountStatus: str | None = None
    quota: int | None = None
    language: str | None = None
    transport: str | None = None
    defaultQuota: int | None = None
    maxUserQuota: int | None = None
    numberOfUsers: int | None = None
    numberOfAliases: int | None = None
    numberOfLists: int | None = None
    minPasswordLength: int | None = None
    maxPasswordLength: int | None = None
    senderBcc: str | None = None
    recipientBcc: str | None = None
    catchall: Strs | None = None
    aliasDomains: Strs | None = None
    admins: Strs | None = None
    services: Strs | None = None
    is_backupmx: bool | None = None
    primarymx: str | None = None
    outboundRelay: str | None = None
    disabledDomainProfiles: Strs | None = None
    disabledUserProfiles: Strs | None = None
    disabledUserPreferences: Strs | None = None

    @property
    def key(self) -> str:
        """The domain name."""
        return self.domain


class Admin(msgspec.Struct, frozen=True, kw_only=True):
    """A standalone admin (``/api/admin/<mail>``)."""

    email: str
    name: str | None = None
    password: str | None = None
    password_hash: str | None = None
    accountStatus: str | None = None
    language: str | None = None
    isGlobalAdmin: bool | None = None
    maxDomains: int | None = None
    maxQuota: int | None = None
    maxUsers: int | None = None
    maxAliases: int | None = None
    maxLists: int | None = None
    domains: Strs | None = None

    @property
    def key(self) -> str:
        """The admin's address."""
        return self.email

    def __repr__(self) -> str:
        return _safe_repr(self)


class User(msgspec.Struct, frozen=True, kw_only=True):
    """A mailbox (``/api/user/<mail>``)."""

    email: str
    name: str | None = None
    gn: str | None = None
    sn: str | None = None
    password: str | None = None
    password_hash: str | None = None
    quota: int | None = None
    accountStatus: str | None = None
    language: str | None = None
    employeeid: str | None = None
    transport: str | None = None
    forwarding: Strs | None = None
    aliases: Strs | None = None
    senderBcc: str | None = None
    recipientBcc: str | None = None
    services: Strs | None = None
    isGlobalAdmin: bool | None = None
    isAdmin: bool | None = None
    mailboxFormat: str | None = None
    mailboxFolder: str | None = None
    lists: Strs | None = None

    @property
    def key(self) -> str:
        """The user's address."""
        return self.email

    def __repr__(self) -> str:
        return _safe_repr(self)

    @property
    def domain(self) -> str:
        """The domain part of the address."""
        return self.email.rpartition("@")[2]


class Alias(msgspec.Struct, frozen=True, kw_only=True):
    """An alias account (``/api/alias/<mail>``)."""

    email: str
    name: str | None = None
    accountStatus: str | None = None
    accessPolicy: str | None = None
    members: Strs | None = None
    moderators: Strs | None = None

    @property
    def key(self) -> str:
        """The alias address."""
        return self.email


class MailingList(msgspec.Struct, frozen=True, kw_only=True):
    """A mailing list: classic LDAP ``maillist`` or subscribable ``mlmmj`` (``kind``)."""

    email: str
    kind: str | None = None
    name: str | None = None
    accountStatus: str | None = None
    accessPolicy: str | None = None
    members: Strs | None = None
    owners: Strs | None = None
    moderators: Strs | None = None
    max_message_size: int | None = None
    mailingListID: str | None = None

    @property
    def key(self) -> str:
        """The list address."""
        return self.email


class SpamPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A spam policy at global, domain or user scope (``/api/spampolicy/...``)."""

    scope: str
    target: str = ""
    bypass_spam_checks: bool | None = None
    bypass_virus_checks: bool | None = None
    bypass_banned_checks: bool | None = None
    bypass_header_checks: bool | None = None
    quarantine_spam: bool | None = None
    quarantine_virus: bool | None = None
    quarantine_banned: bool | None = None
    quarantine_bad_header: bool | None = None
    prefix_spam_in_subject: bool | None = None
    always_insert_x_spam_headers: bool | None = None
    spam_score: float | None = None
    banned_rulenames: Strs | None = None

    @property
    def key(self) -> str:
        """``scope:target`` (``global`` alone for the global policy)."""
        return self.scope if self.scope == "global" else f"{self.scope}:{self.target}"


class Throttle(msgspec.Struct, frozen=True, kw_only=True):
    """A throttle setting (``/api/throttle/<target>/<direction>``); sizes in bytes."""

    scope: str
    target: str = ""
    direction: str
    period: int | None = None
    msg_size: int | None = None
    max_msgs: int | None = None
    max_quota: int | None = None

    @property
    def key(self) -> str:
        """``scope:target:direction``."""
        return f"{self.scope}:{self.target or 'global'}:{self.direction}"


Account = Domain | Admin | User | Alias | MailingList | SpamPolicy | Throttle

KIND_CLASSES: dict[str, type[Any]] = {
    "domain": Domain,
    "admin": Admin,
    "user": User,
    "alias": Alias,
    "list": MailingList,
    "spam_policy": SpamPolicy,
    "throttle": Throttle,
}


def _policy_for(values: dict[str, Any], ctx: Context) -> PasswordPolicy:
    domain = str(values.get("email", "")).rpartition("@")[2]
    return ctx.policies.get(domain, PasswordPolicy())


def _check_secrets(kind: str, values: dict[str, Any], ctx: Context, add: _Adder) -> None:
    """Check a plain password against the policy, or normalize a hash; drop what is bad."""
    plain = values.get("password")
    hashed = values.get("password_hash")
    function = values.pop("password_hash_function", None)
    if plain:
        codes = check_password(plain, _policy_for(values, ctx))
        if codes:
            add(
                "password",
                ",".join(codes),
                "the password does not meet the server's password policy",
                "use at least 8 characters with a letter, an upper-case letter, a digit and a special character"
                " such as # $ % & * + - . : ; ! = ? @ _",
            )
            values.pop("password")
        if hashed:
            add(
                "password_hash",
                "PASSWORD_AND_HASH",
                "both a password and a hash were given; the password is used",
                "leave one of the two columns empty",
                Severity.WARNING,
            )
            values.pop("password_hash")
        return
    values.pop("password", None)
    if hashed:
        if kind == "admin":
            add(
                "password_hash",
                "HASH_NOT_SUPPORTED_FOR_ADMIN",
                "the API cannot set a standalone admin's password from a hash",
                "give the admin a plain password, or set it on the server by hand",
                Severity.WARNING,
            )
            values.pop("password_hash")
            return
        try:
            values["password_hash"] = normalize_hash(hashed, function)
        except ValueProblem as exc:
            add("password_hash", exc.code, exc.message, exc.hint)
            values.pop("password_hash")


def outside_domain(domain: str, foreign: Sequence[str]) -> tuple[str, str, str]:
    """Code, message and hint for per-user aliases outside the user's domain."""
    return (
        "ALIAS_OUTSIDE_DOMAIN",
        f"per-user aliases must be in the user's own domain {domain}: {', '.join(foreign)}",
        "make them alias accounts, or use an alias domain",
    )


def _check_kind(kind: str, values: dict[str, Any], add: _Adder) -> None:
    """Rules that involve more than one field of the same row."""
    if kind == "user":
        email = values.get("email", "")
        domain = email.rpartition("@")[2]
        foreign = [a for a in values.get("aliases") or () if a.rpartition("@")[2] != domain]
        if foreign:
            add("aliases", *outside_domain(domain, foreign))
            values["aliases"] = tuple(a for a in values["aliases"] if a not in foreign)
        if email and email in (values.get("aliases") or ()):
            values["aliases"] = tuple(a for a in values["aliases"] if a != email)
    elif kind in ("alias", "list"):
        if values.get("email") in (values.get("members") or ()):
            add(
                "members",
                "SELF_MEMBER",
                "the list is a member of itself; the server drops that",
                "remove its own address from members",
                Severity.WARNING,
            )
            values["members"] = tuple(m for m in values["members"] if m != values["email"])
    elif kind == "spam_policy" or kind == "throttle":
        scope, target = values.get("scope"), values.get("target", "")
        if scope == "global":
            values["target"] = ""
        elif scope == "domain" and not (target and "@" not in target):
            add("target", "INVALID_TARGET", "a domain-scope setting needs a domain as target", "write the domain name")
        elif scope == "user" and "@" not in (target or ""):
            add("target", "INVALID_TARGET", "a user-scope setting needs an address as target", "write the address")
        if kind == "throttle":
            if values.get("period") is None:
                add("period", "MISS_PERIOD", "a throttle needs a period (seconds)", "write e.g. 3600")
            if all(values.get(k) is None for k in ("msg_size", "max_msgs", "max_quota")):
                add(
                    "max_msgs",
                    "MISS_THROTTLE_SETTING",
                    "a throttle needs at least one of msg_size, max_msgs, max_quota",
                    "set max_msgs, msg_size or max_quota",
                )


class _Adder:
    """Appends located problems for one record; built only when a row has something to say."""

    __slots__ = ("problems", "record")

    def __init__(self, record: Record, problems: list[Problem]) -> None:
        self.record = record
        self.problems = problems

    def __call__(self, name: str, code: str, message: str, hint: str = "", severity: Severity = Severity.ERROR) -> None:
        key_field = "domain" if self.record.kind == "domain" else "email"
        key = str(self.record.fields.get(key_field, "")).strip().lower() or None
        self.problems.append(
            Problem.at(
                self.record.prov,
                code,
                message,
                hint=hint,
                column=self.record.columns.get(name, name),
                key=key,
                severity=severity,
            )
        )


_REQUIRED: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name, spec in specs.items() if spec.required) for kind, specs in SPECS.items()
}
_SECRET_FIELDS = ("password", "password_hash", "password_hash_function")
_DEFAULT_CONTEXT = Context()


def _excel_type(add: _Adder, name: str, cell_type: str) -> bool:
    """Report a text cell Excel stored as a date or number; True when the value is unusable."""
    if cell_type == "date":
        add(
            name,
            "EXCEL_DATE",
            "Excel turned this value into a date",
            "format the column as Text in the spreadsheet and type the value again",
        )
        return True
    if cell_type == "number":
        add(
            name,
            "EXCEL_NUMBER",
            "Excel stored this text as a number; leading zeros or digits may be lost",
            "format the column as Text in the spreadsheet",
            Severity.WARNING,
        )
    return False


def build(
    record: Record,
    *,
    ctx: Context | None = None,
    types: dict[str, str] | None = None,
) -> tuple[Account | None, list[Problem]]:
    """Normalize and validate one record into a model object.

    Args:
        record: A mapped row in the model vocabulary.
        ctx: Per-run context (domain password policies); defaults apply when omitted.
        types: Field -> spreadsheet cell type for non-text cells (``number``, ``date``), so a
            text field Excel turned into a number or a date is reported.

    Returns:
        The object (``None`` when a required field is missing or invalid) and every problem found,
        including the record's own reader/mapping problems. Problems never contain secrets.
    """
    # This runs once per input row (a million for a big CSV), so the common path avoids
    # allocating anything it does not need.
    kind = record.kind
    specs: dict[str, FieldSpec] = SPECS[kind]
    problems = list(record.problems) if record.problems else []
    add = _Adder(record, problems)
    values: dict[str, Any] = {}
    for name, raw in record.fields.items():
        spec = specs.get(name)
        if spec is None:
            add(name, "UNKNOWN_FIELD", f"{name!r} is not a {kind} field", "check the mapping profile")
            continue
        if types and spec.text_like and name in types and _excel_type(add, name, types[name]):
            continue
        try:
            value = spec.convert(raw)
        except ValueProblem as exc:
            add(name, exc.code, exc.message, exc.hint)
            continue
        if value is not None:
            values[name] = value

    if "password" in values or "password_hash" in values or "password_hash_function" in values:
        _check_secrets(kind, values, ctx or _DEFAULT_CONTEXT, add)
    if kind not in ("domain", "admin") and (
        "aliases" in values or "members" in values or "scope" in values or kind == "throttle"
    ):
        _check_kind(kind, values, add)
    missing = [name for name in _REQUIRED[kind] if name not in values]
    if missing:
        for name in missing:
            column = record.columns.get(name, name)
            if not any(p.column == column and p.is_error for p in problems):
                add(name, "MISSING_VALUE", f"{kind} rows need a value in {name!r}", specs[name].hint)
        return None, problems
    return KIND_CLASSES[kind](**values), problems


def build_clean(
    record: Record, *, ctx: Context | None = None, types: dict[str, str] | None = None
) -> tuple[Account | None, list[Problem]]:
    """Return what :func:`build` returns for a row bulk validation proved clean, sooner.

    :mod:`migrate.bulk` settles a row only when every value converts, the password meets its
    domain's policy and no rule has anything to say, so those checks are not made again here:
    the values are converted and the object made. Should anything still be found (a value that
    does not convert, a rule with something to say), the row goes through :func:`build` after all.

    Args:
        record: A mapped row that bulk validation settled without any problem.
        ctx: Per-run context, for the fallback.
        types: Field -> spreadsheet cell type, for the fallback.
    """
    kind = record.kind
    specs = SPECS[kind]
    values: dict[str, Any] = {}
    try:
        for name, raw in record.fields.items():
            value = specs[name].convert(raw)
            if value is not None:
                values[name] = value
    except (KeyError, ValueProblem):
        return build(record, ctx=ctx, types=types)
    if (
        any(name not in values for name in _REQUIRED[kind])
        or "password_hash" in values
        or "password_hash_function" in values
    ):
        return build(record, ctx=ctx, types=types)
    if "aliases" in values or "members" in values or "scope" in values or kind == "throttle":
        found: list[Problem] = []
        _check_kind(kind, values, _Adder(record, found))
        if found:
            return build(record, ctx=ctx, types=types)
    return KIND_CLASSES[kind](**values), []


def to_dict(obj: Account, *, include_secrets: bool = False) -> dict[str, Any]:
    """Return the object as a plain dict: given fields only, tuples as sorted lists.

    Args:
        obj: A model object.
        include_secrets: Include ``password``/``password_hash`` (snapshots carry hashes; logs never).
    """
    out: dict[str, Any] = {}
    for name in obj.__struct_fields__:
        value = getattr(obj, name)
        if value is None or (not include_secrets and name in _SECRETS):
            continue
        out[name] = sorted(value) if isinstance(value, tuple) else value
    return out


def field_names(cls: type[Account] | Account) -> tuple[str, ...]:
    """Return the field names of a model class (or object), in declaration order."""
    return tuple(cls.__struct_fields__)


def replace_fields(obj: Any, **changes: Any) -> Any:
    """Return a copy of a model object with some fields changed (the objects are frozen)."""
    return msgspec.structs.replace(obj, **changes)
