"""Http11Transport against a scripted raw-socket server on 127.0.0.1: framing, keep-alive, errors."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from migrate.client import ApiClient
from migrate.client_transport import Http11Transport

# What the server does with one request: the bytes to send back, and whether to close after.
Script = Callable[[bytes, int], tuple[bytes, bool]]


def reply(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = "".join(f"{line}\r\n" for line in headers)
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


def sized(body: bytes, *headers: str) -> bytes:
    return reply(body, f"Content-Length: {len(body)}", *headers)


class RawServer:
    """Reads whole requests (head plus Content-Length body) and answers as the script says."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + (await reader.readexactly(length) if length else b"")
                self.requests.append(request)
                data, close = self.script(request, len(self.requests))
                if data:
                    writer.write(data)
                    await writer.drain()
                if close:
                    return
        finally:
            writer.close()


def run(script: Script, body: Callable[[RawServer, Http11Transport], Awaitable[Any]], **options: Any) -> Any:
    async def main() -> Any:
        async with RawServer(script) as server:
            transport = Http11Transport(**options)
            try:
                return await body(server, transport)
            finally:
                await transport.aclose()

    return asyncio.run(main())


async def get(transport: Http11Transport, url: str, method: str = "GET", **kw: Any) -> httpx.Response:
    response = await transport.handle_async_request(httpx.Request(method, url, **kw))
    await response.aread()  # as httpx.AsyncClient does
    return response


def test_sized_replies_share_one_connection_and_the_request_is_plain_http11() -> None:
    def script(request: bytes, n: int) -> tuple[bytes, bool]:
        return sized(b'{"n": %d}' % n, "Content-Type: application/json"), False

    async def body(server: RawServer, transport: Http11Transport) -> None:
        first = await get(transport, server.url + "/api/user/a@example.com?x=1", headers={"Cookie": "s=1"})
        second = await get(transport, server.url + "/api/user/b", method="POST", content=b"name=B")
        assert (first.status_code, first.json(), second.json()) == (200, {"n": 1}, {"n": 2})
        assert first.headers["content-type"] == "application/json"
        assert server.connections == 1
        head, _, _ = server.requests[0].partition(b"\r\n")
        assert head == b"GET /api/user/a@example.com?x=1 HTTP/1.1"
        assert b"\r\nCookie: s=1\r\n" in server.requests[0]
        assert b"\r\nHost: 127.0.0.1:" in server.requests[0]
        assert server.requests[1].endswith(b"Content-Length: 6\r\n\r\nname=B")

    run(script, body)


def test_chunked_gzip_and_read_to_close_bodies() -> None:
    packed = gzip.compress(b'{"ok": true}')

    def script(request: bytes, n: int) -> tuple[bytes, bool]:
        if n == 1:  # chunks split oddly, an extension and a trailer
            chunks = b"3;ext=1\r\nabc\r\n0a\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
            return reply(chunks, "Transfer-Encoding: chunked"), False
        if n == 2:
            return sized(packed, "Content-Encoding: gzip"), False
        return reply(b"until the end", "Connection: close"), True

    async def body(server: RawServer, transport: Http11Transport) -> None:
        assert (await get(transport, server.url + "/a")).content == b"abc0123456789"
        assert (await get(transport, server.url + "/b")).json() == {"ok": True}
        assert (await get(transport, server.url + "/c")).content == b"until the end"
        assert server.connections == 1
        assert (await get(transport, server.url + "/d")).content == b"until the end"
        assert server.connections == 2  # the read-to-close connection was not reused

    run(script, body)


def test_interim_and_bodiless_replies() -> None:
    def script(request: bytes, n: int) -> tuple[bytes, bool]:
        if n == 1:
            return reply(b"", status="100 Continue") + sized(b"done"), False
        if n == 2:
            return reply(b"", "Location: /iredadmin/login", "Content-Length: 0", status="303 See Other"), False
        return reply(b"", "Content-Length: 99"), False  # HEAD: the length is not followed by a body

    async def body(server: RawServer, transport: Http11Transport) -> None:
        assert (await get(transport, server.url + "/a")).content == b"done"
        redirect = await get(transport, server.url + "/b")
        assert (redirect.status_code, redirect.headers["location"]) == (303, "/iredadmin/login")
        assert (await get(transport, server.url + "/c", method="HEAD")).status_code == 200
        assert server.connections == 1

    run(script, body)


