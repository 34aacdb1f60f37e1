"""LDAP edition: ``/api/domains``, ``/api/domain/<domain>``, ``/api/domain/admins/<domain>``.

A domain is a ``mailDomain`` entry (reference §6.1, §6.2, §14.4): ``cn`` (name), ``mtaTransport``,
``accountStatus``, ``enabledService``, ``preferredLanguage``, one ``accountSetting`` value per limit
or disabled profile, ``domainAdmin`` (normal admins), ``domainAliasName`` (alias domains, each
account also gets ``shadowAddress: <local>@<alias domain>``), ``domainSenderBccAddress``/
``domainRecipientBccAddress``, ``senderRelayHost``, ``domainBackupMX``; plus the four ``ou=``
containers and, for a catch-all, the entry ``mail=@<domain>,ou=Users``.
"""

from __future__ import annotations

from typing import Any

from migrate.sandbox import store_mail
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.ldap_common import DomainRef, dit, domain_ref, existing_addresses, tree
from migrate.sandbox.ldap_dit import OUS, format_account_settings, hosted_domain, managed_domains
from migrate.sandbox.ldap_members import remove_account_everywhere
from migrate.sandbox.ldap_store import Entry
from migrate.sandbox.ldap_views import domain_view
from migrate.sandbox.rules import (
    account_status,
    parse_int,
)
from migrate.sandbox.shared_checks import checked_domain
from migrate.sandbox.shared_domain import (
    admin_changes,
    alias_domain_changes,
    apply_profiles,
    apply_services,
    backup_mx,
    domain_params,
    int_params,
)

__all__ = [
    "create_domain",
    "delete_domain",
    "get_domain",
    "get_domain_admins",
    "list_domains",
    "update_domain",
    "update_domain_admins",
]

#: Domain services the LDAP edition controls (reference §6.2).
_DOMAIN_SERVICES = ("mail", "domainalias", "senderbcc", "recipientbcc", "self-service")
_PROFILE_KEYS = ("disabledDomainProfile", "disabledUserProfile", "disabledUserPreference")
#: bcc parameter: its attribute and the service that switches it on.
_BCC = {
    "senderBcc": ("domainSenderBccAddress", "senderbcc"),
    "recipientBcc": ("domainRecipientBccAddress", "recipientbcc"),
}


def list_domains(ctx: Ctx) -> Reply:
    """``GET /api/domains``: a dict keyed by name, or a sorted name list with ``name_only``."""
    only = None if ctx.is_global else set(managed_domains(dit(ctx), tree(ctx), ctx.username))
    refs = []
    for dn, entry in dit(ctx).children(tree(ctx).domains):
        name = entry.get("domainName", [""])[0]
        if only is not None and name not in only:
            continue
        ref = DomainRef(name, dn, entry)
        if ctx.has("disabled_only") and ref.active:
            continue
        refs.append(ref)
    refs.sort(key=lambda r: r.name)
    if ctx.has("name_only"):
        return ok([ref.name for ref in refs])
    return ok({ref.name: domain_view(ctx, ref, detail=False) for ref in refs})


def get_domain(ctx: Ctx) -> Reply:
    """``GET /api/domain/<domain>``: attributes, catch-all, alias domains, bcc, counters."""
    return ok(domain_view(ctx, domain_ref(ctx, ctx.match["domain"]), detail=True))


def _apply_common(ctx: Ctx, changes: dict[str, list[str]], settings: dict[str, Any], services: list[str]) -> None:
    """Parameters POST and PUT share (reference §6.1)."""
    params = domain_params(ctx)
    if params.name is not None:
        changes["cn"] = [params.name] if params.name else []
    if params.quota is not None:
        settings["domainQuota"] = params.quota or None
    if params.transport is not None:
        changes["mtaTransport"] = [params.transport]
    if params.language is not None:
        changes["preferredLanguage"] = [params.language] if params.language else []
    settings.update(params.limits)
    settings.update(params.counts)
    for param, address in params.bcc.items():
        attr, service = _BCC[param]
        changes[attr] = [address] if address else []
        _toggle(services, service, bool(address))


