"""What the LDAP edition's GETs return: attribute dicts, plus the SQL edition's keys.

The LDAP edition answers with the entry's attributes (reference §7.6): ``mail``, ``cn``,
``mailQuota`` (bytes), ``accountStatus``... with ``accountSetting`` turned into a dict. The
reference does not record the exact keys of those replies, so to keep clients simple every reply
*also* carries the keys the SQL edition's reply has for the same thing, derived from the entry:
``username``/``address``, ``name``, ``quota`` (MB), ``active`` (0/1), ``language``, ``employeeid``,
``forwardings``, ``aliases``, ``members``, ``isglobaladmin``, ``isadmin``, a ``settings`` dict
(``default_user_quota``, ``max_user_quota``, ``min_passwd_length``, ``max_passwd_length``...),
``catchall``, ``alias_domains``, the ``mailboxes``/``aliases``/``maillists`` limits, ``sbcc_addr``,
``rbcc_addr``, ``managed_domains``. A client written for either edition reads what it knows.

Rendering of attributes: the multi-valued ones of §14.3 (``enabledService``, ``mailForwardingAddress``,
``shadowAddress``, ``memberOfGroup``, ``domainAdmin``...) are sorted lists; every other attribute is
its single value, as an integer for the INTEGER ones (``mailQuota``, ``shadowLastChange``...).
``userPassword`` is left out unless the sandbox exposes hashes (``API_HIDDEN_*_PROFILES = []``).
"""

from __future__ import annotations

from typing import Any

from migrate.sandbox import store_mail
from migrate.sandbox.context import Ctx
from migrate.sandbox.ldap_common import DomainRef, allocated_mb, dit, quota_mb, tree
from migrate.sandbox.ldap_dit import managed_domains, parse_account_settings
from migrate.sandbox.ldap_store import Entry
from migrate.sandbox.rules import domain_of

__all__ = [
    "MULTI_VALUED",
    "admin_view",
    "alias_view",
    "attribute_dict",
    "domain_view",
    "list_view",
    "user_view",
]

#: Attributes rendered as sorted lists.
MULTI_VALUED = frozenset(
    {"objectClass", "enabledService", "disabledService", "mailForwardingAddress", "shadowAddress", "memberOfGroup",
     "domainAdmin", "domainAliasName", "domainPendingAliasName", "listModerator", "listOwner", "listAllowedUser",
     "member", "userPassword", "telephoneNumber", "mobile", "mail"}
)  # fmt: skip
_INTEGER = frozenset({"mailQuota", "mailQuotaMessageLimit", "shadowLastChange", "maxMessageSize", "mailUID", "mailGID"})
# ``mail`` is multi-valued only on mailExternalUser entries; accounts have exactly one.
_SINGLE_MAIL = "mail"


def attribute_dict(ctx: Ctx, entry: Entry) -> dict[str, Any]:
    """Render an entry's attributes as the LDAP edition's JSON does."""
    out: dict[str, Any] = {}
    for attr, values in entry.items():
        if attr == "userPassword" and not ctx.state.config.expose_password_hashes:
            continue
        if attr == "accountSetting":
            out[attr] = parse_account_settings(values)
        elif attr == _SINGLE_MAIL and len(values) == 1:
            out[attr] = values[0]
        elif attr in MULTI_VALUED:
            out[attr] = sorted(values)
        elif attr in _INTEGER and values[0].lstrip("-").isdigit():
            out[attr] = int(values[0])
        else:
            out[attr] = values[0]
    return out


def _first(entry: Entry, attr: str, default: str = "") -> str:
    values = entry.get(attr)
    return values[0] if values else default


def _active(entry: Entry) -> int:
    return 1 if _first(entry, "accountStatus") == "active" else 0


def _password(ctx: Ctx, data: dict[str, Any], entry: Entry, *, keep: bool = False) -> None:
    if keep or ctx.state.config.expose_password_hashes:
        data["password"] = _first(entry, "userPassword")
        data["userPassword"] = sorted(entry.get("userPassword", []))


