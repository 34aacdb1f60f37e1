"""What a handler sees: the request's parameters, the caller's rights and the shared state.

Handlers are plain synchronous functions ``(Ctx) -> Reply``: the app reads the form body first,
then runs the handler inside one database transaction, so a handler that raises
:class:`ApiError` half-way leaves nothing behind.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from migrate.sandbox import store_domain, store_extra
from migrate.sandbox.config import SandboxConfig
from migrate.sandbox.mlmmj import SubscriberStore
from migrate.sandbox.policy import PasswordRules
from migrate.sandbox.sessions import Session, SessionStore
from migrate.sandbox.storage import Db

__all__ = ["ApiError", "AppState", "Ctx", "Reply", "fail", "ok"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_RULE_KEYS = ("min_passwd_length", "max_passwd_length")


class ApiError(Exception):
    """A failure reply: ``{"_success": false, "_msg": code}`` (no ``_msg`` when code is ``None``)."""

    def __init__(self, code: str | None) -> None:
        super().__init__(code or "")
        self.code = code


@dataclass
class Reply:
    """A handled reply before rendering.

    Attributes:
        success: The ``_success`` value.
        data: Payload (rendered under ``key``) or ``None`` for none.
        msg: The ``_msg`` value, if any.
        key: ``_data`` normally; throttle GETs use ``setting``.
        cookie: A new session id to set.
    """

    success: bool
    data: Any = None
    msg: str | None = None
    key: str = "_data"
    cookie: str | None = None


def ok(data: Any = None, *, key: str = "_data") -> Reply:
    """Return a success reply (with ``data`` when not ``None``)."""
    return Reply(True, data, key=key)


def fail(code: str | None) -> Reply:
    """Return a failure reply."""
    return Reply(False, msg=code)


@dataclass
class AppState:
    """Everything the handlers share (one per running sandbox)."""

    config: SandboxConfig
    db: Db
    sessions: SessionStore
    subscribers: SubscriberStore
    quirks: frozenset[str]
    allowed: list[IPNetwork] = field(default_factory=list)

    def load_allow_list(self) -> None:
        """Take the allow-list from the ``settings`` table when set there, else from the config."""
        stored = store_extra.get_setting(self.db, "restful_api_clients")
        items = stored.split(",") if stored is not None else self.config.allowed_clients
        networks: list[IPNetwork] = []
        for item in items:
            item = item.strip()
            if item:
                try:
                    networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    continue  # a bad entry in the table allows nobody extra
        self.allowed = networks

    def client_allowed(self, remote: str | None) -> bool:
        """Apply ``RESTFUL_API_CLIENTS``: an empty list allows everyone."""
        if not self.allowed:
            return True
        try:
            address = ipaddress.ip_address(remote or "")
        except ValueError:
            return False
        return any(address in network for network in self.allowed)

    def password_rules(self, domain: str | None) -> PasswordRules:
        """Return the policy for a password: settings table, then the domain's own limits."""
        return self.rules_with(store_domain.domain_settings(self.db, domain) if domain else {})

    def rules_with(self, domain_limits: Mapping[str, Any]) -> PasswordRules:
        """Return the settings table's password policy, overridden by a domain's limits.

        Args:
            domain_limits: ``min_passwd_length``/``max_passwd_length`` of the domain, wherever
                the edition keeps them; values that are not integers are ignored.
        """
        rules: dict[str, int] = {}
        # Both keys in one statement: this runs for every password a request sets.
        for key, value in store_extra.get_settings(self.db, _RULE_KEYS).items():
            if value.strip().lstrip("-").isdigit():
                rules[key] = int(value)
        for key in _RULE_KEYS:
            if isinstance(domain_limits.get(key), int):
                rules[key] = domain_limits[key]
        return PasswordRules(min_length=rules.get("min_passwd_length", 8), max_length=rules.get("max_passwd_length", 0))


class Ctx:
    """One API request, as a handler sees it.

    Args:
        state: The shared state.
        match: Path parameters (already lower-cased).
        params: Form and query parameters (the last value wins for repeated names).
        session: The caller's session, if logged in.
        remote: The client address.
    """

    def __init__(
        self,
        state: AppState,
        match: dict[str, str],
        params: dict[str, str],
        session: Session | None,
        remote: str,
    ) -> None:
        self.state = state
        self.db = state.db
        self.match = match
        self.params = params
        self.session = session
        self.remote = remote
        self.is_global = False

    @property
    def username(self) -> str:
        """The logged-in admin ('' when anonymous)."""
        return self.session.username if self.session else ""

    def quirk(self, name: str) -> bool:
        """Tell whether a release quirk is switched on."""
        return name in self.state.quirks

    def has(self, name: str) -> bool:
        """Tell whether a parameter is present (presence flags ignore the value)."""
        return name in self.params

    def get(self, name: str) -> str | None:
        """Return a parameter's value, or ``None`` when absent."""
        return self.params.get(name)

    def require_global(self) -> None:
        """Refuse a normal admin."""
        if not self.is_global:
            raise ApiError("PERMISSION_DENIED")

    def can_manage(self, domain: str) -> bool:
        """Tell whether the caller may manage ``domain``."""
        return self.is_global or store_domain.manages(self.db, self.username, domain)

    def password_rules(self, domain: str | None) -> PasswordRules:
        """Return the password policy for an account of ``domain`` (``None``: no domain)."""
        return self.state.password_rules(domain)

    def require_domain(self, domain: str) -> None:
        """Refuse a normal admin who does not manage ``domain``."""
        if not self.can_manage(domain):
            raise ApiError("PERMISSION_DENIED")
