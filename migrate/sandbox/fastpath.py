"""A lean HTTP/1.1 path for the sandbox's everyday API requests, with aiohttp behind it for the rest.

In the import benchmark aiohttp's web layer (request and response objects, router, middleware
chain, a task per request) took about a third of the sandbox's CPU per request, as much as the
endpoints themselves, and that CPU sits in every round trip. So each accepted connection starts
on :class:`FastApi`'s protocol, which reads plain keep-alive HTTP/1.1 requests for the API
routes, runs the endpoint synchronously (:func:`migrate.sandbox.app.run_route`, shared with the
aiohttp app) and writes the reply bytes itself, held back by a timer for the injected latency.

It only takes what it can answer exactly as the aiohttp app would. The first request it does
not take on (a fault could fire, a path outside the routing table or with a trailing slash or
escapes, a chunked, multipart or oversized body, a cookie header that needs a full parse,
anything but HTTP/1.1, the control endpoint, the web pages...) hands the connection over, with
its unread bytes, to aiohttp's request handler for good. That decision is made before the
request is counted or draws its random numbers, so counters and the seeded fault sequence are
the same whichever side serves a request.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import socket
import time
from collections.abc import Callable, Iterable
from typing import cast

from aiohttp.http import SERVER_SOFTWARE
from yarl import query_to_pairs

from migrate.sandbox.app import SESSION_EXPIRED_PAGE, cookie_name, encode_reply, lone_cookie, run_route
from migrate.sandbox.config import API_PREFIX
from migrate.sandbox.context import AppState, Reply, fail
from migrate.sandbox.faults import Faults, generic_template
from migrate.sandbox.release import Hold, ReleaseClock
from migrate.sandbox.routes import Edition, Route

__all__ = ["FastApi", "RouteTable", "compile_path", "literal_parts"]

_log = logging.getLogger(__name__)

# Same limits as the aiohttp app: the form body size and field count it accepts.
_MAX_BODY = 64 * 1024 * 1024
_MAX_FIELDS = 1000
# A longer head is not ours to judge: aiohttp answers it (431/400).
_MAX_HEAD = 8190
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
_FORM_TYPES = frozenset({"", "application/x-www-form-urlencoded"})
# Headers whose presence means semantics this path does not implement.
_FOREIGN_HEADERS = frozenset({"transfer-encoding", "expect", "upgrade", "content-encoding"})
_WATCHED = frozenset({"content-length", "content-type", "cookie", "connection"}) | _FOREIGN_HEADERS
# aiohttp splits a route path the same way: placeholders may hold one level of braces.
_PLACEHOLDER = re.compile(r"(\{[_a-zA-Z][^{}]*(?:\{[^{}]*\}[^{}]*)*\})")
_DEFAULT_SEGMENT = "[^{}/]+"
_SERVER = f"Server: {SERVER_SOFTWARE}\r\n".encode("ascii")
_JSON = b"Content-Type: application/json\r\n"
_TEXT = b"Content-Type: text/plain; charset=utf-8\r\n"


# A reply's status line, header lines before the content type, content type line, body and
# header lines after the length.
_Answer = tuple[bytes, bytes, bytes, bytes, bytes]


class _HandOver(Exception):
    """The request is not for this path: aiohttp takes the connection from here."""


def literal_parts(path: str) -> tuple[str, ...]:
    """Return the literal text between the placeholders of an aiohttp route path (non-empty parts).

    A path the route's pattern matches contains each of them: a part missing from a path rules
    the pattern out without running it.
    """
    return tuple(part for part in _PLACEHOLDER.split(path) if part and not _PLACEHOLDER.fullmatch(part))


def compile_path(path: str) -> tuple[re.Pattern[str], str]:
    """Compile an aiohttp route path into a full-match pattern and its canonical template.

    Args:
        path: Such as ``/iredadmin/api/user/{mail:[^/@]*@...}``.

    Returns:
        The pattern with a named group per placeholder, and the template aiohttp reports
        (``/iredadmin/api/user/{mail}``), which the request counters use.
    """
    pattern: list[str] = []
    canonical: list[str] = []
    for part in _PLACEHOLDER.split(path):
        if _PLACEHOLDER.fullmatch(part):
            name, _, regex = part[1:-1].partition(":")
            pattern.append(f"(?P<{name}>{regex or _DEFAULT_SEGMENT})")
            canonical.append("{" + name + "}")
        else:
            pattern.append(re.escape(part))
            canonical.append(part)
    return re.compile("".join(pattern)), "".join(canonical)


class RouteTable:
    """The API routes of an edition, found by method and path.

    Args:
        routes: The edition's routes (paths below :data:`API_PREFIX`).
    """

    def __init__(self, routes: Iterable[Route]) -> None:
        # Keyed by the resource segment after the prefix, so a lookup tries a handful of patterns.
        self._by_resource: dict[str, list[tuple[re.Pattern[str], str, dict[str, Route], tuple[str, ...]]]] = {}
        paths: dict[str, dict[str, Route]] = {}
        for route in routes:
            paths.setdefault(route.path, {})[route.method] = route
        for path, methods in paths.items():
            resource = path.split("/", 2)[1]
            pattern, canonical = compile_path(API_PREFIX + path)
            # The prefix up to the resource is in every path looked up under it; the rest (such
            # as "/keep_mailbox_days/") rules most patterns out cheaper than the regex would.
            needles = literal_parts(path)[1:]
            self._by_resource.setdefault(resource, []).append((pattern, canonical, methods, needles))

    def matches_any(self, path: str) -> bool:
        """Tell whether any route's path pattern matches ``path``, whatever its method."""
        resource = path[len(API_PREFIX) + 1 :].split("/", 1)[0]
        return any(pattern.fullmatch(path) for pattern, _, _, _ in self._by_resource.get(resource, ()))

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str], str] | None:
        """Return the route, its path parameters and its template; ``None`` unless exactly one path matches.

        A path two patterns match, or one without ``method``, is left to aiohttp's router.
        """
        if not path.startswith(API_PREFIX + "/"):
            return None
        resource = path[len(API_PREFIX) + 1 :].split("/", 1)[0]
        found: tuple[re.Match[str], str, dict[str, Route]] | None = None
        for pattern, canonical, methods, needles in self._by_resource.get(resource, ()):
            match = None
            for needle in needles:
                if needle not in path:
                    break
            else:
                match = pattern.fullmatch(path)
            if match is not None:
                if found is not None:
                    return None
                found = (match, canonical, methods)
        if found is None:
            return None
        match, canonical, methods = found
        route = methods.get(method)
        if route is None:
            return None
        return route, match.groupdict(), canonical


