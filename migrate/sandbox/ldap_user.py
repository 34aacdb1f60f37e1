"""LDAP edition: mail users except the single-user PUT (create, read, list, delete, rename, bulk).

A user is an ``inetOrgPerson`` + ``mailUser`` + ``shadowAccount`` + ``amavisAccount`` entry
``mail=<user>,ou=Users,domainName=<domain>,...`` (reference §14.4): ``uid`` and ``sn`` are the
local part, ``cn`` the name (default: the local part), ``mailQuota`` in **bytes** (absent =
unlimited), ``homeDirectory`` the full maildir path, ``enabledService`` the default set of §14.6,
``preferredLanguage`` only when it is a valid code, ``shadowAddress: <local>@<alias domain>`` for
each alias domain of its domain.
"""

from __future__ import annotations

from typing import Any

from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.ldap_common import (
    MB,
    DomainRef,
    check_limit,
    dit,
    domain_ref,
    domain_status,
    effective_quota,
    rename_source,
    renamed_shadows,
    taken,
    tree,
)
from migrate.sandbox.ldap_dit import is_global_admin, shadow_last_change
from migrate.sandbox.ldap_members import remove_account_everywhere, rename_references
from migrate.sandbox.ldap_store import Entry
from migrate.sandbox.ldap_views import user_view
from migrate.sandbox.passwords import hash_password
from migrate.sandbox.rules import (
    MAILBOX_FORMATS,
    account_status,
    language,
    parse_int,
)
from migrate.sandbox.shared_checks import (
    new_user_address,
    rename_pair,
    requested_quota,
    require_valid_password,
    target_user,
    user_password,
)
from migrate.sandbox.user_common import mailbox_folder, maildir_columns

__all__ = [
    "DEFAULT_USER_SERVICES",
    "change_user_email",
    "create_user",
    "delete_user",
    "get_user",
    "guard_global_profile",
    "home_directory",
    "list_users",
    "locale_changes",
    "update_users",
]

#: ``enabledService`` of a new mail user (reference §14.6).
DEFAULT_USER_SERVICES: tuple[str, ...] = tuple(
    "internal doveadm lib-storage indexer-worker dsync quota-status mail smtp smtpsecured smtptls pop3 "
    "pop3secured pop3tls imap imapsecured imaptls managesieve managesievesecured managesievetls sieve "
    "sievesecured sievetls deliver lda lmtp recipientbcc senderbcc forward shadowaddress "
    "displayedInGlobalAddressBook sogo sogowebmail sogocalendar sogoactivesync".split()
)
_USER_CLASSES = ["inetOrgPerson", "mailUser", "shadowAccount", "amavisAccount"]


def locale_changes(ctx: Ctx, changes: dict[str, list[str]]) -> None:
    """Apply ``language`` and ``transport`` (an invalid code or a blank transport removes it)."""
    if ctx.has("language"):
        code = language(ctx.get("language") or "")
        changes["preferredLanguage"] = [code] if code else []
    if ctx.has("transport"):
        transport = (ctx.get("transport") or "").strip()
        changes["mtaTransport"] = [transport] if transport else []


def home_directory(local: str, domain: str, path: str | None) -> str:
    """The ``homeDirectory`` of a new mailbox (the SQL edition's maildir rules, as one path)."""
    columns = maildir_columns(local, domain, path)
    parts = (columns["storagebasedirectory"], columns["storagenode"], columns["maildir"])
    return "/" + "/".join(p.strip("/") for p in parts if p.strip("/"))


def get_user(ctx: Ctx) -> Reply:
    """``GET /api/user/<mail>``."""
    mail, _ = target_user(ctx)
    entry = dit(ctx).get(tree(ctx).user(mail))
    if entry is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    return ok(user_view(ctx, entry, detail=True))


def _user_entries(ctx: Ctx, ref: DomainRef) -> list[tuple[str, Entry]]:
    """The domain's users (the catch-all entry shares ``ou=Users`` but is none)."""
    rows = dit(ctx).children(tree(ctx).ou(ref.name, "Users"))
    users = [(dn, entry) for dn, entry in rows if not entry.get("mail", ["@"])[0].startswith("@")]
    return sorted(users, key=lambda item: item[1]["mail"][0])


def list_users(ctx: Ctx) -> Reply:
    """``GET /api/users/<domain>``: profiles sorted by address, or addresses with ``email_only``."""
    ref = domain_ref(ctx, ctx.match["domain"])
    entries = [e for _, e in _user_entries(ctx, ref)]
    if ctx.has("disabled_only"):
        entries = [e for e in entries if e.get("accountStatus", [""])[0] != "active"]
    if ctx.has("email_only"):
        return ok([e["mail"][0] for e in entries])
    keep = ctx.quirk("users_list_password")
    return ok([user_view(ctx, e, detail=False, keep_password=keep) for e in entries])


