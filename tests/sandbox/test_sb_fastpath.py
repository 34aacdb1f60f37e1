"""The sandbox's lean HTTP path: same answers as the aiohttp app, hand-over, holds, shutdown."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import web
from sbhelpers import ADMIN, PASSWORD, make_config, unique_domain

from migrate.sandbox import FaultConfig, Faults, Sandbox
from migrate.sandbox.fastpath import FastApi, RouteTable, compile_path, literal_parts
from migrate.sandbox.release import ReleaseClock
from migrate.sandbox.routes import MAIL, edition

API = "/iredadmin/api"


# --- raw HTTP/1.1 over a socket, so every byte on the wire is under the test's control ---------


class Wire:
    """One client connection to a served sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        host, port = sandbox.root_url.removeprefix("http://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.pending = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> tuple[int, dict[str, str], bytes]:
        """Read one response with a Content-Length body."""
        while b"\r\n\r\n" not in self.pending:
            self._more()
        head, _, rest = self.pending.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("ascii").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        while len(rest) < length:
            self.pending = head + b"\r\n\r\n" + rest
            self._more()
            rest = self.pending.partition(b"\r\n\r\n")[2]
        self.pending = rest[length:]
        return int(status_line.split(" ")[1]), headers, rest[:length]

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.pending += chunk

    def at_eof(self) -> bool:
        self.sock.settimeout(10)
        return self.sock.recv(1) == b""


def request(method: str, path: str, form: dict[str, str] | None = None, *, cookie: str = "", extra: str = "") -> bytes:
    body = urlencode(form).encode() if form is not None else b""
    lines = [f"{method} {path} HTTP/1.1", "Host: sandbox"]
    if form is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def login_cookie(wire: Wire) -> str:
    wire.send(request("POST", f"{API}/login", {"username": ADMIN, "password": PASSWORD}))
    status, headers, body = wire.reply()
    assert (status, body) == (200, b'{"_success": true}')
    return headers["set-cookie"].split(";", 1)[0]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(make_config(tmp_path)) as running:
        yield running


def fast_api(sandbox: Sandbox) -> FastApi:
    runtime = sandbox._runtime
    assert runtime is not None
    return runtime.fast


def hand_over(wire: Wire) -> None:
    """Make aiohttp take this connection: a trailing slash is its business (a 303)."""
    wire.send(request("GET", f"{API}/domains/"))
    status, headers, _ = wire.reply()
    assert status == 303 and headers["location"] == f"{API}/domains"


# --- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sql", "ldap"])
def test_templates_are_aiohttps_canonical_forms(name: str) -> None:
    # The request counters must not depend on which side served a request.
    for route in edition(name).routes:
        app = web.Application()
        resource = app.router.add_route(route.method, API + route.path, _unused).resource
        assert resource is not None
        assert compile_path(API + route.path)[1] == resource.canonical, route.path


async def _unused(request: web.Request) -> web.Response:  # pragma: no cover - never served
    return web.Response()


def test_route_table_finds_exactly_one_route() -> None:
    table = RouteTable(edition("sql").routes)
    found = table.find("GET", f"{API}/user/Some.One@Example.com")
    assert found is not None
    route, match, template = found
    assert route.handler.__name__ == "get_user"
    assert match == {"mail": "Some.One@Example.com"}  # lower-cased later, as the app does
    assert template == f"{API}/user/{{mail}}"
    assert table.find("PATCH", f"{API}/user/a@example.com") is None  # aiohttp answers the 405
    assert table.find("GET", f"{API}/user/notanemail") is None  # and the 404
    assert table.find("GET", "/iredadmin/login") is None
    assert table.matches_any(f"{API}/user/a@example.com") and not table.matches_any(f"{API}/user/notanemail")
    found = table.find("DELETE", f"{API}/domain/example.com/keep_mailbox_days/30")
    assert found is not None and found[1] == {"domain": "example.com", "days": "30"}
    pattern, canonical = compile_path(f"/x/{{mail:{MAIL}}}/{{n}}")
    assert canonical == "/x/{mail}/{n}"
    assert pattern.fullmatch("/x/a@b.org/7") and not pattern.fullmatch("/x/a@b.org/7/8")


def test_literal_parts_are_the_text_between_placeholders() -> None:
    assert literal_parts(f"/user/{{mail:{MAIL}}}/change_email/{{new_mail:{MAIL}}}") == ("/user/", "/change_email/")
    assert literal_parts("/throttle/{account:global|x}/{direction:[^/]+}") == ("/throttle/", "/")
    assert literal_parts("/domain/{domain}") == ("/domain/",)
    assert literal_parts("/domains") == ("/domains",)


_PATHS = [
    "/user/a@example.com", "/user/a@example.com/keep_mailbox_days/3", "/user/a@example.com/change_email/b@example.com",
    "/user/a@example.com/keep_mailbox_days/x", "/user/keep_mailbox_days@example.com",
    "/user/a@example.com/change_email/",
    "/user/change_email@x.org/change_email/b@x.org", "/domain/example.com/keep_mailbox_days/30", "/domain/admins/x.org",
    "/domain/admins", "/throttle/global/inbound", "/throttle/a@x.org/outbound", "/throttle/x.org", "/alias/a@x.org",
    "/alias/a@x.org/change_email/b@x.org", "/spampolicy/global", "/spampolicy/user/a@x.org", "/users/x.org",
    "/verify_password/user/a@x.org", "/nothing/here", "/login",
]  # fmt: skip


@pytest.mark.parametrize("name", ["sql", "ldap"])
def test_route_table_agrees_with_trying_every_pattern(name: str) -> None:
    # The literal-text shortcut must never change which route (if exactly one) a path gets.
    routes = edition(name).routes
    table = RouteTable(routes)
    for path in _PATHS:
        for method in ("GET", "POST", "PUT", "DELETE"):
            hits = {route.path for route in routes if compile_path(API + route.path)[0].fullmatch(API + path)}
            expected = None
            if len(hits) == 1:
                (hit,) = hits
                expected = next((route for route in routes if route.path == hit and route.method == method), None)
            found = table.find(method, API + path)
            assert (found[0] if found else None) == expected, (method, path)


# --- the same answers on both sides --------------------------------------------------------------


def test_fast_and_aiohttp_replies_are_the_same_bytes(served: Sandbox) -> None:
    fast, slow = Wire(served), Wire(served)
    try:
        hand_over(slow)
        cookie_fast, cookie_slow = login_cookie(fast), login_cookie(slow)
        n = unique_domain().split(".")[0]
        names = {"fast": f"fast{n}.example.com", "slow": f"slow{n}.example.com"}
        exchanges = [
            ("POST", "/domain/{d}", {"name": "Same"}),
            ("POST", "/domain/{d}", {"name": "Same"}),  # the second create fails
            ("GET", "/domain/{d}", None),
            ("GET", "/domain/{d}?unused=1", None),
            ("PUT", "/domain/{d}", {"name": "Renamed", "quota": "not a number"}),
            ("POST", "/user/u1@{d}", {"password": "short"}),
            ("GET", "/user/nobody@{d}", None),
            ("GET", "/users/{d}", None),
            ("GET", "/maillist/probe@{d}", None),  # no such endpoint in the SQL edition: 404
            ("POST", "/user/not-an-address.{d}", {"name": "x"}),  # no route matches: 404
        ]
        for method, path, form in exchanges:
            replies = []
            for wire, cookie, side in ((fast, cookie_fast, "fast"), (slow, cookie_slow, "slow")):
                wire.send(request(method, API + path.format(d=names[side]), form, cookie=cookie))
                status, headers, body = wire.reply()
                headers.pop("date")
                replies.append((status, headers, body.replace(names[side].encode(), b"D")))
            assert replies[0] == replies[1], (method, path)
        fast.send(request("GET", f"{API}/domains"))  # no cookie
        assert fast.reply()[2] == b'{"_success": false, "_msg": "LOGIN_REQUIRED"}'
    finally:
        fast.close()
        slow.close()
    assert fast_api(served).handed_over == 1
    counts = served.faults.snapshot()["requests"]
    assert isinstance(counts, dict)
    assert counts[f"POST {API}/login"] == 2 and counts[f"GET {API}/domain/{{domain}}"] == 4
    assert counts[f"GET {API}/domains"] == 1 and counts[f"GET {API}/domains/"] == 1
    assert counts[f"GET {API}/maillist/{{mail}}"] == 2  # the generic template, on both sides


def test_session_used_from_another_address_expires_on_the_fast_path(served: Sandbox) -> None:
    wire = Wire(served)
    try:
        cookie = login_cookie(wire)
        sid = cookie.split("=", 1)[1]
        session = served.call(lambda state: state.sessions.get(sid))
        assert session is not None
        session.ip = "192.0.2.7"  # as if logged in elsewhere
        wire.send(request("GET", f"{API}/domains", cookie=cookie))
        status, headers, body = wire.reply()
        assert (status, headers["location"], body) == (303, "/iredadmin/login?msg=SESSION_EXPIRED", b"")
        assert served.call(lambda state: state.sessions.get(sid)) is None
        assert fast_api(served).handed_over == 0
    finally:
        wire.close()


@pytest.mark.parametrize(
    "odd",
    [
        "chunked",
        "escaped",
        "two-cookies",
        "http10",
        "json-body",
    ],
)
def test_requests_outside_the_lean_subset_are_handed_to_aiohttp(served: Sandbox, odd: str) -> None:
    wire = Wire(served)
    try:
        cookie = login_cookie(wire)
        domain = unique_domain()
        form = urlencode({"name": "Odd"}).encode()
        head = f"POST {API}/domain/{domain} HTTP/1.1\r\nHost: s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        if odd == "chunked":
            data = head.encode() + f"Cookie: {cookie}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            data += b"%x\r\n%s\r\n0\r\n\r\n" % (len(form), form)
        elif odd == "escaped":
            data = request("POST", f"{API}/domain/{domain.replace('.', '%2E', 1)}", {"name": "Odd"}, cookie=cookie)
        elif odd == "two-cookies":
            data = request("POST", f"{API}/domain/{domain}", {"name": "Odd"}, cookie=f"theme=dark; {cookie}")
        elif odd == "http10":
            data = request("POST", f"{API}/domain/{domain}", {"name": "Odd"}, cookie=cookie)
            data = data.replace(b"HTTP/1.1", b"HTTP/1.0", 1).replace(
                b"\r\n\r\n", b"\r\nConnection: keep-alive\r\n\r\n", 1
            )
        else:
            data = head.replace("x-www-form-urlencoded", "json").encode()
            data += f"Cookie: {cookie}\r\nContent-Length: 2\r\n\r\n{{}}".encode()
        wire.send(data)
        status, _, body = wire.reply()
        assert status == 200 and body == b'{"_success": true}', body
        assert fast_api(served).handed_over == 1
        wire.send(request("GET", f"{API}/domain/{domain}", cookie=cookie))  # aiohttp keeps the connection
        status, _, body = wire.reply()
        assert status == 200 and b'"_success": true' in body
    finally:
        wire.close()
    assert fast_api(served).handed_over == 1


def test_pipelined_requests_are_answered_in_order(tmp_path: Path) -> None:
    with Sandbox(make_config(tmp_path, faults=FaultConfig(latency_ms=30.0))) as served:
        wire = Wire(served)
        try:
            cookie = login_cookie(wire)
            domains = [unique_domain() for _ in range(3)]
            wire.send(b"".join(request("POST", f"{API}/domain/{d}", {"name": "P"}, cookie=cookie) for d in domains))
            for d in domains:
                wire.send(request("GET", f"{API}/domain/{d}", cookie=cookie))
            assert [wire.reply()[2] for _ in domains] == [b'{"_success": true}'] * 3
            for d in domains:
                assert f'"domain": "{d}"'.encode() in wire.reply()[2]
        finally:
            wire.close()
        assert fast_api(served).handed_over == 0


# --- holding replies for the latency -------------------------------------------------------------


def test_reply_never_leaves_before_the_latency(tmp_path: Path) -> None:
    with Sandbox(make_config(tmp_path, faults=FaultConfig(latency_ms=60.0))) as served:
        wire = Wire(served)
        try:
            cookie = login_cookie(wire)
            for _ in range(5):
                start = time.monotonic()
                wire.send(request("GET", f"{API}/domains", cookie=cookie))
                assert wire.reply()[0] == 200
                assert time.monotonic() - start >= 0.060
        finally:
            wire.close()


def wait_for(condition: object) -> bool:
    assert callable(condition)
    for _ in range(500):
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def test_held_replies_count_in_flight_and_leave_at_shutdown(tmp_path: Path) -> None:
    served = Sandbox(make_config(tmp_path))
    served.start()
    wire, gone = Wire(served), Wire(served)
    try:
        cookie = login_cookie(wire)
        served.faults.config = FaultConfig(latency_ms=600_000.0)
        wire.send(request("POST", f"{API}/domain/{unique_domain()}", {"name": "Held"}, cookie=cookie))
        gone.send(request("POST", f"{API}/domain/{unique_domain()}", {"name": "Gone"}, cookie=cookie))
        assert wait_for(lambda: served.faults.in_flight == 2)
        gone.close()  # its client left: the work is done, nothing to send
        assert wait_for(lambda: served.faults.in_flight == 1)
        served.stop()  # the held reply leaves at once, then the connection closes
        status, _, body = wire.reply()
        assert (status, body) == (200, b'{"_success": true}')
        assert wire.at_eof()
    finally:
        wire.close()
        served.stop()


def test_plain_delay_counts_and_draws_like_the_middleware() -> None:
    faults = Faults(FaultConfig(seed=5, latency_ms=100.0, jitter_ms=40.0, applies_to="writes"))
    rng = random.Random(5)
    expected = []
    for _ in range(4):
        _fault, jitter, _after = rng.random(), rng.random(), rng.random()
        expected.append((100.0 + (2 * jitter - 1) * 40.0) / 1000.0)
    seen = []
    for _ in range(4):
        assert faults.plain_delay("GET", "/r") == 0.0  # reads: no delay, no draws
        seen.append(faults.plain_delay("PUT", "/w"))
    assert seen == pytest.approx(expected)
    assert faults.counters == {("GET", "/r"): 4, ("PUT", "/w"): 4}
    # Anything a fault could hit goes through the middleware: nothing counted here.
    for config in (FaultConfig(p_502=0.01), FaultConfig(p_slow=0.5, latency_ms=5.0)):
        faults.config = config
        assert faults.plain_delay("PUT", "/w") is None
    faults.config = FaultConfig()
    faults.sleep = asyncio.sleep  # a test's own sleep must see every delay
    assert faults.plain_delay("PUT", "/w") is None
    assert faults.counters == {("GET", "/r"): 4, ("PUT", "/w"): 4}


# --- the release clock -------------------------------------------------------------------------


@pytest.mark.parametrize("precise", [True, False])
def test_release_clock_calls_back_in_deadline_order_never_early(precise: bool) -> None:
    async def run() -> list[tuple[int, float]]:
        loop = asyncio.get_running_loop()
        clock = ReleaseClock(loop, precise=precise)
        calls: list[tuple[int, float]] = []
        done: asyncio.Future[None] = loop.create_future()
        now = time.monotonic()
        offsets = [0.030, 0.010, 0.020, 0.0, 0.015]

        def record(i: int, deadline: float) -> Callable[[], None]:
            return lambda: calls.append((i, time.monotonic() - deadline))

        holds = [clock.call_at(now + offset, record(i, now + offset)) for i, offset in enumerate(offsets)]
        holds[4].cancel()
        clock.call_at(now + 0.040, lambda: done.set_result(None))
        await asyncio.wait_for(done, 5)
        clock.close()
        return calls

    calls = asyncio.run(run())
    assert [i for i, _ in calls] == [3, 1, 2, 0]
    if precise:  # the loop's own timers may fire up to a millisecond early
        assert all(late >= 0.0 for _, late in calls)


def test_release_clock_runs_due_callbacks_between_events() -> None:
    # A busy loop reaches the timer's event late: due replies leave at the next request instead.
    async def run() -> tuple[list[str], list[str]]:
        clock = ReleaseClock(asyncio.get_running_loop())
        calls: list[str] = []
        now = time.monotonic()
        clock.call_at(now - 0.001, lambda: calls.append("due"))
        clock.call_at(now + 60.0, lambda: calls.append("later"))
        clock.run_due()  # no await: the loop never ran the timer
        seen = list(calls)
        await asyncio.sleep(0.01)  # the timer, still armed for the first, finds nothing more due
        clock.close()
        return seen, calls

    seen, calls = asyncio.run(run())
    assert seen == ["due"] and calls == ["due"]
