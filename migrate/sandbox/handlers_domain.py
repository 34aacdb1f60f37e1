"""Domain endpoints: ``/api/domains``, ``/api/domain/<domain>``, ``/api/domain/admins/<domain>``."""

from __future__ import annotations

from typing import Any

from migrate.sandbox import store_alias, store_domain, store_mail
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.rules import (
    account_status,
    comma_addresses,
    domain_of,
    parse_int,
)
from migrate.sandbox.shared_checks import checked_domain
from migrate.sandbox.shared_domain import (
    DomainParams,
    admin_changes,
    alias_domain_changes,
    apply_profiles,
    apply_services,
    backup_mx,
    domain_params,
    int_params,
)
from migrate.sandbox.storage import Row, format_settings, parse_settings

__all__ = [
    "create_domain",
    "delete_domain",
    "get_domain",
    "get_domain_admins",
    "list_domains",
    "update_domain",
    "update_domain_admins",
]

_DOMAIN_SERVICES = ("self-service",)  # the others (mail, domainalias, ...) are LDAP-only
_PROFILE_KEYS = ("disabled_domain_profiles", "disabled_user_profiles", "disabled_user_preferences")
_LIMITS = {"defaultQuota": "default_user_quota", "maxUserQuota": "max_user_quota"}
_COUNTS = {"numberOfUsers": "mailboxes", "numberOfAliases": "aliases", "numberOfLists": "maillists"}
_PASSWORD_LIMITS = {"minPasswordLength": "min_passwd_length", "maxPasswordLength": "max_passwd_length"}
_BCC = {"senderBcc": "sender", "recipientBcc": "recipient"}


def _row_view(row: Row) -> dict[str, Any]:
    return {**row, "settings": parse_settings(row["settings"])}


def list_domains(ctx: Ctx) -> Reply:
    """``GET /api/domains``: a dict keyed by name, or a sorted name list with ``name_only``."""
    only = None if ctx.is_global else set(store_domain.managed_domains(ctx.db, ctx.username))
    rows = store_domain.list_domains(ctx.db, only=only, disabled_only=ctx.has("disabled_only"))
    if ctx.has("name_only"):
        return ok([row["domain"] for row in rows])
    return ok({row["domain"]: _row_view(row) for row in rows})


def _existing(ctx: Ctx) -> Row:
    domain = checked_domain(ctx, ctx.match["domain"])
    row = store_domain.get_domain(ctx.db, domain)
    if row is None:
        raise ApiError("INVALID_DOMAIN_NAME")  # the server's answer for a missing domain too
    return row


def get_domain(ctx: Ctx) -> Reply:
    """``GET /api/domain/<domain>``: the row plus catch-all, alias domains, bcc and counters."""
    row = _existing(ctx)
    domain = row["domain"]
    counts = store_domain.domain_counts(ctx.db, domain)
    data = _row_view(row)
    data.update(
        sbcc_addr=store_domain.domain_bcc(ctx.db, domain, "sender"),
        rbcc_addr=store_domain.domain_bcc(ctx.db, domain, "recipient"),
        catchall=store_domain.catchall(ctx.db, domain),
        relayhost=store_domain.relayhost(ctx.db, f"@{domain}"),
        alias_domains=store_domain.alias_domains(ctx.db, domain),
        num_existing_users=counts["users"],
        num_existing_aliases=counts["aliases"],
        num_existing_lists=counts["lists"],
        allocated_quota=counts["quota"],
    )
    return ok(data)


def _apply_common(ctx: Ctx, values: dict[str, Any], settings: dict[str, Any]) -> DomainParams:
    """Parameters POST and PUT share (6.1); the bcc addresses are stored once the domain is."""
    params = domain_params(ctx)
    if params.name is not None:
        values["description"] = params.name
    if params.quota is not None:
        values["maxquota"] = params.quota
    if params.transport is not None:
        values["transport"] = params.transport
    if params.language is not None:
        settings["default_language"] = params.language
    settings.update((_LIMITS[param], number) for param, number in params.limits.items())
    values.update((_COUNTS[param], number) for param, number in params.counts.items())
    return params


def _apply_bcc(ctx: Ctx, domain: str, params: DomainParams) -> None:
    for param, address in params.bcc.items():
        store_domain.set_domain_bcc(ctx.db, domain, _BCC[param], address)


def create_domain(ctx: Ctx) -> Reply:
    """``POST /api/domain/<domain>`` (global admins only)."""
    domain = checked_domain(ctx, ctx.match["domain"], check_rights=False)
    if store_domain.hosted_domain(ctx.db, domain):
        raise ApiError("ALREADY_EXISTS")
    values: dict[str, Any] = {"domain": domain, "transport": "dovecot"}
    settings: dict[str, Any] = {}
    params = _apply_common(ctx, values, settings)
    values["settings"] = format_settings(settings)
    store_domain.create_domain(ctx.db, values)
    _apply_bcc(ctx, domain, params)
    return ok()


