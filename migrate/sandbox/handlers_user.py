"""Mail user endpoints except the single-user PUT: create, read, list, delete, rename, bulk update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migrate.sandbox import store_domain, store_mail
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.passwords import hash_password
from migrate.sandbox.rules import (
    MAILBOX_FORMATS,
    account_status,
    language,
    parse_int,
    split_extension,
)
from migrate.sandbox.shared_checks import (
    checked_domain,
    new_user_address,
    rename_pair,
    requested_quota,
    require_valid_password,
    target_user,
    user_password,
)
from migrate.sandbox.storage import Row, parse_settings
from migrate.sandbox.user_common import (
    QUOTA_COLUMNS,
    effective_quota,
    mailbox_folder,
    maildir_columns,
    user_list_row,
    user_view,
)

__all__ = [
    "change_user_email",
    "create_user",
    "delete_user",
    "get_user",
    "list_users",
    "update_users",
]


def get_user(ctx: Ctx) -> Reply:
    """``GET /api/user/<mail>``."""
    mail, _ = target_user(ctx)
    row = store_mail.get_mailbox(ctx.db, mail)
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    return ok(user_view(ctx, row))


# The domain columns a create reads: its limit and what effective_quota reads.
_CREATE_COLUMNS = f"mailboxes, {QUOTA_COLUMNS}"


def _domain_row(ctx: Ctx, domain: str, columns: str = "*") -> Row:
    row = store_domain.get_domain(ctx.db, checked_domain(ctx, domain), columns)
    if row is None:
        raise ApiError("INVALID_DOMAIN_NAME")
    return row


def list_users(ctx: Ctx) -> Reply:
    """``GET /api/users/<domain>``: rows sorted by username, or addresses with ``email_only``."""
    row = _domain_row(ctx, ctx.match["domain"])
    rows = store_mail.list_mailboxes(ctx.db, row["domain"], disabled_only=ctx.has("disabled_only"))
    if ctx.has("email_only"):
        return ok([r["username"] for r in rows])
    return ok([user_list_row(ctx, r) for r in rows])


def check_account_limit(count: Callable[[], int], limit: int) -> None:
    """Apply a domain account limit: 0 unlimited, -1 not allowed, else a maximum.

    Args:
        count: Counts the domain's accounts of the kind; called only when there is a maximum
            (counting a large domain's rows is the dearest statement of a create).
        limit: The domain's limit.
    """
    if limit == -1:
        raise ApiError("NOT_ALLOWED")
    if limit > 0 and count() >= limit:
        raise ApiError("EXCEEDED_DOMAIN_ACCOUNT_LIMIT")


def create_user(ctx: Ctx) -> Reply:
    """``POST /api/user/<mail>``: checks in the server's order, then the mailbox and self row."""
    mail, local, domain = new_user_address(ctx)
    # The domain row and the existence check in one statement, answered in the server's order.
    drow, taken = store_domain.domain_for_new_account(
        ctx.db, checked_domain(ctx, domain), split_extension(mail), _CREATE_COLUMNS
    )
    if drow is None:
        raise ApiError("INVALID_DOMAIN_NAME")
    if taken:
        raise ApiError("ALREADY_EXISTS")
    check_account_limit(lambda: store_domain.count_accounts(ctx.db, "users", domain), int(drow["mailboxes"]))
    settings = parse_settings(drow["settings"])
    requested = requested_quota(ctx, int(settings.get("default_user_quota", 0)))
    quota = effective_quota(ctx, drow, requested, username=None)
    # The domain's password limits are in the row read above (nothing was written since).
    password = user_password(ctx, domain, limits=settings)
    if ctx.has("language"):
        lang = language(ctx.get("language") or "")
    else:
        lang = language(str(settings.get("default_language", "en_US")))
    fmt = (ctx.get("mailboxFormat") or "").strip().lower()
    values: dict[str, Any] = {
        "username": mail,
        "password": password,
        "name": ctx.get("name") or "",
        "language": lang,
        "quota": quota,
        "domain": domain,
        "mailboxformat": fmt if fmt in MAILBOX_FORMATS else "maildir",
        "mailboxfolder": mailbox_folder(ctx.get("mailboxFolder")),
        **maildir_columns(local, domain, ctx.get("maildir")),
    }
    store_mail.create_mailbox(ctx.db, values)
    return ok()


def guard_global_profile(ctx: Ctx, mail: str) -> None:
    """A normal admin may not touch a global admin's account."""
    if not ctx.is_global and store_domain.is_global_admin(ctx.db, mail):
        raise ApiError("PERMISSION_DENIED_UPDATE_GLOBAL_ADMIN_PROFILE")


def delete_user(ctx: Ctx) -> Reply:
    """``DELETE /api/user/<mail>[/keep_mailbox_days/<n>]``; a missing user succeeds."""
    mail, _ = target_user(ctx)
    guard_global_profile(ctx, mail)
    keep = parse_int(ctx.match.get("days"))
    if store_mail.delete_mailbox(ctx.db, mail, admin=ctx.username, keep_days=keep or None):
        ctx.state.subscribers.remove_everywhere(mail)
    return ok()


def change_user_email(ctx: Ctx) -> Reply:
    """``POST /api/user/<mail>/change_email/<new_mail>`` (same domain only)."""
    old, new = rename_pair(ctx)
    if store_mail.get_mailbox(ctx.db, old) is None:
        raise ApiError("OLD_EMAIL_NOT_EXIST")
    if store_domain.account_taken(ctx.db, split_extension(new)):
        raise ApiError("NEW_EMAIL_ALREADY_EXISTS")
    guard_global_profile(ctx, old)
    store_mail.rename_account(ctx.db, old, new)
    ctx.state.subscribers.rename_member(old, new)
    return ok()


def update_users(ctx: Ctx) -> Reply:
    """``PUT /api/users/<domain>``: the same change to every user of the domain."""
    row = _domain_row(ctx, ctx.match["domain"])
    domain = row["domain"]
    values: dict[str, Any] = {}
    if ctx.has("password"):
        password = ctx.get("password") or ""
        if not password.strip():
            raise ApiError("EMPTY_PASSWORD")
        require_valid_password(ctx, password, domain)
        values["password"] = hash_password(password)
    if ctx.has("language"):
        values["language"] = language(ctx.get("language") or "")
    if ctx.has("transport"):
        values["transport"] = (ctx.get("transport") or "").strip()
    if ctx.has("name"):
        values["name"] = ctx.get("name") or ""
    users = [r["username"] for r in store_mail.list_mailboxes(ctx.db, domain, disabled_only=False)]
    for username in users:
        if "password" in values:
            # Each user gets its own salt, as one hash per account is what the server stores.
            values["password"] = hash_password(ctx.get("password") or "")
        store_mail.update_mailbox(ctx.db, username, values)
        if ctx.has("accountStatus"):
            store_mail.set_user_active(ctx.db, username, account_status(ctx.get("accountStatus") or ""))
    return ok()