def test_a_stale_kept_alive_connection_is_retried_for_idempotent_methods_only() -> None:
    def script(request: bytes, n: int) -> tuple[bytes, bool]:
        if n in (2, 4):
            return b"", True  # the server drops the kept-alive connection without answering
        return sized(b"ok"), False

    async def body(server: RawServer, transport: Http11Transport) -> None:
        assert (await get(transport, server.url + "/a")).content == b"ok"
        assert (await get(transport, server.url + "/b", method="PUT", content=b"x")).content == b"ok"
        assert len(server.requests) == 3  # request 2 dropped, sent again on a fresh connection
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await get(transport, server.url + "/c", method="POST", content=b"x")
        assert len(server.requests) == 4  # a POST is never sent twice by the transport

    run(script, body)


def test_garbage_timeouts_and_refused_connections() -> None:
    def script(request: bytes, n: int) -> tuple[bytes, bool]:
        if n == 1:
            return b"SSH-2.0-OpenSSH_9.6\r\n\r\n", False
        return b"", False  # never answers

    async def body(server: RawServer, transport: Http11Transport) -> None:
        with pytest.raises(httpx.RemoteProtocolError, match="not an HTTP"):
            await get(transport, server.url + "/a")
        with pytest.raises(httpx.ReadTimeout):
            await get(transport, server.url + "/b")
        with pytest.raises(httpx.ConnectError):
            await get(transport, "http://127.0.0.1:9/c")  # discard port: nobody listens
        with pytest.raises(httpx.UnsupportedProtocol):
            await get(transport, "ftp://127.0.0.1/d")

    run(script, body, read_timeout=0.2)


def test_api_client_talks_through_it() -> None:
    cookie = "iRedAdmin-Pro-MYSQL=0123abcd"

    def script(request: bytes, n: int) -> tuple[bytes, bool]:
        if request.startswith(b"POST /iredadmin/api/login "):
            return sized(b'{"_success": true}', f"Set-Cookie: {cookie}; Path=/"), False
        assert f"\r\nCookie: {cookie}\r\n".encode() in request
        return sized(b'{"_success": true, "_data": {"mail": "a@example.com"}}'), False

    async def body(server: RawServer, transport: Http11Transport) -> None:
        async with ApiClient(server.url + "/iredadmin/api", "postmaster@example.com", "pw") as client:
            reply = await client.call("GET", "/user/a@example.com")
            assert reply.data == {"mail": "a@example.com"}
            reply = await client.call("PUT", "/user/a@example.com", data={"name": "A b", "active": True})
            assert reply.ok
        assert server.requests[0].endswith(b"username=postmaster%40example.com&password=pw")
        assert server.requests[2].endswith(b"\r\n\r\nname=A+b&active=yes")

    run(script, body)


class _Wrapped(httpx.AsyncBaseTransport):
    """The same transport behind httpx's interface only: the client then builds httpx requests."""

    def __init__(self) -> None:
        self.inner = Http11Transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _api_script(cookie: str) -> Script:
    def script(request: bytes, n: int) -> tuple[bytes, bool]:
        if request.startswith(b"POST /iredadmin/api/login "):
            return sized(b'{"_success": true}', f"Set-Cookie: {cookie}; Path=/"), False
        if request.startswith(b"GET /iredadmin/api/packed"):
            return sized(gzip.compress(b'{"_success": true, "_data": [1, 2]}'), "Content-Encoding: gzip"), False
        return sized(b'{"_success": true, "_data": {"n": %d}}' % n), False

    return script


