"""Field converters for the model: one table per kind, from the vocabulary in DESIGN.md.

Each :class:`FieldSpec` turns what a reader or mapping produced (text, a list of texts, or an
already typed value from LDIF/JSON) into the normalized value, or raises
:class:`~migrate.normalize.ValueProblem`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from migrate.normalize import (
    MEMBER_ADDRESS,
    ValueProblem,
    is_valid_domain,
    is_valid_member_address,
    is_valid_new_address,
    parse_bool,
    parse_int,
    parse_language,
    parse_size,
    parse_status,
    split_multi,
)
from migrate.passwords import PasswordPolicy

__all__ = ["SPECS", "Context", "FieldSpec", "invalid_member"]

#: Longest text we accept in a name-like field; iRedMail's columns are VARCHAR(255).
MAX_TEXT = 255


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one field is normalized.

    Attributes:
        convert: Raw value -> normalized value (``None`` = treat as not given).
        required: The row is unusable without it.
        text_like: A spreadsheet number or date in this field means Excel mangled the text.
        hint: Shown when a required value is missing.
    """

    convert: Callable[[Any], Any]
    required: bool = False
    text_like: bool = False
    hint: str = ""


@dataclass(slots=True)
class Context:
    """Run-wide facts the per-row checks need.

    Attributes:
        policies: Domain -> its password policy (from the domain rows' min/max length).
    """

    policies: dict[str, PasswordPolicy] = field(default_factory=dict)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text(raw: Any, limit: int = MAX_TEXT) -> str | None:
    if raw is None:
        return None
    text = raw.strip() if type(raw) is str else str(raw).strip()
    if not text:
        return None
    if "\x00" in text:
        text = text.replace("\x00", "")
    if len(text) > limit:
        raise ValueProblem(
            "VALUE_TOO_LONG",
            f"the value is {len(text)} characters long; the limit is {limit}",
            "shorten it; names and similar fields hold at most 255 characters",
        )
    return text


def _secret(raw: Any) -> str | None:
    # Secrets keep inner spaces and are never echoed in messages.
    if _blank(raw):
        return None
    text = str(raw)
    if len(text) > 4096:
        raise ValueProblem("VALUE_TOO_LONG", "the value is too long for a password or hash", "check the column")
    return text.strip()


def _address(raw: Any) -> str | None:
    text = _text(raw, 320)
    if text is None:
        return None
    address = text.lower()
    if not is_valid_new_address(address):
        raise ValueProblem(
            "INVALID_MAIL",
            f"{text!r} is not an address iRedAdmin-Pro accepts for a new account",
            "use letters, digits and . _ - = & # in the part before @ (no + or /, no accents), "
            "and a domain like example.com",
        )
    return address


def invalid_member(text: str) -> tuple[str, str, str]:
    """Code, message and hint for ``text`` as a member or forwarding address that is not one."""
    return (
        "INVALID_MAIL",
        f"{text.strip()!r} is not a valid address",
        "write full addresses like someone@example.com, separated by commas",
    )


def _member(text: str) -> str:
    address = text.strip().lower()
    if not is_valid_member_address(address):
        raise ValueProblem(*invalid_member(text))
    return address


def _items(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, (list, tuple)):
        # Lists come from LDIF and JSON, already split and almost always text.
        if not all(type(x) is str for x in raw):
            raw = [x if type(x) is str else str(x) for x in raw]
        return [x for x in raw if x and not x.isspace()]
    return split_multi(str(raw))


_LIST_MEMO_SIZE = 4096


def _memo(convert: Callable[[Any], tuple[str, ...] | None]) -> Callable[[Any], tuple[str, ...] | None]:
    """Remember a list converter's results for values seen before.

    Exports repeat the same lists row after row (an LDIF dump's 22 enabledService values on every
    user, a services column): those are converted once. The converters are pure; a value they
    refuse is not remembered (it raises each time, with the same message).
    """
    seen: dict[Any, tuple[str, ...] | None] = {}

    def remembered(raw: Any) -> tuple[str, ...] | None:
        key = tuple(raw) if isinstance(raw, list) else raw
        try:
            return seen[key]
        except KeyError:
            pass
        except TypeError:  # a value that cannot be a key (a list in a list): convert it as is
            return convert(raw)
        value = convert(raw)
        if len(seen) >= _LIST_MEMO_SIZE:
            seen.clear()
        seen[key] = value
        return value

    return remembered


_MEMBER_MATCH = MEMBER_ADDRESS.match


def _address_list(raw: Any) -> tuple[str, ...] | None:
    items = _items(raw)
    if items is None:
        return None
    addresses = {x.strip().lower() for x in items}
    if not all(map(_MEMBER_MATCH, addresses)):
        for item in items:
            _member(item)  # raises for the first one that is not an address, as it is written
    return tuple(sorted(addresses))


