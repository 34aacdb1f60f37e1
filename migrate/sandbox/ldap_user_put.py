"""LDAP edition: ``PUT /api/user/<mail>`` on a ``mailUser`` entry (reference §6.6, §14.4).

Forwardings are ``mailForwardingAddress`` (the user's own address among them keeps a local copy;
only the own address, or none, means normal delivery and stores nothing), per-user aliases are
``shadowAddress`` values in the user's domain (the ``<local>@<alias domain>`` values the alias
domains give are left alone), services are ``enabledService`` values (any name is allowed in
LDAP), bcc is ``userSenderBccAddress``/``userRecipientBccAddress``.
"""

from __future__ import annotations

from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.ldap_common import (
    MB,
    DomainRef,
    dit,
    domain_ref,
    effective_quota,
    existing_addresses,
    taken,
    tree,
)
from migrate.sandbox.ldap_dit import managed_domains, shadow_last_change
from migrate.sandbox.ldap_store import Entry
from migrate.sandbox.ldap_user import guard_global_profile, home_directory, locale_changes
from migrate.sandbox.rules import (
    MAILBOX_FORMATS,
    account_status,
    comma_addresses,
    domain_of,
    is_valid_mail,
    parse_int,
    yes,
)
from migrate.sandbox.shared_checks import hashed_password, target_user
from migrate.sandbox.user_common import mailbox_folder

__all__ = ["service_names", "update_user"]

Changes = dict[str, list[str]]


def service_names(value: str | None) -> list[str]:
    """Split a comma list of service names; LDAP keeps any name, compared case-insensitively."""
    out: list[str] = []
    seen: set[str] = set()
    for item in (value or "").split(","):
        name = item.strip()
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def _services(ctx: Ctx, have: list[str]) -> list[str] | None:
    if ctx.has("services"):
        return service_names(ctx.get("services"))
    add = [] if ctx.quirk("user_add_service_noop") else service_names(ctx.get("addService"))
    gone = {name.lower() for name in service_names(ctx.get("removeService"))}
    if not (add or gone):
        return None
    kept = [name for name in have if name.lower() not in gone]
    known = {name.lower() for name in kept}
    return kept + [name for name in add if name.lower() not in known and name.lower() not in gone]


def _text(ctx: Ctx, changes: Changes, local: str) -> None:
    if ctx.has("name"):
        changes["cn"] = [ctx.get("name") or local]
    if ctx.has("sn"):
        changes["sn"] = [ctx.get("sn") or local]  # sn is required by inetOrgPerson
    for param, attr in (("gn", "givenName"), ("employeeid", "employeeNumber")):
        if ctx.has(param):
            changes[attr] = [ctx.get(param) or ""] if ctx.get(param) else []
    locale_changes(ctx, changes)
    for param in ("telephoneNumber", "mobile"):
        if ctx.has(param):
            changes[param] = [v.strip() for v in (ctx.get(param) or "").split(",") if v.strip()]


def _profile(ctx: Ctx, changes: Changes, entry: Entry, ref: DomainRef) -> None:
    mail = entry["mail"][0]
    local = mail.rpartition("@")[0]
    _text(ctx, changes, local)
    if ctx.has("password"):
        changes.update(userPassword=[hashed_password(ctx, ref.name)], shadowLastChange=[shadow_last_change()])
    elif ctx.get("password_hash"):
        # Verbatim, with no scheme check on PUT (reference §9.1).
        changes.update(userPassword=[(ctx.get("password_hash") or "").strip()], shadowLastChange=[shadow_last_change()])
    quota = parse_int(ctx.get("quota"))
    if quota is not None and quota >= 0:
        quota = effective_quota(ctx, ref, quota, username=mail)
        changes["mailQuota"] = [str(quota * MB)] if quota else []
    fmt = (ctx.get("mailboxFormat") or "").strip().lower()
    if fmt in MAILBOX_FORMATS:
        changes["mailboxFormat"] = [fmt]
    if ctx.has("mailboxFolder"):
        changes["mailboxFolder"] = [
            mailbox_folder(ctx.get("mailboxFolder"), entry.get("mailboxFolder", ["Maildir"])[0])
        ]
    if ctx.get("maildir"):
        changes["homeDirectory"] = [home_directory(local, ref.name, ctx.get("maildir"))]
    if ctx.has("accountStatus"):
        changes["accountStatus"] = ["active" if account_status(ctx.get("accountStatus") or "") else "disabled"]


