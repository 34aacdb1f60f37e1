"""Parameters of the domain endpoints as both editions read them (reference §6.1, §6.2).

Each function turns the request into plain values; the SQL edition stores them as columns and
``settings``, the LDAP edition as ``mailDomain`` attributes and ``accountSetting`` values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from migrate.sandbox.context import ApiError, Ctx
from migrate.sandbox.rules import (
    comma_addresses,
    comma_names,
    domain_of,
    is_valid_domain,
    is_valid_mail,
    language,
    parse_int,
    yes,
)

__all__ = [
    "DomainParams",
    "admin_changes",
    "alias_domain_changes",
    "apply_profiles",
    "apply_services",
    "backup_mx",
    "domain_params",
    "int_params",
    "single_address",
]

_DOMAIN_PROFILES = (
    "bcc", "relay", "catchall", "aliases", "throttle", "greylisting", "wblist", "spampolicy", "backupmx",
    "password_policies", "advanced",
)  # fmt: skip
_USER_PROFILES = ("bcc", "forwarding", "relay", "aliases", "throttle", "greylisting", "wblist", "spampolicy")
_USER_PREFERENCES = ("personal_info", "forwarding", "wblist", "quarantine", "rcvd_mails", "spampolicy")
_PROFILES = (
    ("DomainProfile", _DOMAIN_PROFILES),
    ("UserProfile", _USER_PROFILES),
    ("UserPreference", _USER_PREFERENCES),
)
_LIMITS = ("defaultQuota", "maxUserQuota")
_COUNTS = ("numberOfUsers", "numberOfAliases", "numberOfLists")


def int_params(ctx: Ctx, names: Iterable[str], *, minimum: int) -> dict[str, int]:
    """The integer parameters among ``names`` that are at least ``minimum``; others are ignored."""
    out: dict[str, int] = {}
    for name in names:
        number = parse_int(ctx.get(name))
        if number is not None and number >= minimum:
            out[name] = number
    return out


def single_address(value: str | None) -> str | None:
    """A bcc parameter: ``None`` when absent or invalid, '' to remove, else the lower-cased address."""
    if value is None:
        return None
    value = value.strip().lower()
    return value if value == "" or is_valid_mail(value) else None


@dataclass
class DomainParams:
    """What ``POST`` and ``PUT /api/domain/<domain>`` share; ``None`` means "not given".

    Attributes:
        name: ``name`` (the description).
        quota: ``quota`` in MB (0 = unlimited).
        transport: ``transport``, stripped (only when given non-empty).
        language: ``language``, '' when not an installed translation.
        limits: ``defaultQuota``/``maxUserQuota`` (MB, at least 0), by parameter name.
        counts: ``numberOfUsers``/``numberOfAliases``/``numberOfLists`` (at least -1).
        bcc: ``senderBcc``/``recipientBcc`` that are valid or '' (to remove).
    """

    name: str | None
    quota: int | None
    transport: str | None
    language: str | None
    limits: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    bcc: dict[str, str] = field(default_factory=dict)


def domain_params(ctx: Ctx) -> DomainParams:
    """Read the parameters POST and PUT share; ``INVALID_QUOTA_SIZE`` for a bad ``quota``."""
    quota = None
    if ctx.has("quota"):
        quota = parse_int(ctx.get("quota"))
        if quota is None or quota < 0:
            raise ApiError("INVALID_QUOTA_SIZE")
    bcc = {}
    for param in ("senderBcc", "recipientBcc"):
        address = single_address(ctx.get(param))
        if address is not None:
            bcc[param] = address
    return DomainParams(
        name=(ctx.get("name") or "") if ctx.has("name") else None,
        quota=quota,
        transport=(ctx.get("transport") or "").strip() if ctx.get("transport") else None,
        language=language(ctx.get("language") or "") if ctx.has("language") else None,
        limits=int_params(ctx, _LIMITS, minimum=0),
        counts=int_params(ctx, _COUNTS, minimum=-1),
        bcc=bcc,
    )


def apply_services(ctx: Ctx, have: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """The domain's services after ``services``/``removeAllServices``, ``add``/``removeService``."""
    services = list(have)
    if ctx.has("services") or ctx.has("removeAllServices"):
        services = comma_names(ctx.get("services"), allowed)
    for add in ("addService", "enableService"):
        services += [s for s in comma_names(ctx.get(add), allowed) if s not in services]
    for remove in ("removeService", "disableService"):
        gone = set(comma_names(ctx.get(remove)))
        services = [s for s in services if s not in gone]
    return services


