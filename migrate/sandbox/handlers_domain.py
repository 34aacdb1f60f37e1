"""Domain endpoints: ``/api/domains``, ``/api/domain/<domain>``, ``/api/domain/admins/<domain>``."""

from __future__ import annotations

from typing import Any

from migrate.sandbox import store_alias, store_domain, store_mail
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.rules import (
    account_status,
    comma_addresses,
    comma_names,
    domain_of,
    is_valid_domain,
    is_valid_mail,
    language,
    parse_int,
    yes,
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
_DOMAIN_PROFILES = (
    "bcc", "relay", "catchall", "aliases", "throttle", "greylisting", "wblist", "spampolicy", "backupmx",
    "password_policies", "advanced",
)  # fmt: skip
_USER_PROFILES = ("bcc", "forwarding", "relay", "aliases", "throttle", "greylisting", "wblist", "spampolicy")
_USER_PREFERENCES = ("personal_info", "forwarding", "wblist", "quarantine", "rcvd_mails", "spampolicy")
_PROFILE_PARAMS = (
    ("disabled_domain_profiles", "DomainProfile", _DOMAIN_PROFILES),
    ("disabled_user_profiles", "UserProfile", _USER_PROFILES),
    ("disabled_user_preferences", "UserPreference", _USER_PREFERENCES),
)
_COUNTS = (("numberOfUsers", "mailboxes"), ("numberOfAliases", "aliases"), ("numberOfLists", "maillists"))


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
    domain = ctx.match["domain"]
    if not is_valid_domain(domain):
        raise ApiError("INVALID_DOMAIN_NAME")
    ctx.require_domain(domain)
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


def _quota(ctx: Ctx) -> int | None:
    raw = ctx.get("quota")
    if raw is None:
        return None
    value = parse_int(raw)
    if value is None or value < 0:
        raise ApiError("INVALID_QUOTA_SIZE")
    return value


def _single_address(value: str | None) -> str | None:
    """A bcc parameter: ``None`` when absent, '' to remove, else a valid lower-cased address."""
    if value is None:
        return None
    value = value.strip().lower()
    return value if value == "" or is_valid_mail(value) else None


def _apply_common(ctx: Ctx, values: dict[str, Any], settings: dict[str, Any]) -> None:
    """Parameters POST and PUT share (6.1)."""
    if ctx.has("name"):
        values["description"] = ctx.get("name") or ""
    quota = _quota(ctx)
    if quota is not None:
        values["maxquota"] = quota
    if ctx.get("transport"):
        values["transport"] = (ctx.get("transport") or "").strip()
    if ctx.has("language"):
        settings["default_language"] = language(ctx.get("language") or "")
    for param, key in (("defaultQuota", "default_user_quota"), ("maxUserQuota", "max_user_quota")):
        number = parse_int(ctx.get(param))
        if number is not None and number >= 0:
            settings[key] = number
    for param, column in _COUNTS:
        number = parse_int(ctx.get(param))
        if number is not None and number >= -1:
            values[column] = number


def _apply_bcc(ctx: Ctx, domain: str) -> None:
    for param, kind in (("senderBcc", "sender"), ("recipientBcc", "recipient")):
        address = _single_address(ctx.get(param))
        if address is not None:
            store_domain.set_domain_bcc(ctx.db, domain, kind, address)


def create_domain(ctx: Ctx) -> Reply:
    """``POST /api/domain/<domain>`` (global admins only)."""
    domain = ctx.match["domain"]
    if not is_valid_domain(domain):
        raise ApiError("INVALID_DOMAIN_NAME")
    if store_domain.hosted_domain(ctx.db, domain):
        raise ApiError("ALREADY_EXISTS")
    values: dict[str, Any] = {"domain": domain, "transport": "dovecot"}
    settings: dict[str, Any] = {}
    _apply_common(ctx, values, settings)
    values["settings"] = format_settings(settings)
    store_domain.create_domain(ctx.db, values)
    _apply_bcc(ctx, domain)
    return ok()


def _apply_services(ctx: Ctx, settings: dict[str, Any]) -> None:
    have = list(settings.get("enabled_services", []))
    if ctx.has("services") or ctx.has("removeAllServices"):
        have = comma_names(ctx.get("services"), _DOMAIN_SERVICES)
    for add in ("addService", "enableService"):
        have += [s for s in comma_names(ctx.get(add), _DOMAIN_SERVICES) if s not in have]
    for remove in ("removeService", "disableService"):
        gone = set(comma_names(ctx.get(remove)))
        have = [s for s in have if s not in gone]
    settings["enabled_services"] = have


def _apply_profiles(ctx: Ctx, settings: dict[str, Any]) -> None:
    for key, suffix, allowed in _PROFILE_PARAMS:
        have = list(settings.get(key, []))
        have += [n for n in comma_names(ctx.get(f"disable{suffix}"), allowed) if n not in have]
        enabled = set(comma_names(ctx.get(f"enable{suffix}")))
        settings[key] = [n for n in have if n not in enabled]


def _apply_alias_domains(ctx: Ctx, domain: str) -> None:
    current = store_domain.alias_domains(ctx.db, domain)
    if ctx.has("aliasDomains"):
        wanted = [d for d in comma_names(ctx.get("aliasDomains")) if is_valid_domain(d)]
        remove = [d for d in current if d not in wanted]
        add = [d for d in wanted if d not in current]
    else:
        remove = [d for d in comma_names(ctx.get("removeAliasDomain")) if d in current]
        add = [d for d in comma_names(ctx.get("addAliasDomain")) if is_valid_domain(d) and d not in current]
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
    _apply_common(ctx, values, settings)
    if ctx.has("accountStatus"):
        values["active"] = account_status(ctx.get("accountStatus") or "")
    for param, key in (("minPasswordLength", "min_passwd_length"), ("maxPasswordLength", "max_passwd_length")):
        number = parse_int(ctx.get(param))
        if number is not None and number >= 0:
            settings[key] = number
    if ctx.has("is_backupmx"):
        if yes(ctx.get("is_backupmx")):
            primary = (ctx.get("primarymx") or "").strip()
            values.update(backupmx=1, transport=f"relay:{primary or domain}")
        else:
            values["backupmx"] = 0
            if str(values.get("transport", row["transport"])).startswith("relay:"):
                values["transport"] = "dovecot"
    _apply_services(ctx, settings)
    _apply_profiles(ctx, settings)
    values["settings"] = format_settings(settings)
    store_domain.update_domain(ctx.db, domain, values)
    _apply_bcc(ctx, domain)
    if ctx.has("catchall"):
        store_domain.set_catchall(ctx.db, domain, _catchall_targets(ctx, domain))
    if ctx.has("outboundRelay"):
        store_domain.set_relayhost(ctx.db, f"@{domain}", (ctx.get("outboundRelay") or "").strip())
    _apply_alias_domains(ctx, domain)
    return ok()


def delete_domain(ctx: Ctx) -> Reply:
    """``DELETE /api/domain/<domain>[/keep_mailbox_days/<n>]``; a missing domain succeeds."""
    domain = ctx.match["domain"]
    if not is_valid_domain(domain):
        raise ApiError("INVALID_DOMAIN_NAME")
    ctx.require_domain(domain)
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
    add = comma_addresses(ctx.get("addAdmin"))
    remove = comma_addresses(ctx.get("removeAdmin"))
    remove_all = ctx.has("removeAllAdmins")
    if not (add or remove or remove_all):
        raise ApiError("NO_ADMINS")
    for address in add:
        kind = _admin_kind(ctx, address)
        if kind is None:
            raise ApiError("INVALID_ADMIN")
        if not ctx.is_global and (kind != "user" or not ctx.can_manage(domain_of(address))):
            raise ApiError("PERMISSION_DENIED")  # a normal admin only promotes its own users
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