def _toggle(services: list[str], name: str, on: bool) -> None:
    if on and name not in services:
        services.append(name)
    elif not on and name in services:
        services.remove(name)


def create_domain(ctx: Ctx) -> Reply:
    """``POST /api/domain/<domain>`` (global admins only): the entry and its four containers."""
    domain = checked_domain(ctx, ctx.match["domain"], check_rights=False)
    d, t = dit(ctx), tree(ctx)
    if hosted_domain(d, t, domain):
        raise ApiError("ALREADY_EXISTS")
    changes: dict[str, list[str]] = {}
    settings: dict[str, Any] = {}
    services = ["mail"]
    _apply_common(ctx, changes, settings, services)
    entry: Entry = {
        "objectClass": ["mailDomain"],
        "domainName": [domain],
        "mtaTransport": changes.pop("mtaTransport", ["dovecot"]),
        "accountStatus": ["active"],
        "enabledService": services,
        "accountSetting": format_account_settings(settings),
    }
    entry.update({attr: values for attr, values in changes.items() if values})
    d.add(t.domain(domain), {attr: values for attr, values in entry.items() if values})
    for ou in OUS:
        d.add(t.ou(domain, ou), {"objectClass": ["organizationalUnit", "top"], "ou": [ou]})
    return ok()


def _account_dns(ctx: Ctx, domain: str) -> list[str]:
    """Users (catch-all excluded), aliases and lists of a domain: what alias domains extend."""
    d, t = dit(ctx), tree(ctx)
    dns = [dn for ou in ("Users", "Aliases", "Groups") for dn in d.child_dns(t.ou(domain, ou))]
    return [dn for dn in dns if not dn.startswith("mail=@")]


def _apply_alias_domains(ctx: Ctx, ref: DomainRef, services: list[str]) -> None:
    d, t = dit(ctx), tree(ctx)
    add, remove = alias_domain_changes(ctx, list(ref.entry.get("domainAliasName", [])))
    d.delete_values(ref.dn, "domainAliasName", remove)
    # A name already hosted (as a domain or another alias domain) is skipped silently.
    add = [name for name in add if name != ref.name and not hosted_domain(d, t, name)]
    d.add_values(ref.dn, "domainAliasName", add)
    if not (add or remove):
        return
    for dn in _account_dns(ctx, ref.name):
        local = (d.first(dn, "mail") or "").rpartition("@")[0]
        d.delete_values(dn, "shadowAddress", [f"{local}@{name}" for name in remove])
        d.add_values(dn, "shadowAddress", [f"{local}@{name}" for name in add])
    _toggle(services, "domainalias", bool(d.values(ref.dn, "domainAliasName")))


def _set_catchall(ctx: Ctx, domain: str) -> None:
    d, t = dit(ctx), tree(ctx)
    # Same filtering as members: a same-domain address that does not exist is dropped.
    targets = existing_addresses(ctx, ctx.get("catchall"), f"@{domain}")
    dn = t.catchall(domain)
    if not targets:
        d.delete(dn)
    elif d.exists(dn):
        d.replace(dn, "mailForwardingAddress", targets)
    else:
        d.add(
            dn,
            {"objectClass": ["inetOrgPerson", "mailUser"], "mail": [f"@{domain}"], "cn": ["catch-all"],
             "sn": ["catch-all"], "uid": ["catch-all"], "accountStatus": ["active"],
             "mailForwardingAddress": targets},
        )  # fmt: skip


def _set_status(ctx: Ctx, ref: DomainRef, active: int) -> None:
    """``accountStatus`` of the domain; its children carry ``domainStatus: disabled`` meanwhile."""
    d, t = dit(ctx), tree(ctx)
    d.replace(ref.dn, "accountStatus", ["active" if active else "disabled"])
    for ou in OUS:
        for dn in d.child_dns(t.ou(ref.name, ou)):
            d.replace(dn, "domainStatus", [] if active else ["disabled"])


