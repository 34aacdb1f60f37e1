"""iRedMail's LDAP schema (reference §14) as the LDIF reader needs it: names, units, value rules.

The ``*_COLUMNS`` tables say which LDAP attribute each model field of a kind comes from, so every
problem the model finds later names the attribute the admin has to fix.
"""

from __future__ import annotations

import re
from typing import Any

from migrate.records import Problem, Provenance, Severity

__all__ = [
    "ADMIN_COLUMNS",
    "ADMIN_SETTINGS",
    "ADMIN_TEXT",
    "ALIAS_COLUMNS",
    "ALIAS_TEXT",
    "CANONICAL",
    "DOMAIN_COLUMNS",
    "DOMAIN_LISTS",
    "DOMAIN_SETTINGS",
    "DOMAIN_TEXT",
    "KNOWN_ATTRIBUTES",
    "LIST_COLUMNS",
    "LIST_TEXT",
    "NON_ACCOUNT_CLASSES",
    "STRUCTURAL",
    "STRUCTURAL_FOLDED",
    "USER_COLUMNS",
    "USER_LISTS",
    "USER_TEXT",
    "canonical_names",
    "mail_from_dn",
    "password_hash",
    "quota_mb",
    "read_settings",
]

_MB = 1024 * 1024
_SCHEME = re.compile(r"\{[A-Za-z0-9._-]+\}")
_INTEGER = re.compile(r"-?[0-9]+\Z")
_RDN_END = re.compile(r"(?<!\\),")
_HEX_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2})")
_CHAR_ESCAPE = re.compile(r"\\(.)")


def _words(text: str) -> list[str]:
    return text.split()


def _pairs(text: str) -> dict[str, str]:
    """``"a=b c=d"`` -> ``{"a": "b", "c": "d"}``: keeps the tables below one line per idea."""
    return dict(item.split("=", 1) for item in text.split())


#: The object class that says what an entry is -> the reader's kind.
STRUCTURAL: dict[str, str] = _pairs(
    "mailUser=user mailAlias=alias mailList=list mailDomain=domain mailAdmin=admin mailExternalUser=external"
)
STRUCTURAL_FOLDED: dict[str, str] = {name.lower(): kind for name, kind in STRUCTURAL.items()}

#: Classes of the entries around the accounts (suffix, containers, bind accounts), lower-cased:
#: such entries are skipped without a word.
NON_ACCOUNT_CLASSES: frozenset[str] = frozenset(
    _words(
        "top organization organizationalunit dcobject domain dnsdomain person organizationalperson "
        "inetorgperson shadowaccount posixaccount simplesecurityobject amavisaccount organizationalrole "
        "applicationprocess extensibleobject subentry"
    )
)

_READ = _words(
    "objectClass mail cn givenName sn userPassword mailQuota accountStatus preferredLanguage "
    "employeeNumber mtaTransport mailForwardingAddress shadowAddress memberOfGroup enabledService "
    "domainGlobalAdmin userSenderBccAddress userRecipientBccAddress mailboxFormat mailboxFolder "
    "domainName domainAdmin domainAliasName domainBackupMX domainSenderBccAddress "
    "domainRecipientBccAddress senderRelayHost accountSetting accessPolicy listModerator listOwner "
    "mailingListID maxMessageSize member"
)

#: Lower-cased name -> schema spelling, for every attribute the mapping reads.
CANONICAL: dict[str, str] = {name.lower(): name for name in _READ}

#: What a slapcat dump of iRedMail usually holds, in the schema's spelling (operational attributes
#: included): an entry with only these names skips the case-folding pass.
KNOWN_ATTRIBUTES: frozenset[str] = frozenset(
    _READ
    + _words(
        "uid homeDirectory shadowLastChange amavisLocal disabledService storageBaseDirectory "
        "mailMessageStore mailHost mailUID mailGID mailQuotaMessageLimit telephoneNumber "
        "backupMailAddress expiredDate disclaimer title userManager mailWhitelistRecipient "
        "mailBlacklistRecipient allowNets domainStatus recoveryEmail birthday description displayName "
        "mobile o ou dc domainCurrentQuotaSize domainCurrentUserNumber domainCurrentAliasNumber "
        "domainCurrentListNumber domainMaxQuotaSize domainMaxUserNumber domainMaxAliasNumber "
        "domainMaxListNumber domainDefaultUserQuota domainPendingAliasName street "
        "facsimileTelephoneNumber domainWhitelistIP domainWhitelistSender domainBlacklistIP "
        "domainBlacklistSender listAllowedUser hasMember uniqueMember memberUid gidNumber entryUUID "
        "creatorsName createTimestamp entryCSN modifiersName modifyTimestamp structuralObjectClass "
        "contextCSN hasSubordinates subschemaSubentry entryDN"
    )
)