def _admin_flags(ctx: Ctx, changes: Changes, entry: Entry, services: list[str]) -> list[str]:
    """``isGlobalAdmin``: ``domainGlobalAdmin: yes`` plus the ``domainadmin`` service to log in."""
    if not ctx.has("isGlobalAdmin"):
        return services
    ctx.require_global()
    mail = entry["mail"][0]
    if yes(ctx.get("isGlobalAdmin")):
        changes["domainGlobalAdmin"] = ["yes"]
        return services if "domainadmin" in services else [*services, "domainadmin"]
    changes["domainGlobalAdmin"] = []
    if managed_domains(dit(ctx), tree(ctx), mail):
        return services
    return [s for s in services if s != "domainadmin"]


def _forwardings(ctx: Ctx, mail: str, have: list[str]) -> list[str] | None:
    if ctx.has("forwarding"):
        wanted = existing_addresses(ctx, ctx.get("forwarding"), mail)
    elif ctx.has("addForwarding") or ctx.has("removeForwarding"):
        current = have or [mail]  # no value means normal delivery: the own address, as SQL's self row
        gone = set(comma_addresses(ctx.get("removeForwarding")))
        add = existing_addresses(ctx, ctx.get("addForwarding"), mail)
        wanted = [a for a in current if a not in gone] + [a for a in add if a not in current]
    else:
        return None
    return [] if wanted in ([], [mail]) else wanted


def _new_aliases(ctx: Ctx, raw: str | None, mail: str) -> list[str]:
    """Per-user aliases: own domain only; taken addresses and the user's own are skipped."""
    domain = domain_of(mail)
    out: list[str] = []
    for address in comma_addresses(raw):
        if address == mail or domain_of(address) != domain or address in out or taken(ctx, address):
            continue
        out.append(address)
    return out


def _apply_aliases(ctx: Ctx, dn: str, mail: str) -> None:
    d = dit(ctx)
    own = [a for a in d.values(dn, "shadowAddress") if domain_of(a) == domain_of(mail)]
    if ctx.has("aliases"):
        d.delete_values(dn, "shadowAddress", own)  # before the check: they are free again
        d.add_values(dn, "shadowAddress", _new_aliases(ctx, ctx.get("aliases"), mail))
        return
    if ctx.has("removeAlias"):
        d.delete_values(dn, "shadowAddress", [a for a in comma_addresses(ctx.get("removeAlias")) if a in own])
    if ctx.has("addAlias"):
        d.add_values(dn, "shadowAddress", _new_aliases(ctx, ctx.get("addAlias"), mail))


def _bcc(ctx: Ctx, changes: Changes) -> None:
    for param, attr in (("senderBcc", "userSenderBccAddress"), ("recipientBcc", "userRecipientBccAddress")):
        if ctx.has(param):
            address = (ctx.get(param) or "").strip().lower()
            if not address:
                changes[attr] = []
            elif is_valid_mail(address):
                changes[attr] = [address]


def update_user(ctx: Ctx) -> Reply:
    """``PUT /api/user/<mail>``."""
    mail, domain = target_user(ctx)
    d, t = dit(ctx), tree(ctx)
    dn = t.user(mail)
    entry = d.get(dn)
    if entry is None:
        if ctx.quirk("put_missing_user_succeeds"):
            return ok()
        raise ApiError("NO_SUCH_ACCOUNT")
    guard_global_profile(ctx, mail)
    ref = domain_ref(ctx, domain, check_rights=False)
    changes: Changes = {}
    _profile(ctx, changes, entry, ref)
    have = entry.get("enabledService", [])
    chosen = _services(ctx, have)
    services = _admin_flags(ctx, changes, entry, list(have) if chosen is None else chosen)
    if services != have:
        changes["enabledService"] = services
    forwardings = _forwardings(ctx, mail, entry.get("mailForwardingAddress", []))
    if forwardings is not None:
        changes["mailForwardingAddress"] = forwardings
    _bcc(ctx, changes)
    d.modify(dn, changes)
    _apply_aliases(ctx, dn, mail)
    return ok()
