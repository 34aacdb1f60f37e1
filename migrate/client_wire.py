"""Wire format of the iRedAdmin-Pro API: request encoding, reply envelope, error classification.

Everything here is synchronous and free of session state, so :mod:`migrate.client` stays about
the session and the retries. Classification follows the API reference (§4, §11):

* success or a permanent ``_msg``: an :class:`ApiResponse` (the caller decides whether a failure
  raises :class:`~migrate.errors.RejectedByServer`);
* ``LOGIN_REQUIRED`` or a redirect to the login page: :class:`~migrate.errors.SessionExpired`;
* HTTP 5xx, 429, ``API_SERVER_NOT_REACHABLE`` or the ``repr()`` of a connection/timeout error:
  :class:`~migrate.errors.ServerError`; transport failures: :class:`~migrate.errors.TransportError`;
* a plain 404/405: :class:`~migrate.errors.EndpointUnsupported`; anything else that is not the
  API talking: :class:`UnexpectedResponse`.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlsplit

import httpx
import orjson

from migrate.errors import (
    AuthError,
    ConfigError,
    EndpointUnsupported,
    FatalError,
    RejectedByServer,
    ServerError,
    SessionExpired,
    TransportError,
)

__all__ = [
    "SERVER_EXCEPTION",
    "ApiResponse",
    "FormData",
    "FormValue",
    "HttpReply",
    "UnexpectedResponse",
    "aiohttp_transport",
    "certificate_error",
    "encode_form",
    "form_body",
    "key_from_path",
    "normalize_path",
    "parse_retry_after",
    "read_reply",
    "rejection",
    "scrub",
    "segment",
    "session_cookie",
    "split_codes",
    "ssl_context",
    "transport_error",
]

FormValue = str | int | bool | Sequence[str]
FormData = Mapping[str, FormValue]

#: Code given to a failure whose ``_msg`` is the ``repr()`` of a server-side exception.
SERVER_EXCEPTION = "SERVER_EXCEPTION"

_CODE_LIST = re.compile(r"[A-Z][A-Z0-9_]*(?:\s*,\s*[A-Z][A-Z0-9_]*)*")
_REPR = re.compile(r"[\w.]+\(.*\)", re.DOTALL)
# Fragments of the repr() texts of errors that go away by themselves (MySQL "server has gone
# away", LDAP SERVER_DOWN, socket timeouts, deadlocks...).
_TRANSIENT_WORDS = (
    "timeout",
    "timed out",
    "connection",
    "gone away",
    "server_down",
    "can't connect",
    "could not connect",
    "broken pipe",
    "temporarily unavailable",
    "deadlock",
    "unreachable",
)
_TRANSIENT_CODES = frozenset({"API_SERVER_NOT_REACHABLE"})
_MAX_MESSAGE = 300
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_HINTS = {
    "ALREADY_EXISTS": "the address or domain is already in use on the target",
    "INVALID_DOMAIN_NAME": "the domain does not exist on the target (or its name is malformed)",
    "NO_SUCH_ACCOUNT": "the account does not exist on the target",
    "PERMISSION_DENIED": "log in as a global admin, or as an admin of this domain",
    "NOT_AUTHORIZED": "add this machine's IP address to RESTFUL_API_CLIENTS on the server",
    "INVALID_CREDENTIALS": "check --admin and IREDADMIN_PASSWORD; the account must be an active admin",
    "EXCEEDED_DOMAIN_QUOTA_SIZE": "raise the domain quota or lower the mailbox quota",
    "EXCEEDED_DOMAIN_ACCOUNT_LIMIT": "raise the domain's account limit",
    "INVALID_PASSWORD_SCHEME": "send the hash with a supported {SCHEME} prefix, e.g. {CRYPT} or {SSHA512}",
}


class HttpReply(Protocol):
    """What reading a reply takes of it.

    An :class:`httpx.Response` with its body read has it, and so has the lean transport's
    :class:`~migrate.client_transport.Reply`.
    """

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        ...

    @property
    def headers(self) -> httpx.Headers:
        """The headers, case-insensitive."""
        ...

    @property
    def content(self) -> bytes:
        """The whole body, decoded."""
        ...


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """One API reply, read from either envelope dialect.

    Attributes:
        ok: ``_success`` (or the legacy ``success``).
        data: ``_data`` (or ``data``; ``setting`` for throttle GETs), ``None`` when absent.
        msg: ``_msg`` (or ``msg``), secrets scrubbed; ``None`` when absent.
        codes: ``msg`` split on commas (``PW_NO_LETTER,PW_NO_DIGIT_NUMBER`` gives two), or
            ``(SERVER_EXCEPTION,)`` when ``msg`` is an exception's text rather than codes.
        attempts: HTTP requests this call took (retries and the re-sent request included).
        status: HTTP status of the final reply.
    """

    ok: bool
    data: Any
    msg: str | None
    codes: tuple[str, ...]
    attempts: int
    status: int

    @property
    def code(self) -> str:
        """The codes joined again, as the server sent them (``""`` when there are none)."""
        return ",".join(self.codes)


class UnexpectedResponse(FatalError):
    """The reply is not the API talking: HTML, a stray redirect, an odd HTTP status."""


def encode_form(data: FormData) -> dict[str, str]:
    """Turn call parameters into form fields: bools to ``yes``/``no``, lists comma-joined.

    An empty list gives an empty value, which the API reads as "remove all" for reset
    parameters (``members=``, ``forwarding=``).
    """
    form: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, bool):  # before int: bool is an int
            form[name] = "yes" if value else "no"
        elif isinstance(value, str):
            form[name] = value
        elif isinstance(value, (int, float)):
            form[name] = str(value)
        else:
            form[name] = ",".join(str(item) for item in value)
    return form


# What quote_plus() leaves as it is: a form field made only of these is its own encoding.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def form_body(form: Mapping[str, str]) -> bytes:
    """Return ``urllib.parse.urlencode(form)`` as bytes, sooner for the plain fields most forms hold."""
    plain = _UNRESERVED.fullmatch
    return "&".join(
        f"{name if plain(name) else quote_plus(name)}={value if plain(value) else quote_plus(value)}"
        for name, value in form.items()
    ).encode("ascii")


def normalize_path(path: str) -> str:
    """Return ``path`` with one leading slash and no trailing one (the API redirects those)."""
    return "/" + path.strip("/")


def segment(value: str) -> str:
    """Quote one path segment (an address or a domain) so it cannot add segments."""
    return quote(value, safe="@+")


def key_from_path(path: str) -> str | None:
    """Return the account a path is about: the first address, else the domain, else ``global``."""
    parts = [unquote(p) for p in path.split("/")[2:] if p]
    for part in parts:
        if "@" in part:
            return part
    for part in parts:
        if "." in part:
            return part
    return "global" if "global" in parts else None


def split_codes(msg: str) -> tuple[str, ...]:
    """Split a ``_msg`` into codes; an exception text is one ``SERVER_EXCEPTION``."""
    text = msg.strip()
    if _CODE_LIST.fullmatch(text):
        return tuple(code.strip() for code in text.split(","))
    return (SERVER_EXCEPTION,)


def _transient_msg(msg: str, codes: tuple[str, ...]) -> bool:
    if _TRANSIENT_CODES.intersection(codes):
        return True
    if codes != (SERVER_EXCEPTION,) or not _REPR.fullmatch(msg.strip()):
        return False
    lowered = msg.lower()
    return any(word in lowered for word in _TRANSIENT_WORDS)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text`` with ``***`` and cap its length."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return text


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def session_cookie(response: HttpReply) -> str | None:
    """Return the ``Cookie`` header value to send after a login, from its ``Set-Cookie`` lines."""
    pairs: dict[str, str] = {}
    for line in response.headers.get_list("set-cookie"):
        name, sep, value = line.split(";", 1)[0].partition("=")
        name, value = name.strip(), value.strip()
        if sep and name and value and value != "deleted":
            pairs[name] = value
    session = {k: v for k, v in pairs.items() if k.startswith("iRedAdmin")} or pairs
    return "; ".join(f"{k}={v}" for k, v in session.items()) or None


def _redirect(response: HttpReply, where: str, key: str | None, secrets: Iterable[str]) -> ApiResponse:
    location = response.headers.get("location", "")
    parts = urlsplit(location)
    msg = (parse_qs(parts.query).get("msg") or [""])[0]
    if "/login" in parts.path or msg in ("LOGIN_REQUIRED", "SESSION_EXPIRED"):
        raise SessionExpired(f"{where}: session expired (redirected to the login page)", code="LOGIN_REQUIRED", key=key)
    if msg:
        # e.g. /domains?msg=PERMISSION_DENIED: a refusal spelled as a redirect (§4.2).
        msg = scrub(msg, secrets)
        return ApiResponse(False, None, msg, split_codes(msg), 0, response.status_code)
    raise UnexpectedResponse(
        f"{where}: HTTP {response.status_code} redirect to {scrub(location, secrets)!r}",
        code=f"HTTP_{response.status_code}",
        key=key,
        hint="is --url the API base (https://HOST/iredadmin/api)?",
    )


def _envelope(response: HttpReply, where: str, key: str | None, secrets: Iterable[str]) -> ApiResponse:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        kind = response.headers.get("content-type", "no content type")
        raise UnexpectedResponse(
            f"{where}: expected a JSON object from the API, got {kind}",
            code="NOT_JSON",
            key=key,
            hint="is --url the API base (https://HOST/iredadmin/api) and the API enabled?",
        )
    ok = body["_success"] if "_success" in body else body.get("success")
    if not isinstance(ok, bool):
        raise UnexpectedResponse(f"{where}: the reply has no _success field", code="NO_ENVELOPE", key=key)
    raw = body["_msg"] if "_msg" in body else body.get("msg")
    msg = None if raw is None or raw == "" else scrub(str(raw), secrets)
    codes = split_codes(msg) if msg is not None else ()
    if "_data" in body:
        data = body["_data"]
    elif "data" in body:
        data = body["data"]
    else:
        data = body.get("setting")  # throttle GETs (§4.2)
    if not ok and msg is not None:
        if "LOGIN_REQUIRED" in codes:
            raise SessionExpired(f"{where}: session expired", code="LOGIN_REQUIRED", key=key)
        if _transient_msg(msg, codes):
            raise ServerError(f"{where}: server-side fault: {msg}", code=codes[0], key=key)
    return ApiResponse(ok, data, msg, codes, 0, response.status_code)


def read_reply(response: HttpReply, *, where: str, key: str | None, secrets: Iterable[str] = ()) -> ApiResponse:
    """Interpret one HTTP reply.

    Args:
        response: The reply, body read.
        where: ``METHOD /path`` for messages.
        key: Account the call is about, set on every error.
        secrets: Strings to scrub from any text taken from the reply.

    Returns:
        The envelope, ``ok`` or a permanent failure (``attempts`` left at 0 for the caller).

    Raises:
        SessionExpired: ``LOGIN_REQUIRED``, or a redirect to the login page.
        ServerError: HTTP 5xx/429 or a transient ``_msg``; ``retry_after`` from the header.
        EndpointUnsupported: a plain 404/405.
        AuthError: HTTP 401/403 (a proxy or web server refusing us).
        UnexpectedResponse: a body that is not the API's JSON, or a stray redirect or status.
    """
    status = response.status_code
    if status == 200:
        return _envelope(response, where, key, secrets)
    if status in _REDIRECTS:
        return _redirect(response, where, key, secrets)
    if status == 429 or status >= 500:
        raise ServerError(
            f"{where}: HTTP {status}",
            code=f"HTTP_{status}",
            key=key,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    if status in (404, 405):
        raise EndpointUnsupported(
            f"{where}: HTTP {status}: this server has no such endpoint",
            code=f"HTTP_{status}",
            key=key,
            hint="the API may be disabled (ENABLE_RESTFUL_API), the endpoint missing from this edition or "
            "release, or a path segment not a valid address or domain",
        )
    if status in (401, 403):
        raise AuthError(
            f"{where}: HTTP {status}: access refused before reaching the API",
            code=f"HTTP_{status}",
            key=key,
            hint="a web server or proxy in front of iRedAdmin refuses this client",
        )
    raise UnexpectedResponse(f"{where}: unexpected HTTP {status}", code=f"HTTP_{status}", key=key)


def rejection(reply: ApiResponse, where: str, key: str | None) -> RejectedByServer:
    """Build the :class:`RejectedByServer` for a failed reply."""
    if reply.codes == (SERVER_EXCEPTION,):
        return RejectedByServer(f"{where}: server-side error: {reply.msg}", code=SERVER_EXCEPTION, key=key)
    code = reply.code or "UNSPECIFIED"
    hint = _HINTS.get(reply.codes[0], "") if reply.codes else ""
    if not hint and reply.codes and reply.codes[0].startswith("PW_"):
        hint = "the password does not meet the domain's password policy"
    return RejectedByServer(f"{where}: rejected by the server", code=code, key=key, hint=hint)


def transport_error(exc: BaseException, where: str, key: str | None, secrets: Iterable[str] = ()) -> TransportError:
    """Translate an httpx/aiohttp/socket failure into our :class:`TransportError`."""
    # httpx-aiohttp files every aiohttp connection error under httpx.ConnectTimeout; the aiohttp
    # cause tells a dropped connection from a real timeout.
    aiohttp = sys.modules.get("aiohttp")  # not imported at all: no aiohttp error to look for
    cause = exc.__cause__ if aiohttp is not None and isinstance(exc.__cause__, aiohttp.ClientError) else exc
    timeout = isinstance(cause, httpx.TimeoutException | asyncio.TimeoutError)
    detail = scrub(f"{type(cause).__name__}: {cause}".rstrip(": "), secrets)
    return TransportError(f"{where}: {detail}", code="TIMEOUT" if timeout else "CONNECTION_ERROR", key=key)


def certificate_error(exc: BaseException, where: str, key: str | None) -> ConfigError | None:
    """Return a fatal error when ``exc`` comes from a failed TLS certificate check.

    Retrying cannot fix a certificate the client does not trust, so this is not transient.
    """
    seen: BaseException | None = exc
    for _ in range(8):  # the chain is short: httpx error <- aiohttp error (which is the SSL error)
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            reason = getattr(seen, "verify_message", "") or "certificate verify failed"
            return ConfigError(
                f"{where}: the server's TLS certificate is not trusted: {reason}",
                code="TLS_VERIFY_FAILED",
                key=key,
                hint="pass --ca-file with the CA that signed it, or --insecure to skip the check",
            )
        seen = seen.__cause__ or seen.__context__
    return None


def ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """Build the TLS context: verification on unless ``verify`` is false; ``ca_file`` trusted.

    Raises:
        ConfigError: ``ca_file`` cannot be read as PEM certificates.
    """
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if ca_file:
        try:
            return ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load CA certificates from {ca_file}: {exc}",
                code="BAD_CA_FILE",
                hint="give a PEM file with the CA that signed the server's certificate",
            ) from exc
    ctx = httpx.create_ssl_context()  # the certifi bundle httpx trusts...
    ctx.load_default_certs()  # ...plus the system store, where an internal CA is usually installed
    return ctx


def aiohttp_transport(ctx: ssl.SSLContext, connections: int) -> httpx.AsyncBaseTransport:
    """Return the httpx transport over aiohttp (bare httpx collapses at 16+ concurrent requests).

    aiohttp's own cookie jar is disabled: the client sends the session cookie itself. Not the
    client's default any more (see :mod:`migrate.client_transport`); kept for comparisons.
    """
    import aiohttp  # imported here: it costs 0.3 s of start-up, and the default transport needs none of it
    from httpx_aiohttp import AiohttpTransport

    def session() -> aiohttp.ClientSession:
        # Created lazily, inside the running loop, on the first request.
        connector = aiohttp.TCPConnector(ssl=ctx, limit=connections, limit_per_host=connections)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport: httpx.AsyncBaseTransport = AiohttpTransport(verify=ctx, limits=limits, client=session)
    return transport
