"""iRedMail's LDAP tree (reference §14) mapped to the model vocabulary, one parsed entry at a time.

:class:`DitMapper` receives the entries of a dump in file order. Users and alias accounts are
complete on their own and come back at once (streamed); domains, standalone admins and mailing
lists need facts from later entries (the catch-all, ``domainAdmin`` of every domain, members that
point at a list with ``memberOfGroup``, ``mailExternalUser`` entries), so they are kept, with a few
small maps, and come out of :meth:`DitMapper.finish` in the order domains, admins, lists.

Per-user aliases that are just a user's own name in an alias domain of its domain
(``john@example.net`` for ``john@example.com`` when ``example.net`` is an alias domain) are dropped:
the alias domain provides them, and the API refuses per-user aliases outside the user's domain.
That needs the domain's entry before its users', which is the order slapcat writes (parents first).

Entries that are not accounts (the suffix, ``o=``/``ou=`` containers, ``cn=vmail`` bind accounts)
are skipped, and so are attributes the model has no field for (operational ones such as
``entryUUID``, ``homeDirectory``, counters). Attribute names and object classes are matched
case-insensitively, as LDAP does.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from migrate.readers.ldif_schema import (
    ADMIN_COLUMNS,
    ADMIN_SETTINGS,
    ADMIN_TEXT,
    ALIAS_COLUMNS,
    ALIAS_TEXT,
    DOMAIN_COLUMNS,
    DOMAIN_LISTS,
    DOMAIN_SETTINGS,
    DOMAIN_TEXT,
    KNOWN_ATTRIBUTES,
    LIST_COLUMNS,
    LIST_TEXT,
    NON_ACCOUNT_CLASSES,
    STRUCTURAL,
    STRUCTURAL_FOLDED,
    USER_COLUMNS,
    USER_LISTS,
    USER_TEXT,
    canonical_names,
    mail_from_dn,
    password_hash,
    quota_mb,
    read_settings,
)
from migrate.records import Problem, Provenance, Record, Severity

__all__ = ["DitMapper"]

Entry = dict[str, list[Any]]
Report = Callable[[Problem], None]

_INTEGER = re.compile(r"-?[0-9]+\Z")
_SCHEME = re.compile(r"\{[A-Za-z0-9._-]+\}")
_MB = 1024 * 1024
# Consumes an iterator at C speed, keeping nothing.
_DRAIN: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend


def _is_bytes(value: Any) -> bool:
    return value.__class__ is bytes or (value.__class__ is list and bytes in map(type, value))


def _copy(
    get: Callable[[str], list[str] | None], table: Iterable[tuple[str, str]], fields: dict[str, Any], *, first: bool
) -> None:
    """Copy attributes to fields by a table: the first value (single-valued) or all of them."""
    for attr, name in table:
        values = get(attr)
        if values:
            fields[name] = values[0] if first else values


class DitMapper:
    """Turn parsed LDIF entries of an iRedMail dump into model records.

    Args:
        source: The input file as the user named it (for provenance).
        report: Receives problems that belong to no single record (unknown object classes,
            notes about implied aliases).
    """

    def __init__(self, source: str, report: Report) -> None:
        self.source = source
        self.report = report
        self.entries = 0
        #: The record made from the latest entry (``None`` when it produced none).
        self.last: Record | None = None
        self._domains: dict[str, Record] = {}  # the first entry of each domain, for lookups
        self._domain_records: list[Record] = []  # all of them, in file order
        self._admins: list[Record] = []
        self._lists: list[Record] = []
        self._alias_domains: dict[str, frozenset[str]] = {}
        self._members: dict[str, set[str]] = {}
        self._catchalls: dict[str, tuple[int, list[str]]] = {}
        self._implied: dict[str, int] = {}
        self._warned: set[str] = set()
        self._not_utf8 = False

    # -- entry dispatch -------------------------------------------------------------------------

    def add(self, line: int, dn: str, entry: Entry) -> Record | None:
        """Map one entry; return the record to hand out now (users, aliases) or ``None``.

        Args:
            line: The line of the entry's ``dn:``.
            dn: The entry's DN.
            entry: Attribute -> values, as ``ldif.LDIFParser`` yields them.
        """
        self.entries += 1
        self.last = None
        try:
            # str.join refuses bytes, which is what the parser gives for a value that is not UTF-8:
            # one pass in C finds the (rare) entries that need a closer look.
            _DRAIN(map("".join, entry.values()))
            self._not_utf8 = False
        except TypeError:
            self._not_utf8 = True
        if not entry.keys() <= KNOWN_ATTRIBUTES:
            entry = canonical_names(entry)
        classes = entry.get("objectClass") or ()
        if "mailUser" in classes:  # most entries of a dump: skip the general lookup
            return self._user(Provenance(self.source, None, line, "ldif"), entry)
        for name in classes:
            kind = STRUCTURAL.get(name)
            if kind is not None:
                break
        else:
            kind = self._classify_slowly(line, classes)
            if kind is None:
                return None
        prov = Provenance(self.source, None, line, "ldif")
        if kind == "user":
            return self._user(prov, entry)
        if kind == "alias":
            return self._alias(prov, entry)
        if kind == "domain":
            self._domain(prov, entry)
        elif kind == "list":
            self._list(prov, dn, entry)
        elif kind == "admin":
            self._admin(prov, entry)
        else:
            self._external(entry)
        return None

    def _classify_slowly(self, line: int, classes: Any) -> str | None:
        folded = [str(name).lower() for name in classes]
        for name in folded:
            kind = STRUCTURAL_FOLDED.get(name)
            if kind is not None:
                return kind
        if not folded:
            self._warn_once("", line, "an entry without objectClass was skipped")
        for name in folded:
            if name not in NON_ACCOUNT_CLASSES:
                self._warn_once(name, line, f"entries of objectClass {name!r} are not iRedMail accounts; skipped")
        return None

    def _warn_once(self, key: str, line: int, message: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        self.report(
            Problem(
                code="LDIF_UNKNOWN_OBJECTCLASS",
                message=message + " (reported once per class)",
                hint="only mailDomain, mailUser, mailAlias, mailList, mailExternalUser and mailAdmin entries are read",
                source=self.source,
                line=line,
                column="objectClass",
                severity=Severity.WARNING,
            )
        )

    # -- kinds ----------------------------------------------------------------------------------

    def _record(self, prov: Provenance, kind: str, fields: dict[str, Any], columns: dict[str, str]) -> Record:
        problems: list[Problem] = []
        if self._not_utf8:
            # The parser hands back bytes for a value that is not UTF-8: never pass it on as text.
            for name in [n for n, v in fields.items() if _is_bytes(v)]:
                del fields[name]
                problems.append(
                    Problem.at(
                        prov,
                        "LDIF_NOT_UTF8",
                        "the value is not UTF-8 text",
                        hint="LDIF values are UTF-8; fix the entry in the directory and export again",
                        column=columns.get(name, name),
                    )
                )
        record = Record(prov, kind, fields, dict(columns), problems)
        self.last = record
        return record

    def _user(self, prov: Provenance, entry: Entry) -> Record | None:
        get = entry.get
        mails = get("mail") or ()
        mail = mails[0] if mails else None
        if mail.__class__ is str and mail.startswith("@"):
            self._catchall(prov, mail[1:].lower(), entry)
            return None
        fields: dict[str, Any] = {}
        if mail is not None:
            fields["email"] = mail
        _copy(get, USER_TEXT, fields, first=True)
        _copy(get, USER_LISTS, fields, first=False)
        extra: list[Problem] = []
        quota = get("mailQuota")
        if not quota:
            fields["quota"] = 0  # no mailQuota: unlimited
        else:
            text = quota[0]
            if text.__class__ is str and text.isascii() and text.isdigit() and not int(text) % _MB:
                fields["quota"] = int(text) // _MB
            else:
                mb = quota_mb(prov, text, extra)
                if mb is not None:
                    fields["quota"] = mb
        password = get("userPassword")
        if password:
            value = password[0]
            fields["password_hash"] = value if value[:1] == "{" and _SCHEME.match(value) else password_hash(value)
        shadow = get("shadowAddress")
        if shadow:
            fields["aliases"] = self._own_aliases(mail, shadow) if self._alias_domains else shadow
        flag = get("domainGlobalAdmin")
        if flag and str(flag[0]).lower() == "yes":
            fields["isGlobalAdmin"] = True
        services = fields.get("services")
        if services and "domainadmin" in services:
            fields["isAdmin"] = True
        groups = fields.get("lists")
        if groups and mail.__class__ is str:
            self._join(groups, mail)
        record = self._record(prov, "user", fields, USER_COLUMNS)
        if extra:
            record.problems.extend(extra)
        return record

    def _own_aliases(self, mail: Any, shadow: list[Any]) -> list[Any]:
        """Drop ``local@alias-domain`` addresses: the domain's alias domains already give them."""
        if mail.__class__ is not str:
            return shadow
        local, _, domain = mail.lower().rpartition("@")
        alias_domains = self._alias_domains.get(domain)
        if not alias_domains:
            return shadow
        kept = []
        for address in shadow:
            a_local, _, a_domain = str(address).lower().rpartition("@")
            if a_local == local and a_domain in alias_domains:
                self._implied[domain] = self._implied.get(domain, 0) + 1
            else:
                kept.append(address)
        return kept

    def _join(self, groups: list[Any], member: str) -> None:
        members = self._members
        member = member.lower()
        for group in groups:
            key = str(group).lower()
            found = members.get(key)
            if found is None:
                members[key] = {member}
            else:
                found.add(member)

    def _catchall(self, prov: Provenance, domain: str, entry: Entry) -> None:
        status = entry.get("accountStatus")
        if status and str(status[0]).lower() == "disabled":
            self.report(
                Problem.at(
                    prov,
                    "LDIF_CATCHALL_DISABLED",
                    f"the catch-all of {domain} is disabled; it is not carried over",
                    hint="the API has no disabled catch-all: enable it, or set it by hand after the import",
                    column="accountStatus",
                    key=domain,
                    severity=Severity.WARNING,
                )
            )
            return
        targets = entry.get("mailForwardingAddress") or []
        if _is_bytes(targets):
            self.report(
                Problem.at(
                    prov,
                    "LDIF_NOT_UTF8",
                    f"a target of the catch-all of {domain} is not UTF-8 text; the catch-all is not carried over",
                    hint="LDIF values are UTF-8; fix the entry in the directory and export again",
                    column="mailForwardingAddress",
                    key=domain,
                )
            )
            return
        self._catchalls[domain] = (prov.line, targets)

    def _alias(self, prov: Provenance, entry: Entry) -> Record:
        get = entry.get
        fields: dict[str, Any] = {}
        mails = get("mail")
        if mails:
            fields["email"] = mails[0]
        _copy(get, ALIAS_TEXT, fields, first=True)
        fields["members"] = get("mailForwardingAddress") or []
        moderators = get("listModerator")
        if moderators:
            fields["moderators"] = moderators
        groups = get("memberOfGroup")
        if groups and mails and mails[0].__class__ is str:
            self._join(groups, mails[0])
        return self._record(prov, "alias", fields, ALIAS_COLUMNS)

    def _list(self, prov: Provenance, dn: str, entry: Entry) -> None:
        get = entry.get
        fields: dict[str, Any] = {}
        mails = get("mail")
        if mails:
            fields["email"] = mails[0]
        services = [str(s).lower() for s in get("enabledService") or ()]
        transport = str((get("mtaTransport") or [""])[0])
        fields["kind"] = "mlmmj" if "mlmmj" in services or transport.lower().startswith("mlmmj:") else "maillist"
        _copy(get, LIST_TEXT, fields, first=True)
        _copy(get, (("listOwner", "owners"), ("listModerator", "moderators")), fields, first=False)
        size = get("maxMessageSize")
        if size:
            fields["max_message_size"] = int(size[0]) if _INTEGER.match(str(size[0])) else size[0]
        record = self._record(prov, "list", fields, LIST_COLUMNS)
        key = str(fields.get("email", "")).lower()
        for member_dn in get("member") or ():
            address = mail_from_dn(str(member_dn))
            if address is None:
                record.problems.append(
                    Problem.at(
                        prov,
                        "LDIF_MEMBER_DN",
                        f"member {member_dn!r} does not name an address (mail=...); skipped",
                        hint="add the member to the list by address",
                        column="member",
                        severity=Severity.WARNING,
                    )
                )
            elif key:
                self._join([key], address)
        self._lists.append(record)

    def _external(self, entry: Entry) -> None:
        addresses = [str(a).lower() for a in entry.get("mail") or ()]
        for group in entry.get("memberOfGroup") or ():
            for address in addresses:
                self._join([group], address)

    def _domain(self, prov: Provenance, entry: Entry) -> None:
        get = entry.get
        fields: dict[str, Any] = {}
        names = get("domainName")
        if names:
            fields["domain"] = names[0]
        _copy(get, DOMAIN_TEXT, fields, first=True)
        _copy(get, DOMAIN_LISTS, fields, first=False)
        backup = get("domainBackupMX")
        transport = get("mtaTransport")
        if backup:
            fields["is_backupmx"] = str(backup[0]).strip().lower() == "yes"
        if transport:
            text = str(transport[0])
            # A backup MX relays to the primary; the API wants that as primarymx, not a transport.
            if fields.get("is_backupmx") and text.lower().startswith("relay:"):
                fields["primarymx"] = text[6:]
            else:
                fields["transport"] = text
        extra = read_settings(prov, get("accountSetting") or (), DOMAIN_SETTINGS, fields)
        record = self._record(prov, "domain", fields, DOMAIN_COLUMNS)
        record.problems.extend(extra)
        key = str(fields.get("domain", "")).lower()
        self._domain_records.append(record)
        if key and key not in self._domains:
            self._domains[key] = record
            if fields.get("aliasDomains"):
                self._alias_domains[key] = frozenset(str(d).lower() for d in fields["aliasDomains"])

    def _admin(self, prov: Provenance, entry: Entry) -> None:
        get = entry.get
        fields: dict[str, Any] = {}
        mails = get("mail")
        if mails:
            fields["email"] = mails[0]
        _copy(get, ADMIN_TEXT, fields, first=True)
        password = get("userPassword")
        if password:
            fields["password_hash"] = password_hash(password[0])
        flag = get("domainGlobalAdmin") or [""]
        fields["isGlobalAdmin"] = str(flag[0]).strip().lower() == "yes"
        extra = read_settings(prov, get("accountSetting") or (), ADMIN_SETTINGS, fields)
        record = self._record(prov, "admin", fields, ADMIN_COLUMNS)
        record.problems.extend(extra)
        self._admins.append(record)

    # -- the end ------------------------------------------------------------------------------------

    def finish(self) -> Iterator[Record]:
        """Yield the kept records, completed: domains, then standalone admins, then lists."""
        for domain, (line, targets) in self._catchalls.items():
            record = self._domains.get(domain)
            if record is None:
                # Only the catch-all is known: a record that sets just that on an existing domain.
                prov = Provenance(self.source, None, line, "ldif")
                record = Record(prov, "domain", {"domain": domain}, dict(DOMAIN_COLUMNS))
                self._domains[domain] = record
                self._domain_records.append(record)
            record.fields["catchall"] = targets
        for domain, count in self._implied.items():
            record = self._domains[domain]
            self.report(
                Problem.at(
                    record.prov,
                    "LDIF_IMPLIED_ALIASES",
                    f"{count} shadowAddress value(s) of users in {domain} are the users' own addresses in "
                    f"alias domain {', '.join(sorted(self._alias_domains[domain]))}; they are not listed as "
                    "per-user aliases: the alias domain provides them",
                    hint="nothing to do: the alias domain is carried over with the domain",
                    column="shadowAddress",
                    key=domain,
                    severity=Severity.WARNING,
                )
            )
        managed: dict[str, set[str]] = {}
        for record in self._domain_records:
            domain = str(record.fields.get("domain", "")).lower()
            for admin in record.fields.get("admins") or ():
                managed.setdefault(str(admin).lower(), set()).add(domain)
        yield from self._domain_records
        for record in self._admins:
            record.fields["domains"] = sorted(managed.get(str(record.fields.get("email", "")).lower(), ()))
            yield record
        for record in self._lists:
            members = self._members.get(str(record.fields.get("email", "")).lower())
            if members is not None:
                record.fields["members"] = sorted(members)
            elif record.fields.get("kind") == "maillist":
                record.fields["members"] = []  # mlmmj subscribers live on disk: unknown, not empty
            yield record
