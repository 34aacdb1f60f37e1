"""Login, password checks and standalone-admin parameters both editions share (reference §3.1, §6.4, §6.7).

Where a password hash or an admin's settings are stored is the edition's business; the order of
the checks, the error codes and the parsing of the parameters are the same in both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.passwords import verify_password
from migrate.sandbox.rules import is_valid_domain, is_valid_mail, parse_int

__all__ = ["admin_limits", "login", "new_admin_address", "verify_reply"]

_LIMITS = (
    ("maxDomains", "create_max_domains"),
    ("maxUsers", "create_max_users"),
    ("maxAliases", "create_max_aliases"),
    ("maxLists", "create_max_lists"),
)
_UNITS = {"MB": 1, "GB": 1024, "TB": 1024 * 1024}


def _matches(ctx: Ctx, password: str, stored: Iterable[str | None]) -> bool:
    """Whether ``password`` verifies against any of the stored hashes."""
    return any(verify_password(password, value, pass_the_hash=ctx.quirk("pass_the_hash")) for value in stored)


def login(ctx: Ctx, stored: Callable[[str], Iterable[str | None]]) -> Reply:
    """``POST /api/login``: check the credentials and start a session.

    Args:
        ctx: The request.
        stored: The password hashes of the account a username may log in with (none when
            there is no such account, or it may not log in).
    """
    username = (ctx.get("username") or "").strip().lower()
    password = ctx.get("password") or ""
    if not is_valid_mail(username):
        raise ApiError("INVALID_USERNAME")
    if not password:
        raise ApiError("EMPTY_PASSWORD")
    if not _matches(ctx, password, stored(username)):
        raise ApiError("INVALID_CREDENTIALS")
    session = ctx.state.sessions.create(username, ctx.remote)
    reply = ok()
    reply.cookie = session.sid
    return reply


def verify_reply(ctx: Ctx, stored: Iterable[str | None]) -> Reply:
    """``POST /api/verify_password/...``: the ``password`` parameter against an account's hashes."""
    password = ctx.get("password") or ""
    if not password:
        raise ApiError("EMPTY_PASSSWORD" if ctx.quirk("empty_passsword_typo") else "EMPTY_PASSWORD")
    if _matches(ctx, password, stored):
        return ok()
    raise ApiError(None)  # a mismatch is {"_success": false} without any _msg


def new_admin_address(ctx: Ctx) -> tuple[str, str]:
    """The ``(mail, domain)`` of a new standalone admin, checked as the server does."""
    mail = ctx.match["mail"]
    local, _, domain = mail.rpartition("@")
    if not is_valid_mail(f"{local}@example.com"):
        raise ApiError("INVALID_MAIL")
    if not is_valid_domain(domain):
        raise ApiError("INVALID_DOMAIN")
    return mail, domain


def admin_limits(ctx: Ctx, settings: dict[str, Any], is_global: bool) -> dict[str, Any]:
    """Apply ``maxDomains``/``maxUsers``/``maxAliases``/``maxLists``/``maxQuota`` to an admin's settings.

    Returns the updated settings (``create_max_*`` keys; the quota in MB). A global admin's
    limits are discarded instead.
    """
    if is_global:
        # With isGlobalAdmin=yes the per-admin limits are discarded.
        return {k: v for k, v in settings.items() if not k.startswith("create_max_")}
    for param, key in _LIMITS:
        number = parse_int(ctx.get(param))
        if number is not None and number >= 0:
            settings[key] = number
    amount = parse_int(ctx.get("maxQuota"))
    unit = (ctx.get("quotaUnit") or "").strip().upper()
    if amount is not None and amount >= 0 and unit in _UNITS:
        settings["create_max_quota"] = amount * _UNITS[unit]  # stored in MB
    return settings
