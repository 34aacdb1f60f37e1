"""iRedMail's tree in the LDAP edition (reference §14): where accounts live, base entries, lookups.

::

    <base>                                   dcObject + organization
    ├─ cn=vmail, cn=vmailadmin               bind accounts (no password in the sandbox)
    ├─ o=domainAdmins                        mail=<admin>: standalone admins (mailAdmin)
    └─ o=domains
       └─ domainName=<domain>                mailDomain
          ├─ ou=Users                        mail=<user> (mailUser), mail=@<domain> (catch-all)
          ├─ ou=Groups                       mail=<list> (mailList: classic and mlmmj)
          ├─ ou=Aliases                      mail=<alias> (mailAlias)
          └─ ou=Externals                    memberOfGroup=<list> (mailExternalUser)
"""

from __future__ import annotations

import functools
import time
from typing import Any

from migrate.sandbox.ldap_store import Dit, Entry, escape_rdn_value, normalize_dn
from migrate.sandbox.passwords import hash_password, verify_password
from migrate.sandbox.storage import Db

__all__ = [
    "INT_SETTINGS",
    "LIST_SETTINGS",
    "OUS",
    "Tree",
    "account_taken",
    "domain_from_dn",
    "ensure_admin",
    "ensure_base",
    "format_account_settings",
    "hosted_domain",
    "is_global_admin",
    "managed_domains",
    "manages",
    "parse_account_settings",
    "shadow_last_change",
    "start_directory",
    "tree_for",
]

#: The containers below each domain.
OUS: tuple[str, ...] = ("Users", "Groups", "Aliases", "Externals")

#: ``accountSetting`` keys holding an integer (digits or -1; anything else is dropped on read).
#: ``domainQuota`` (the domain's total quota in MB) is the sandbox's choice: the reference does
#: not record where the LDAP edition keeps it (``domainMaxQuotaSize`` is obsolete).
INT_SETTINGS = frozenset(
    {"defaultQuota", "maxUserQuota", "minPasswordLength", "maxPasswordLength", "numberOfUsers",
     "numberOfAliases", "numberOfLists", "domainQuota", "create_max_domains", "create_max_quota",
     "create_max_users", "create_max_aliases", "create_max_lists"}
)  # fmt: skip
#: ``accountSetting`` keys stored as one value per name (``disabledDomainProfile:bcc``).
LIST_SETTINGS = frozenset(
    {"disabledDomainProfile", "disabledUserProfile", "disabledUserPreference", "disabledMailService"}
)


class Tree:
    """The DNs of one install.

    Args:
        base: The suffix, e.g. ``dc=example,dc=com``.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.domains = f"o=domains,{base}"
        self.admins = f"o=domainAdmins,{base}"

    def domain(self, domain: str) -> str:
        """The ``mailDomain`` entry of a domain."""
        return f"domainName={escape_rdn_value(domain)},{self.domains}"

    def ou(self, domain: str, name: str) -> str:
        """One of a domain's containers (``Users``, ``Groups``, ``Aliases``, ``Externals``)."""
        return f"ou={name},{self.domain(domain)}"

    def _in(self, ou: str, mail: str) -> str:
        return f"mail={escape_rdn_value(mail)},{self.ou(mail.rpartition('@')[2], ou)}"

    def user(self, mail: str) -> str:
        """A mail user (``mail=<mail>,ou=Users,...``)."""
        return self._in("Users", mail)

    def catchall(self, domain: str) -> str:
        """The catch-all entry ``mail=@<domain>,ou=Users,...``."""
        return self._in("Users", f"@{domain}")

    def alias(self, mail: str) -> str:
        """A ``mailAlias`` (``ou=Aliases``)."""
        return self._in("Aliases", mail)

    def group(self, mail: str) -> str:
        """A ``mailList`` (``ou=Groups``), classic or mlmmj."""
        return self._in("Groups", mail)

    def externals(self, list_mail: str) -> str:
        """The ``mailExternalUser`` entry holding a classic list's external members."""
        domain = list_mail.rpartition("@")[2]
        return f"memberOfGroup={escape_rdn_value(list_mail)},{self.ou(domain, 'Externals')}"

    def admin(self, mail: str) -> str:
        """A standalone admin (``mail=<mail>,o=domainAdmins,...``)."""
        return f"mail={escape_rdn_value(mail)},{self.admins}"


@functools.lru_cache(maxsize=8)
def tree_for(base: str) -> Tree:
    """Return the (shared) :class:`Tree` of a base DN."""
    return Tree(base)


def domain_from_dn(dn: str) -> str:
    """Return the domain of a DN below ``domainName=<domain>`` ('' when there is none)."""
    for rdn in normalize_dn(dn).split(","):
        name, _, value = rdn.partition("=")
        if name == "domainname":
            return value
    return ""


