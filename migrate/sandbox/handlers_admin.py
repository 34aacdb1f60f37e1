"""Standalone admin endpoints ``/api/admin/<mail>`` (global admins only, reference §6.4)."""

from __future__ import annotations

from typing import Any

from migrate.sandbox import store_domain
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.rules import account_status, language, yes
from migrate.sandbox.shared_admin import admin_limits, new_admin_address
from migrate.sandbox.shared_checks import hashed_password, valid_mail
from migrate.sandbox.storage import parse_settings

__all__ = ["create_admin", "delete_admin", "get_admin", "update_admin"]

_SWITCHES = (
    ("disableViewingMailLog", "disable_viewing_mail_log"),
    ("disableManagingQuarantinedMails", "disable_managing_quarantined_mails"),
)


def get_admin(ctx: Ctx) -> Reply:
    """``GET /api/admin/<mail>``: the row (no password), ``isglobaladmin``, ``managed_domains``."""
    mail = valid_mail(ctx)
    row = store_domain.get_admin(ctx.db, mail)
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    data: dict[str, Any] = {**row, "settings": parse_settings(row["settings"])}
    if not ctx.state.config.expose_password_hashes:
        data.pop("password", None)
    data["isglobaladmin"] = 1 if store_domain.is_global_admin(ctx.db, mail) else 0
    data["managed_domains"] = store_domain.managed_domains(ctx.db, mail)
    return ok(data)


def _settings(ctx: Ctx, settings: dict[str, Any], is_global: bool) -> dict[str, Any]:
    settings = admin_limits(ctx, settings, is_global)
    if is_global:
        return settings
    for param, key in _SWITCHES:
        if ctx.has(param):
            settings[key] = "yes" if yes(ctx.get(param)) else ""
    return settings


def create_admin(ctx: Ctx) -> Reply:
    """``POST /api/admin/<mail>``: a standalone admin outside the hosted domains."""
    mail, domain = new_admin_address(ctx)
    if store_domain.hosted_domain(ctx.db, domain):
        raise ApiError("CAN_NOT_BE_LOCAL_DOMAIN")
    if store_domain.get_admin(ctx.db, mail) is not None:
        raise ApiError("ALREADY_EXISTS")
    password = hashed_password(ctx, None)
    is_global = yes(ctx.get("isGlobalAdmin"))
    values = {
        "username": mail,
        "password": password,
        "name": ctx.get("name") or "",
        "language": language(ctx.get("language") or "en_US"),
        "active": account_status(ctx.get("accountStatus") or "active"),
    }
    store_domain.create_admin(ctx.db, values, _settings(ctx, {}, is_global))
    if is_global:
        store_domain.set_global_admin(ctx.db, mail, True)
    return ok()


def update_admin(ctx: Ctx) -> Reply:
    """``PUT /api/admin/<mail>``."""
    mail = valid_mail(ctx)
    row = store_domain.get_admin(ctx.db, mail)
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    values: dict[str, Any] = {}
    if ctx.has("name"):
        values["name"] = ctx.get("name") or ""
    if ctx.has("language"):
        values["language"] = language(ctx.get("language") or "")
    if ctx.has("accountStatus"):
        values["active"] = account_status(ctx.get("accountStatus") or "")
    if ctx.has("password"):
        values["password"] = hashed_password(ctx, None)
    is_global = store_domain.is_global_admin(ctx.db, mail)
    if ctx.has("isGlobalAdmin"):
        is_global = yes(ctx.get("isGlobalAdmin"))
        store_domain.set_global_admin(ctx.db, mail, is_global)
    settings = _settings(ctx, parse_settings(row["settings"]), is_global)
    store_domain.update_admin(ctx.db, mail, values, settings)
    return ok()


def delete_admin(ctx: Ctx) -> Reply:
    """``DELETE /api/admin/<mail>``; a missing admin succeeds."""
    store_domain.delete_admin(ctx.db, valid_mail(ctx))
    return ok()
