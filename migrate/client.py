"""iRedAdmin-Pro API client: session, retries, concurrency and rate limits.

One :class:`ApiClient` serves every worker of a run. Each :meth:`ApiClient.call` goes through:

1. the shared :class:`~migrate.retry.RateLimiter` (when ``rate`` is set), then a semaphore of
   ``concurrency`` slots held only while a request is on the wire;
2. the reply reading of :mod:`migrate.client_wire` (envelope, classification);
3. on an expired session, one re-login and one re-send (per call); concurrent calls that all see
   the expiry log in once between them (a lock and a session generation counter);
4. on a transient fault, the :class:`~migrate.retry.RetryPolicy`; when it gives up,
   :class:`~migrate.errors.TargetUnavailable`.

The session cookie is taken from the login reply only and sent by hand: a late reply to a request
made with the old session carries a fresh *anonymous* cookie, and a shared cookie jar would let it
overwrite the session another worker has just logged in.

Transport: httpx requests and responses over :class:`~migrate.client_transport.Http11Transport`,
a lean keep-alive HTTP/1.1 transport (see ``bench/http_transport.py`` for the alternatives).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from migrate.client_endpoints import Endpoints
from migrate.client_transport import Http11Transport, Origin, Reply, header_block, request_bytes
from migrate.client_wire import (
    ApiResponse,
    FormData,
    UnexpectedResponse,
    certificate_error,
    encode_form,
    form_body,
    key_from_path,
    normalize_path,
    read_reply,
    rejection,
    session_cookie,
    ssl_context,
    transport_error,
)
from migrate.errors import (
    AuthError,
    ConfigError,
    EndpointUnsupported,
    RetriableError,
    SessionExpired,
    TargetUnavailable,
)
from migrate.retry import RateLimiter, RetryPolicy

__all__ = ["ApiClient", "ApiResponse", "ClientStats", "UnexpectedResponse"]

logger = logging.getLogger("migrate.client")

_QUERY_METHODS = frozenset({"GET", "DELETE", "HEAD"})  # the server reads no body on these (§4.3)
_NETWORK_ERRORS = (httpx.HTTPError, OSError, asyncio.TimeoutError)
_ACCEPT = (b"Accept", b"application/json")
_ACCEPT_ENCODING = (b"Accept-Encoding", b"gzip, deflate")
_USER_AGENT = (b"User-Agent", b"iredmigrate")
_FORM_TYPE = (b"Content-Type", b"application/x-www-form-urlencoded")
_URL_CACHE = 4096
# Path characters httpx puts on the wire as they are (RFC 3986 unreserved and sub-delims, ":",
# "@", "/"): a path made only of them, without dot segments, is its own wire form, and parsing
# it into an httpx.URL (about 40 us, once per account) is spared.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


@dataclass
class ClientStats:
    """Counters for reports and tests.

    Attributes:
        requests: HTTP requests sent, by method (logins count as ``POST``).
        calls: :meth:`ApiClient.call` invocations.
        attempts: HTTP requests made on behalf of calls (logins excluded).
        retries: Backoff retries after transient faults (logins included).
        logins: Successful logins, the first one included.
        relogins: Logins made because a session expired.
        login_requests: HTTP requests sent to ``/login`` (part of ``requests``).
        rejected: Calls the server refused with a permanent code.
    """

    requests: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    attempts: int = 0
    retries: int = 0
    logins: int = 0
    relogins: int = 0
    login_requests: int = 0
    rejected: int = 0

    @property
    def total_requests(self) -> int:
        """All HTTP requests sent."""
        return sum(self.requests.values())

    def writes(self) -> int:
        """Requests that may change something (POST, PUT, DELETE), logins excluded."""
        return sum(n for method, n in self.requests.items() if method not in _QUERY_METHODS) - self.login_requests


async def _read_whole(response: httpx.Response) -> httpx.Response:
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response


class _LazySecrets:
    """The secrets of a call, listed only if a reply's text has to be scrubbed (most have none)."""

    __slots__ = ("_form", "_list", "_values")

    def __init__(
        self, list_them: Callable[[Mapping[str, str] | None], list[str]], form: Mapping[str, str] | None
    ) -> None:
        self._list = list_them
        self._form = form
        self._values: list[str] | None = None

    def __iter__(self) -> Iterator[str]:
        if self._values is None:
            self._values = self._list(self._form)
        return iter(self._values)


