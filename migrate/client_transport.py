"""A lean HTTP/1.1 transport for httpx: keep-alive connections on asyncio protocols.

:class:`ApiClient <migrate.client.ApiClient>` speaks httpx (requests, responses, errors, the
transport interface); this module only moves the bytes. It replaces the httpx-over-aiohttp
transport because that one spent most of the client's CPU per request (aiohttp's request and
response objects, then httpx's streaming wrappers around them: about 0.3 ms a request on this
project's machine), and at 32 concurrent 20 ms requests the client has only 0.6 ms of wall time
per request in total. The API needs little of HTTP: one request at a time per connection,
replies with ``Content-Length``, chunked or read-to-close bodies, no upgrades, no redirects
followed, no cookies kept (the client sends its session cookie itself).

Errors are httpx's: :class:`httpx.ConnectError` / :class:`httpx.ConnectTimeout` when no
connection could be made (the ``ssl`` error as ``__cause__`` when the certificate check failed),
:class:`httpx.ReadTimeout` when the server stops answering, :class:`httpx.RemoteProtocolError`
when it closes the connection early or sends something that is not HTTP/1.x.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import cast

import httpx

__all__ = ["Http11Transport", "Origin", "Reply", "header_block", "request_bytes"]

_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS"})
_MAX_HEAD = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})

Origin = tuple[str, str, int]


class _Dropped(Exception):
    """The connection ended before a whole response arrived."""

    def __init__(self, received: bool, exc: BaseException | None) -> None:
        super().__init__("Server disconnected without sending a response." if not received else "incomplete response")
        self.received = received
        self.exc = exc


class _BadResponse(Exception):
    """Bytes that are not an HTTP/1.x response."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: a request is written, its response parsed as bytes arrive."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self._received = False
        self._head_only = False
        self._last_data = 0.0
        # the response being read
        self.status = 0
        self.reason = b""
        self.version = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.encoded = False  # a Content-Encoding other than identity: the body needs decoding
        self.keep_alive = True
        self._length: int | None = None  # bytes of body expected; None: chunked or to-close
        self._chunked = False
        self._chunks: list[bytes] = []
        self._pos = 0  # chunked: parse position in the buffer
        self._in_trailer = False
        self._head_done = False

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: the connection cannot be trusted any more
            return
        self._received = True
        self._last_data = self._loop.time()
        self._buffer += data
        try:
            finished = self._parse()
        except _BadResponse as exc:
            self.close()
            waiter.set_exception(exc)
            return
        if finished:
            waiter.set_result(None)

    def eof_received(self) -> bool | None:
        return None  # let the transport close; connection_lost finishes a read-to-close body

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._head_done and self._length is None and not self._chunked:
            self.body = bytes(self._buffer)  # read-to-close body: the close is its end
            self.keep_alive = False
            waiter.set_result(None)
        else:
            waiter.set_exception(_Dropped(self._received, exc))

    # --- requests ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (it is never reused afterwards)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, data: bytes, head_only: bool, read_timeout: float | None) -> None:
        """Write one request and wait for its whole response (in the attributes)."""
        assert self.transport is not None
        self._buffer.clear()
        self._received = False
        self._head_only = head_only
        self._head_done = False
        self._chunked = False
        self._chunks = []
        self._length = None
        self._pos = 0
        self._in_trailer = False
        self.keep_alive = True
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiter = waiter
        self._last_data = self._loop.time()
        timer = None if read_timeout is None else self._loop.call_later(read_timeout, self._check_idle, read_timeout)
        try:
            self.transport.write(data)
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _check_idle(self, read_timeout: float) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        idle = self._loop.time() - self._last_data
        if idle < read_timeout:  # data came meanwhile: the timeout runs from the last byte
            self._loop.call_later(read_timeout - idle, self._check_idle, read_timeout)
            return
        self.close()
        waiter.set_exception(TimeoutError())

    # --- parsing -------------------------------------------------------------------------------

    def _parse(self) -> bool:
        """Parse what has arrived; return whether the response is complete."""
        buffer = self._buffer
        while not self._head_done:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise _BadResponse("response header too large")
                return False
            self._read_head(bytes(buffer[:end]))
            del buffer[: end + 4]
        if self._chunked:
            return self._parse_chunks()
        if self._length is None:
            return False  # read to close
        if len(buffer) < self._length:
            return False
        self.body = bytes(buffer[: self._length])
        if len(buffer) > self._length:
            self.keep_alive = False  # more than the response: do not trust the connection
        return True

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or not code.isdigit():
            raise _BadResponse(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(code)
        headers: list[tuple[bytes, bytes]] = []
        length: int | None = None
        chunked = False
        encoded = False
        connection = b""
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise _BadResponse(f"malformed header line: {line[:80]!r}")
            name, value = name.strip(), value.strip()
            headers.append((name, value))
            lowered = name.lower()
            if lowered == b"content-length":
                if not value.isdigit():
                    raise _BadResponse(f"bad Content-Length: {value[:40]!r}")
                length = int(value)
            elif lowered == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lowered == b"connection":
                connection = value.lower()
            elif lowered == b"content-encoding":
                encoded = value.lower() not in (b"", b"identity")
        if 100 <= status < 200:
            return  # an interim response (100 Continue): the real one follows
        self._head_done = True
        self.status, self.reason, self.version, self.headers = status, reason, version, headers
        self.encoded = encoded
        self.keep_alive = b"close" not in connection and (version != b"HTTP/1.0" or b"keep-alive" in connection)
        if self._head_only or status in _NO_BODY_STATUS:
            self._length = 0
        elif chunked:
            self._chunked = True
        elif length is not None:
            self._length = length
        else:
            self.keep_alive = False

    def _parse_chunks(self) -> bool:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n", self._pos)
            if line_end < 0:
                return False
            line = bytes(buffer[self._pos : line_end])
            if self._in_trailer:  # after the last chunk: trailer lines up to an empty one
                self._pos = line_end + 2
                if not line:
                    self.body = b"".join(self._chunks)
                    if len(buffer) > self._pos:
                        self.keep_alive = False
                    return True
                continue
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadResponse(f"bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                self._in_trailer = True
                self._pos = line_end + 2
                continue
            end = line_end + 2 + size
            if len(buffer) < end + 2:
                return False
            if buffer[end : end + 2] != b"\r\n":
                raise _BadResponse("chunk not followed by CRLF")
            self._chunks.append(bytes(buffer[line_end + 2 : end]))
            self._pos = end + 2


def header_block(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Return header lines as they go on the wire, each ending in CRLF."""
    return b"".join(b"%s: %s\r\n" % (name, value) for name, value in headers)


def request_bytes(method: bytes, target: bytes, headers: bytes, body: bytes) -> bytes:
    """Return a whole HTTP/1.1 request: request line, ``headers`` (a :func:`header_block`), body."""
    return b"".join((method, b" ", target, b" HTTP/1.1\r\n", headers, b"\r\n", body))


class Reply:
    """A whole response as :meth:`Http11Transport.send` read it.

    It has what reading an API reply takes of an :class:`httpx.Response` (``status_code``,
    ``headers``, ``content``) without httpx's streaming machinery, whose async generators cost
    about a fifth of the client's CPU per request. A body with a ``Content-Encoding`` is still
    encoded here: :meth:`to_httpx` hands it to httpx to decode.

    Attributes:
        status_code: The HTTP status.
        raw_headers: The header lines as sent, in order.
        content: The body (still encoded when :attr:`encoded`).
        encoded: Whether a ``Content-Encoding`` other than identity applies to the body.
        http_version: E.g. ``b"HTTP/1.1"``.
        reason_phrase: E.g. ``b"OK"``.
    """

    __slots__ = ("_headers", "content", "encoded", "http_version", "raw_headers", "reason_phrase", "status_code")

    def __init__(
        self,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        content: bytes,
        *,
        encoded: bool = False,
        http_version: bytes = b"HTTP/1.1",
        reason_phrase: bytes = b"",
    ) -> None:
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.content = content
        self.encoded = encoded
        self.http_version = http_version
        self.reason_phrase = reason_phrase
        self._headers: httpx.Headers | None = None

    @property
    def headers(self) -> httpx.Headers:
        """The headers, case-insensitive (built on first use: most API replies never need them)."""
        if self._headers is None:
            self._headers = httpx.Headers(self.raw_headers)
        return self._headers

    def to_httpx(self, request: httpx.Request | None = None) -> httpx.Response:
        """Return the reply as an httpx response, body unread (``aread()`` decodes it)."""
        return httpx.Response(
            self.status_code,
            headers=self.raw_headers,
            stream=httpx.ByteStream(self.content),
            request=request,
            extensions={"http_version": self.http_version, "reason_phrase": self.reason_phrase},
        )


class Http11Transport(httpx.AsyncBaseTransport):
    """httpx transport: HTTP/1.1 over keep-alive asyncio connections, one request at a time each.

    Args:
        ssl_context: TLS settings for ``https`` URLs.
        max_connections: Connections open at once (requests beyond wait for one).
        connect_timeout: Seconds to open a connection, unless the request's ``timeout``
            extension says otherwise.
        read_timeout: Seconds without a byte from the server before giving up, likewise.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 10,
        connect_timeout: float | None = 10.0,
        read_timeout: float | None = 30.0,
    ) -> None:
        self._ssl = ssl_context
        self._slots = asyncio.Semaphore(max_connections)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return its response, body read."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        host = url.host
        port = url.port or (443 if scheme == "https" else 80)
        origin = (scheme, host, port)
        timeouts = request.extensions.get("timeout") or {}
        connect_timeout = timeouts.get("connect", self._connect_timeout)
        read_timeout = timeouts.get("read", self._read_timeout)
        method = request.method.encode("ascii")
        body = await request.aread()
        data = request_bytes(method, url.raw_path, header_block(request.headers.raw), body)
        reply = await self._round_trip(origin, data, method, connect_timeout, read_timeout, request)
        return reply.to_httpx(request)

    async def send(
        self,
        origin: Origin,
        data: bytes,
        *,
        method: bytes,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> Reply:
        """Send one request already written out as bytes and return its whole reply.

        The lean way in for a client that writes its own requests (:class:`migrate.client.ApiClient`):
        the same connections, timeouts, retries of stale connections and errors as
        :meth:`handle_async_request`, without building httpx requests and responses.

        Args:
            origin: ``(scheme, host, port)`` to send to.
            data: The request line, headers and body.
            method: The request's method (``HEAD`` replies have no body; idempotent methods may
                go again on a fresh connection when a kept-alive one turns out closed).
            connect_timeout: Seconds to open a connection.
            read_timeout: Seconds without a byte from the server before giving up.

        Raises:
            httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout,
            httpx.RemoteProtocolError: as :meth:`handle_async_request`.
        """
        if self._closed:
            raise RuntimeError("the transport is closed")
        return await self._round_trip(origin, data, method, connect_timeout, read_timeout, None)

    async def _round_trip(
        self,
        origin: Origin,
        data: bytes,
        method: bytes,
        connect_timeout: float | None,
        read_timeout: float | None,
        request: httpx.Request | None,
    ) -> Reply:
        async with self._slots:
            while True:
                conn = await self._connection(origin, request, connect_timeout)
                try:
                    await conn.exchange(data, method == b"HEAD", read_timeout)
                except _Dropped as exc:
                    self._forget(conn)
                    # A kept-alive connection the server had already closed: nothing was
                    # processed, so an idempotent request may go again on a fresh connection.
                    if conn.reused and not exc.received and method in _IDEMPOTENT:
                        continue
                    raise httpx.RemoteProtocolError(str(exc), request=request) from exc.exc
                except TimeoutError as exc:
                    self._forget(conn)
                    raise httpx.ReadTimeout("timed out waiting for the server", request=request) from exc
                except _BadResponse as exc:
                    self._forget(conn)
                    raise httpx.RemoteProtocolError(str(exc), request=request) from exc
                except BaseException:
                    self._forget(conn)  # cancelled mid-response: the connection is out of step
                    raise
                break
        # Taken before the connection goes back to the pool, where the next request resets it.
        reply = Reply(
            conn.status,
            conn.headers,
            conn.body,
            encoded=conn.encoded,
            http_version=conn.version,
            reason_phrase=conn.reason,
        )
        if conn.keep_alive and not conn.closed and not self._closed:
            conn.reused = True
            self._idle.setdefault(origin, []).append(conn)
        else:
            self._forget(conn)
        return reply

    async def _connection(self, origin: Origin, request: httpx.Request | None, timeout: float | None) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
            self._forget(conn)
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        factory: Callable[[], _Connection] = lambda: _Connection(loop)  # noqa: E731
        tls = self._ssl if scheme == "https" else None
        if scheme == "https" and tls is None:
            tls = ssl.create_default_context()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    factory, host, port, ssl=tls, server_hostname=host if tls is not None else None
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout} s", request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}", request=request) from exc
        self._open.add(conn)
        return conn

    def _forget(self, conn: _Connection) -> None:
        conn.close()
        self._open.discard(conn)

    async def aclose(self) -> None:
        """Close every connection."""
        self._closed = True
        for conn in list(self._open):
            self._forget(conn)
        self._idle.clear()
