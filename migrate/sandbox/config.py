"""The sandbox's configuration and the names of its switchable release quirks."""

from __future__ import annotations

import ipaddress
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

_EDITIONS = ("sql",)
_BACKENDS = ("MYSQL", "PGSQL")


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
        edition: Only ``sql`` exists so far.
        session_timeout: Idle timeout of sessions, in seconds.
        allowed_clients: API client allow-list of IPs/CIDRs; empty allows all. A
            ``restful_api_clients`` value in the ``settings`` table overrides it.
        quirks: Names from :data:`QUIRKS` to turn on.
        old_envelope: Answer ``success``/``msg`` instead of ``_success``/``_msg``.
        expose_password_hashes: Include stored hashes in GETs (``API_HIDDEN_*_PROFILES = []``).
        backend_name: Backend part of the cookie name, ``iRedAdmin-Pro-<backend_name>``.
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
    faults: FaultConfig = field(default_factory=FaultConfig)

    def check(self) -> None:
        """Raise ``ValueError`` with a fix-it message when the configuration cannot run."""
        if self.edition != "sql":
            if self.edition == "ldap":
                raise ValueError("the LDAP edition of the sandbox is not implemented yet; use edition 'sql'")
            raise ValueError(f"unknown sandbox edition {self.edition!r}; use 'sql'")
        if not self.admin_password:
            raise ValueError("the sandbox needs a non-empty admin password (set IREDADMIN_PASSWORD)")
        if "@" not in self.admin_email:
            raise ValueError(f"admin {self.admin_email!r} is not an email address")
        unknown = sorted(set(self.quirks) - QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirk(s) {', '.join(unknown)}; known: {', '.join(sorted(QUIRKS))}")
        if self.backend_name.upper() not in _BACKENDS:
            raise ValueError(f"backend {self.backend_name!r} is not an SQL backend; use MYSQL or PGSQL")
        if self.session_timeout <= 0:
            raise ValueError("session_timeout must be a positive number of seconds")
        for item in self.allowed_clients:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"allowed client {item!r} is not an IP address or network") from exc