def update_domain(ctx: Ctx) -> Reply:
    """``PUT /api/domain/<domain>``: profile, limits, services, catch-all, alias domains, relay."""
    ref = domain_ref(ctx, ctx.match["domain"])
    d = dit(ctx)
    changes: dict[str, list[str]] = {}
    settings = dict(ref.settings)
    services = apply_services(ctx, ref.entry.get("enabledService", []), _DOMAIN_SERVICES)
    _apply_common(ctx, changes, settings, services)
    settings.update(int_params(ctx, ("minPasswordLength", "maxPasswordLength"), minimum=0))
    transport = changes.get("mtaTransport", ref.entry.get("mtaTransport", ["dovecot"]))
    mx = backup_mx(ctx, ref.name, transport[0] if transport else "")
    if mx is not None:
        changes["domainBackupMX"] = ["yes"] if mx[0] else []
        if mx[1] is not None:
            changes["mtaTransport"] = [mx[1]]
    apply_profiles(ctx, settings, _PROFILE_KEYS)
    if ctx.has("outboundRelay"):
        relay = (ctx.get("outboundRelay") or "").strip()
        changes["senderRelayHost"] = [relay] if relay else []
    changes["accountSetting"] = format_account_settings(settings)
    d.modify(ref.dn, changes)
    if ctx.has("accountStatus"):
        active = account_status(ctx.get("accountStatus") or "")
        if bool(active) != ref.active:  # only a change touches every entry of the domain
            _set_status(ctx, ref, active)
    if ctx.has("catchall"):
        _set_catchall(ctx, ref.name)
    _apply_alias_domains(ctx, ref, services)
    d.replace(ref.dn, "enabledService", services)
    return ok()


def delete_domain(ctx: Ctx) -> Reply:
    """``DELETE /api/domain/<domain>[/keep_mailbox_days/<n>]``; a missing domain succeeds."""
    domain = checked_domain(ctx, ctx.match["domain"])
    d, t = dit(ctx), tree(ctx)
    if not d.exists(t.domain(domain)):
        return ok()
    keep = parse_int(ctx.match.get("days")) or None
    for _, entry in d.children(t.ou(domain, "Users")):
        mail = entry.get("mail", [""])[0]
        if not mail.startswith("@"):
            remove_account_everywhere(ctx, mail, entry, keep_days=keep)
    for _, entry in d.children(t.ou(domain, "Groups")):
        mail = entry.get("mail", [""])[0]
        d.delete_value_everywhere("memberOfGroup", mail)
        if "mlmmj" in entry.get("enabledService", []):
            ctx.state.subscribers.drop(mail, archive=False)
    d.delete(t.domain(domain))
    # Spam policies, throttles and relays of the domain's accounts live in SQL, as on a real install.
    store_mail.delete_domain(ctx.db, domain, admin=ctx.username, keep_days=keep)
    return ok()


def get_domain_admins(ctx: Ctx) -> Reply:
    """``GET /api/domain/admins/<domain>`` (undocumented): the domain's ``domainAdmin`` values."""
    ref = domain_ref(ctx, ctx.match["domain"])
    return ok(sorted(ref.entry.get("domainAdmin", [])))


def _admin_kind(ctx: Ctx, address: str) -> str | None:
    d, t = dit(ctx), tree(ctx)
    if d.exists(t.admin(address)):
        return "admin"
    if d.exists(t.user(address)):
        return "user"
    return None


def update_domain_admins(ctx: Ctx) -> Reply:
    """``PUT /api/domain/admins/<domain>``: ``addAdmin``, ``removeAdmin``, ``removeAllAdmins``.

    A mail user made admin also gets ``enabledService: domainadmin`` (what lets it log in), and
    loses it again when it manages no domain any more.
    """
    ref = domain_ref(ctx, ctx.match["domain"])
    d, t = dit(ctx), tree(ctx)
    add, remove, remove_all = admin_changes(ctx, lambda address: _admin_kind(ctx, address))
    if remove_all:
        remove = list(ref.entry.get("domainAdmin", []))
    d.delete_values(ref.dn, "domainAdmin", remove)
    for address in remove:
        if _admin_kind(ctx, address) == "user" and not managed_domains(d, t, address):
            d.delete_values(t.user(address), "enabledService", ["domainadmin"])
    d.add_values(ref.dn, "domainAdmin", add)
    for address in add:
        if _admin_kind(ctx, address) == "user":
            d.add_values(t.user(address), "enabledService", ["domainadmin"])
    return ok()