#: ``accountSetting`` keys of a domain (reference §14.5) -> model field.
DOMAIN_SETTINGS: dict[str, str] = _pairs(
    "defaultQuota=defaultQuota maxUserQuota=maxUserQuota minPasswordLength=minPasswordLength "
    "maxPasswordLength=maxPasswordLength numberOfUsers=numberOfUsers numberOfAliases=numberOfAliases "
    "numberOfLists=numberOfLists disabledDomainProfile=disabledDomainProfiles "
    "disabledUserProfile=disabledUserProfiles disabledUserPreference=disabledUserPreferences"
)

USER_COLUMNS: dict[str, str] = _pairs(
    "email=mail name=cn gn=givenName sn=sn password_hash=userPassword quota=mailQuota "
    "accountStatus=accountStatus language=preferredLanguage employeeid=employeeNumber "
    "transport=mtaTransport forwarding=mailForwardingAddress aliases=shadowAddress "
    "senderBcc=userSenderBccAddress recipientBcc=userRecipientBccAddress services=enabledService "
    "isGlobalAdmin=domainGlobalAdmin isAdmin=enabledService mailboxFormat=mailboxFormat "
    "mailboxFolder=mailboxFolder lists=memberOfGroup"
)
DOMAIN_COLUMNS: dict[str, str] = {
    **_pairs(
        "domain=domainName name=cn accountStatus=accountStatus language=preferredLanguage "
        "transport=mtaTransport primarymx=mtaTransport senderBcc=domainSenderBccAddress "
        "recipientBcc=domainRecipientBccAddress outboundRelay=senderRelayHost admins=domainAdmin "
        "aliasDomains=domainAliasName services=enabledService is_backupmx=domainBackupMX "
        "catchall=mailForwardingAddress"
    ),
    **dict.fromkeys(DOMAIN_SETTINGS.values(), "accountSetting"),
}
ALIAS_COLUMNS: dict[str, str] = _pairs(
    "email=mail name=cn accountStatus=accountStatus accessPolicy=accessPolicy "
    "members=mailForwardingAddress moderators=listModerator"
)
LIST_COLUMNS: dict[str, str] = _pairs(
    "email=mail kind=enabledService name=cn accountStatus=accountStatus accessPolicy=accessPolicy "
    "members=memberOfGroup owners=listOwner moderators=listModerator max_message_size=maxMessageSize "
    "mailingListID=mailingListID"
)
ADMIN_COLUMNS: dict[str, str] = {
    **_pairs(
        "email=mail name=cn password_hash=userPassword accountStatus=accountStatus "
        "language=preferredLanguage isGlobalAdmin=domainGlobalAdmin domains=domainAdmin"
    ),
    **dict.fromkeys(("maxDomains", "maxQuota", "maxUsers", "maxAliases", "maxLists"), "accountSetting"),
}

# Attribute -> field, for values copied as they are (the model normalizes them): single values
# (``*_TEXT``, the first value) and multi-valued ones (``*_LISTS``, all values).
USER_TEXT: tuple[tuple[str, str], ...] = tuple(
    _pairs(
        "cn=name givenName=gn sn=sn accountStatus=accountStatus preferredLanguage=language "
        "employeeNumber=employeeid mtaTransport=transport userSenderBccAddress=senderBcc "
        "userRecipientBccAddress=recipientBcc mailboxFormat=mailboxFormat mailboxFolder=mailboxFolder"
    ).items()
)
USER_LISTS: tuple[tuple[str, str], ...] = tuple(
    _pairs("mailForwardingAddress=forwarding enabledService=services memberOfGroup=lists").items()
)
DOMAIN_TEXT: tuple[tuple[str, str], ...] = tuple(
    _pairs(
        "cn=name accountStatus=accountStatus preferredLanguage=language domainSenderBccAddress=senderBcc "
        "domainRecipientBccAddress=recipientBcc senderRelayHost=outboundRelay"
    ).items()
)
DOMAIN_LISTS: tuple[tuple[str, str], ...] = tuple(
    _pairs("domainAdmin=admins domainAliasName=aliasDomains enabledService=services").items()
)
ALIAS_TEXT: tuple[tuple[str, str], ...] = tuple(
    _pairs("cn=name accountStatus=accountStatus accessPolicy=accessPolicy").items()
)
LIST_TEXT: tuple[tuple[str, str], ...] = (*ALIAS_TEXT, ("mailingListID", "mailingListID"))
ADMIN_TEXT: tuple[tuple[str, str], ...] = tuple(
    _pairs("cn=name accountStatus=accountStatus preferredLanguage=language").items()
)
#: ``accountSetting`` keys of a standalone admin -> model field.
ADMIN_SETTINGS: dict[str, str] = _pairs(
    "create_max_domains=maxDomains create_max_quota=maxQuota create_max_users=maxUsers "
    "create_max_aliases=maxAliases create_max_lists=maxLists"
)