def _domain(raw: Any) -> str | None:
    text = _text(raw)
    if text is None:
        return None
    domain = text.lower().lstrip("@")
    if not is_valid_domain(domain):
        raise ValueProblem(
            "INVALID_DOMAIN_NAME",
            f"{text!r} is not a valid domain name",
            "write a domain like example.com (ASCII, with a dot)",
        )
    return domain


def _domain_list(raw: Any) -> tuple[str, ...] | None:
    items = _items(raw)
    if items is None:
        return None
    out: set[str] = set()
    for item in items:
        domain = _domain(item)
        if domain:
            out.add(domain)
    return tuple(sorted(out))


def _names(raw: Any) -> tuple[str, ...] | None:
    items = _items(raw)
    return None if items is None else tuple(sorted({x.strip().lower() for x in items}))


def _plain_list(raw: Any) -> tuple[str, ...] | None:
    items = _items(raw)
    return None if items is None else tuple(sorted({x.strip() for x in items}))


def _size(raw: Any) -> int | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        raise ValueProblem("INVALID_QUOTA", "a yes/no value is not a size", "write a number of MB")
    if isinstance(raw, int):
        return raw
    return parse_size(str(raw))


def _int(minimum: int | None = 0) -> Callable[[Any], int | None]:
    def convert(raw: Any) -> int | None:
        if _blank(raw):
            return None
        value = raw if isinstance(raw, int) and not isinstance(raw, bool) else parse_int(str(raw))
        if minimum is not None and value < minimum:
            raise ValueProblem("INVALID_NUMBER", f"{value} is below the minimum {minimum}", f"write {minimum} or more")
        return value

    return convert


def _bytes(raw: Any) -> int | None:
    """A size in bytes (throttles, list message size): bare numbers are bytes."""
    if _blank(raw):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    try:
        return parse_int(text, minimum=0)
    except ValueProblem:
        return parse_size(text, "bytes") * 1024 * 1024


def _float(raw: Any) -> float | None:
    if _blank(raw):
        return None
    try:
        return float(str(raw).replace(",", "."))
    except ValueError:
        raise ValueProblem("INVALID_SPAM_SCORE", f"{raw!r} is not a number", "write e.g. 6.5") from None


