"""LDAP edition: alias accounts, ``mailAlias`` entries under ``ou=Aliases`` (reference §6.8, §14.4).

Members are the entry's ``mailForwardingAddress`` values, moderators its ``listModerator``.
``accessPolicy`` is SQL-only for aliases (reference §1.1): accepted and ignored here.
"""

from __future__ import annotations

from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.ldap_common import (
    check_limit,
    dit,
    domain_ref,
    domain_status,
    existing_addresses,
    rename_source,
    renamed_shadows,
    taken,
    tree,
)
from migrate.sandbox.ldap_members import rename_references
from migrate.sandbox.ldap_store import Entry
from migrate.sandbox.ldap_views import alias_view
from migrate.sandbox.rules import (
    account_status,
    comma_addresses,
    domain_of,
)
from migrate.sandbox.shared_checks import new_account_mail, rename_pair, target_mail

__all__ = ["change_alias_email", "create_alias", "delete_alias", "get_alias", "list_aliases", "update_alias"]


def get_alias(ctx: Ctx) -> Reply:
    """``GET /api/alias/<mail>``: attributes plus sorted ``members`` and ``moderators``."""
    entry = dit(ctx).get(tree(ctx).alias(target_mail(ctx)))
    if entry is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    return ok(alias_view(ctx, entry, detail=True))


def list_aliases(ctx: Ctx) -> Reply:
    """``GET /api/aliases/<domain>``: alias profiles without members, or ``email_only`` addresses."""
    ref = domain_ref(ctx, ctx.match["domain"])
    entries = [entry for _, entry in dit(ctx).children(tree(ctx).ou(ref.name, "Aliases"))]
    if ctx.has("disabled_only"):
        entries = [e for e in entries if e.get("accountStatus", [""])[0] != "active"]
    entries.sort(key=lambda e: e["mail"][0])
    if ctx.has("email_only"):
        return ok([e["mail"][0] for e in entries])
    return ok([alias_view(ctx, e, detail=False) for e in entries])


def _members(ctx: Ctx, raw: str | None, mail: str) -> list[str]:
    return [m for m in existing_addresses(ctx, raw, mail) if m != mail]


def create_alias(ctx: Ctx) -> Reply:
    """``POST /api/alias/<mail>``: ``name``, ``members`` (and ``moderators``)."""
    mail = new_account_mail(ctx)
    ref = domain_ref(ctx, domain_of(mail))
    if taken(ctx, mail):
        raise ApiError("ALREADY_EXISTS")
    check_limit(ctx, ref, "numberOfAliases", "Aliases")
    local = mail.rpartition("@")[0]
    entry: Entry = {
        "objectClass": ["mailAlias"],
        "mail": [mail],
        "cn": [ctx.get("name") or ""] if ctx.get("name") else [],
        "accountStatus": ["active"],
        "enabledService": ["mail", "deliver"],
        "mailForwardingAddress": _members(ctx, ctx.get("members"), mail),
        "listModerator": comma_addresses(ctx.get("moderators")),
        "shadowAddress": [f"{local}@{alias}" for alias in ref.entry.get("domainAliasName", [])],
        **domain_status(ref),
    }
    dit(ctx).add(tree(ctx).alias(mail), {attr: values for attr, values in entry.items() if values})
    return ok()


def update_alias(ctx: Ctx) -> Reply:
    """``PUT /api/alias/<mail>``: ``name``, ``accountStatus``, ``members``/``addMember``/``removeMember``."""
    mail = target_mail(ctx)
    d, dn = dit(ctx), tree(ctx).alias(mail)
    if not d.exists(dn):
        raise ApiError("NO_SUCH_ACCOUNT")
    changes: dict[str, list[str]] = {}
    if ctx.has("name"):
        changes["cn"] = [ctx.get("name") or ""] if ctx.get("name") else []
    if ctx.has("accountStatus"):
        changes["accountStatus"] = ["active" if account_status(ctx.get("accountStatus") or "") else "disabled"]
    if ctx.has("members"):
        changes["mailForwardingAddress"] = _members(ctx, ctx.get("members"), mail)
    if ctx.has("moderators"):
        changes["listModerator"] = comma_addresses(ctx.get("moderators"))
    d.modify(dn, changes)
    if not ctx.has("members"):
        d.delete_values(dn, "mailForwardingAddress", comma_addresses(ctx.get("removeMember")))
        d.add_values(dn, "mailForwardingAddress", _members(ctx, ctx.get("addMember"), mail))
    return ok()


def delete_alias(ctx: Ctx) -> Reply:
    """``DELETE /api/alias/<mail>``; a missing alias succeeds. Other aliases drop it as a member."""
    mail = target_mail(ctx)
    d, t = dit(ctx), tree(ctx)
    if d.delete(t.alias(mail)):
        for dn in d.find("mailForwardingAddress", mail, t.domains):
            if ",ou=aliases," in dn:
                d.delete_values(dn, "mailForwardingAddress", [mail])
    return ok()


def change_alias_email(ctx: Ctx) -> Reply:
    """``POST /api/alias/<mail>/change_email/<new_mail>`` (same domain only)."""
    old, new = rename_pair(ctx)
    d, t = dit(ctx), tree(ctx)
    entry = rename_source(ctx, t.alias(old), new)
    d.rename(t.alias(old), t.alias(new))
    d.modify(t.alias(new), {"mail": [new], "shadowAddress": renamed_shadows(entry, old, new)})
    rename_references(ctx, old, new)
    return ok()