class FastApi:
    """Protocol factory for the sandbox's listening socket.

    Args:
        state: The shared state.
        faults: The fault injector (counters, seeded draws, latency).
        parts: The edition served.
        fallback: Returns a fresh aiohttp request handler (the app runner's ``server``) for
            connections handed over.
    """

    def __init__(
        self, state: AppState, faults: Faults, parts: Edition, fallback: Callable[[], asyncio.BaseProtocol]
    ) -> None:
        self.state = state
        self.faults = faults
        self.parts = parts
        self.routes = RouteTable(parts.routes)
        self.cookie = cookie_name(state)
        self.fallback = fallback
        self.handed_over = 0
        self._connections: set[_Connection] = set()
        self._held: set[_Connection] = set()
        self._date_second = -1
        self._date = b""
        self._clock: ReleaseClock | None = None
        faults.held_elsewhere = self.held

    def __call__(self) -> asyncio.Protocol:
        """Return the protocol for a new connection."""
        return _Connection(self)

    def clock(self) -> ReleaseClock:
        """Return the clock that releases held replies (made on the loop at first use)."""
        if self._clock is None:
            self._clock = ReleaseClock(asyncio.get_running_loop())
        return self._clock

    def held(self) -> int:
        """Return how many replies are waiting out their injected latency."""
        return len(self._held)

    def date_header(self) -> bytes:
        """Return the ``Date`` header line, formatted once a second."""
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = f"Date: {email.utils.formatdate(now, usegmt=True)}\r\n".encode("ascii")
        return self._date

    def close(self) -> None:
        """Send the replies still held (their work is done) and close this path's connections."""
        for connection in list(self._connections):
            connection.shut()
        if self._clock is not None:
            self._clock.close()
            self._clock = None