def _apply_alias_domains(ctx: Ctx, domain: str) -> None:
    add, remove = alias_domain_changes(ctx, store_domain.alias_domains(ctx.db, domain))
    store_domain.set_alias_domains(ctx.db, domain, [], remove)
    # A name already hosted (as a domain or another alias domain) is skipped silently.
    add = [d for d in add if d != domain and not store_domain.hosted_domain(ctx.db, d)]
    store_domain.set_alias_domains(ctx.db, domain, add, [])


def _catchall_targets(ctx: Ctx, domain: str) -> list[str]:
    out = []
    for address in comma_addresses(ctx.get("catchall")):
        if domain_of(address) == domain and not store_domain.account_taken(ctx.db, address):
            continue  # a same-domain address that does not exist is dropped
        out.append(address)
    return out


def update_domain(ctx: Ctx) -> Reply:
    """``PUT /api/domain/<domain>``: profile, limits, services, catch-all, alias domains, relay."""
    row = _existing(ctx)
    domain = row["domain"]
    values: dict[str, Any] = {}
    settings = parse_settings(row["settings"])
    params = _apply_common(ctx, values, settings)
    if ctx.has("accountStatus"):
        values["active"] = account_status(ctx.get("accountStatus") or "")
    passwords = int_params(ctx, _PASSWORD_LIMITS, minimum=0)
    settings.update((_PASSWORD_LIMITS[param], number) for param, number in passwords.items())
    mx = backup_mx(ctx, domain, str(values.get("transport", row["transport"])))
    if mx is not None:
        values["backupmx"] = int(mx[0])
        if mx[1] is not None:
            values["transport"] = mx[1]
    settings["enabled_services"] = apply_services(ctx, settings.get("enabled_services", []), _DOMAIN_SERVICES)
    apply_profiles(ctx, settings, _PROFILE_KEYS)
    values["settings"] = format_settings(settings)
    store_domain.update_domain(ctx.db, domain, values)
    _apply_bcc(ctx, domain, params)
    if ctx.has("catchall"):
        store_domain.set_catchall(ctx.db, domain, _catchall_targets(ctx, domain))
    if ctx.has("outboundRelay"):
        store_domain.set_relayhost(ctx.db, f"@{domain}", (ctx.get("outboundRelay") or "").strip())
    _apply_alias_domains(ctx, domain)
    return ok()


def delete_domain(ctx: Ctx) -> Reply:
    """``DELETE /api/domain/<domain>[/keep_mailbox_days/<n>]``; a missing domain succeeds."""
    domain = checked_domain(ctx, ctx.match["domain"])
    keep = parse_int(ctx.match.get("days"))
    lists = [row["address"] for row in store_alias.list_mls(ctx.db, domain)]
    users = [row["username"] for row in store_mail.list_mailboxes(ctx.db, domain, disabled_only=False)]
    store_mail.delete_domain(ctx.db, domain, admin=ctx.username, keep_days=keep or None)
    for address in lists:
        ctx.state.subscribers.drop(address, archive=False)
    for user in users:
        ctx.state.subscribers.remove_everywhere(user)
    return ok()


def get_domain_admins(ctx: Ctx) -> Reply:
    """``GET /api/domain/admins/<domain>`` (undocumented): the domain's normal admins."""
    row = _existing(ctx)
    return ok(store_domain.domain_admins(ctx.db, row["domain"]))


def _admin_kind(ctx: Ctx, address: str) -> str | None:
    if store_domain.get_admin(ctx.db, address) is not None:
        return "admin"
    if store_mail.get_mailbox(ctx.db, address) is not None:
        return "user"
    return None


def update_domain_admins(ctx: Ctx) -> Reply:
    """``PUT /api/domain/admins/<domain>``: ``addAdmin``, ``removeAdmin``, ``removeAllAdmins``."""
    row = _existing(ctx)
    domain = row["domain"]
    add, remove, remove_all = admin_changes(ctx, lambda address: _admin_kind(ctx, address))
    if remove_all:
        remove = store_domain.domain_admins(ctx.db, domain)
    for address in remove:
        store_domain.remove_domain_admin(ctx.db, address, domain)
        if not store_domain.managed_domains(ctx.db, address):
            store_mail.update_mailbox(ctx.db, address, {"isadmin": 0})
    for address in add:
        store_domain.add_domain_admin(ctx.db, address, domain)
        if _admin_kind(ctx, address) == "user":
            store_mail.update_mailbox(ctx.db, address, {"isadmin": 1})
    return ok()