def _flag(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    return None if _blank(raw) else parse_bool(str(raw))


def _status(raw: Any) -> str | None:
    return None if _blank(raw) else parse_status(str(raw))


def _language(raw: Any) -> str | None:
    return None if _blank(raw) else parse_language(str(raw))


def _choice(*allowed: str, code: str = "INVALID_VALUE") -> Callable[[Any], str | None]:
    def convert(raw: Any) -> str | None:
        if _blank(raw):
            return None
        value = str(raw).strip().lower().replace(" ", "")
        for option in allowed:
            if value == option.lower():
                return option
        raise ValueProblem(
            code, f"{str(raw).strip()!r} is not one of {', '.join(allowed)}", f"write one of {', '.join(allowed)}"
        )

    return convert


def _single_address(raw: Any) -> str | None:
    if _blank(raw):
        return None
    return _member(str(raw))


def _folder(raw: Any) -> str | None:
    text = _text(raw)
    if text is not None and (len(text) > 20 or not (text.isascii() and text.isalnum())):
        raise ValueProblem(
            "INVALID_MAILBOX_FOLDER",
            f"{text!r} is not a valid mailbox folder",
            "use up to 20 ASCII letters or digits, e.g. Maildir",
        )
    return text


_POLICIES = (
    "public",
    "domain",
    "subdomain",
    "membersonly",
    "moderatorsonly",
    "membersandmoderatorsonly",
    "allowedonly",
)
_KEY_HINT = "every row needs its key column"
_names = _memo(_names)  # type: ignore[assignment]
_domain_list = _memo(_domain_list)  # type: ignore[assignment]
_TEXT = FieldSpec(_text, text_like=True)
_SECRET = FieldSpec(_secret, text_like=True)
_ADDRESSES = FieldSpec(_address_list)
_COUNT = FieldSpec(_int(-1))
_SIZE = FieldSpec(_size)
_FLAG = FieldSpec(_flag)

_ADMIN_LIMITS = {k: FieldSpec(_int(0)) for k in ("maxDomains", "maxUsers", "maxAliases", "maxLists")}
_SPAM_FLAGS = {
    k: _FLAG
    for k in (
        "bypass_spam_checks",
        "bypass_virus_checks",
        "bypass_banned_checks",
        "bypass_header_checks",
        "quarantine_spam",
        "quarantine_virus",
        "quarantine_banned",
        "quarantine_bad_header",
        "prefix_spam_in_subject",
        "always_insert_x_spam_headers",
    )
}
_SCOPE = FieldSpec(
    _choice("global", "domain", "user", code="INVALID_SCOPE"), required=True, hint="write global, domain or user"
)
_TARGET = FieldSpec(lambda raw: "" if _blank(raw) else str(raw).strip().lower())

SPECS: dict[str, dict[str, FieldSpec]] = {
    "domain": {
        "domain": FieldSpec(_domain, required=True, hint=_KEY_HINT),
        "name": _TEXT,
        "accountStatus": FieldSpec(_status),
        "quota": _SIZE,
        "language": FieldSpec(_language),
        "transport": _TEXT,
        "defaultQuota": _SIZE,
        "maxUserQuota": _SIZE,
        "numberOfUsers": _COUNT,
        "numberOfAliases": _COUNT,
        "numberOfLists": _COUNT,
        "minPasswordLength": FieldSpec(_int(0)),
        "maxPasswordLength": FieldSpec(_int(0)),
        "senderBcc": FieldSpec(_single_address),
        "recipientBcc": FieldSpec(_single_address),
        "catchall": _ADDRESSES,
        "aliasDomains": FieldSpec(_domain_list),
        "admins": _ADDRESSES,
        "services": FieldSpec(_names),
        "is_backupmx": _FLAG,
        "primarymx": _TEXT,
        "outboundRelay": _TEXT,
        "disabledDomainProfiles": FieldSpec(_names),
        "disabledUserProfiles": FieldSpec(_names),
        "disabledUserPreferences": FieldSpec(_names),
    },
    "admin": {
        "email": FieldSpec(_address, required=True, text_like=True, hint=_KEY_HINT),
        "name": _TEXT,
        "password": _SECRET,
        "password_hash": _SECRET,
        "password_hash_function": _TEXT,
        "accountStatus": FieldSpec(_status),
        "language": FieldSpec(_language),
        "isGlobalAdmin": _FLAG,
        "maxQuota": _SIZE,
        "domains": FieldSpec(_domain_list),
        **_ADMIN_LIMITS,
    },
    "user": {
        "email": FieldSpec(_address, required=True, text_like=True, hint=_KEY_HINT),
        "name": _TEXT,
        "gn": _TEXT,
        "sn": _TEXT,
        "password": _SECRET,
        "password_hash": _SECRET,
        "password_hash_function": _TEXT,
        "quota": _SIZE,
        "accountStatus": FieldSpec(_status),
        "language": FieldSpec(_language),
        "employeeid": _TEXT,
        "transport": _TEXT,
        "forwarding": _ADDRESSES,
        "aliases": _ADDRESSES,
        "senderBcc": FieldSpec(_single_address),
        "recipientBcc": FieldSpec(_single_address),
        "services": FieldSpec(_names),
        "isGlobalAdmin": _FLAG,
        "isAdmin": _FLAG,
        "mailboxFormat": FieldSpec(_choice("maildir", "mdbox", "sdbox")),
        "mailboxFolder": FieldSpec(_folder),
        "lists": _ADDRESSES,
    },
    "alias": {
        "email": FieldSpec(_address, required=True, text_like=True, hint=_KEY_HINT),
        "name": _TEXT,
        "accountStatus": FieldSpec(_status),
        "accessPolicy": FieldSpec(_choice(*_POLICIES, code="INVALID_ACCESS_POLICY")),
        "members": _ADDRESSES,
        "moderators": _ADDRESSES,
    },
    "list": {
        "email": FieldSpec(_address, required=True, text_like=True, hint=_KEY_HINT),
        "kind": FieldSpec(_choice("maillist", "mlmmj", code="INVALID_LIST_KIND")),
        "name": _TEXT,
        "accountStatus": FieldSpec(_status),
        "accessPolicy": FieldSpec(_choice(*_POLICIES, code="INVALID_ACCESS_POLICY")),
        "members": _ADDRESSES,
        "owners": _ADDRESSES,
        "moderators": _ADDRESSES,
        "max_message_size": FieldSpec(_bytes),
        "mailingListID": _TEXT,
    },
    "spam_policy": {
        "scope": _SCOPE,
        "target": _TARGET,
        "spam_score": FieldSpec(_float),
        "banned_rulenames": FieldSpec(_plain_list),
        **_SPAM_FLAGS,
    },
    "throttle": {
        "scope": _SCOPE,
        "target": _TARGET,
        "direction": FieldSpec(
            _choice("inbound", "outbound", code="INVALID_INOUT_TYPE"), required=True, hint="write inbound or outbound"
        ),
        "period": FieldSpec(_int(1)),
        "msg_size": FieldSpec(_bytes),
        "max_msgs": FieldSpec(_int(0)),
        "max_quota": FieldSpec(_bytes),
    },
}