def canonical_names(entry: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Merge attribute names written in another case (``objectclass``) into the schema's spelling."""
    for name in list(entry):
        canonical = CANONICAL.get(name.lower())
        if canonical is not None and canonical != name:
            values = entry.pop(name)
            entry.setdefault(canonical, []).extend(values)
    return entry


def mail_from_dn(dn: str) -> str | None:
    """Return the address in a DN whose first RDN is ``mail=...`` (RFC 4514 escapes undone)."""
    rdn = _RDN_END.split(dn, maxsplit=1)[0]
    name, sep, value = rdn.partition("=")
    if not sep or name.strip().lower() != "mail":
        return None
    value = _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value.strip())
    return _CHAR_ESCAPE.sub(r"\1", value)


def password_hash(value: Any) -> Any:
    """``userPassword`` -> ``password_hash``: LDAP keeps a value without ``{SCHEME}`` as plain text."""
    if value.__class__ is not str or _SCHEME.match(value):
        return value
    return "{PLAIN}" + value


def quota_mb(prov: Provenance, raw: Any, problems: list[Problem]) -> int | None:
    """``mailQuota`` bytes -> whole MB, rounded up (rounding down could lock a full mailbox).

    A value that is not whole MB adds a warning to ``problems``; one that is not a number of bytes
    adds an error and gives ``None``.
    """
    text = str(raw).strip()
    if not _INTEGER.match(text) or text.startswith("-"):
        problems.append(
            Problem.at(
                prov,
                "INVALID_QUOTA",
                f"mailQuota {text!r} is not a number of bytes",
                hint="mailQuota holds bytes, e.g. 1073741824 for 1 GB; remove it for unlimited",
                column="mailQuota",
            )
        )
        return None
    mb, rest = divmod(int(text), _MB)
    if rest:
        mb += 1
        problems.append(
            Problem.at(
                prov,
                "QUOTA_ROUNDED",
                f"mailQuota {text} bytes is not a whole number of MB; rounded up to {mb} MB",
                hint="the API and SQL keep quotas in MB",
                column="mailQuota",
                severity=Severity.WARNING,
            )
        )
    return mb


def read_settings(prov: Provenance, values: Any, table: dict[str, str], fields: dict[str, Any]) -> list[Problem]:
    """Read ``accountSetting`` ``key:value`` strings (reference §14.5) into ``fields``.

    Args:
        prov: The entry, for problems.
        values: The ``accountSetting`` values.
        table: Setting key -> model field (keys not in it are ignored).
        fields: Receives ints, and lists for the ``disabled*`` keys (one value per name).

    Returns:
        Warnings for integer settings that are not integers (iRedAdmin drops those too).
    """
    problems = []
    for raw in values:
        key, _, value = str(raw).partition(":")
        name = table.get(key)
        if name is None:
            continue
        value = value.strip()
        if name.startswith("disabled"):
            fields.setdefault(name, []).append(value)
        elif _INTEGER.match(value):
            fields[name] = int(value)
        elif name == "maxQuota" and value:
            fields[name] = value  # "10GB": the model parses sizes with units
        else:
            problems.append(
                Problem.at(
                    prov,
                    "LDIF_BAD_SETTING",
                    f"accountSetting {key} is {value!r}, not a whole number; dropped (iRedAdmin drops it too)",
                    hint=f"write {key}:<number>",
                    column="accountSetting",
                    severity=Severity.WARNING,
                )
            )
    return problems
