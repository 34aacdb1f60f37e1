"""The sandbox's configuration and the names of its switchable release quirks."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from migrate.sandbox.faults import FaultConfig

__all__ = ["API_PREFIX", "QUIRKS", "SandboxConfig"]

#: Where the API lives on a standard install.
API_PREFIX = "/iredadmin/api"

#: Release-specific behaviours of Pro-SQL 5.5 (reference §12), each off unless named.
QUIRKS: frozenset[str] = frozenset(
    {
        "user_add_service_noop",  # PUT /api/user addService has no effect
        "users_list_password",  # GET /api/users/<domain> rows carry the password hash
        "last_login_repr",  # last_login rendered as a Python repr string
        "pass_the_hash",  # the stored hash string verifies as the "plain" password
        "empty_passsword_typo",  # verify_password with an empty password says EMPTY_PASSSWORD
        "policy_auth_redirect",  # spampolicy/global throttle auth failures are 303 redirects
        "put_missing_user_succeeds",  # PUT /api/user on a missing user returns success
    }
)

_EDITIONS = ("sql", "ldap")
_BACKENDS = ("MYSQL", "PGSQL")
# The suffix of the LDAP edition's tree: one or more ``dc=``/``o=`` RDNs of plain characters.
_BASE_DN_RE = re.compile(r"^(?:dc|o)=[A-Za-z0-9-]+(?:,(?:dc|o)=[A-Za-z0-9-]+)*$")


@dataclass
class SandboxConfig:
    """How to run a sandbox.

    Attributes:
        db_path: SQLite file, or ``:memory:``. mlmmj subscribers of a file database go to
            ``<db_path>.mlmmj/``.
        admin_email: Global admin created (or given this password) at start.
        admin_password: That admin's password; required, never logged.
        host: Address to listen on.
        port: Port; 0 picks a free one.
        edition: ``sql`` (iRedMail's ``vmail`` tables) or ``ldap`` (entries of iRedMail's DIT).
        session_timeout: Idle timeout of sessions, in seconds.
        allowed_clients: API client allow-list of IPs/CIDRs; empty allows all. A
            ``restful_api_clients`` value in the ``settings`` table overrides it.
        quirks: Names from :data:`QUIRKS` to turn on.
        old_envelope: Answer ``success``/``msg`` instead of ``_success``/``_msg``.
        expose_password_hashes: Include stored hashes in GETs (``API_HIDDEN_*_PROFILES = []``).
        backend_name: Backend part of the SQL edition's cookie name, ``iRedAdmin-Pro-<backend_name>``
            (the LDAP edition's cookie is always ``iRedAdmin-Pro-LDAP``).
        base_dn: Suffix of the LDAP edition's tree (``o=domains`` and ``o=domainAdmins`` go below it).
        faults: Fault injection settings.
    """

    db_path: str = ":memory:"
    admin_email: str = "postmaster@sandbox.test"
    admin_password: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    edition: str = "sql"
    session_timeout: float = 1800.0
    allowed_clients: list[str] = field(default_factory=list)
    quirks: set[str] = field(default_factory=set)
    old_envelope: bool = False
    expose_password_hashes: bool = False
    backend_name: str = "MYSQL"
    base_dn: str = "dc=example,dc=com"
    faults: FaultConfig = field(default_factory=FaultConfig)

    def check(self) -> None:
        """Raise ``ValueError`` with a fix-it message when the configuration cannot run."""
        if self.edition not in _EDITIONS:
            raise ValueError(f"unknown sandbox edition {self.edition!r}; use 'sql' or 'ldap'")
        if not self.admin_password:
            raise ValueError("the sandbox needs a non-empty admin password (set IREDADMIN_PASSWORD)")
        if "@" not in self.admin_email:
            raise ValueError(f"admin {self.admin_email!r} is not an email address")
        unknown = sorted(set(self.quirks) - QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirk(s) {', '.join(unknown)}; known: {', '.join(sorted(QUIRKS))}")
        if self.edition == "ldap" and not _BASE_DN_RE.match(self.base_dn):
            raise ValueError(f"base DN {self.base_dn!r} of the LDAP edition is not like 'dc=example,dc=com'")
        if self.edition == "sql" and self.backend_name.upper() not in _BACKENDS:
            raise ValueError(f"backend {self.backend_name!r} is not an SQL backend; use MYSQL or PGSQL")
        if self.session_timeout <= 0:
            raise ValueError("session_timeout must be a positive number of seconds")
        for item in self.allowed_clients:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"allowed client {item!r} is not an IP address or network") from exc
