"""``/api/login`` and ``/api/verify_password/{admin,user}/<mail>`` (reference §3.1, §6.7)."""

from __future__ import annotations

from migrate.sandbox import store_domain, store_mail
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.passwords import verify_password
from migrate.sandbox.rules import is_valid_mail

__all__ = ["login", "login_get", "verify_admin_password", "verify_user_password"]


def login_get(ctx: Ctx) -> Reply:
    """``GET /api/login``: the endpoint exists but only POST logs in."""
    raise ApiError("INVALID_HTTP_METHOD")


def login(ctx: Ctx) -> Reply:
    """``POST /api/login``: a standalone admin, or a mail user with admin rights, gets a session."""
    username = (ctx.get("username") or "").strip().lower()
    password = ctx.get("password") or ""
    if not is_valid_mail(username):
        raise ApiError("INVALID_USERNAME")
    if not password:
        raise ApiError("EMPTY_PASSWORD")
    stored = store_domain.admin_password(ctx.db, username)
    if stored is None:
        stored = store_mail.mailbox_password(ctx.db, username, admins_only=True)
    if stored is None or not verify_password(password, stored, pass_the_hash=ctx.quirk("pass_the_hash")):
        raise ApiError("INVALID_CREDENTIALS")
    session = ctx.state.sessions.create(username, ctx.remote)
    reply = ok()
    reply.cookie = session.sid
    return reply


def _verify(ctx: Ctx, stored: str | None) -> Reply:
    password = ctx.get("password") or ""
    if not password:
        raise ApiError("EMPTY_PASSSWORD" if ctx.quirk("empty_passsword_typo") else "EMPTY_PASSWORD")
    if stored and verify_password(password, stored, pass_the_hash=ctx.quirk("pass_the_hash")):
        return ok()
    raise ApiError(None)  # a mismatch is {"_success": false} without any _msg


def verify_admin_password(ctx: Ctx) -> Reply:
    """``POST /api/verify_password/admin/<mail>`` (global admins only)."""
    row = store_domain.get_admin(ctx.db, ctx.match["mail"])
    return _verify(ctx, None if row is None else str(row["password"]))


def verify_user_password(ctx: Ctx) -> Reply:
    """``POST /api/verify_password/user/<mail>`` (global admins only)."""
    row = store_mail.get_mailbox(ctx.db, ctx.match["mail"])
    return _verify(ctx, None if row is None else str(row["password"]))
