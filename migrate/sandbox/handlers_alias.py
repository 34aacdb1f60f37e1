"""Alias account endpoints: ``/api/alias/<mail>``, its ``change_email``, ``/api/aliases/<domain>``."""

from __future__ import annotations

from typing import Any

from migrate.sandbox import store_alias, store_domain, store_mail
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.handlers_user import check_account_limit
from migrate.sandbox.rules import (
    ACCESS_POLICIES,
    account_status,
    comma_addresses,
    domain_of,
    split_extension,
)
from migrate.sandbox.shared_checks import checked_domain, new_account_mail, rename_pair, target_mail
from migrate.sandbox.storage import Row
from migrate.sandbox.user_common import existing_addresses

__all__ = ["change_alias_email", "create_alias", "delete_alias", "get_alias", "list_aliases", "update_alias"]


def _view(ctx: Ctx, row: Row) -> dict[str, Any]:
    address = row["address"]
    return {
        **row,
        "members": store_alias.alias_members(ctx.db, address),
        "moderators": store_alias.moderators(ctx.db, address),
    }


def get_alias(ctx: Ctx) -> Reply:
    """``GET /api/alias/<mail>``: the row plus sorted ``members`` and ``moderators``."""
    row = store_alias.get_alias(ctx.db, target_mail(ctx))
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    return ok(_view(ctx, row))


def list_aliases(ctx: Ctx) -> Reply:
    """``GET /api/aliases/<domain>``: alias rows (no members), or addresses with ``email_only``."""
    domain = checked_domain(ctx, ctx.match["domain"])
    if not store_domain.domain_exists(ctx.db, domain):
        raise ApiError("INVALID_DOMAIN_NAME")
    rows = store_alias.list_aliases(ctx.db, domain, disabled_only=ctx.has("disabled_only"))
    if ctx.has("email_only"):
        return ok([row["address"] for row in rows])
    return ok(rows)


def _policy(ctx: Ctx, default: str) -> str:
    value = (ctx.get("accessPolicy") or "").strip().lower()
    return value if value in ACCESS_POLICIES else default


def _moderators(ctx: Ctx) -> list[str] | None:
    if not ctx.has("moderators"):
        return None
    return comma_addresses(ctx.get("moderators"))


def create_alias(ctx: Ctx) -> Reply:
    """``POST /api/alias/<mail>``: ``name``, ``accessPolicy``, ``members``."""
    mail = new_account_mail(ctx)
    domain = domain_of(mail)
    ctx.require_domain(domain)
    drow = store_domain.get_domain(ctx.db, domain)
    if drow is None:
        raise ApiError("INVALID_DOMAIN_NAME")
    if store_domain.account_taken(ctx.db, split_extension(mail)):
        raise ApiError("ALREADY_EXISTS")
    check_account_limit(lambda: store_domain.count_accounts(ctx.db, "aliases", domain), int(drow["aliases"]))
    store_alias.create_alias(
        ctx.db,
        {"address": mail, "name": ctx.get("name") or "", "accesspolicy": _policy(ctx, "public"), "domain": domain},
    )
    members = [m for m in existing_addresses(ctx, ctx.get("members"), mail) if m != mail]
    store_alias.set_alias_members(ctx.db, mail, members, [], 1)
    moderators = _moderators(ctx)
    if moderators is not None:
        store_alias.set_moderators(ctx.db, mail, moderators)
    return ok()


def update_alias(ctx: Ctx) -> Reply:
    """``PUT /api/alias/<mail>``: profile and ``members``/``addMember``/``removeMember``."""
    mail = target_mail(ctx)
    row = store_alias.get_alias(ctx.db, mail)
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    values: dict[str, Any] = {}
    if ctx.has("name"):
        values["name"] = ctx.get("name") or ""
    if ctx.has("accessPolicy"):
        values["accesspolicy"] = _policy(ctx, row["accesspolicy"])
    store_alias.update_alias(ctx.db, mail, values)
    active = int(row["active"])
    if ctx.has("accountStatus"):
        active = account_status(ctx.get("accountStatus") or "")
        store_alias.set_alias_active(ctx.db, mail, active)
    if ctx.has("members"):
        members = [m for m in existing_addresses(ctx, ctx.get("members"), mail) if m != mail]
        store_alias.set_alias_members(ctx.db, mail, members, None, active)
    else:
        add = [m for m in existing_addresses(ctx, ctx.get("addMember"), mail) if m != mail]
        store_alias.set_alias_members(ctx.db, mail, add, comma_addresses(ctx.get("removeMember")), active)
    moderators = _moderators(ctx)
    if moderators is not None:
        store_alias.set_moderators(ctx.db, mail, moderators)
    return ok()


def delete_alias(ctx: Ctx) -> Reply:
    """``DELETE /api/alias/<mail>``; a missing alias succeeds."""
    store_alias.delete_alias(ctx.db, target_mail(ctx))
    return ok()


def change_alias_email(ctx: Ctx) -> Reply:
    """``POST /api/alias/<mail>/change_email/<new_mail>`` (same domain only)."""
    old, new = rename_pair(ctx)
    if store_alias.get_alias(ctx.db, old) is None:
        raise ApiError("OLD_EMAIL_NOT_EXIST")
    if store_domain.account_taken(ctx.db, split_extension(new)):
        raise ApiError("NEW_EMAIL_ALREADY_EXISTS")
    store_mail.rename_account(ctx.db, old, new)
    return ok()
