"""Where a command sends its calls: a live server (``--url``) or an in-process sandbox."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from migrate.errors import UsageError

__all__ = ["PASSWORD_ENV", "Endpoint", "Target", "open_target", "url_endpoint"]

#: The environment variable the admin password is read from (never from argv).
PASSWORD_ENV = "IREDADMIN_PASSWORD"
_SANDBOX_ADMIN = "postmaster@sandbox.invalid"


@dataclass(frozen=True)
class Target:
    """What the user asked to talk to.

    Attributes:
        url: Base URL of the API, e.g. ``https://mail.example.com/iredadmin/api``.
        admin: Admin address to log in as.
        password: The admin's password (from the environment or a prompt).
        sandbox: Path of a SQLite file for an in-process sandbox instead of a server.
        insecure: Skip TLS verification (explicit ``--insecure`` only).
        ca_file: CA bundle for a server with a private CA.
        timeout: Seconds per request.
        rate: Requests per second across all workers (``None`` = unlimited).
        concurrency: Requests in flight at once.
        edition: ``sql`` or ``ldap`` for the sandbox.
    """

    url: str | None = None
    admin: str | None = None
    password: str | None = field(default=None, repr=False)
    sandbox: str | None = None
    insecure: bool = False
    ca_file: str | None = None
    timeout: float = 30.0
    rate: float | None = None
    concurrency: int = 8
    edition: str = "sql"

    def check(self) -> None:
        """Raise :class:`UsageError` unless exactly one target is fully described."""
        if self.sandbox and self.url:
            raise UsageError("give either --url or --sandbox, not both")
        if not self.sandbox and not self.url:
            raise UsageError(
                "no target: give --url URL --admin EMAIL (password in $IREDADMIN_PASSWORD), or --sandbox FILE",
                hint="there is no default target, so nothing is ever sent to a server you did not name",
            )
        if self.url and not self.admin:
            raise UsageError("--url needs --admin EMAIL")
        if self.url and not self.password:
            raise UsageError(f"no password: set {PASSWORD_ENV} (the password is never taken from the command line)")


@dataclass(frozen=True)
class Endpoint:
    """A reachable API: base URL and credentials."""

    base_url: str
    admin: str
    password: str = field(repr=False)
    verify: bool
    ca_file: str | None


def _sandbox_password(db_path: str) -> str:
    """Return the sandbox admin's password, kept beside the database (mode 0600) across runs."""
    secret_file = db_path + ".admin-password"
    try:
        with open(secret_file, encoding="utf-8") as handle:
            stored = handle.read().strip()
        if stored:
            return stored
    except FileNotFoundError:
        pass
    password = secrets.token_urlsafe(18) + "#A1"
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password)
    return password


def url_endpoint(target: Target) -> Endpoint:
    """Return the endpoint of a target given by ``--url`` (checked: admin and password known)."""
    target.check()
    assert target.url is not None and target.admin is not None and target.password is not None
    return Endpoint(target.url.rstrip("/"), target.admin, target.password, not target.insecure, target.ca_file)


@contextlib.contextmanager
def open_target(target: Target) -> Iterator[Endpoint]:
    """Yield an endpoint for ``target``, starting (and later stopping) a sandbox if asked."""
    target.check()
    if target.url:
        yield url_endpoint(target)
        return
    from migrate.sandbox import Sandbox, SandboxConfig

    assert target.sandbox is not None
    os.makedirs(os.path.dirname(os.path.abspath(target.sandbox)), exist_ok=True)
    password = _sandbox_password(target.sandbox)
    config = SandboxConfig(
        db_path=target.sandbox,
        admin_email=_SANDBOX_ADMIN,
        admin_password=password,
        edition=target.edition,
        # Your own rehearsal server: its backups should be complete, hashes included.
        expose_password_hashes=True,
    )
    with Sandbox(config) as sandbox:
        yield Endpoint(sandbox.base_url, _SANDBOX_ADMIN, password, True, None)
