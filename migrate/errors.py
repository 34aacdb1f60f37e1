"""One exception root for iredmigrate, grouped by what the caller does about it.

::

    IredMigrateError                 root: catch this to catch everything of ours
    ├── FatalError                   the run cannot go on: exit 1 (or 2 for usage)
    │   ├── UsageError               bad command line / options: exit 2
    │   ├── ConfigError              unreadable mapping profile, bad target settings
    │   ├── InputFileError           a whole input file cannot be read (not a zip, bad encoding)
    │   ├── AuthError                login refused (INVALID_CREDENTIALS, NOT_AUTHORIZED...)
    │   ├── TargetUnavailable        server unreachable after retries
    │   └── EndpointUnsupported      404/405: this server edition has no such endpoint
    ├── RowError                     one row is bad or was rejected: record it, go on
    │   ├── InvalidRow               failed local validation (never sent)
    │   └── RejectedByServer         the API answered with a permanent error code
    └── RetriableError               transient: retry with backoff
        ├── TransportError           connection refused/reset, timeout, dropped connection
        ├── ServerError              HTTP 5xx, 429 (``retry_after`` carried when given)
        └── SessionExpired           LOGIN_REQUIRED or a 303 to the login page

Every error carries its context as attributes (``source``, ``sheet``, ``line``, ``column``,
``key``, ``code``) so renderers can place it; messages never contain secrets.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "EndpointUnsupported",
    "FatalError",
    "InputFileError",
    "InvalidRow",
    "IredMigrateError",
    "RejectedByServer",
    "RetriableError",
    "RowError",
    "ServerError",
    "SessionExpired",
    "TargetUnavailable",
    "TransportError",
    "UsageError",
]


class IredMigrateError(Exception):
    """Root of every error raised by iredmigrate.

    Args:
        message: Human readable text; never contains a secret.
        code: Machine readable code (an API ``_msg`` code or one of ours).
        hint: How to fix it, when we know.
        source: Input file the problem comes from.
        sheet: Sheet name (XLSX) when there is one.
        line: 1-based line (CSV/LDIF) or row (XLSX) number.
        column: Column header or attribute name.
        key: Account key (email or domain) when known.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        hint: str = "",
        source: str | None = None,
        sheet: str | None = None,
        line: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint
        self.source = source
        self.sheet = sheet
        self.line = line
        self.column = column
        self.key = key
        #: HTTP requests it took to get this error (set by the API client).
        self.attempts = 0

    def location(self) -> str:
        """Return ``file:sheet:line column`` with the parts that are known."""
        parts = [p for p in (self.source, self.sheet, None if self.line is None else str(self.line)) if p]
        where = ":".join(parts)
        if self.column:
            where = f"{where} column {self.column}" if where else f"column {self.column}"
        return where

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.code:
            text += f" ({self.code})"
        return text


class FatalError(IredMigrateError):
    """The run cannot proceed; the CLI exits 1."""


class UsageError(FatalError):
    """The command line is wrong; the CLI exits 2."""


class ConfigError(FatalError):
    """A mapping profile or target setting cannot be used."""


class InputFileError(FatalError):
    """A whole input file cannot be read."""


class AuthError(FatalError):
    """The server refused our login."""


class TargetUnavailable(FatalError):
    """The server stayed unreachable after all retries."""


class EndpointUnsupported(FatalError):
    """The server answered a plain 404/405: its edition or release has no such endpoint."""


class RowError(IredMigrateError):
    """A single row is bad or was rejected; record it and go on."""


class InvalidRow(RowError):
    """The row failed local validation and was never sent."""


class RejectedByServer(RowError):
    """The API answered with a permanent error code."""


class RetriableError(IredMigrateError):
    """A transient fault: retry with backoff.

    Args:
        message: Human readable text.
        retry_after: Seconds the server asked us to wait (HTTP ``Retry-After``), if any.
        **kwargs: Context attributes, as for :class:`IredMigrateError`.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class TransportError(RetriableError):
    """Connection refused or reset, timeout, dropped connection."""


class ServerError(RetriableError):
    """HTTP 5xx or 429 from the server."""


class SessionExpired(RetriableError):
    """The session is gone (LOGIN_REQUIRED or a redirect to the login page)."""