def shadow_last_change() -> str:
    """Today as ``shadowLastChange`` counts it: days since 1970-01-01."""
    return str(int(time.time() // 86400))


# --- accountSetting -------------------------------------------------------------------------------


def parse_account_settings(values: list[str]) -> dict[str, Any]:
    """Turn ``key:value`` strings into a dict (split at the first ``:``; ints and name lists typed)."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition(":")
        if not sep or not key:
            continue
        if key in INT_SETTINGS:
            if value.isdigit() or value == "-1":
                out[key] = int(value)
        elif key in LIST_SETTINGS:
            if value:
                out.setdefault(key, []).append(value.lower())
        else:
            out[key] = value
    return out


def format_account_settings(settings: dict[str, Any]) -> list[str]:
    """Render a settings dict as ``accountSetting`` values (one per name for the list keys)."""
    out: list[str] = []
    for key, value in settings.items():
        if isinstance(value, (list, tuple)):
            out.extend(f"{key}:{item}" for item in value)
        elif value is not None and str(value) != "":
            out.append(f"{key}:{value}")
    return out


# --- the base of the tree ---------------------------------------------------------------------------


def _base_entry(base: str) -> Entry:
    kind, _, value = base.split(",", 1)[0].partition("=")
    if kind.lower() == "dc":
        return {"objectClass": ["dcObject", "organization"], "dc": [value], "o": [value]}
    return {"objectClass": ["organization"], "o": [value]}


def ensure_base(dit: Dit, tree: Tree) -> None:
    """Create the suffix, the bind accounts, ``o=domainAdmins`` and ``o=domains`` when missing."""
    wanted: list[tuple[str, Entry]] = [(tree.base, _base_entry(tree.base))]
    for name in ("vmail", "vmailadmin"):
        entry: Entry = {"objectClass": ["person", "shadowAccount", "top"], "cn": [name], "sn": [name], "uid": [name]}
        wanted.append((f"cn={name},{tree.base}", entry))
    wanted.append((tree.admins, {"objectClass": ["organization"], "o": ["domainAdmins"]}))
    wanted.append((tree.domains, {"objectClass": ["organization"], "o": ["domains"]}))
    for dn, entry in wanted:
        if not dit.exists(dn):
            dit.add(dn, entry, suffix=dn == tree.base)


def ensure_admin(dit: Dit, tree: Tree, email: str, password: str) -> None:
    """Create the configured global admin, or make it active, global and using ``password``."""
    email = email.strip().lower()
    dn = tree.admin(email)
    entry = dit.get(dn)
    if entry is None:
        dit.add(
            dn,
            {"objectClass": ["mailAdmin"], "mail": [email], "cn": [email.partition("@")[0]],
             "userPassword": [hash_password(password)], "accountStatus": ["active"], "preferredLanguage": ["en_US"],
             "domainGlobalAdmin": ["yes"], "shadowLastChange": [shadow_last_change()]},
        )  # fmt: skip
        return
    stored = entry.get("userPassword", [])
    if not any(verify_password(password, value) for value in stored):
        dit.modify(dn, {"userPassword": [hash_password(password)], "shadowLastChange": [shadow_last_change()]})
    dit.modify(dn, {"accountStatus": ["active"], "domainGlobalAdmin": ["yes"]})


def start_directory(db: Db, base: str, email: str, password: str) -> None:
    """Prepare a database for the LDAP edition: tables, base entries, the configured global admin."""
    Dit.create_tables(db)
    dit, tree = Dit(db), tree_for(base)
    with db.tx():
        ensure_base(dit, tree)
        ensure_admin(dit, tree, email, password)


# --- lookups ------------------------------------------------------------------------------------------


def account_taken(dit: Dit, tree: Tree, address: str) -> bool:
    """Tell whether an address is used by an account (``mail``) or as a per-user alias (``shadowAddress``).

    External members (``mail`` values of ``mailExternalUser`` entries) are not accounts.
    """
    for attr in ("mail", "shadowAddress"):
        for dn in dit.find(attr, address, tree.domains):
            if not dn.startswith("memberofgroup="):
                return True
    return False


def hosted_domain(dit: Dit, tree: Tree, domain: str) -> bool:
    """Tell whether ``domain`` is hosted, as a primary domain or as some domain's alias domain."""
    return dit.exists(tree.domain(domain)) or bool(dit.find("domainAliasName", domain, tree.domains))


def is_global_admin(dit: Dit, tree: Tree, username: str) -> bool:
    """Global rights: ``domainGlobalAdmin: yes`` on the standalone admin or on the mail user."""
    if not username or "@" not in username:
        return False
    return any(dit.has_value(dn, "domainGlobalAdmin", "yes") for dn in (tree.admin(username), tree.user(username)))


def managed_domains(dit: Dit, tree: Tree, username: str) -> list[str]:
    """Return the domains whose ``domainAdmin`` lists ``username``, sorted."""
    found = dit.find("domainAdmin", username, tree.domains)
    return sorted(domain_from_dn(dn) for dn in found)


def manages(dit: Dit, tree: Tree, username: str, domain: str) -> bool:
    """Tell whether ``username`` is one of the domain's ``domainAdmin``."""
    return dit.has_value(tree.domain(domain), "domainAdmin", username)