# --- domains ------------------------------------------------------------------------------------------

_SETTING_KEYS = (
    ("defaultQuota", "default_user_quota"), ("maxUserQuota", "max_user_quota"),
    ("minPasswordLength", "min_passwd_length"), ("maxPasswordLength", "max_passwd_length"),
    ("disabledDomainProfile", "disabled_domain_profiles"), ("disabledUserProfile", "disabled_user_profiles"),
    ("disabledUserPreference", "disabled_user_preferences"),
)  # fmt: skip


def domain_view(ctx: Ctx, ref: DomainRef, *, detail: bool) -> dict[str, Any]:
    """``GET /api/domain/<domain>`` (``detail``) or one value of ``GET /api/domains``."""
    entry, settings = ref.entry, ref.settings
    sql_settings: dict[str, Any] = {new: settings[old] for old, new in _SETTING_KEYS if old in settings}
    if entry.get("preferredLanguage"):
        sql_settings["default_language"] = _first(entry, "preferredLanguage")
    services = sorted(entry.get("enabledService", []))
    sql_settings["enabled_services"] = services
    data = attribute_dict(ctx, entry)
    data.update(
        domain=ref.name,
        description=_first(entry, "cn"),
        transport=_first(entry, "mtaTransport", "dovecot"),
        active=_active(entry),
        backupmx=1 if _first(entry, "domainBackupMX") == "yes" else 0,
        maxquota=ref.setting("domainQuota"),
        mailboxes=ref.setting("numberOfUsers"),
        aliases=ref.setting("numberOfAliases"),
        maillists=ref.setting("numberOfLists"),
        settings=sql_settings,
    )
    if not detail:
        return data
    d, t = dit(ctx), tree(ctx)
    users = [dn for dn in d.child_dns(t.ou(ref.name, "Users")) if not dn.startswith("mail=@")]
    catchall = d.values(t.catchall(ref.name), "mailForwardingAddress")
    data.update(
        sbcc_addr=_first(entry, "domainSenderBccAddress"),
        rbcc_addr=_first(entry, "domainRecipientBccAddress"),
        catchall=sorted(catchall),
        relayhost=_first(entry, "senderRelayHost"),
        alias_domains=sorted(entry.get("domainAliasName", [])),
        num_existing_users=len(users),
        num_existing_aliases=d.count_children(t.ou(ref.name, "Aliases")),
        num_existing_lists=d.count_children(t.ou(ref.name, "Groups")),
        allocated_quota=allocated_mb(ctx, ref.name),
    )
    return data


# --- users ----------------------------------------------------------------------------------------------


