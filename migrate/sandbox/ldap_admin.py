"""LDAP edition: login, ``verify_password``, and standalone admins (``/api/admin/<mail>``).

Who may log in (reference §3.1): an active ``mailAdmin`` under ``o=domainAdmins``, or an active
``mailUser`` of an active domain with ``domainGlobalAdmin: yes`` or ``enabledService: domainadmin``.
The real server binds as the entry's DN, so slapd checks ``userPassword``; the sandbox checks it
with the SQL edition's verification rules (any of the entry's ``userPassword`` values may match).

A standalone admin is ``mail=<admin>,o=domainAdmins,<base>``: ``cn``, ``userPassword``,
``accountStatus``, ``preferredLanguage``, ``shadowLastChange``, ``domainGlobalAdmin: yes`` for a
global admin, ``accountSetting: create_max_*:N`` limits (quota in MB), ``disabledService:
view_mail_log``/``manage_quarantined_mails``. Normal admins are listed in their domains' ``domainAdmin``.
"""

from __future__ import annotations

from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.ldap_common import dit, tree
from migrate.sandbox.ldap_dit import (
    domain_from_dn,
    format_account_settings,
    hosted_domain,
    parse_account_settings,
    shadow_last_change,
)
from migrate.sandbox.ldap_store import Entry
from migrate.sandbox.ldap_views import admin_view
from migrate.sandbox.rules import account_status, language, yes
from migrate.sandbox.shared_admin import admin_limits, new_admin_address, verify_reply
from migrate.sandbox.shared_admin import login as shared_login
from migrate.sandbox.shared_checks import hashed_password, valid_mail

__all__ = [
    "create_admin",
    "delete_admin",
    "get_admin",
    "login",
    "update_admin",
    "verify_admin_password",
    "verify_user_password",
]

_SWITCHES = (
    ("disableViewingMailLog", "view_mail_log"),
    ("disableManagingQuarantinedMails", "manage_quarantined_mails"),
)


def _active(entry: Entry) -> bool:
    return entry.get("accountStatus", [""])[0] == "active"


def _login_entry(ctx: Ctx, username: str) -> Entry | None:
    """The entry ``username`` may log in with, or ``None``."""
    d, t = dit(ctx), tree(ctx)
    admin = d.get(t.admin(username))
    if admin is not None:
        return admin if _active(admin) else None
    user = d.get(t.user(username))
    if user is None or not _active(user):
        return None
    domain = d.get(t.domain(domain_from_dn(t.user(username)))) or {}
    if not _active(domain):
        return None
    if user.get("domainGlobalAdmin", [""])[0] == "yes" or "domainadmin" in user.get("enabledService", []):
        return user
    return None


def _passwords(entry: Entry | None) -> list[str]:
    return (entry or {}).get("userPassword", [])


def login(ctx: Ctx) -> Reply:
    """``POST /api/login``: a standalone admin, or a mail user with admin rights, gets a session."""
    return shared_login(ctx, lambda username: _passwords(_login_entry(ctx, username)))


def verify_admin_password(ctx: Ctx) -> Reply:
    """``POST /api/verify_password/admin/<mail>`` (global admins only)."""
    return verify_reply(ctx, _passwords(dit(ctx).get(tree(ctx).admin(ctx.match["mail"]))))


def verify_user_password(ctx: Ctx) -> Reply:
    """``POST /api/verify_password/user/<mail>`` (global admins only)."""
    return verify_reply(ctx, _passwords(dit(ctx).get(tree(ctx).user(ctx.match["mail"]))))


def get_admin(ctx: Ctx) -> Reply:
    """``GET /api/admin/<mail>``: attributes, ``isglobaladmin``, ``managed_domains``, ``settings``."""
    entry = dit(ctx).get(tree(ctx).admin(valid_mail(ctx)))
    if entry is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    return ok(admin_view(ctx, entry))


def _disabled_services(ctx: Ctx, have: list[str]) -> list[str]:
    out = list(have)
    for param, service in _SWITCHES:
        if not ctx.has(param):
            continue
        if yes(ctx.get(param)) and service not in out:
            out.append(service)
        elif not yes(ctx.get(param)) and service in out:
            out.remove(service)
    return out


def create_admin(ctx: Ctx) -> Reply:
    """``POST /api/admin/<mail>``: a standalone admin outside the hosted domains."""
    mail, domain = new_admin_address(ctx)
    d, t = dit(ctx), tree(ctx)
    if hosted_domain(d, t, domain):
        raise ApiError("CAN_NOT_BE_LOCAL_DOMAIN")
    if d.exists(t.admin(mail)):
        raise ApiError("ALREADY_EXISTS")
    password = hashed_password(ctx, None)
    is_global = yes(ctx.get("isGlobalAdmin"))
    lang = language(ctx.get("language") or "en_US")
    entry: Entry = {
        "objectClass": ["mailAdmin"],
        "mail": [mail],
        "cn": [ctx.get("name") or ""] if ctx.get("name") else [],
        "userPassword": [password],
        "accountStatus": ["active" if account_status(ctx.get("accountStatus") or "active") else "disabled"],
        "preferredLanguage": [lang] if lang else [],
        "shadowLastChange": [shadow_last_change()],
        "domainGlobalAdmin": ["yes"] if is_global else [],
        "accountSetting": format_account_settings(admin_limits(ctx, {}, is_global)),
        "disabledService": _disabled_services(ctx, []),
    }
    d.add(t.admin(mail), {attr: values for attr, values in entry.items() if values})
    return ok()


def update_admin(ctx: Ctx) -> Reply:
    """``PUT /api/admin/<mail>``."""
    mail = valid_mail(ctx)
    d, dn = dit(ctx), tree(ctx).admin(mail)
    entry = d.get(dn)
    if entry is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    changes: dict[str, list[str]] = {}
    if ctx.has("name"):
        changes["cn"] = [ctx.get("name") or ""] if ctx.get("name") else []
    if ctx.has("language"):
        lang = language(ctx.get("language") or "")
        changes["preferredLanguage"] = [lang] if lang else []
    if ctx.has("accountStatus"):
        changes["accountStatus"] = ["active" if account_status(ctx.get("accountStatus") or "") else "disabled"]
    if ctx.has("password"):
        changes.update(userPassword=[hashed_password(ctx, None)], shadowLastChange=[shadow_last_change()])
    is_global = entry.get("domainGlobalAdmin", [""])[0] == "yes"
    if ctx.has("isGlobalAdmin"):
        is_global = yes(ctx.get("isGlobalAdmin"))
        changes["domainGlobalAdmin"] = ["yes"] if is_global else []
    settings = admin_limits(ctx, parse_account_settings(entry.get("accountSetting", [])), is_global)
    changes["accountSetting"] = format_account_settings(settings)
    changes["disabledService"] = _disabled_services(ctx, entry.get("disabledService", []))
    d.modify(dn, changes)
    return ok()


def delete_admin(ctx: Ctx) -> Reply:
    """``DELETE /api/admin/<mail>``; a missing admin succeeds. Its domains forget it."""
    mail = valid_mail(ctx)
    d, t = dit(ctx), tree(ctx)
    if d.delete(t.admin(mail)):
        d.delete_value_everywhere("domainAdmin", mail, t.domains)
    return ok()