def create_user(ctx: Ctx) -> Reply:
    """``POST /api/user/<mail>``: checks in the server's order, then the entry."""
    mail, local, domain = new_user_address(ctx)
    ref = domain_ref(ctx, domain)
    if taken(ctx, mail):
        raise ApiError("ALREADY_EXISTS")
    check_limit(ctx, ref, "numberOfUsers", "Users")
    quota = effective_quota(ctx, ref, requested_quota(ctx, ref.setting("defaultQuota")), username=None)
    password = user_password(ctx, domain)
    default_language = ref.entry.get("preferredLanguage", ["en_US"])[0]
    lang = language((ctx.get("language") or "") if ctx.has("language") else default_language)
    fmt = (ctx.get("mailboxFormat") or "").strip().lower()
    entry: Entry = {
        "objectClass": list(_USER_CLASSES),
        "mail": [mail],
        "uid": [local],
        "sn": [local],
        "cn": [ctx.get("name") or local],
        "userPassword": [password],
        "mailQuota": [str(quota * MB)] if quota else [],
        "homeDirectory": [home_directory(local, domain, ctx.get("maildir"))],
        "accountStatus": ["active"],
        "enabledService": list(DEFAULT_USER_SERVICES),
        "preferredLanguage": [lang] if lang else [],
        "shadowLastChange": [shadow_last_change()],
        "amavisLocal": ["TRUE"],
        "mailboxFormat": [fmt] if fmt in MAILBOX_FORMATS else [],
        "mailboxFolder": [mailbox_folder(ctx.get("mailboxFolder"))] if ctx.has("mailboxFolder") else [],
        "shadowAddress": [f"{local}@{alias}" for alias in ref.entry.get("domainAliasName", [])],
        **domain_status(ref),
    }
    dit(ctx).add(tree(ctx).user(mail), {attr: values for attr, values in entry.items() if values})
    return ok()


def guard_global_profile(ctx: Ctx, mail: str) -> None:
    """A normal admin may not touch a global admin's account."""
    if not ctx.is_global and is_global_admin(dit(ctx), tree(ctx), mail):
        raise ApiError("PERMISSION_DENIED_UPDATE_GLOBAL_ADMIN_PROFILE")


def delete_user(ctx: Ctx) -> Reply:
    """``DELETE /api/user/<mail>[/keep_mailbox_days/<n>]``; a missing user succeeds."""
    mail, _ = target_user(ctx)
    guard_global_profile(ctx, mail)
    entry = dit(ctx).get(tree(ctx).user(mail))
    if entry is not None:
        remove_account_everywhere(ctx, mail, entry, keep_days=parse_int(ctx.match.get("days")) or None)
    return ok()


def change_user_email(ctx: Ctx) -> Reply:
    """``POST /api/user/<mail>/change_email/<new_mail>`` (same domain only; the maildir stays)."""
    old, new = rename_pair(ctx)
    d, t = dit(ctx), tree(ctx)
    entry = rename_source(ctx, t.user(old), new)
    guard_global_profile(ctx, old)
    old_local, new_local = old.rpartition("@")[0], new.rpartition("@")[0]
    d.rename(t.user(old), t.user(new))
    changes = {"mail": [new], "uid": [new_local]}
    if entry.get("sn") == [old_local]:
        changes["sn"] = [new_local]
    changes["shadowAddress"] = renamed_shadows(entry, old, new)
    d.modify(t.user(new), changes)
    rename_references(ctx, old, new)
    ctx.state.subscribers.rename_member(old, new)
    return ok()


def update_users(ctx: Ctx) -> Reply:
    """``PUT /api/users/<domain>``: the same change to every user of the domain."""
    ref = domain_ref(ctx, ctx.match["domain"])
    changes: dict[str, list[str]] = {}
    if ctx.has("password"):
        password = ctx.get("password") or ""
        if not password.strip():
            raise ApiError("EMPTY_PASSWORD")
        require_valid_password(ctx, password, ref.name)
    locale_changes(ctx, changes)
    if ctx.has("accountStatus"):
        changes["accountStatus"] = ["active" if account_status(ctx.get("accountStatus") or "") else "disabled"]
    d = dit(ctx)
    for dn, entry in _user_entries(ctx, ref):
        each: dict[str, Any] = dict(changes)
        if ctx.has("name"):
            each["cn"] = [ctx.get("name") or entry["mail"][0].rpartition("@")[0]]
        if ctx.has("password"):
            # Each user gets its own salt, as one hash per account is what the server stores.
            each["userPassword"] = [hash_password(ctx.get("password") or "")]
            each["shadowLastChange"] = [shadow_last_change()]
        d.modify(dn, each)
    return ok()
