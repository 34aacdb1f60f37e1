"""Classic list membership and the references between entries, in the LDAP edition.

A classic list (``mailList`` without ``enabledService: mlmmj``) holds no member list itself:
each member's own entry carries ``memberOfGroup: <list>`` (users, and aliases or lists of hosted
domains), and every other address goes into one ``mailExternalUser`` entry per list,
``memberOfGroup=<list>,ou=Externals,domainName=<list's domain>,...``, as its ``mail`` values
(reference §14.4).

Deleting or renaming an account also updates what points at it elsewhere: alias members and
forwardings (``mailForwardingAddress``), ``domainAdmin``, list owners and moderators; and the
SQL-side data a real LDAP install keeps in SQL too (spam policy, throttles, relay, used quota,
last login, ``deleted_mailboxes``).
"""

from __future__ import annotations

from collections.abc import Iterable

from migrate.sandbox import store_domain, store_extra, store_mail
from migrate.sandbox.context import Ctx
from migrate.sandbox.ldap_common import dit, tree
from migrate.sandbox.ldap_store import Entry, normalize_dn

__all__ = [
    "REFERENCE_ATTRIBUTES",
    "drop_list",
    "list_members",
    "remove_account_everywhere",
    "rename_references",
    "set_list_members",
]

#: Attributes whose values are addresses of other accounts.
REFERENCE_ATTRIBUTES: tuple[str, ...] = ("mailForwardingAddress", "domainAdmin", "listModerator", "listOwner")


def _member_dn(ctx: Ctx, address: str) -> str | None:
    """The entry of a hosted account that can carry ``memberOfGroup`` (``None`` for externals)."""
    d, t = dit(ctx), tree(ctx)
    for dn in (t.user(address), t.alias(address), t.group(address)):
        if d.exists(dn):
            return dn
    return None


def _internal_dns(ctx: Ctx, list_mail: str) -> list[str]:
    found = dit(ctx).find("memberOfGroup", list_mail, tree(ctx).domains)
    return [dn for dn in found if not dn.startswith("memberofgroup=")]


def list_members(ctx: Ctx, list_mail: str) -> list[str]:
    """Return a classic list's members, internal and external, sorted."""
    d = dit(ctx)
    members = {d.first(dn, "mail") or "" for dn in _internal_dns(ctx, list_mail)}
    members.update(d.values(tree(ctx).externals(list_mail), "mail"))
    members.discard("")
    return sorted(members)


def _add_externals(ctx: Ctx, list_mail: str, addresses: list[str]) -> None:
    if not addresses:
        return
    d, dn = dit(ctx), tree(ctx).externals(list_mail)
    if d.exists(dn):
        d.add_values(dn, "mail", addresses)
        return
    entry: Entry = {
        "objectClass": ["mailExternalUser"],
        "memberOfGroup": [list_mail],
        "accountStatus": ["active"],
        "enabledService": ["mail", "deliver"],
        "mail": addresses,
    }
    d.add(dn, entry)


def _remove_externals(ctx: Ctx, list_mail: str, addresses: Iterable[str] | None) -> None:
    d, dn = dit(ctx), tree(ctx).externals(list_mail)
    if addresses is None:
        d.delete(dn)
        return
    d.delete_values(dn, "mail", addresses)
    if d.exists(dn) and not d.values(dn, "mail"):
        d.delete(dn)  # an externals entry without members would only confuse Postfix lookups


def set_list_members(ctx: Ctx, list_mail: str, add: list[str], remove: list[str] | None) -> None:
    """Remove then add members of a classic list; ``remove=None`` clears every member first."""
    d = dit(ctx)
    if remove is None:
        for dn in _internal_dns(ctx, list_mail):
            d.delete_values(dn, "memberOfGroup", [list_mail])
        _remove_externals(ctx, list_mail, None)
    else:
        gone_external: list[str] = []
        for address in remove:
            member_dn = _member_dn(ctx, address)
            if member_dn is not None:
                d.delete_values(member_dn, "memberOfGroup", [list_mail])
            else:
                gone_external.append(address)
        _remove_externals(ctx, list_mail, gone_external)
    external: list[str] = []
    for address in add:
        member_dn = _member_dn(ctx, address)
        if member_dn is None:
            external.append(address)
        elif normalize_dn(member_dn) != normalize_dn(tree(ctx).group(list_mail)):
            d.add_values(member_dn, "memberOfGroup", [list_mail])
    _add_externals(ctx, list_mail, external)


def drop_list(ctx: Ctx, list_mail: str) -> None:
    """Forget a classic list's members (before its entry is deleted)."""
    dit(ctx).delete_value_everywhere("memberOfGroup", list_mail, tree(ctx).domains)
    _remove_externals(ctx, list_mail, None)


def _sql_side_cleanup(ctx: Ctx, mail: str) -> None:
    db = ctx.db
    for table in ("used_quota", "last_login"):
        db.run(f"DELETE FROM {table} WHERE username = ?", (mail,))
    store_extra.delete_spam_policy(db, mail)
    db.run("DELETE FROM throttle WHERE account = ?", (mail,))
    store_domain.set_relayhost(db, mail, "")


def remove_account_everywhere(ctx: Ctx, mail: str, entry: Entry, *, keep_days: int | None) -> None:
    """Delete a user entry with everything that points at it (reference §8.3)."""
    d = dit(ctx)
    home = entry.get("homeDirectory", [""])[0]
    row = {"username": mail, "domain": mail.rpartition("@")[2], "storagebasedirectory": home, "storagenode": "",
           "maildir": ""}  # fmt: skip
    store_mail.record_deleted_mailbox(ctx.db, row, admin=ctx.username, keep_days=keep_days)
    d.delete(tree(ctx).user(mail))
    for attr in REFERENCE_ATTRIBUTES:
        for dn in d.delete_value_everywhere(attr, mail, tree(ctx).domains):
            if dn.startswith("mail=@") and not d.values(dn, "mailForwardingAddress"):
                d.delete(dn)  # a catch-all whose last target went is no catch-all any more
    _sql_side_cleanup(ctx, mail)
    ctx.state.subscribers.remove_everywhere(mail)


def rename_references(ctx: Ctx, old: str, new: str) -> None:
    """Point every reference to ``old`` at ``new`` (``change_email``), SQL-side data included."""
    d = dit(ctx)
    for attr in REFERENCE_ATTRIBUTES:
        d.rename_value_everywhere(attr, old, new)
    store_mail.rename_account(ctx.db, old, new)
