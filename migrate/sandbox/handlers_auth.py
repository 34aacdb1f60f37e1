"""``/api/login`` and ``/api/verify_password/{admin,user}/<mail>`` (reference §3.1, §6.7)."""

from __future__ import annotations

from migrate.sandbox import store_domain, store_mail
from migrate.sandbox.context import ApiError, Ctx, Reply
from migrate.sandbox.shared_admin import login as shared_login
from migrate.sandbox.shared_admin import verify_reply
from migrate.sandbox.storage import Row

__all__ = ["login", "login_get", "verify_admin_password", "verify_user_password"]


def login_get(ctx: Ctx) -> Reply:
    """``GET /api/login``: the endpoint exists but only POST logs in."""
    raise ApiError("INVALID_HTTP_METHOD")


def login(ctx: Ctx) -> Reply:
    """``POST /api/login``: a standalone admin, or a mail user with admin rights, gets a session."""

    def stored(username: str) -> list[str | None]:
        password = store_domain.admin_password(ctx.db, username)
        if password is None:
            password = store_mail.mailbox_password(ctx.db, username, admins_only=True)
        return [password]

    return shared_login(ctx, stored)


def _stored(row: Row | None) -> list[str | None]:
    return [None if row is None else str(row["password"])]


def verify_admin_password(ctx: Ctx) -> Reply:
    """``POST /api/verify_password/admin/<mail>`` (global admins only)."""
    row = store_domain.get_admin(ctx.db, ctx.match["mail"])
    return verify_reply(ctx, _stored(row))


def verify_user_password(ctx: Ctx) -> Reply:
    """``POST /api/verify_password/user/<mail>`` (global admins only)."""
    row = store_mail.get_mailbox(ctx.db, ctx.match["mail"])
    return verify_reply(ctx, _stored(row))