class _Connection(asyncio.Protocol):
    """One client connection until it is handed over (if ever)."""

    def __init__(self, api: FastApi) -> None:
        self._api = api
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._remote = ""
        self._hold: Hold | None = None
        self._reply = b""
        self._close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        # As aiohttp's ``request.remote`` (and the app's ``or ""``).
        self._remote = str(peer[0]) if isinstance(peer, list | tuple) else str(peer) if peer else ""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Replies are single writes: never let Nagle hold one back (aiohttp sets this too).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._api._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._api._connections.discard(self)
        if self._hold is not None:
            # The client left while its reply was held: the work is done, nothing to send.
            self._hold.cancel()
            self._hold = None
            self._api._held.discard(self)
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._hold is None:
            self._serve()

    def _serve(self) -> None:
        # One request at a time per connection, as HTTP/1.1 wants replies in order: the next
        # is parsed only once the previous reply has left.
        while self._transport is not None and self._hold is None and self._buffer:
            try:
                if not self._serve_one():
                    return
            except _HandOver:
                self._hand_over()
                return
            except Exception:  # a bug here must not take the whole server down
                _log.exception("the sandbox's lean HTTP path failed")
                self._write(
                    (b"HTTP/1.1 500 Internal Server Error\r\n", b"", _TEXT, b"500 Internal Server Error\n", b""), True
                )
                return

    def _serve_one(self) -> bool:
        """Answer the request at the head of the buffer; ``False`` while it is incomplete."""
        api = self._api
        clock = api.clock()
        clock.run_due()  # replies already due leave before this request's handler runs
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > _MAX_HEAD:
                raise _HandOver
            return False
        try:
            head = buffer[:end].decode("ascii")
        except UnicodeDecodeError:
            raise _HandOver from None
        request_line, *lines = head.split("\r\n")
        method, target = _split_request_line(request_line)
        headers = _parse_headers(lines)
        length = _content_length(headers.get("content-length"))
        total = end + 4 + length
        if len(buffer) < total:
            return False
        connection = headers.get("connection", "keep-alive").lower()
        if connection not in ("keep-alive", "close"):
            raise _HandOver
        path, _, query = target.partition("?")
        if "%" in target or "#" in target or "//" in path or "/." in path or path.endswith("/"):
            raise _HandOver  # escapes, dot segments and redirects: aiohttp's URL rules apply
        found = api.routes.find(method, path)
        route: Route | None
        if found is not None:
            route, match, template = found
        elif path.startswith(API_PREFIX + "/") and not api.routes.matches_any(path):
            # No API route has this path (the edition lacks the endpoint, or a malformed
            # address): the plain 404 clients probe editions with, counted as aiohttp counts it.
            route, match, template = None, {}, generic_template(path)
        else:
            raise _HandOver  # a 405 (Allow lists the methods) or a path two routes match
        params = dict(query_to_pairs(query)) if query else {}
        if method in _BODY_METHODS and length:
            if headers.get("content-type", "").lower() not in _FORM_TYPES:
                raise _HandOver
            try:
                form = bytes(buffer[end + 4 : total]).rstrip().decode("utf-8")
                params.update(query_to_pairs(form, max_fields=_MAX_FIELDS))
            except ValueError:  # not UTF-8, or too many fields: aiohttp's 400/500
                raise _HandOver from None
        cookie = headers.get("cookie")
        sid = lone_cookie(cookie, api.cookie) if cookie else None
        if cookie and sid is None:
            raise _HandOver
        # Past this point the request is ours: it is counted and takes its random draws.
        delay = api.faults.plain_delay(method, template)
        if delay is None:
            raise _HandOver
        del buffer[:total]
        close = connection == "close"
        answer = self._answer(route, match, params, sid, method, path)
        clock.run_due()  # and those that fell due while it ran
        if delay > 0.0:
            self._reply = self._response(answer, close)
            self._close_after = close
            # Counted from the end of the handler: the latency stands for the network's round
            # trip, which starts only once the server has its reply.
            self._hold = clock.call_at(time.monotonic() + delay, self._release)
            api._held.add(self)
            return False
        self._write(answer, close)
        return not close

    def _answer(
        self,
        route: Route | None,
        match: dict[str, str],
        params: dict[str, str],
        sid: str | None,
        method: str,
        path: str,
    ) -> _Answer:
        """Return the parts of the reply (see :data:`_Answer`)."""
        state = self._api.state
        session = state.sessions.get(sid) if sid else None
        if session is not None and session.ip != self._remote:
            state.sessions.drop(session.sid)
            return _see_other(SESSION_EXPIRED_PAGE)
        if route is None:  # after the session check, before the allow-list, as in the app
            return b"HTTP/1.1 404 Not Found\r\n", b"", _TEXT, b"not found", b""
        outcome: Reply | str
        if not state.client_allowed(self._remote):
            outcome = fail("NOT_AUTHORIZED")
        else:
            outcome = run_route(
                state, route, self._api.parts, match, params, session, self._remote, method=method, path=path
            )
        if isinstance(outcome, str):
            return _see_other(outcome)
        trail = b""
        if outcome.cookie:
            # What aiohttp's set_cookie(path="/", httponly=True, samesite="Strict") writes.
            cookie = f"Set-Cookie: {self._api.cookie}={outcome.cookie}; HttpOnly; Path=/; SameSite=Strict\r\n"
            trail = cookie.encode("ascii")
        return b"HTTP/1.1 200 OK\r\n", b"", _JSON, encode_reply(state, outcome), trail

    def _response(self, answer: _Answer, close: bool) -> bytes:
        # Header order as aiohttp writes them, so both paths' replies look alike.
        status, lead, content_type, body, trail = answer
        length = b"Content-Length: %d\r\n" % len(body)
        end = b"Connection: close\r\n\r\n" if close else b"\r\n"
        return b"".join((status, lead, content_type, length, trail, self._api.date_header(), _SERVER, end, body))

    def _write(self, answer: _Answer, close: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        transport.write(self._response(answer, close))
        if close:
            transport.close()

    def _release(self) -> None:
        self._hold = None
        self._api._held.discard(self)
        reply, self._reply = self._reply, b""
        transport = self._transport
        if transport is None:
            return
        transport.write(reply)
        if self._close_after:
            transport.close()
            return
        self._serve()

    def shut(self) -> None:
        """Shutting down: send a held reply now, then close."""
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
            self._api._held.discard(self)
            if self._transport is not None:
                self._transport.write(self._reply)
        if self._transport is not None:
            self._transport.close()

    def _hand_over(self) -> None:
        transport = self._transport
        if transport is None:
            return
        api = self._api
        api._connections.discard(self)
        api.handed_over += 1
        self._transport = None
        protocol = api.fallback()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        data, self._buffer = bytes(self._buffer), bytearray()
        if data:
            cast(asyncio.Protocol, protocol).data_received(data)


def _see_other(location: str) -> _Answer:
    return b"HTTP/1.1 303 See Other\r\n", f"Location: {location}\r\n".encode("ascii"), _TEXT, b"", b""


def _split_request_line(line: str) -> tuple[str, str]:
    parts = line.split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1" or parts[0] not in _METHODS or not parts[1].startswith("/"):
        raise _HandOver
    return parts[0], parts[1]


def _parse_headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        # Folded lines, odd names and control characters are left to aiohttp's strict parser.
        if not sep or not name or not line.isprintable() or name != name.strip() or " " in name:
            raise _HandOver
        key = name.lower()
        if key in _WATCHED:
            if key in headers or key in _FOREIGN_HEADERS:
                raise _HandOver
            headers[key] = value.strip(" ")
    return headers


def _content_length(value: str | None) -> int:
    if value is None:
        return 0
    if not value.isdigit() or not value.isascii() or len(value) > 9:
        raise _HandOver
    length = int(value)
    if length > _MAX_BODY:
        raise _HandOver
    return length
