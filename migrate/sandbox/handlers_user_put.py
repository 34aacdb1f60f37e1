"""``PUT /api/user/<mail>``: profile, password, quota, services, forwardings, aliases, bcc."""

from __future__ import annotations

from typing import Any

from migrate.sandbox import store_domain, store_mail
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.handlers_user import guard_global_profile
from migrate.sandbox.rules import (
    MAILBOX_FORMATS,
    account_status,
    comma_addresses,
    comma_names,
    domain_of,
    is_valid_mail,
    language,
    parse_int,
    split_extension,
    yes,
)
from migrate.sandbox.schema import SERVICE_COLUMNS, SOGO_COLUMNS
from migrate.sandbox.shared_checks import hashed_password, target_user
from migrate.sandbox.storage import Row
from migrate.sandbox.user_common import (
    effective_quota,
    existing_addresses,
    mailbox_folder,
    maildir_columns,
)

__all__ = ["update_user"]

_TEXT_PARAMS = (("name", "name"), ("gn", "first_name"), ("sn", "last_name"), ("employeeid", "employeeid"))


def _service_values(ctx: Ctx) -> dict[str, Any]:
    """Map ``services``/``addService``/``removeService`` to ``enable<service>`` columns.

    Names without a column (``smtptls``, ``managesievetls``, anything unknown) are ignored.
    """
    known = set(SERVICE_COLUMNS) | set(SOGO_COLUMNS)
    values: dict[str, Any] = {}

    def put(name: str, on: bool) -> None:
        if name in SOGO_COLUMNS:
            values[f"enable{name}"] = "y" if on else "n"
        elif name in known:
            values[f"enable{name}"] = 1 if on else 0

    if ctx.has("services"):
        chosen = set(comma_names(ctx.get("services")))
        for name in known:
            put(name, name in chosen)
        return values
    if not ctx.quirk("user_add_service_noop"):
        for name in comma_names(ctx.get("addService")):
            put(name, True)
    for name in comma_names(ctx.get("removeService")):
        put(name, False)
    return values


def _profile_values(ctx: Ctx, row: Row, domain_row: Row) -> dict[str, Any]:
    """The ``mailbox`` columns to set (``row``, ``domain_row``: as :func:`store_mail.mailbox_for_update` has them)."""
    values: dict[str, Any] = {}
    for param, column in _TEXT_PARAMS:
        if ctx.has(param):
            values[column] = ctx.get(param) or ""
    if ctx.has("language"):
        values["language"] = language(ctx.get("language") or "")
    if ctx.has("transport"):
        values["transport"] = (ctx.get("transport") or "").strip()
    if ctx.has("password"):
        values["password"] = hashed_password(ctx, row["domain"])
    elif ctx.get("password_hash"):
        values["password"] = (ctx.get("password_hash") or "").strip()  # verbatim, no scheme check on PUT
    quota = parse_int(ctx.get("quota"))
    if quota is not None and quota >= 0:
        values["quota"] = effective_quota(ctx, domain_row, quota, username=row["username"])
    fmt = (ctx.get("mailboxFormat") or "").strip().lower()
    if fmt in MAILBOX_FORMATS:
        values["mailboxformat"] = fmt
    if ctx.has("mailboxFolder"):
        values["mailboxfolder"] = mailbox_folder(ctx.get("mailboxFolder"), row["mailboxfolder"])
    if ctx.get("maildir"):
        local = row["username"].rpartition("@")[0]
        values.update(maildir_columns(local, row["domain"], ctx.get("maildir")))
    if ctx.has("isGlobalAdmin"):
        ctx.require_global()
        values["isglobaladmin"] = 1 if yes(ctx.get("isGlobalAdmin")) else 0
    values.update(_service_values(ctx))
    return values


def _apply_forwardings(ctx: Ctx, mail: str, active: int) -> None:
    if ctx.has("forwarding"):
        store_mail.set_user_forwardings(ctx.db, mail, existing_addresses(ctx, ctx.get("forwarding"), mail), active)
        return
    if not (ctx.has("addForwarding") or ctx.has("removeForwarding")):
        return
    have = store_mail.user_forwardings(ctx.db, mail)
    add = existing_addresses(ctx, ctx.get("addForwarding"), mail)
    gone = set(comma_addresses(ctx.get("removeForwarding")))
    wanted = [a for a in have if a not in gone] + [a for a in add if a not in have]
    store_mail.set_user_forwardings(ctx.db, mail, wanted, active)


def _new_aliases(ctx: Ctx, raw: str | None, mail: str) -> list[str]:
    """Per-user aliases: own domain only; taken addresses and the user's own are skipped."""
    domain = domain_of(mail)
    out = []
    for address in comma_addresses(raw):
        if address == mail or domain_of(address) != domain:
            continue
        if store_domain.account_taken(ctx.db, split_extension(address)) or address in out:
            continue
        out.append(address)
    return out


def _apply_aliases(ctx: Ctx, mail: str, active: int) -> None:
    if ctx.has("aliases"):
        store_mail.remove_user_aliases(ctx.db, mail, None)
        store_mail.add_user_aliases(ctx.db, mail, _new_aliases(ctx, ctx.get("aliases"), mail), active)
        return
    if ctx.has("removeAlias"):
        store_mail.remove_user_aliases(ctx.db, mail, comma_addresses(ctx.get("removeAlias")))
    if ctx.has("addAlias"):
        store_mail.add_user_aliases(ctx.db, mail, _new_aliases(ctx, ctx.get("addAlias"), mail), active)


def _apply_bcc(ctx: Ctx, mail: str) -> None:
    for param, kind in (("senderBcc", "sender"), ("recipientBcc", "recipient")):
        if not ctx.has(param):
            continue
        address = (ctx.get(param) or "").strip().lower()
        if address and not is_valid_mail(address):
            continue
        alias_domains = store_domain.alias_domains(ctx.db, domain_of(mail))
        store_mail.set_user_bcc(ctx.db, mail, kind, address, alias_domains)


def update_user(ctx: Ctx) -> Reply:
    """``PUT /api/user/<mail>``."""
    mail, domain = target_user(ctx)
    # Both rows in one statement; the checks still answer in the server's order.
    row, domain_row = store_mail.mailbox_for_update(ctx.db, mail, domain)
    if row is None:
        if ctx.quirk("put_missing_user_succeeds"):
            return ok()
        raise ApiError("NO_SUCH_ACCOUNT")
    guard_global_profile(ctx, mail)
    if domain_row is None:
        raise ApiError("INVALID_DOMAIN_NAME")
    values = _profile_values(ctx, row, domain_row)
    store_mail.update_mailbox(ctx.db, mail, values)
    if "isglobaladmin" in values:
        store_domain.set_global_admin(ctx.db, mail, bool(values["isglobaladmin"]))
    active = int(row["active"])
    if ctx.has("accountStatus"):
        active = account_status(ctx.get("accountStatus") or "")
        store_mail.set_user_active(ctx.db, mail, active)
    _apply_forwardings(ctx, mail, active)
    _apply_aliases(ctx, mail, active)
    _apply_bcc(ctx, mail)
    return ok()
