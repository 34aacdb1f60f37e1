"""mlmmj (subscribable) list endpoints: ``/api/ml/<mail>`` and ``/api/mls/<domain>`` (§6.8)."""

from __future__ import annotations

import uuid
from typing import Any

from migrate.sandbox import store_alias, store_domain
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.handlers_user import check_account_limit
from migrate.sandbox.rules import (
    ML_ACCESS_POLICIES,
    account_status,
    comma_addresses,
    domain_of,
    parse_int,
    split_extension,
    yes,
)
from migrate.sandbox.shared_checks import checked_domain, new_account_mail, target_mail
from migrate.sandbox.shared_ml import FLAGS, control_changes, keep_archive, subscribe, update_subscribers
from migrate.sandbox.storage import Row, parse_settings

__all__ = ["create_ml", "delete_ml", "get_ml", "list_mls", "update_ml"]


def _row_changes(ctx: Ctx, row: Row | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if ctx.has("name"):
        values["name"] = ctx.get("name") or ""
    policy = (ctx.get("accessPolicy") or "").strip().lower()
    if policy in ML_ACCESS_POLICIES:
        values["accesspolicy"] = policy
    if ctx.has("accountStatus"):
        values["active"] = account_status(ctx.get("accountStatus") or "")
    if ctx.has("is_newsletter"):
        values["is_newsletter"] = 1 if yes(ctx.get("is_newsletter")) else 0
    if ctx.has("newsletter_description"):
        values["description"] = ctx.get("newsletter_description") or ""
    size = parse_int(ctx.get("max_message_size"))
    if size is not None and size >= 0:
        values["maxmsgsize"] = size
    return values


def _people(ctx: Ctx, mail: str, *, creating: bool) -> None:
    postmaster = [f"postmaster@{domain_of(mail)}"]
    if ctx.has("owner"):
        store_alias.set_ml_owners(ctx.db, mail, comma_addresses(ctx.get("owner")))
    elif creating:
        store_alias.set_ml_owners(ctx.db, mail, postmaster)
    if ctx.has("moderators"):
        store_alias.set_moderators(ctx.db, mail, comma_addresses(ctx.get("moderators")))
    elif creating:
        store_alias.set_moderators(ctx.db, mail, postmaster)


def _view(ctx: Ctx, row: Row, *, with_subscribers: bool) -> dict[str, Any]:
    address = row["address"]
    control = {**{k: "yes" if v else "no" for k, v in FLAGS.items()}, **ctx.state.subscribers.control(address)}
    data: dict[str, Any] = {
        **row,
        "settings": parse_settings(row["settings"]),
        **control,
        "accountStatus": "active" if row["active"] else "disabled",
        "accessPolicy": row["accesspolicy"],
        "is_newsletter": "yes" if row["is_newsletter"] else "no",
        "newsletter_description": row["description"],
        "max_message_size": row["maxmsgsize"],
        "owner": store_alias.ml_owners(ctx.db, address),
        "moderators": store_alias.moderators(ctx.db, address),
    }
    if with_subscribers:
        data["subscribers"] = ctx.state.subscribers.subscribers(address)
    return data


def get_ml(ctx: Ctx) -> Reply:
    """``GET /api/ml/<mail>``: the list profile, with ``subscribers`` when ``with_subscribers``."""
    row = store_alias.get_ml(ctx.db, target_mail(ctx))
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    return ok(_view(ctx, row, with_subscribers=ctx.has("with_subscribers")))


def list_mls(ctx: Ctx) -> Reply:
    """``GET /api/mls/<domain>``: ``maillists`` rows, or addresses with ``email_only``."""
    domain = checked_domain(ctx, ctx.match["domain"])
    if not store_domain.domain_exists(ctx.db, domain):
        raise ApiError("INVALID_DOMAIN_NAME")
    rows = store_alias.list_mls(ctx.db, domain)
    if ctx.has("email_only"):
        return ok([row["address"] for row in rows])
    return ok([{**row, "settings": parse_settings(row["settings"])} for row in rows])


def create_ml(ctx: Ctx) -> Reply:
    """``POST /api/ml/<mail>``: the ``maillists`` row, marker row, owners, moderators, subscribers."""
    mail = new_account_mail(ctx)
    local, _, domain = mail.rpartition("@")
    ctx.require_domain(domain)
    drow = store_domain.get_domain(ctx.db, domain)
    if drow is None:
        raise ApiError("INVALID_DOMAIN_NAME")
    if store_domain.account_taken(ctx.db, split_extension(mail)):
        raise ApiError("ALREADY_EXISTS")
    check_account_limit(lambda: store_domain.count_accounts(ctx.db, "lists", domain), int(drow["maillists"]))
    values = {
        "address": mail,
        "domain": domain,
        "transport": f"mlmmj:{domain}/{local}",
        "accesspolicy": "public",
        "mlid": str(uuid.uuid4()),
        **_row_changes(ctx, None),
    }
    store_alias.create_ml(ctx.db, values)
    _people(ctx, mail, creating=True)
    ctx.state.subscribers.create(mail, control_changes(ctx))
    subscribe(ctx, mail, "subscribers")
    return ok()


def update_ml(ctx: Ctx) -> Reply:
    """``PUT /api/ml/<mail>``: settings, people, ``add_subscribers``/``remove_subscribers``."""
    mail = target_mail(ctx)
    row = store_alias.get_ml(ctx.db, mail)
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    store_alias.update_ml(ctx.db, mail, _row_changes(ctx, row))
    _people(ctx, mail, creating=False)
    update_subscribers(ctx, mail, control_changes(ctx))
    return ok()


def delete_ml(ctx: Ctx) -> Reply:
    """``DELETE /api/ml/<mail>?keep_archive=no``; a missing list succeeds."""
    mail = target_mail(ctx)
    if store_alias.delete_ml(ctx.db, mail):
        ctx.state.subscribers.drop(mail, archive=keep_archive(ctx))
    return ok()
