"""LDAP edition: classic lists (``/api/maillist``) and mlmmj lists (``/api/ml``, ``/api/mls``).

Both are ``mailList`` entries under ``ou=Groups`` (reference §14.4). A classic list has
``enabledService: mail, deliver, displayedInGlobalAddressBook`` and its members point at it (see
:mod:`migrate.sandbox.ldap_members`). An mlmmj list adds ``enabledService: mlmmj``,
``mtaTransport: mlmmj:<domain>/<list>`` and a 36-character ``mailingListID``; owners and
moderators are ``listOwner``/``listModerator``, ``max_message_size`` is ``maxMessageSize`` (bytes),
and what mlmmj keeps on disk (subscribers, list settings, the newsletter switch) stays outside
LDAP, in the same store the SQL edition uses. Each endpoint only sees its own kind of list.
"""

from __future__ import annotations

import uuid
from typing import Any

from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.ldap_common import (
    check_limit,
    dit,
    domain_ref,
    domain_status,
    existing_addresses,
    taken,
    tree,
)
from migrate.sandbox.ldap_members import drop_list, list_members, set_list_members
from migrate.sandbox.ldap_store import Entry
from migrate.sandbox.ldap_views import list_view
from migrate.sandbox.rules import (
    ACCESS_POLICIES,
    ML_ACCESS_POLICIES,
    account_status,
    comma_addresses,
    domain_of,
    parse_int,
    yes,
)
from migrate.sandbox.shared_checks import new_account_mail, target_mail
from migrate.sandbox.shared_ml import FLAGS, control_changes, keep_archive, subscribe, update_subscribers

__all__ = [
    "create_maillist",
    "create_ml",
    "delete_maillist",
    "delete_ml",
    "get_maillist",
    "get_ml",
    "list_mls",
    "update_maillist",
    "update_ml",
]


def _is_mlmmj(entry: Entry) -> bool:
    return "mlmmj" in entry.get("enabledService", [])


def _entry(ctx: Ctx, mail: str, *, mlmmj: bool) -> Entry | None:
    entry = dit(ctx).get(tree(ctx).group(mail))
    if entry is None or _is_mlmmj(entry) != mlmmj:
        return None
    return entry


def _new_list(ctx: Ctx, mail: str) -> Entry:
    """Checks for a new list of either kind, in the server's order; returns the entry's common part."""
    ref = domain_ref(ctx, domain_of(mail))
    if taken(ctx, mail):
        raise ApiError("ALREADY_EXISTS")
    check_limit(ctx, ref, "numberOfLists", "Groups")
    local = mail.rpartition("@")[0]
    return {
        "objectClass": ["mailList"],
        "mail": [mail],
        "accountStatus": ["active"],
        "shadowAddress": [f"{local}@{alias}" for alias in ref.entry.get("domainAliasName", [])],
        **domain_status(ref),
    }


def _profile(ctx: Ctx, policies: frozenset[str]) -> dict[str, list[str]]:
    changes: dict[str, list[str]] = {}
    if ctx.has("name"):
        changes["cn"] = [ctx.get("name") or ""] if ctx.get("name") else []
    policy = (ctx.get("accessPolicy") or "").strip().lower()
    if policy in policies:
        changes["accessPolicy"] = [policy]
    if ctx.has("accountStatus"):
        changes["accountStatus"] = ["active" if account_status(ctx.get("accountStatus") or "") else "disabled"]
    return changes


def _add(ctx: Ctx, mail: str, entry: Entry) -> None:
    dit(ctx).add(tree(ctx).group(mail), {attr: values for attr, values in entry.items() if values})


# --- classic lists -----------------------------------------------------------------------------------


def get_maillist(ctx: Ctx) -> Reply:
    """``GET /api/maillist/<mail>``: attributes plus ``members`` (internal and external, sorted)."""
    mail = target_mail(ctx)
    entry = _entry(ctx, mail, mlmmj=False)
    if entry is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    return ok(list_view(ctx, entry, members=list_members(ctx, mail)))


def _members(ctx: Ctx, raw: str | None, mail: str) -> list[str]:
    return [m for m in existing_addresses(ctx, raw, mail) if m != mail]


def create_maillist(ctx: Ctx) -> Reply:
    """``POST /api/maillist/<mail>``: ``name``, ``accessPolicy``, ``members``."""
    mail = new_account_mail(ctx)
    entry = _new_list(ctx, mail)
    entry.update(accessPolicy=["public"], enabledService=["mail", "deliver", "displayedInGlobalAddressBook"])
    entry.update(_profile(ctx, ACCESS_POLICIES))
    _add(ctx, mail, entry)
    set_list_members(ctx, mail, _members(ctx, ctx.get("members"), mail), [])
    return ok()


def update_maillist(ctx: Ctx) -> Reply:
    """``PUT /api/maillist/<mail>``: profile and ``members``/``addMember``/``removeMember``."""
    mail = target_mail(ctx)
    if _entry(ctx, mail, mlmmj=False) is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    dit(ctx).modify(tree(ctx).group(mail), _profile(ctx, ACCESS_POLICIES))
    if ctx.has("members"):
        set_list_members(ctx, mail, _members(ctx, ctx.get("members"), mail), None)
    else:
        remove = comma_addresses(ctx.get("removeMember"))
        set_list_members(ctx, mail, _members(ctx, ctx.get("addMember"), mail), remove)
    return ok()