@dataclass
class _Tries:
    attempts: int = 0
    relogged: bool = False


class ApiClient(Endpoints):
    """Async client for one iRedAdmin-Pro API endpoint and admin account.

    Args:
        base_url: API base, e.g. ``https://mail.example.com/iredadmin/api``.
        admin: Admin email address to log in as.
        password: The admin's password (kept private: not in repr, logs or errors).
        concurrency: Requests on the wire at once.
        rate: Requests per second across all workers; ``None`` for no limit.
        retry: Retry policy for transient faults (default :class:`RetryPolicy`).
        verify: Verify the server's TLS certificate; ``False`` only for an explicit ``--insecure``.
        ca_file: PEM file of the CA to trust instead of the default bundles.
        timeout: Seconds for connecting and for each read.
        transport: httpx transport to use instead of :class:`~migrate.client_transport.Http11Transport` (tests).

    Raises:
        ConfigError: a base URL that is not http(s), an unreadable ``ca_file``, bad limits.
    """

    def __init__(
        self,
        base_url: str,
        admin: str,
        password: str,
        *,
        concurrency: int = 8,
        rate: float | None = None,
        retry: RetryPolicy | None = None,
        verify: bool = True,
        ca_file: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = base_url.strip().rstrip("/")
        try:
            scheme = httpx.URL(url).scheme
        except httpx.InvalidURL as exc:
            raise ConfigError(f"bad API URL {url!r}: {exc}", code="BAD_URL") from exc
        if scheme not in ("http", "https"):
            raise ConfigError(
                f"bad API URL {url!r}: expected http:// or https://",
                code="BAD_URL",
                hint="e.g. --url https://mail.example.com/iredadmin/api",
            )
        if concurrency < 1:
            raise ConfigError("concurrency must be at least 1", code="BAD_CONCURRENCY")
        if rate is not None and rate <= 0:
            raise ConfigError("rate must be a positive number of requests per second", code="BAD_RATE")
        self.base_url = url
        self.admin = admin
        self.__password = password
        self.concurrency = concurrency
        self.rate = rate
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self._limiter = RateLimiter(rate, clock=self.retry.clock, sleep=self.retry.sleep) if rate else None
        self._slots = asyncio.Semaphore(concurrency)
        self._login_lock = asyncio.Lock()
        self._generation = 0  # bumped by every successful login; 0 = never logged in
        self.__cookie: str | None = None
        if transport is None:
            # No TLS context for plain http (loading the CA bundles costs 0.1 s of start-up),
            # but a --ca-file is always checked.
            tls = ssl_context(verify, ca_file) if scheme == "https" or ca_file else None
            transport = Http11Transport(
                ssl_context=tls,
                max_connections=concurrency + 2,
                connect_timeout=min(timeout, 10.0),
                read_timeout=timeout,
            )
        # Requests are built here and handed to the transport directly: httpx.AsyncClient's
        # build_request() and send() cost about 0.1 ms of CPU a request (URL merging, header
        # normalisation, redirect, auth and cookie-jar machinery we do not want: redirects are
        # read, never followed; the cookie is ours).
        self._transport = transport
        # With this project's own transport, requests go out as bytes and replies come back
        # whole (Http11Transport.send): httpx's request and response objects and their
        # streaming cost about a fifth of the client's CPU per request. Any other transport
        # (a test's httpx.MockTransport) gets httpx requests.
        self._lean = transport if isinstance(transport, Http11Transport) else None
        self._timeouts = {"connect": min(timeout, 10.0), "read": timeout, "write": timeout, "pool": timeout}
        self._urls: dict[str, httpx.URL] = {}
        parsed = httpx.URL(url)
        self._host = parsed.netloc
        self._origin: Origin = (scheme, parsed.host, parsed.port or (443 if scheme == "https" else 80))
        # The wire form of the base path, which every request path extends.
        self._base_path = None if parsed.query or parsed.fragment else parsed.raw_path.rstrip(b"/")
        self._headers: dict[tuple[str | None, bool], httpx.Headers] = {}
        self._heads: dict[tuple[str | None, bool], bytes] = {}

    def __repr__(self) -> str:
        return (
            f"ApiClient(base_url={self.base_url!r}, admin={self.admin!r}, "
            f"concurrency={self.concurrency}, rate={self.rate!r})"
        )

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._transport.aclose()

    @property
    def logged_in(self) -> bool:
        """Whether a login has succeeded."""
        return self._generation > 0

    # --- sending -------------------------------------------------------------------------------

    def _secrets(self, form: Mapping[str, str] | None) -> list[str]:
        found = [self.__password]
        if self.__cookie:
            found.extend(part.partition("=")[2] for part in self.__cookie.split("; "))
        if form:
            found.extend(v for k, v in form.items() if "password" in k.lower() and v)
        return found

    def _request(
        self, method: str, url: str, query: Mapping[str, str] | None, form: Mapping[str, str] | None, with_session: bool
    ) -> httpx.Request:
        cookie = self.__cookie if with_session else None
        template = self._headers.get((cookie, form is not None))
        if template is None:
            template = self._header_template(cookie, form is not None)
        headers = httpx.Headers(template)  # a plain list copy: the template is normalised already
        body = b""
        if form is not None:
            body = form_body(form)
            headers["Content-Length"] = str(len(body))
        # The body as a ready stream: httpx then skips its content encoding and header defaults
        # (Host and Content-Length are in the headers already).
        return httpx.Request(
            method,
            self._target(url, query),
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions={"timeout": self._timeouts},
        )

    def _target(self, url: str, query: Mapping[str, str] | None) -> httpx.URL:
        if query:
            return httpx.URL(url, params=query)
        # Each path is sent about three times (write, another write, read-back): parse it once.
        cached = self._urls.pop(url, None)
        target = cached if cached is not None else httpx.URL(url)
        if len(self._urls) >= _URL_CACHE:
            del self._urls[next(iter(self._urls))]
        self._urls[url] = target
        return target

    def _wire_request(
        self,
        method: bytes,
        url: str,
        query: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        with_session: bool,
    ) -> bytes:
        """The bytes :meth:`_request` would put on the wire through the same transport."""
        cookie = self.__cookie if with_session else None
        head = self._heads.get((cookie, form is not None))
        if head is None:
            template = self._headers.get((cookie, form is not None)) or self._header_template(cookie, form is not None)
            head = self._heads[(cookie, form is not None)] = header_block(template.raw)
            if len(self._heads) > 8:  # old sessions' header blocks
                self._heads = {(cookie, form is not None): head}
        body = b""
        if form is not None:
            body = form_body(form)
            head += b"Content-Length: %d\r\n" % len(body)
        path = url[len(self.base_url) :] if url.startswith(self.base_url) else "/."  # "/.": ask httpx
        if not query and self._base_path is not None and "/." not in path and _PLAIN_PATH.fullmatch(path):
            target = self._base_path + path.encode("ascii")
        else:
            target = self._target(url, query).raw_path
        return request_bytes(method, target, head, body)

    def _header_template(self, cookie: str | None, form: bool) -> httpx.Headers:
        raw = [(b"Host", self._host), _ACCEPT, _ACCEPT_ENCODING, _USER_AGENT]
        if cookie:
            raw.append((b"Cookie", cookie.encode("latin-1")))
        if form:
            raw.append(_FORM_TYPE)
        template = httpx.Headers(raw)
        if len(self._headers) > 8:  # old sessions' templates
            self._headers.clear()
        self._headers[(cookie, form)] = template
        return template

    async def _send(
        self,
        method: str,
        url: str,
        query: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        where: str,
        key: str | None,
        *,
        with_session: bool = True,
    ) -> httpx.Response | Reply:
        if self._limiter is not None:
            await self._limiter.acquire()
        self.stats.requests[method] += 1
        started = time.perf_counter()
        async with self._slots:
            try:
                response: httpx.Response | Reply
                if self._lean is not None:
                    verb = method.encode("ascii")
                    response = await self._lean.send(
                        self._origin,
                        self._wire_request(verb, url, query, form, with_session),
                        method=verb,
                        connect_timeout=self._timeouts["connect"],
                        read_timeout=self._timeouts["read"],
                    )
                    if response.encoded:  # gzip or deflate: httpx decodes it
                        response = await _read_whole(response.to_httpx())
                else:
                    request = self._request(method, url, query, form, with_session)
                    response = await _read_whole(await self._transport.handle_async_request(request))
            except _NETWORK_ERRORS as exc:
                fatal = certificate_error(exc, where, key)
                if fatal is not None:
                    raise fatal from exc
                error = transport_error(exc, where, key, self._secrets(form))
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("%s -> %s after %.1f ms", where, error.code, (time.perf_counter() - started) * 1e3)
                raise error from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s -> %d in %.1f ms", where, response.status_code, (time.perf_counter() - started) * 1e3)
        return response

    def _retry_hook(self, where: str) -> Callable[[BaseException, int, float], None]:
        def hook(exc: BaseException, attempt: int, delay: float) -> None:
            self.stats.retries += 1
            code = getattr(exc, "code", "") or type(exc).__name__
            logger.debug("%s: %s on attempt %d; retrying in %.2f s", where, code, attempt, delay)

        return hook

    def _gave_up(self, exc: RetriableError, where: str, key: str | None, attempts: int) -> TargetUnavailable:
        return TargetUnavailable(
            f"{where}: still failing after {attempts} attempt(s): {exc.message}",
            code=exc.code or "TARGET_UNAVAILABLE",
            key=key,
            hint="check that the server is up and reachable; lower --concurrency or --rate if it is overloaded",
        )

    # --- session -------------------------------------------------------------------------------

    async def login(self) -> None:
        """Log in (again) now.

        Raises:
            AuthError: the server refused the credentials or this client.
            EndpointUnsupported: no ``/login`` endpoint: the API is off or the URL is wrong.
            TargetUnavailable: transient faults outlasted the retry policy.
        """
        async with self._login_lock:
            await self._login_locked()

    async def _ensure_login(self) -> None:
        if self._generation == 0:
            async with self._login_lock:
                if self._generation == 0:
                    await self._login_locked()

    async def _relogin(self, generation: int) -> None:
        async with self._login_lock:
            # Whoever gets the lock first logs in; the others find the generation moved on.
            if self._generation == generation:
                self.stats.relogins += 1
                await self._login_locked()

    async def _login_locked(self) -> None:
        where = "POST /login"
        form = {"username": self.admin, "password": self.__password}
        secrets = [self.__password]
        attempts = 0

        async def attempt() -> str:
            nonlocal attempts
            attempts += 1
            self.stats.login_requests += 1
            # No old cookie: the server must start (and send us) a fresh session.
            response = await self._send(
                "POST", self.base_url + "/login", None, form, where, self.admin, with_session=False
            )
            try:
                reply = read_reply(response, where=where, key=self.admin, secrets=secrets)
            except SessionExpired as exc:
                raise AuthError(f"{where}: the login was redirected", code="LOGIN_REQUIRED", key=self.admin) from exc
            except EndpointUnsupported as exc:
                raise EndpointUnsupported(
                    f"{where}: HTTP {response.status_code}: no API login endpoint at {self.base_url}",
                    code=exc.code,
                    key=self.admin,
                    hint="enable the API (ENABLE_RESTFUL_API = True) and give the API base, "
                    "e.g. https://HOST/iredadmin/api",
                ) from exc
            if not reply.ok:
                refused = rejection(reply, where, self.admin)
                raise AuthError(f"login as {self.admin} refused", code=refused.code, key=self.admin, hint=refused.hint)
            cookie = session_cookie(response)
            if cookie is None:
                raise AuthError(
                    f"login as {self.admin} succeeded but the server set no session cookie",
                    code="NO_SESSION_COOKIE",
                    key=self.admin,
                )
            return cookie

        try:
            cookie = await self.retry.run(attempt, on_retry=self._retry_hook(where))
        except RetriableError as exc:
            raise self._gave_up(exc, where, self.admin, attempts) from exc
        self.__cookie = cookie
        self._generation += 1
        self.stats.logins += 1

    # --- calls ---------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        data: FormData | None = None,
        params: Mapping[str, str] | None = None,
        allow_failure: bool = False,
    ) -> ApiResponse:
        """Send one API call and read its reply.

        Args:
            method: HTTP method.
            path: Path under the base URL, e.g. ``/user/john@example.com`` (no trailing slash is
                ever sent).
            data: Parameters, form-encoded: lists comma-joined, bools ``yes``/``no``. On GET and
                DELETE they go to the query string (the server ignores those bodies).
            params: Extra query-string parameters.
            allow_failure: Return a permanent failure as ``ApiResponse(ok=False)`` instead of
                raising.

        Returns:
            The reply; ``attempts`` counts the HTTP requests it took.

        Raises:
            RejectedByServer: a permanent ``_msg`` (unless ``allow_failure``); never retried.
            EndpointUnsupported: a plain 404/405.
            AuthError: the login was refused, or the session died again right after a re-login.
            TargetUnavailable: transient faults outlasted the retry policy.
            UnexpectedResponse: the reply is not the API's.
        """
        method = method.upper()
        path = normalize_path(path)
        where = f"{method} {path}"
        key = key_from_path(path)
        url = self.base_url + path
        query = dict(params) if params else {}
        form = encode_form(data) if data is not None else None
        if form is not None and method in _QUERY_METHODS:
            query.update(form)
            form = None
        self.stats.calls += 1
        await self._ensure_login()
        tries = _Tries()

        async def attempt() -> ApiResponse:
            while True:
                generation = self._generation
                tries.attempts += 1
                response = await self._send(method, url, query or None, form, where, key)
                try:
                    return read_reply(response, where=where, key=key, secrets=_LazySecrets(self._secrets, form))
                except SessionExpired as exc:
                    if tries.relogged:
                        raise AuthError(
                            f"{where}: the session expired again right after a new login",
                            code="LOGIN_REQUIRED",
                            key=key,
                            hint="sessions are bound to the client IP: keep a stable source address",
                        ) from exc
                    tries.relogged = True
                    await self._relogin(generation)

        try:
            reply = await self.retry.run(attempt, on_retry=self._retry_hook(where))
        except RetriableError as exc:
            gave_up = self._gave_up(exc, where, key, tries.attempts)
            gave_up.attempts = tries.attempts
            raise gave_up from exc
        finally:
            self.stats.attempts += tries.attempts
        # Built directly: dataclasses.replace() looks the fields up again on every call.
        reply = ApiResponse(reply.ok, reply.data, reply.msg, reply.codes, tries.attempts, reply.status)
        if not reply.ok and not allow_failure:
            self.stats.rejected += 1
            error = rejection(reply, where, key)
            error.attempts = tries.attempts
            raise error
        return reply
