"""LDIF export in iRedMail's DIT (reference §14-§16), ready for ``ldapadd`` or ``slapadd``.

Layout, parents before children::

    dc=example,dc=com, o=domains, o=domainAdmins         base entries
    mail=<admin>,o=domainAdmins                           standalone admins
    domainName=<d>,o=domains                              per domain, sorted by name:
      ou=Users, ou=Groups, ou=Aliases, ou=Externals         the four containers
      mail=<user>,ou=Users ... mail=@<d>,ou=Users           users, then the catch-all
      mail=<alias>,ou=Aliases                               alias accounts
      mail=<list>,ou=Groups                                 classic and mlmmj lists
      memberOfGroup=<list>,ou=Externals                     external members of classic lists

Units follow LDAP: ``mailQuota`` in bytes (MB x 1048576; unlimited = no ``mailQuota``), the
``accountSetting`` limits in MB. Classic list membership is ``memberOfGroup`` on the member's
own entry; members that are no user of the snapshot go into one ``mailExternalUser`` entry per
list. A user's ``lists`` naming an alias account adds the user to that alias's members.

Not in the DIT, hence not written (a comment at the top says so): spam policies, throttles, mlmmj
subscribers (mlmmj keeps them on disk), domain total quotas, plain passwords. A backup MX's primary
host goes into ``mtaTransport: relay:<host>``, as iRedMail keeps it. The output is deterministic:
fixed attribute order, sorted values.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator

from migrate.errors import UsageError
from migrate.exporters.ldif_format import attr_line, comment_line, escape_dn_value
from migrate.model import Admin, Alias, Domain, MailingList, User
from migrate.snapshot import Snapshot, atomic_output

__all__ = ["DEFAULT_USER_SERVICES", "write_ldif"]

_NEW_USER_SERVICES = (
    "internal", "doveadm", "lib-storage", "indexer-worker", "dsync", "quota-status", "mail", "smtp",
    "smtpsecured", "smtptls", "pop3", "pop3secured", "pop3tls", "imap", "imapsecured", "imaptls",
    "managesieve", "managesievesecured", "managesievetls", "sieve", "sievesecured", "sievetls", "deliver",
    "lda", "lmtp", "recipientbcc", "senderbcc", "forward", "shadowaddress", "displayedInGlobalAddressBook",
    "sogo", "sogowebmail", "sogocalendar", "sogoactivesync",
)  # fmt: skip
#: ``enabledService`` of a new mail user (reference §14.6), used when a user has no ``services``.
DEFAULT_USER_SERVICES: tuple[str, ...] = tuple(sorted(_NEW_USER_SERVICES))
# The model lower-cases service names; LDAP consumers spell this one in camel case.
_SERVICE_CASE = {s.lower(): s for s in DEFAULT_USER_SERVICES}
_MB = 1048576
_OUS = ("Users", "Groups", "Aliases", "Externals")
_USER_HEAD = "objectClass: inetOrgPerson\nobjectClass: mailUser\nobjectClass: shadowAccount\nobjectClass: amavisAccount"
_FLUSH_EVERY = 2000

Lines = list[str]


def _add(lines: Lines, attr: str, value: str | None) -> None:
    if value:
        lines.append(attr_line(attr, value))


def _add_all(lines: Lines, attr: str, values: Iterable[str]) -> None:
    lines.extend(attr_line(attr, v) for v in sorted(set(values)) if v)


def _entry(lines: Lines) -> str:
    return "\n".join(lines) + "\n\n"


# Most users share a handful of service sets: render each set's lines once.
_SERVICE_BLOCKS: dict[frozenset[str], str] = {}
_SERVICE_BLOCKS_MAX = 512


def _service_block(names: frozenset[str]) -> str:
    block = _SERVICE_BLOCKS.get(names)
    if block is None:
        block = "\n".join(attr_line("enabledService", n) for n in sorted({_SERVICE_CASE.get(n, n) for n in names}))
        if len(_SERVICE_BLOCKS) < _SERVICE_BLOCKS_MAX:
            _SERVICE_BLOCKS[names] = block
    return block


class _Layout:
    """Cross-entry facts: where each account goes and who belongs to which list."""

    def __init__(self, s: Snapshot, base_dn: str) -> None:
        self.base = base_dn
        self.domains: dict[str, Domain | None] = {d.domain: d for d in s.domains}
        self.users: dict[str, list[User]] = defaultdict(list)
        self.aliases: dict[str, list[Alias]] = defaultdict(list)
        self.lists: dict[str, list[MailingList]] = defaultdict(list)
        for user in s.users:
            self.users[_domain_of(user.email)].append(user)
        for alias in s.aliases:
            self.aliases[_domain_of(alias.email)].append(alias)
        for lst in s.lists:
            self.lists[_domain_of(lst.email)].append(lst)
        for name in (*self.users, *self.aliases, *self.lists):
            self.domains.setdefault(name, None)
        self.domain_admins: dict[str, set[str]] = defaultdict(set)
        for admin in s.admins:
            for name in admin.domains or ():
                self.domain_admins[name].add(admin.email)
        self._memberships(s)

    def _memberships(self, s: Snapshot) -> None:
        known_users = {u.email for u in s.users}
        alias_names = {a.email for a in s.aliases}
        mlmmj = {lst.email for lst in s.lists if lst.kind == "mlmmj"}
        self.member_of: dict[str, set[str]] = defaultdict(set)
        self.externals: dict[str, list[str]] = {}
        self.alias_members: dict[str, set[str]] = defaultdict(set)
        for lst in s.lists:
            if lst.kind == "mlmmj":
                continue
            outside = []
            for member in lst.members or ():
                if member in known_users:
                    self.member_of[member].add(lst.email)
                else:
                    outside.append(member)
            if outside:
                self.externals[lst.email] = sorted(set(outside))
        for user in s.users:
            for name in user.lists or ():
                if name in alias_names:
                    self.alias_members[name].add(user.email)
                elif name not in mlmmj:
                    # Subscriptions to mlmmj lists live on disk, so they have no place in LDAP.
                    self.member_of[user.email].add(name)

    def domain_dn(self, domain: str) -> str:
        return f"domainName={escape_dn_value(domain)},o=domains,{self.base}"

    def account_dn(self, address: str, ou: str) -> str:
        return f"mail={escape_dn_value(address)},ou={ou},{self.domain_dn(_domain_of(address))}"


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def _base_entries(base_dn: str) -> Iterator[str]:
    attr, _, value = base_dn.partition(",")[0].partition("=")
    attr = attr.strip().lower()
    value = value.strip()
    if attr == "dc":
        classes = ["objectClass: dcObject", "objectClass: organization", attr_line("dc", value)]
        classes.append(attr_line("o", value))
    elif attr == "o":
        classes = ["objectClass: organization", attr_line("o", value)]
    elif attr == "ou":
        classes = ["objectClass: organizationalUnit", attr_line("ou", value)]
    else:
        raise UsageError(
            f"cannot write a base entry for {base_dn!r}",
            code="INVALID_BASE_DN",
            hint="give a base DN that starts with dc=, o= or ou=, e.g. dc=example,dc=com",
        )
    yield _entry([attr_line("dn", base_dn), *classes])
    for name in ("domains", "domainAdmins"):
        yield _entry([attr_line("dn", f"o={name},{base_dn}"), "objectClass: organization", f"o: {name}"])


def _admin_entry(layout: _Layout, admin: Admin) -> str:
    lines = [attr_line("dn", f"mail={escape_dn_value(admin.email)},o=domainAdmins,{layout.base}")]
    lines.append("objectClass: mailAdmin")
    lines.append(attr_line("mail", admin.email))
    _add(lines, "cn", admin.name)
    _add(lines, "userPassword", admin.password_hash)
    lines.append(attr_line("accountStatus", admin.accountStatus or "active"))
    _add(lines, "preferredLanguage", admin.language)
    if admin.isGlobalAdmin:
        lines.append("domainGlobalAdmin: yes")
    limits = {
        "create_max_domains": admin.maxDomains,
        "create_max_quota": admin.maxQuota,
        "create_max_users": admin.maxUsers,
        "create_max_aliases": admin.maxAliases,
        "create_max_lists": admin.maxLists,
    }
    _add_all(lines, "accountSetting", (f"{k}:{v}" for k, v in limits.items() if v is not None))
    return _entry(lines)


def _domain_settings(domain: Domain) -> list[str]:
    values = [
        f"{key}:{value}"
        for key, value in (
            ("defaultQuota", domain.defaultQuota),
            ("maxUserQuota", domain.maxUserQuota),
            ("minPasswordLength", domain.minPasswordLength),
            ("maxPasswordLength", domain.maxPasswordLength),
            ("numberOfUsers", domain.numberOfUsers),
            ("numberOfAliases", domain.numberOfAliases),
            ("numberOfLists", domain.numberOfLists),
        )
        if value is not None
    ]
    for key, names in (
        ("disabledDomainProfile", domain.disabledDomainProfiles),
        ("disabledUserProfile", domain.disabledUserProfiles),
        ("disabledUserPreference", domain.disabledUserPreferences),
    ):
        # iRedMail stores one accountSetting value per disabled name (reference §14.5).
        values.extend(f"{key}:{name}" for name in names or ())
    return values


def _domain_entry(layout: _Layout, name: str, domain: Domain | None) -> str:
    lines = [attr_line("dn", layout.domain_dn(name)), "objectClass: mailDomain", attr_line("domainName", name)]
    admins = layout.domain_admins.get(name, set())
    if domain is None:
        lines.insert(0, comment_line("domain not in the snapshot: a bare entry so its accounts have a parent"))
        _add_all(lines, "domainAdmin", admins)
        return _entry(lines)
    _add(lines, "cn", domain.name)
    # A backup MX relays to its primary: iRedMail keeps that host in mtaTransport as relay:<host>.
    relay = f"relay:{domain.primarymx}" if domain.is_backupmx and domain.primarymx else None
    _add(lines, "mtaTransport", relay or domain.transport)
    lines.append(attr_line("accountStatus", domain.accountStatus or "active"))
    _add(lines, "preferredLanguage", domain.language)
    services = set(domain.services if domain.services is not None else ("mail",))
    # The features below only take effect in LDAP with their service enabled.
    for wanted, service in (
        (domain.aliasDomains, "domainalias"),
        (domain.senderBcc, "senderbcc"),
        (domain.recipientBcc, "recipientbcc"),
    ):
        if wanted:
            services.add(service)
    _add_all(lines, "enabledService", services)
    _add_all(lines, "domainAliasName", domain.aliasDomains or ())
    _add_all(lines, "domainAdmin", (*(domain.admins or ()), *admins))
    if domain.is_backupmx:
        lines.append("domainBackupMX: yes")
    _add(lines, "domainSenderBccAddress", domain.senderBcc)
    _add(lines, "domainRecipientBccAddress", domain.recipientBcc)
    _add(lines, "senderRelayHost", domain.outboundRelay)
    _add_all(lines, "accountSetting", _domain_settings(domain))
    return _entry(lines)


def _ou_entries(layout: _Layout, name: str) -> Iterator[str]:
    parent = layout.domain_dn(name)
    for ou in _OUS:
        yield _entry(
            [attr_line("dn", f"ou={ou},{parent}"), "objectClass: organizationalUnit", "objectClass: top", f"ou: {ou}"]
        )


def _user_entry(layout: _Layout, user: User, alias_domains: tuple[str, ...]) -> str:
    local = user.email.rpartition("@")[0]
    lines = [attr_line("dn", layout.account_dn(user.email, "Users")), _USER_HEAD]
    lines.append(attr_line("mail", user.email))
    lines.append(attr_line("uid", local))
    lines.append(attr_line("cn", user.name or local))
    lines.append(attr_line("sn", user.sn or local))
    _add(lines, "givenName", user.gn)
    _add(lines, "userPassword", user.password_hash)
    if user.quota:
        lines.append(f"mailQuota: {user.quota * _MB}")
    lines.append(attr_line("accountStatus", user.accountStatus or "active"))
    _add(lines, "preferredLanguage", user.language)
    _add(lines, "employeeNumber", user.employeeid)
    _add(lines, "mtaTransport", user.transport)
    _add(lines, "mailboxFormat", user.mailboxFormat)
    _add(lines, "mailboxFolder", user.mailboxFolder)
    lines.append("amavisLocal: TRUE")
    if user.isGlobalAdmin:
        lines.append("domainGlobalAdmin: yes")
    services = set(user.services if user.services is not None else DEFAULT_USER_SERVICES)
    # Each of these fields only works in LDAP with its service enabled (reference §14.4).
    shadow = {*(user.aliases or ()), *(f"{local}@{d}" for d in alias_domains)}
    for wanted, service in (
        (shadow, "shadowaddress"),
        (user.isAdmin or user.isGlobalAdmin, "domainadmin"),
        (user.forwarding, "forward"),
        (user.senderBcc, "senderbcc"),
        (user.recipientBcc, "recipientbcc"),
    ):
        if wanted:
            services.add(service)
    if services:
        lines.append(_service_block(frozenset(services)))
    _add_all(lines, "shadowAddress", shadow)
    _add_all(lines, "mailForwardingAddress", user.forwarding or ())
    _add_all(lines, "memberOfGroup", layout.member_of.get(user.email, ()))
    _add(lines, "userSenderBccAddress", user.senderBcc)
    _add(lines, "userRecipientBccAddress", user.recipientBcc)
    return _entry(lines)


def _catchall_entry(layout: _Layout, name: str, targets: tuple[str, ...]) -> str:
    lines = [attr_line("dn", layout.account_dn(f"@{name}", "Users"))]
    lines += ["objectClass: inetOrgPerson", "objectClass: mailUser", attr_line("mail", f"@{name}")]
    lines += ["cn: catch-all", "sn: catch-all", "uid: catch-all", "accountStatus: active"]
    _add_all(lines, "mailForwardingAddress", targets)
    return _entry(lines)


def _alias_entry(layout: _Layout, alias: Alias) -> str:
    lines = [attr_line("dn", layout.account_dn(alias.email, "Aliases")), "objectClass: mailAlias"]
    lines.append(attr_line("mail", alias.email))
    _add(lines, "cn", alias.name)
    lines.append(attr_line("accountStatus", alias.accountStatus or "active"))
    _add(lines, "accessPolicy", alias.accessPolicy)
    lines += ["enabledService: deliver", "enabledService: mail"]
    _add_all(lines, "mailForwardingAddress", (*(alias.members or ()), *layout.alias_members.get(alias.email, ())))
    _add_all(lines, "listModerator", alias.moderators or ())
    return _entry(lines)


def _list_entry(layout: _Layout, lst: MailingList) -> str:
    lines = [attr_line("dn", layout.account_dn(lst.email, "Groups"))]
    mlmmj = lst.kind == "mlmmj"
    if mlmmj and lst.members:
        lines.insert(0, comment_line(f"{len(lst.members)} subscriber(s) not written: mlmmj keeps them on disk"))
    lines += ["objectClass: mailList", attr_line("mail", lst.email)]
    _add(lines, "cn", lst.name)
    lines.append(attr_line("accountStatus", lst.accountStatus or "active"))
    _add(lines, "accessPolicy", lst.accessPolicy)
    lines += ["enabledService: deliver", "enabledService: mail"]
    if mlmmj:
        local, _, name = lst.email.rpartition("@")
        lines.append("enabledService: mlmmj")
        lines.append(attr_line("mtaTransport", f"mlmmj:{name}/{local}"))
    _add(lines, "mailingListID", lst.mailingListID)
    if lst.max_message_size is not None:
        lines.append(f"maxMessageSize: {lst.max_message_size}")
    _add_all(lines, "listOwner", lst.owners or ())
    _add_all(lines, "listModerator", lst.moderators or ())
    return _entry(lines)


def _externals_entry(layout: _Layout, list_address: str, members: list[str]) -> str:
    dn = f"memberOfGroup={escape_dn_value(list_address)},ou=Externals,{layout.domain_dn(_domain_of(list_address))}"
    lines = [attr_line("dn", dn), "objectClass: mailExternalUser", attr_line("memberOfGroup", list_address)]
    lines += ["accountStatus: active", "enabledService: deliver", "enabledService: mail"]
    _add_all(lines, "mail", members)
    return _entry(lines)


def _header(s: Snapshot) -> str:
    lines = [
        comment_line(f"iRedMail LDIF written by iredmigrate from {s.source} at {s.exported_at}"),
        "# spam policies and throttles are not in LDAP; use the JSON snapshot",
        "# also not in LDAP: mlmmj subscribers (mlmmj keeps them on disk) and",
        "# domain total quotas.",
        "# The base entries may exist on the target already: ldapadd -c skips them.",
        "version: 1",
    ]
    return "\n".join(lines) + "\n\n"


def _domain_entries(layout: _Layout, name: str) -> Iterator[str]:
    domain = layout.domains[name]
    yield _domain_entry(layout, name, domain)
    yield from _ou_entries(layout, name)
    alias_domains = (domain.aliasDomains or ()) if domain is not None else ()
    for user in sorted(layout.users.get(name, ()), key=lambda u: u.email):
        yield _user_entry(layout, user, alias_domains)
    if domain is not None and domain.catchall:
        yield _catchall_entry(layout, name, domain.catchall)
    for alias in sorted(layout.aliases.get(name, ()), key=lambda a: a.email):
        yield _alias_entry(layout, alias)
    lists = sorted(layout.lists.get(name, ()), key=lambda lst: lst.email)
    for lst in lists:
        yield _list_entry(layout, lst)
    for lst in lists:
        if lst.email in layout.externals:
            yield _externals_entry(layout, lst.email, layout.externals[lst.email])


def _entries(s: Snapshot, base_dn: str) -> Iterator[str]:
    layout = _Layout(s, base_dn)
    yield _header(s)
    yield from _base_entries(base_dn)
    for admin in sorted(s.admins, key=lambda a: a.email):
        yield _admin_entry(layout, admin)
    for name in sorted(layout.domains):
        yield from _domain_entries(layout, name)


def write_ldif(path: str | os.PathLike[str], s: Snapshot, *, base_dn: str = "dc=example,dc=com") -> None:
    """Write ``s`` as an LDIF file of iRedMail's LDAP tree under ``base_dn``.

    Entries are streamed to a temporary file that replaces ``path`` when complete.

    Args:
        path: The output file.
        s: The snapshot.
        base_dn: The directory suffix of the target install.

    Raises:
        UsageError: when ``base_dn`` does not start with ``dc=``, ``o=`` or ``ou=``.
    """
    base_dn = base_dn.strip()
    with atomic_output(path) as fh:
        chunk: list[str] = []
        for text in _entries(s, base_dn):
            chunk.append(text)
            if len(chunk) >= _FLUSH_EVERY:
                fh.write("".join(chunk).encode("utf-8"))
                chunk.clear()
        fh.write("".join(chunk).encode("utf-8"))