def user_view(ctx: Ctx, entry: Entry, *, detail: bool, keep_password: bool = False) -> dict[str, Any]:
    """``GET /api/user/<mail>`` (``detail``) or one row of ``GET /api/users/<domain>``."""
    mail = _first(entry, "mail")
    domain = domain_of(mail)
    services = entry.get("enabledService", [])
    data = attribute_dict(ctx, entry)
    data.update(
        username=mail,
        domain=domain,
        name=_first(entry, "cn"),
        first_name=_first(entry, "givenName"),
        last_name=_first(entry, "sn"),
        quota=quota_mb(entry),
        active=_active(entry),
        language=_first(entry, "preferredLanguage"),
        employeeid=_first(entry, "employeeNumber"),
        transport=_first(entry, "mtaTransport"),
        mailboxformat=_first(entry, "mailboxFormat", "maildir"),
        mailboxfolder=_first(entry, "mailboxFolder", "Maildir"),
        maildir=_first(entry, "homeDirectory"),
        isadmin=1 if "domainadmin" in services else 0,
        isglobaladmin=1 if _first(entry, "domainGlobalAdmin") == "yes" else 0,
        forwardings=sorted(entry.get("mailForwardingAddress", [])),
        # Addresses in alias domains come with the alias domain: they are not per-user aliases.
        aliases=sorted(a for a in entry.get("shadowAddress", []) if domain_of(a) == domain),
        sender_bcc_address=_first(entry, "userSenderBccAddress"),
        sbcc_active=1 if entry.get("userSenderBccAddress") else 0,
        recipient_bcc_address=_first(entry, "userRecipientBccAddress"),
        rbcc_active=1 if entry.get("userRecipientBccAddress") else 0,
    )
    _password(ctx, data, entry, keep=keep_password)
    last_login: Any = store_mail.last_login(ctx.db, mail)
    data["last_login"] = repr(last_login) if ctx.quirk("last_login_repr") else last_login
    data["used_quota"] = store_mail.used_quota(ctx.db, mail)
    if not detail:
        return data
    d, t = dit(ctx), tree(ctx)
    aliases = d.find("mailForwardingAddress", mail, t.domains)
    data.update(
        mailing_aliases=sorted(_mail_of_dn(dn) for dn in aliases if ",ou=aliases," in dn),
        mailing_lists=ctx.state.subscribers.lists_of(mail),
        stored_bytes=data["used_quota"]["bytes"],
        stored_messages=data["used_quota"]["messages"],
    )
    if data["isadmin"]:
        data["managed_domains"] = managed_domains(d, t, mail)
    return data


def _mail_of_dn(dn: str) -> str:
    return dn.split(",", 1)[0].partition("=")[2].replace("\\", "")


# --- aliases, lists, admins -------------------------------------------------------------------------------


def alias_view(ctx: Ctx, entry: Entry, *, detail: bool) -> dict[str, Any]:
    """``GET /api/alias/<mail>`` (``detail``: with ``members``) or a ``/aliases`` row."""
    mail = _first(entry, "mail")
    data = attribute_dict(ctx, entry)
    if not detail:
        data.pop("mailForwardingAddress", None)
    data.update(address=mail, domain=domain_of(mail), name=_first(entry, "cn"), active=_active(entry))
    if detail:
        data["members"] = sorted(entry.get("mailForwardingAddress", []))
        data["moderators"] = sorted(entry.get("listModerator", []))
    return data


def list_view(ctx: Ctx, entry: Entry, *, members: list[str] | None) -> dict[str, Any]:
    """A classic list (``members`` given) or an mlmmj list's LDAP part, with the SQL keys."""
    mail = _first(entry, "mail")
    data = attribute_dict(ctx, entry)
    data.update(
        address=mail,
        domain=domain_of(mail),
        name=_first(entry, "cn"),
        active=_active(entry),
        accesspolicy=_first(entry, "accessPolicy"),
    )
    if members is not None:
        data["members"] = members
        if entry.get("listOwner"):
            data["owner"] = sorted(entry["listOwner"])
        if entry.get("listModerator"):
            data["moderators"] = sorted(entry["listModerator"])
    return data


def admin_view(ctx: Ctx, entry: Entry) -> dict[str, Any]:
    """``GET /api/admin/<mail>``: the attributes plus ``isglobaladmin``, ``managed_domains``, ``settings``."""
    mail = _first(entry, "mail")
    settings: dict[str, Any] = dict(parse_account_settings(entry.get("accountSetting", [])))
    disabled = entry.get("disabledService", [])
    if "view_mail_log" in disabled:
        settings["disable_viewing_mail_log"] = "yes"
    if "manage_quarantined_mails" in disabled:
        settings["disable_managing_quarantined_mails"] = "yes"
    data = attribute_dict(ctx, entry)
    data.update(
        username=mail,
        name=_first(entry, "cn"),
        language=_first(entry, "preferredLanguage"),
        active=_active(entry),
        isglobaladmin=1 if _first(entry, "domainGlobalAdmin") == "yes" else 0,
        managed_domains=managed_domains(dit(ctx), tree(ctx), mail),
        settings=settings,
    )
    _password(ctx, data, entry)
    return data
