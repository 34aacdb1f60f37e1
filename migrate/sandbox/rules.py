"""Syntax rules and value coercions of the imitated server (reference §4.3, §8.1, §8.2).

These are deliberately the server's rules, not the importer's: the sandbox has to be exactly as
strict (and exactly as silently lenient) as iRedAdmin-Pro-SQL, so none of this is shared with
``migrate.normalize``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "ACCESS_POLICIES",
    "LANGUAGES",
    "MAILBOX_FORMATS",
    "ML_ACCESS_POLICIES",
    "account_status",
    "comma_addresses",
    "comma_names",
    "domain_of",
    "is_valid_domain",
    "is_valid_mail",
    "is_valid_new_mail",
    "language",
    "parse_int",
    "split_extension",
    "yes",
]

#: Installed iRedAdmin translations; any other code is stored as ''.
LANGUAGES: frozenset[str] = frozenset(
    "bg_BG cs_CZ da_DK de_DE en_US es_ES fi_FI fr_FR hu_HU it_IT ja_JP ko_KR lv_LV nl_NL pl_PL "
    "pt_BR ro_RO ru_RU sl_SI sv_SE zh_CN zh_TW".split()
)

#: ``alias.accesspolicy`` values (Pro also knows ``allowedonly``).
ACCESS_POLICIES: frozenset[str] = frozenset(
    {"public", "domain", "subdomain", "membersonly", "moderatorsonly", "membersandmoderatorsonly", "allowedonly"}
)

#: mlmmj list access policies.
ML_ACCESS_POLICIES: frozenset[str] = frozenset({"public", "domain", "subdomain", "membersonly", "moderatorsonly"})

MAILBOX_FORMATS: frozenset[str] = frozenset({"maildir", "mdbox", "sdbox"})

# Domain (OSS): labels of word characters and '-', at least one dot, final label 2-25 of [a-z0-9-].
_DOMAIN = r"(?:[a-z0-9_\-]+\.)+[a-z0-9\-]{2,25}"
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
# New accounts (Pro 5.5): no '+' and no '/', first character a letter, digit, '_', '-' or '#'.
_NEW_MAIL_RE = re.compile(rf"^[a-z0-9_\-#][a-z0-9_\-#.=&]*@{_DOMAIN}$")
# General addresses (members, forwardings; OSS): '+', '/' allowed, final label 2-15.
_MAIL_RE = re.compile(r"^[a-z0-9_\-#+=&/.]+@(?:[a-z0-9_\-]+\.)+[a-z0-9\-]{2,15}$")

_ACTIVE_WORDS = frozenset({"enable", "active", "yes"})


def _ascii(value: str) -> bool:
    return value.isascii()


def is_valid_domain(domain: str) -> bool:
    """Tell whether ``domain`` passes the server's domain-name rule (case-insensitive)."""
    value = domain.lower()
    return _ascii(value) and bool(_DOMAIN_RE.match(value))


def is_valid_new_mail(mail: str) -> bool:
    """Tell whether ``mail`` may be the address of a new account (the stricter Pro 5.5 rule)."""
    value = mail.lower()
    return _ascii(value) and bool(_NEW_MAIL_RE.match(value))


def is_valid_mail(mail: str) -> bool:
    """Tell whether ``mail`` is acceptable as a member, forwarding or lookup address."""
    value = mail.lower()
    return _ascii(value) and bool(_MAIL_RE.match(value)) and ".." not in value


def domain_of(mail: str) -> str:
    """Return the domain part of an address (everything after the last '@')."""
    return mail.rpartition("@")[2]


def split_extension(mail: str) -> str:
    """Strip a ``+extension`` from the local part, as the existence check does."""
    local, _, domain = mail.rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def account_status(value: str) -> int:
    """Map an ``accountStatus`` value to ``active``: only exact lower-case words count as active."""
    return 1 if value in _ACTIVE_WORDS else 0


def yes(value: str | None) -> bool:
    """Interpret a ``yes``/``no`` parameter (case-insensitive ``yes`` is true)."""
    return value is not None and value.strip().lower() == "yes"


def language(value: str) -> str:
    """Return the code if it is an installed translation, else ''."""
    return value if value in LANGUAGES else ""


def parse_int(value: str | None) -> int | None:
    """Parse an integer parameter; ``None`` when absent or not an integer."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def comma_addresses(value: str | None) -> list[str]:
    """Split a comma list of addresses: lower-cased, invalid ones dropped, duplicates removed."""
    if not value:
        return []
    out: list[str] = []
    for item in value.split(","):
        mail = item.strip().lower()
        if mail and is_valid_mail(mail) and mail not in out:
            out.append(mail)
    return out


def comma_names(value: str | None, allowed: Iterable[str] | None = None) -> list[str]:
    """Split a comma list of names (services, profiles), lower-cased, optionally filtered."""
    if not value:
        return []
    keep = None if allowed is None else set(allowed)
    out: list[str] = []
    for item in value.split(","):
        name = item.strip().lower()
        if name and name not in out and (keep is None or name in keep):
            out.append(name)
    return out