def test_the_lean_path_puts_the_same_bytes_on_the_wire_as_httpx_requests() -> None:
    async def calls(client: ApiClient) -> list[object]:
        return [
            (await client.call("GET", "/user/a+b@example.com")).data,
            (await client.call("GET", "/users/example.com", params={"page": "2", "q": "x y"})).data,
            (await client.call("PUT", "/user/a+b@example.com", data={"name": "Ann Bé", "addAlias": ["x@e.com"]})).data,
            (await client.call("POST", "/user/c@example.com", data={"password": "Pw#1 &=x"})).data,
            (await client.call("DELETE", "/user/c@example.com", data={"keep_mailbox": True})).data,
            (await client.call("GET", "/packed")).data,  # gzip: decoded either way
        ]

    sent: dict[str, list[bytes]] = {}
    seen: dict[str, list[object]] = {}
    for name in ("lean", "httpx"):

        async def body(server: RawServer, unused: Http11Transport, name: str = name) -> None:
            transport = None if name == "lean" else _Wrapped()
            async with ApiClient(
                server.url + "/iredadmin/api", "postmaster@example.com", "Pw#Admin1", transport=transport
            ) as client:
                assert (client._lean is not None) == (name == "lean")
                seen[name] = await calls(client)
            host = server.url.removeprefix("http://").encode()
            sent[name] = [request.replace(host, b"HOST") for request in server.requests]

        run(_api_script("iRedAdmin-Pro-MYSQL=0123abcd"), body)
    assert sent["lean"] == sent["httpx"]
    assert len(sent["lean"]) == 7  # the login and six calls
    assert seen["lean"] == seen["httpx"]
    assert seen["lean"][-1] == [1, 2]


def test_the_lean_path_reports_transport_failures_as_the_httpx_path_does() -> None:
    from migrate.errors import TargetUnavailable
    from migrate.retry import RetryPolicy

    async def no_sleep(seconds: float) -> None:
        return None

    def script(request: bytes, n: int) -> tuple[bytes, bool]:
        if request.startswith(b"POST /iredadmin/api/login "):
            return sized(b'{"_success": true}', "Set-Cookie: iRedAdmin-Pro-MYSQL=0123abcd; Path=/"), False
        if b"/slow" in request:
            return b"", False  # never answers
        return b"", True  # drops the connection without a reply

    codes: dict[str, tuple[str | None, str | None]] = {}
    for name in ("lean", "httpx"):

        async def body(server: RawServer, unused: Http11Transport, name: str = name) -> None:
            transport = None if name == "lean" else _Wrapped()
            async with ApiClient(
                server.url + "/iredadmin/api",
                "postmaster@example.com",
                "Pw#Admin1",
                transport=transport,
                timeout=0.3,
                retry=RetryPolicy(max_attempts=2, sleep=no_sleep),
            ) as client:
                if transport is not None:
                    transport.inner._read_timeout = 0.3
                with pytest.raises(TargetUnavailable) as dropped:
                    await client.call("POST", "/user/a@example.com", data={"name": "A"})
                with pytest.raises(TargetUnavailable) as slow:
                    await client.call("GET", "/slow")
                codes[name] = (dropped.value.code, slow.value.code)

        run(script, body)
    assert codes["lean"] == codes["httpx"] == ("CONNECTION_ERROR", "TIMEOUT")


@pytest.mark.parametrize(
    "base",
    [
        "http://mail.test/iredadmin/api",
        "https://mail.test:8443/iredadmin/api",
        "http://mail.test/admin/x%20y/api",
        "http://mail.test",
        "http://mail.test/",
        "http://[::1]:8080/api/",
    ],
)
def test_the_lean_request_target_is_httpx_s_for_every_path(base: str) -> None:
    import random

    client = ApiClient(base, "postmaster@mail.test", "Pw#Admin1")
    paths = [
        "/user/a@example.com",
        "/user/a+b=c!d$e&f'g(h)i*j,k;l:m~n_o-p@example.com",
        "/user/ann bé@example.com",
        "/user/a%40b@example.com",
        "/user/50%@example.com",
        "/user/./x@example.com",
        "/user/../x@example.com",
        "/domain/admins/example.com",
        "/user/a#b@example.com",
        "/user/a?b@example.com",
        '/user/a"b<c>@example.com',
        "/users/example.com",
        "/x/.",
        "/x/..",
    ]
    chars = "ab.-_~!$&'()*+,;=:@/%? #[]\\\"<>é"
    rng = random.Random(7)
    paths += ["/user/" + "".join(rng.choice(chars) for _ in range(rng.randint(1, 12))) for _ in range(2000)]
    for path in paths:
        url = client.base_url + path
        wire = client._wire_request(b"GET", url, None, None, False)
        expected = httpx.URL(url).raw_path
        assert wire.split(b"\r\n", 1)[0] == b"GET " + expected + b" HTTP/1.1", path