def apply_profiles(ctx: Ctx, settings: dict[str, Any], keys: tuple[str, str, str]) -> None:
    """Apply ``disable``/``enable`` of domain profiles, user profiles and user preferences.

    Args:
        ctx: The request.
        settings: The domain's settings, updated in place.
        keys: The settings keys of the disabled domain profiles, user profiles and user preferences.
    """
    for key, (suffix, allowed) in zip(keys, _PROFILES, strict=True):
        have = list(settings.get(key, []))
        have += [n for n in comma_names(ctx.get(f"disable{suffix}"), allowed) if n not in have]
        enabled = set(comma_names(ctx.get(f"enable{suffix}")))
        settings[key] = [n for n in have if n not in enabled]


def alias_domain_changes(ctx: Ctx, current: list[str]) -> tuple[list[str], list[str]]:
    """The alias domains to ``(add, remove)``: ``aliasDomains`` replaces, else add/remove.

    Names still to add may be hosted already; the caller drops those once the removals are done.
    """
    if ctx.has("aliasDomains"):
        wanted = [name for name in comma_names(ctx.get("aliasDomains")) if is_valid_domain(name)]
        return [name for name in wanted if name not in current], [name for name in current if name not in wanted]
    remove = [name for name in comma_names(ctx.get("removeAliasDomain")) if name in current]
    add = [n for n in comma_names(ctx.get("addAliasDomain")) if is_valid_domain(n) and n not in current]
    return add, remove


def backup_mx(ctx: Ctx, domain: str, transport: str) -> tuple[bool, str | None] | None:
    """``is_backupmx``/``primarymx``: ``None`` when absent, else ``(on, new transport or None)``.

    Switching backup MX off resets a ``relay:`` transport (``transport`` is the current one) to
    ``dovecot``; any other transport stays (``None``).
    """
    if not ctx.has("is_backupmx"):
        return None
    if yes(ctx.get("is_backupmx")):
        primary = (ctx.get("primarymx") or "").strip()
        return True, f"relay:{primary or domain}"
    return False, "dovecot" if transport.startswith("relay:") else None


def admin_changes(ctx: Ctx, kind_of: Callable[[str], str | None]) -> tuple[list[str], list[str], bool]:
    """``addAdmin``/``removeAdmin``/``removeAllAdmins`` of ``PUT /api/domain/admins/<domain>``.

    Args:
        ctx: The request.
        kind_of: ``"admin"`` for a standalone admin, ``"user"`` for a mail user, else ``None``.

    Returns:
        The admins to add, those to remove and whether to remove them all.

    Raises:
        ApiError: ``NO_ADMINS``, ``INVALID_ADMIN`` or ``PERMISSION_DENIED`` (a normal admin
            only promotes its own users).
    """
    add = comma_addresses(ctx.get("addAdmin"))
    remove = comma_addresses(ctx.get("removeAdmin"))
    remove_all = ctx.has("removeAllAdmins")
    if not (add or remove or remove_all):
        raise ApiError("NO_ADMINS")
    for address in add:
        kind = kind_of(address)
        if kind is None:
            raise ApiError("INVALID_ADMIN")
        if not ctx.is_global and (kind != "user" or not ctx.can_manage(domain_of(address))):
            raise ApiError("PERMISSION_DENIED")
    return add, remove, remove_all
