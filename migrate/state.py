"""The target's current state, and how API replies become model objects.

The converters here are shared by the planner (current state), read-back verification and the
exporters, so that a value the server changed shows up the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrate.model import Admin, Alias, Domain, MailingList, SpamPolicy, Throttle, User
from migrate.normalize import LANGUAGES

__all__ = [
    "USER_SERVICES",
    "State",
    "admin_from_api",
    "alias_from_api",
    "domain_from_api",
    "list_from_api",
    "spam_policy_from_api",
    "throttle_from_api",
    "user_from_api",
]

#: User service names the SQL edition stores as ``mailbox.enable<service>`` columns (reference §6.6).
USER_SERVICES: tuple[str, ...] = (
    "smtp", "smtpsecured", "pop3", "pop3secured", "pop3tls", "imap", "imapsecured", "imaptls",
    "managesieve", "managesievesecured", "sieve", "sievesecured", "sievetls", "deliver", "lda",
    "lmtp", "internal", "doveadm", "dsync", "sogo", "lib-storage", "quota-status", "indexer-worker",
)  # fmt: skip


@dataclass
class State:
    """What the target has, keyed like the model.

    Attributes:
        edition: ``sql`` or ``ldap`` (decides list endpoints and kinds).
        domains: Domain name -> domain (with ``admins`` and ``catchall`` when read).
        admins: Standalone admins read so far.
        users, aliases, lists: Accounts by address.
        spam_policies, throttles: By their model key.
        detailed: Keys whose per-object GET was read (lists do not carry members or aliases).
        has_list_endpoints: Whether ``GET /api/users/<domain>`` and friends exist on the target.
    """

    edition: str = "sql"
    domains: dict[str, Domain] = field(default_factory=dict)
    admins: dict[str, Admin] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)
    lists: dict[str, MailingList] = field(default_factory=dict)
    spam_policies: dict[str, SpamPolicy] = field(default_factory=dict)
    throttles: dict[str, Throttle] = field(default_factory=dict)
    detailed: set[str] = field(default_factory=set)
    has_list_endpoints: bool = True

    def exists(self, key: str) -> bool:
        """Tell whether an address is taken by any account (user, alias, list)."""
        return key in self.users or key in self.aliases or key in self.lists


def _status(data: dict[str, Any]) -> str | None:
    if "accountStatus" in data:
        return "active" if str(data["accountStatus"]).lower() == "active" else "disabled"
    if "active" in data:
        return "active" if str(data["active"]) in ("1", "True", "true", "yes") else "disabled"
    return None


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _addresses(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(sorted({str(x).strip().lower() for x in items if str(x).strip()}))


def _names(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(sorted({str(x).strip() for x in items if str(x).strip()}))


def _flag(value: Any) -> bool | None:
    if value is None:
        return None
    return str(value).lower() in ("1", "yes", "true")


def _language(value: Any) -> str | None:
    if value is None:
        return None
    # The server stores unknown languages as '': keep '' so a comparison shows the loss.
    return str(value) if str(value) in LANGUAGES else ""


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def domain_from_api(data: dict[str, Any], *, admins: list[str] | None = None) -> Domain:
    """Build a :class:`Domain` from ``GET /api/domain/<domain>`` (or a ``/domains`` row)."""
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        settings = {}
    return Domain(
        domain=str(data.get("domain", "")).lower(),
        name=_text(data.get("description", data.get("name"))),
        accountStatus=_status(data),
        quota=_int(data.get("maxquota", data.get("quota"))),
        language=_language(settings.get("default_language", data.get("language"))),
        transport=_text(data.get("transport")),
        defaultQuota=_int(settings.get("default_user_quota")),
        maxUserQuota=_int(settings.get("max_user_quota")),
        numberOfUsers=_int(data.get("mailboxes")),
        numberOfAliases=_int(data.get("aliases")),
        numberOfLists=_int(data.get("maillists")),
        minPasswordLength=_int(settings.get("min_passwd_length")),
        maxPasswordLength=_int(settings.get("max_passwd_length")),
        senderBcc=_text(data.get("sbcc_addr")) or None,
        recipientBcc=_text(data.get("rbcc_addr")) or None,
        catchall=_addresses(data.get("catchall", [])),
        aliasDomains=_addresses(data.get("alias_domains", [])),
        admins=None if admins is None else _addresses(admins),
        services=_names(data["enabledService"]) if isinstance(data.get("enabledService"), list) else None,
        disabledDomainProfiles=_names(settings.get("disabled_domain_profiles", ())),
        disabledUserProfiles=_names(settings.get("disabled_user_profiles", ())),
        disabledUserPreferences=_names(settings.get("disabled_user_preferences", ())),
        is_backupmx=_flag(data.get("backupmx")),
        outboundRelay=_text(data.get("relayhost")) or None,
    )


# (service, its SQL column), sorted by service: read back after every user write, so the column
# names are not formatted again each time.
_SERVICE_COLUMNS = tuple((service, f"enable{service}") for service in sorted(USER_SERVICES))


def user_from_api(data: dict[str, Any]) -> User:
    """Build a :class:`User` from ``GET /api/user/<mail>`` or a ``GET /api/users/<domain>`` row."""
    email = str(data.get("username", data.get("mail", ""))).lower()
    services = None
    if isinstance(data.get("enabledService"), list):  # the LDAP edition: any service name
        services = tuple(sorted({str(s).lower() for s in data["enabledService"]}))
    elif any(key in data for _, key in _SERVICE_COLUMNS):
        services = tuple(s for s, key in _SERVICE_COLUMNS if str(data.get(key, "0")) in ("1", "y"))
    forwardings = data.get("forwardings")
    return User(
        email=email,
        name=_text(data.get("name")),
        gn=_text(data.get("first_name")) or None,
        sn=_text(data.get("last_name")) or None,
        quota=_int(data.get("quota")),
        accountStatus=_status(data),
        language=_language(data.get("language")),
        employeeid=_text(data.get("employeeid")) or None,
        transport=_text(data.get("transport")) or None,
        forwarding=_addresses(forwardings),
        aliases=_addresses(data.get("aliases")) if "aliases" in data else None,
        senderBcc=_text(data.get("sender_bcc_address")) or None,
        recipientBcc=_text(data.get("recipient_bcc_address")) or None,
        services=services,
        isGlobalAdmin=_flag(data.get("isglobaladmin")),
        isAdmin=_flag(data.get("isadmin")),
        mailboxFormat=_text(data.get("mailboxformat")),
        mailboxFolder=_text(data.get("mailboxfolder")),
        password_hash=_text(data.get("password")) or None,
    )


def alias_from_api(data: dict[str, Any]) -> Alias:
    """Build an :class:`Alias` from ``GET /api/alias/<mail>`` or a ``/aliases`` row."""
    return Alias(
        email=str(data.get("address", data.get("mail", ""))).lower(),
        name=_text(data.get("name")),
        accountStatus=_status(data),
        accessPolicy=_text(data.get("accesspolicy", data.get("accessPolicy"))) or None,
        members=_addresses(data["members"]) if "members" in data else None,
        moderators=_addresses(data["moderators"]) if "moderators" in data else None,
    )


def list_from_api(data: dict[str, Any], *, kind: str) -> MailingList:
    """Build a :class:`MailingList` from an ``ml``/``mls`` (mlmmj) or ``maillist`` (LDAP) reply."""
    members = data.get("subscribers", data.get("members"))
    size = data.get("max_message_size", data.get("maxmsgsize"))
    return MailingList(
        email=str(data.get("address", data.get("mail", ""))).lower(),
        kind=kind,
        name=_text(data.get("name")),
        accountStatus=_status(data),
        accessPolicy=_text(data.get("accesspolicy", data.get("accessPolicy"))) or None,
        members=_addresses(members) if members is not None else None,
        owners=_addresses(data["owner"]) if "owner" in data else None,
        moderators=_addresses(data["moderators"]) if "moderators" in data else None,
        max_message_size=_int(size) or None,
        # mailingListID is not read back: the server assigns it and the API cannot set it, so a
        # restored list always gets a new one; keeping it would make every restore look different.
    )


def admin_from_api(data: dict[str, Any]) -> Admin:
    """Build an :class:`Admin` from ``GET /api/admin/<mail>``."""
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        settings = {}
    return Admin(
        email=str(data.get("username", data.get("mail", ""))).lower(),
        name=_text(data.get("name")),
        accountStatus=_status(data),
        language=_language(data.get("language")),
        isGlobalAdmin=_flag(data.get("isglobaladmin")),
        maxDomains=_int(settings.get("create_max_domains")),
        maxQuota=_int(settings.get("create_max_quota")),
        maxUsers=_int(settings.get("create_max_users")),
        maxAliases=_int(settings.get("create_max_aliases")),
        maxLists=_int(settings.get("create_max_lists")),
        domains=_addresses(data.get("managed_domains")) if "managed_domains" in data else None,
    )


_SPAM_FLAGS = (
    "bypass_spam_checks", "bypass_virus_checks", "bypass_banned_checks", "bypass_header_checks",
    "quarantine_spam", "quarantine_virus", "quarantine_banned", "quarantine_bad_header",
    "prefix_spam_in_subject", "always_insert_x_spam_headers",
)  # fmt: skip


def spam_policy_from_api(data: dict[str, Any], *, scope: str, target: str) -> SpamPolicy | None:
    """Build a :class:`SpamPolicy` from ``GET /api/spampolicy/...``; ``None`` when none is set."""
    if not data:
        return None
    score = data.get("spam_score")
    rules = data.get("banned_rulenames")
    return SpamPolicy(
        scope=scope,
        target=target,
        spam_score=float(score) if score not in (None, "") else None,
        banned_rulenames=None if rules is None else _names(rules),
        **{name: _flag(data.get(name)) for name in _SPAM_FLAGS},
    )


def throttle_from_api(data: dict[str, Any], *, scope: str, target: str, direction: str) -> Throttle | None:
    """Build a :class:`Throttle` from the ``setting`` of ``GET /api/throttle/...``."""
    if not data:
        return None

    def limit(name: str) -> int | None:
        value = _int(data.get(name))
        return None if value is None or value < 0 else value  # iRedAPD writes -1 for "no limit"

    return Throttle(
        scope=scope,
        target=target,
        direction=direction,
        period=limit("period"),
        msg_size=limit("msg_size"),
        max_msgs=limit("max_msgs"),
        max_quota=limit("max_quota"),
    )