def delete_maillist(ctx: Ctx) -> Reply:
    """``DELETE /api/maillist/<mail>``; a missing list succeeds (``archive`` is for mlmmj lists only)."""
    mail = target_mail(ctx)
    if _entry(ctx, mail, mlmmj=False) is not None:
        drop_list(ctx, mail)
        dit(ctx).delete(tree(ctx).group(mail))
    return ok()


# --- mlmmj lists --------------------------------------------------------------------------------------


def _ml_changes(ctx: Ctx) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """LDAP attributes and mlmmj settings of a POST/PUT."""
    changes = _profile(ctx, ML_ACCESS_POLICIES)
    size = parse_int(ctx.get("max_message_size"))
    if size is not None and size >= 0:
        changes["maxMessageSize"] = [str(size)] if size else []
    for param, attr in (("owner", "listOwner"), ("moderators", "listModerator")):
        if ctx.has(param):
            changes[attr] = comma_addresses(ctx.get(param))
    control = control_changes(ctx)
    if ctx.has("is_newsletter"):
        control["is_newsletter"] = "yes" if yes(ctx.get("is_newsletter")) else "no"
    if ctx.has("newsletter_description"):
        control["newsletter_description"] = ctx.get("newsletter_description") or ""
    return changes, control


def _ml_view(ctx: Ctx, entry: Entry, *, with_subscribers: bool) -> dict[str, Any]:
    mail = entry["mail"][0]
    flags = {name: "yes" if value else "no" for name, value in FLAGS.items()}
    control = {"is_newsletter": "no", "newsletter_description": "", **flags, **ctx.state.subscribers.control(mail)}
    data = list_view(ctx, entry, members=None)
    data.update(control)
    size = entry.get("maxMessageSize", ["0"])[0]
    data.update(
        accountStatus="active" if data["active"] else "disabled",
        accessPolicy=data["accesspolicy"],
        mlid=entry.get("mailingListID", [""])[0],
        transport=entry.get("mtaTransport", [""])[0],
        max_message_size=int(size) if size.isdigit() else 0,
        owner=sorted(entry.get("listOwner", [])),
        moderators=sorted(entry.get("listModerator", [])),
    )
    if with_subscribers:
        data["subscribers"] = ctx.state.subscribers.subscribers(mail)
    return data


def get_ml(ctx: Ctx) -> Reply:
    """``GET /api/ml/<mail>``: the list profile, with ``subscribers`` when ``with_subscribers``."""
    entry = _entry(ctx, target_mail(ctx), mlmmj=True)
    if entry is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    return ok(_ml_view(ctx, entry, with_subscribers=ctx.has("with_subscribers")))


def list_mls(ctx: Ctx) -> Reply:
    """``GET /api/mls/<domain>``: mlmmj list profiles, or addresses with ``email_only``."""
    ref = domain_ref(ctx, ctx.match["domain"])
    entries = [e for _, e in dit(ctx).children(tree(ctx).ou(ref.name, "Groups")) if _is_mlmmj(e)]
    entries.sort(key=lambda e: e["mail"][0])
    if ctx.has("email_only"):
        return ok([e["mail"][0] for e in entries])
    return ok([_ml_view(ctx, e, with_subscribers=False) for e in entries])


def create_ml(ctx: Ctx) -> Reply:
    """``POST /api/ml/<mail>``: the entry, owners and moderators, mlmmj settings, subscribers."""
    mail = new_account_mail(ctx)
    entry = _new_list(ctx, mail)
    local, _, domain = mail.rpartition("@")
    postmaster = [f"postmaster@{domain}"]
    entry.update(
        accessPolicy=["public"],
        enabledService=["mail", "deliver", "mlmmj"],
        mtaTransport=[f"mlmmj:{domain}/{local}"],
        mailingListID=[str(uuid.uuid4())],
        listOwner=postmaster,
        listModerator=postmaster,
    )
    changes, control = _ml_changes(ctx)
    entry.update(changes)
    _add(ctx, mail, entry)
    ctx.state.subscribers.create(mail, control)
    subscribe(ctx, mail, "subscribers")
    return ok()


def update_ml(ctx: Ctx) -> Reply:
    """``PUT /api/ml/<mail>``: settings, people, ``add_subscribers``/``remove_subscribers``."""
    mail = target_mail(ctx)
    if _entry(ctx, mail, mlmmj=True) is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    changes, control = _ml_changes(ctx)
    dit(ctx).modify(tree(ctx).group(mail), changes)
    update_subscribers(ctx, mail, control)
    return ok()


def delete_ml(ctx: Ctx) -> Reply:
    """``DELETE /api/ml/<mail>?keep_archive=no``; a missing list succeeds."""
    mail = target_mail(ctx)
    if _entry(ctx, mail, mlmmj=True) is not None:
        dit(ctx).delete(tree(ctx).group(mail))
        ctx.state.subscribers.drop(mail, archive=keep_archive(ctx))
    return ok()
