"""Fault injection of the sandbox, driven over real HTTP on 127.0.0.1 with plain httpx."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any
from unittest import mock

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.typedefs import Handler

from migrate.sandbox.faults import (
    FAULT_KINDS,
    FaultConfig,
    Faults,
    generic_template,
    is_loopback,
)

API = "/iredadmin/api"


class Served:
    """A tiny stand-in for the sandbox app, served from its own loop in a background thread."""

    def __init__(self, faults: Faults, expire: Callable[[], Any] | None = None) -> None:
        self.faults = faults
        self.handled: list[tuple[str, str]] = []  # (method, path) that reached a handler
        self.seen_by_next: list[str] = []  # paths the next middleware (an "auth" layer) saw
        self.expire_calls = 0
        self._expire = expire
        self.leftover_tasks: list[asyncio.Task[Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.root = ""

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self) -> Served:
        self.thread.start()
        port = self.run(self._start())
        self.root = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        if self.runner is not None:
            self.run(self.runner.cleanup())
            self.leftover_tasks = self.run(self._pending_tasks())
            self.runner = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()

    async def _pending_tasks(self) -> list[asyncio.Task[Any]]:
        await asyncio.sleep(0)
        current = asyncio.current_task()
        return [t for t in asyncio.all_tasks() if t is not current and not t.done()]

    def _expire_sessions(self) -> Any:
        self.expire_calls += 1
        return self._expire() if self._expire is not None else 3

    async def _start(self) -> int:
        @web.middleware
        async def auth_like(request: web.Request, handler: Handler) -> web.StreamResponse:
            self.seen_by_next.append(request.path)
            if request.path.startswith("/_sandbox/"):
                return web.json_response({"_success": False, "_msg": "LOGIN_REQUIRED"})
            return await handler(request)

        async def write(request: web.Request) -> web.StreamResponse:
            self.handled.append((request.method, request.path))
            return web.json_response({"_success": True})

        async def read(request: web.Request) -> web.StreamResponse:
            self.handled.append((request.method, request.path))
            return web.json_response({"_success": True, "_data": dict(request.match_info)})

        async def redirect(request: web.Request) -> web.StreamResponse:
            self.handled.append((request.method, request.path))
            raise web.HTTPSeeOther("/login")

        app = web.Application(middlewares=[self.faults.middleware(), auth_like])
        app.router.add_routes(
            [
                web.get(API + "/user/{mail}", read),
                web.post(API + "/user/{mail}", write),
                web.put(API + "/user/{mail}", write),
                web.delete(API + "/user/{mail}", write),
                web.get(API + "/users/{domain}", read),
                web.put(API + "/throttle/{account}/inbound", write),
                web.post(API + "/moved/{mail}", redirect),
            ]
        )
        self.faults.add_control_routes(app, on_expire_sessions=self._expire_sessions)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return int(self.runner.addresses[0][1])


class Recorder:
    """An injectable sleep that returns at once and remembers what was asked for."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def factory(config: FaultConfig | None = None, **kwargs: Any) -> Served:
        sleep = kwargs.pop("sleep", None)
        served = Served(Faults(config or FaultConfig(), sleep=sleep), **kwargs).start()
        started.append(served)
        return served

    yield factory
    for served in started:
        served.stop()


@pytest.fixture
def quiet_server(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Fail if the server logs a warning, an error or a traceback meanwhile."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == []


def client(served: Served, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(base_url=served.root, timeout=timeout)


def statuses(served: Served, n: int) -> list[int]:
    with client(served) as c:
        return [c.get(f"{API}/user/u{i}@example.com").status_code for i in range(n)]


# --- FaultConfig -------------------------------------------------------------------------------


def test_config_round_trips_through_dict() -> None:
    config = FaultConfig(seed=3, latency_ms=5, p_502=0.25, applies_to="writes")
    data = config.to_dict()
    assert data["p_502"] == 0.25
    assert data["applies_to"] == "writes"
    assert set(data) >= {*FAULT_KINDS, "seed", "retry_after", "slow_seconds", "fault_after_write"}
    assert FaultConfig.from_dict(data) == config
    assert FaultConfig.from_dict({"latency_ms": 7, "p_500": 1}) == FaultConfig(latency_ms=7.0, p_500=1.0)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"p_501": 0.1}, "p_501"),
        ({"p_500": 1.5}, "p_500"),
        ({"p_429": -0.1}, "p_429"),
        ({"p_500": 0.6, "p_drop": 0.6}, "add up to 1.2"),
        ({"applies_to": "reads"}, "applies_to"),
        ({"seed": True}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"latency_ms": "10"}, "latency_ms"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"slow_seconds": math.inf}, "slow_seconds"),
        ({"p_slow": math.nan}, "p_slow"),
        ({"fault_after_write": 2}, "fault_after_write"),
        ({"applies_to": 1}, "applies_to"),
    ],
    ids=[
        "unknown-key",
        "above-one",
        "negative-probability",
        "sum-above-one",
        "bad-applies-to",
        "bool-seed",
        "float-seed",
        "string-number",
        "negative-latency",
        "infinite-slow",
        "nan-probability",
        "after-write-above-one",
        "applies-to-not-string",
    ],
)
def test_config_rejects_bad_values(data: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        FaultConfig.from_dict(data)


def test_config_is_validated_on_construction() -> None:
    with pytest.raises(ValueError, match="p_503"):
        FaultConfig(p_503=1.01)


def test_config_setter_restarts_sequence_and_checks_type() -> None:
    faults = Faults(FaultConfig(seed=9))
    first = faults._rng.random()
    faults.config = FaultConfig(seed=9, p_500=0.5)
    assert faults._rng.random() == first
    with pytest.raises(TypeError):
        faults.config = {"seed": 9}  # type: ignore[assignment]


# --- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (f"{API}/user/a@example.com", f"{API}/user/{{mail}}"),
        (f"{API}/users/example.com", f"{API}/users/{{domain}}"),
        (f"{API}/throttle/example.com/inbound", f"{API}/throttle/{{domain}}/inbound"),
        (f"{API}/throttle/a@example.com/outbound", f"{API}/throttle/{{mail}}/outbound"),
        (f"{API}/throttle/global/inbound", f"{API}/throttle/global/inbound"),
        (f"{API}/domains", f"{API}/domains"),
        (f"{API}/login", f"{API}/login"),
        (f"{API}/user/a@example.com/", f"{API}/user/{{mail}}/"),
        ("/login", "/login"),
    ],
    ids=[
        "mail",
        "domain",
        "domain-then-literal",
        "mail-then-literal",
        "global",
        "plain",
        "login",
        "trailing",
        "outside",
    ],
)
def test_generic_template(path: str, template: str) -> None:
    assert generic_template(path) == template


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.2", False),
        ("::ffff:10.0.0.5", False),
        ("2001:db8::1", False),
        ("", False),
        (None, False),
        ("not-an-ip", False),
    ],
    ids=["v4", "v4-net", "v6", "mapped", "private", "lan", "mapped-private", "v6-global", "empty", "none", "junk"],
)
def test_is_loopback(remote: str | None, expected: bool) -> None:
    assert is_loopback(remote) is expected


def test_control_endpoint_refuses_non_loopback_clients() -> None:
    faults = Faults(FaultConfig(p_500=0.5))
    app = web.Application(middlewares=[faults.middleware()])
    expired: list[int] = []

    def expire() -> int:
        expired.append(1)
        return 1

    faults.add_control_routes(app, on_expire_sessions=expire)

    async def call(method: str, path: str, peer: str) -> web.StreamResponse:
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda name, default=None: (
            (peer, 4321) if name == "peername" else default
        )
        request = make_mocked_request(method, path, app=app, transport=transport)
        match = await app.router.resolve(request)
        request._match_info = match
        return await match.handler(request)

    async def scenario() -> list[int]:
        return [
            (await call("GET", "/_sandbox/faults", "10.1.2.3")).status,
            (await call("POST", "/_sandbox/expire-sessions", "192.168.0.7")).status,
            (await call("DELETE", "/_sandbox/counters", "2001:db8::5")).status,
            (await call("GET", "/_sandbox/faults", "127.0.0.1")).status,
        ]

    assert asyncio.run(scenario()) == [403, 403, 403, 200]
    assert expired == []


# --- seeded repeatability ------------------------------------------------------------------------

MIXED = FaultConfig(seed=42, p_500=0.15, p_502=0.15, p_503=0.1, p_429=0.1)


def test_same_seed_repeats_the_same_statuses(serve: Callable[..., Served]) -> None:
    first = statuses(serve(MIXED), 40)
    again = statuses(serve(MIXED), 40)
    other = statuses(serve(FaultConfig.from_dict({**MIXED.to_dict(), "seed": 43})), 40)
    assert first == again
    assert first != other
    assert {200, 500, 502, 503, 429} <= set(first)


def test_putting_the_seed_restarts_the_sequence(serve: Callable[..., Served]) -> None:
    served = serve(MIXED)
    first = statuses(served, 25)
    with client(served) as c:
        assert c.put("/_sandbox/faults", json={"seed": 42}).status_code == 200
    assert statuses(served, 25) == first


# --- each fault kind -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "status", "text"),
    [
        ("p_500", 500, "500 Internal Server Error"),
        ("p_502", 502, "502 Bad Gateway"),
        ("p_503", 503, "503 Service Unavailable"),
    ],
    ids=["500", "502", "503"],
)
def test_proxy_errors_are_plain_text_and_skip_the_handler(
    serve: Callable[..., Served], key: str, status: int, text: str
) -> None:
    served = serve(FaultConfig.from_dict({key: 1.0}))
    with client(served) as c:
        response = c.post(f"{API}/user/a@example.com", data={"name": "A"})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.strip() == text
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert served.handled == []
    assert served.faults.fault_counts == {key: 1}


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [(1.0, "1"), (1.2, "2"), (0.0, "0"), (30, "30")],
    ids=["one", "rounded-up", "zero", "int"],
)
def test_429_carries_retry_after(serve: Callable[..., Served], retry_after: float, header: str) -> None:
    served = serve(FaultConfig(p_429=1.0, retry_after=retry_after))
    with client(served) as c:
        response = c.put(f"{API}/user/a@example.com", data={"name": "A"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == header
    assert "Too Many Requests" in response.text
    assert served.handled == []


def test_drop_closes_the_connection_without_a_response(
    serve: Callable[..., Served], quiet_server: pytest.LogCaptureFixture
) -> None:
    served = serve(FaultConfig(p_drop=1.0))
    with client(served) as c:
        with pytest.raises(httpx.TransportError):
            c.post(f"{API}/user/a@example.com", data={"name": "A"})
        assert c.put("/_sandbox/faults", json={"p_drop": 0.0}).status_code == 200
        assert c.post(f"{API}/user/a@example.com", data={"name": "A"}).status_code == 200
    assert served.handled == [("POST", f"{API}/user/a@example.com")]
    assert served.faults.fault_counts == {"p_drop": 1}


class Gate:
    """An injectable sleep that holds slow replies until the test opens it."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.opened = threading.Event()

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        while not self.opened.is_set():
            await asyncio.sleep(0.01)


def wait_for(condition: Callable[[], bool]) -> bool:
    # Bounded polling for an effect in the server thread; no timing is asserted.
    for _ in range(500):
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_slow_reply_outlasts_the_client_timeout_then_the_write_happens(
    serve: Callable[..., Served], quiet_server: pytest.LogCaptureFixture
) -> None:
    gate = Gate()
    served = serve(FaultConfig(p_slow=1.0, slow_seconds=12.5), sleep=gate)
    with client(served, timeout=0.2) as c, pytest.raises(httpx.TimeoutException):
        c.post(f"{API}/user/a@example.com", data={"name": "A"})
    assert gate.calls == [12.5]
    assert served.handled == []
    gate.opened.set()
    assert wait_for(lambda: served.handled == [("POST", f"{API}/user/a@example.com")])
    assert served.faults.fault_counts == {"p_slow": 1}


@pytest.mark.timeout(60)
def test_shutdown_with_slow_requests_pending_is_clean(
    serve: Callable[..., Served], quiet_server: pytest.LogCaptureFixture
) -> None:
    served = serve(FaultConfig(p_slow=1.0, slow_seconds=600.0))
    with client(served, timeout=0.2) as c, pytest.raises(httpx.TimeoutException):
        c.post(f"{API}/user/a@example.com", data={"name": "A"})

    # A second slow request whose client is still waiting when the server stops.
    outcome: list[BaseException] = []

    def waiting_client() -> None:
        with client(served, timeout=120) as c:
            try:
                c.post(f"{API}/user/b@example.com", data={"name": "B"})
            except httpx.HTTPError as exc:
                outcome.append(exc)

    waiter = threading.Thread(target=waiting_client)
    waiter.start()
    assert wait_for(lambda: served.faults.in_flight == 2)
    served.stop()
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.TransportError)
    assert served.handled == []  # interrupted slow replies never reach the handler
    assert served.leftover_tasks == []
    assert served.faults.in_flight == 0


# --- latency ------------------------------------------------------------------------------------


def test_latency_with_jitter_requests_seeded_sleeps(serve: Callable[..., Served]) -> None:
    sleeps = Recorder()
    served = serve(FaultConfig(seed=5, latency_ms=100.0, jitter_ms=40.0), sleep=sleeps)
    assert statuses(served, 12) == [200] * 12
    rng = random.Random(5)
    expected = []
    for _ in range(12):
        _fault, jitter, _after = rng.random(), rng.random(), rng.random()
        expected.append((100.0 + (2 * jitter - 1) * 40.0) / 1000.0)
    assert sleeps.calls == pytest.approx(expected)
    assert all(0.06 <= s <= 0.14 for s in sleeps.calls)
    assert len(set(sleeps.calls)) > 1


def test_latency_without_jitter_is_fixed_and_never_negative(serve: Callable[..., Served]) -> None:
    fixed = Recorder()
    assert statuses(serve(FaultConfig(latency_ms=25.0), sleep=fixed), 3) == [200] * 3
    assert fixed.calls == [0.025] * 3

    clamped = Recorder()
    assert statuses(serve(FaultConfig(seed=1, latency_ms=5.0, jitter_ms=50.0), sleep=clamped), 30) == [200] * 30
    assert clamped.calls and all(s > 0 for s in clamped.calls)
    assert len(clamped.calls) < 30  # draws below zero are clamped and skip the sleep


def test_no_latency_means_no_sleep(serve: Callable[..., Served]) -> None:
    sleeps = Recorder()
    assert statuses(serve(FaultConfig(), sleep=sleeps), 3) == [200] * 3
    assert sleeps.calls == []


def test_latency_holds_the_reply_after_the_handler_but_delays_a_fault(serve: Callable[..., Served]) -> None:
    # An unfaulted request is handled at once and its reply held back; a faulted one waits first.
    order: list[str] = []
    served: Served | None = None

    async def sleep(seconds: float) -> None:
        assert served is not None
        order.append(f"sleep, {len(served.handled)} handled")

    served = serve(FaultConfig(latency_ms=20.0), sleep=sleep)
    assert statuses(served, 2) == [200, 200]
    served.faults.config = FaultConfig(latency_ms=20.0, p_502=1.0)
    assert statuses(served, 1) == [502]
    assert order == ["sleep, 1 handled", "sleep, 2 handled", "sleep, 2 handled"]


# --- counters -----------------------------------------------------------------------------------


def test_requests_are_counted_by_method_and_route_template(serve: Callable[..., Served]) -> None:
    served = serve(FaultConfig(seed=2, p_502=0.5))
    with client(served) as c:
        for who in ("a", "b", "c"):
            c.post(f"{API}/user/{who}@example.com", data={"name": who})
        c.get(f"{API}/user/a@example.com")
        c.get(f"{API}/users/example.com")
        c.put(f"{API}/throttle/example.com/inbound", data={"period": "60"})
        c.put(f"{API}/throttle/global/inbound", data={"period": "60"})
        c.delete(f"{API}/user/c@example.com")
        c.get(f"{API}/nothing/x@example.com")  # no route: the generic rule names it
        c.get("/elsewhere")  # outside the API: not counted
        c.get("/_sandbox/faults")  # control: not counted
        counters = c.get("/_sandbox/counters").json()
    assert counters["requests"] == {
        "DELETE /iredadmin/api/user/{mail}": 1,
        "GET /iredadmin/api/nothing/{mail}": 1,
        "GET /iredadmin/api/user/{mail}": 1,
        "GET /iredadmin/api/users/{domain}": 1,
        "POST /iredadmin/api/user/{mail}": 3,
        "PUT /iredadmin/api/throttle/{account}/inbound": 2,
    }
    assert counters["total"] == 9
    assert counters["writes"] == 6
    assert counters["faults"] == {"p_502": served.faults.fault_counts["p_502"]}
    assert 0 < counters["faults"]["p_502"] < 9
    assert served.faults.counters[("POST", "/iredadmin/api/user/{mail}")] == 3


def test_deleting_counters_resets_them(serve: Callable[..., Served]) -> None:
    served = serve(FaultConfig(p_503=1.0))
    with client(served) as c:
        c.post(f"{API}/user/a@example.com")
        assert c.get("/_sandbox/counters").json()["total"] == 1
        emptied = c.delete("/_sandbox/counters").json()
        assert emptied == {"requests": {}, "faults": {}, "total": 0, "writes": 0}
        assert c.get("/_sandbox/counters").json() == emptied
    assert not served.faults.counters and not served.faults.fault_counts


# --- control endpoint ---------------------------------------------------------------------------


def test_control_endpoint_changes_faults_at_runtime(serve: Callable[..., Served]) -> None:
    served = serve()
    with client(served) as c:
        assert c.get("/_sandbox/faults").json() == FaultConfig().to_dict()
        assert c.get(f"{API}/user/a@example.com").status_code == 200
        updated = c.put("/_sandbox/faults", json={"p_503": 1.0, "retry_after": 3}).json()
        assert updated == {**FaultConfig().to_dict(), "p_503": 1.0, "retry_after": 3.0}
        assert c.get("/_sandbox/faults").json() == updated
        assert c.get(f"{API}/user/a@example.com").status_code == 503
        # A partial update keeps the rest.
        assert c.put("/_sandbox/faults", json={"p_503": 0, "p_429": 1}).json()["retry_after"] == 3.0
        response = c.get(f"{API}/user/a@example.com")
    assert (response.status_code, response.headers["retry-after"]) == (429, "3")
    assert served.faults.config == FaultConfig(p_429=1.0, retry_after=3.0)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"p_999": 0.1}', "p_999"),
        (b'{"p_500": 7}', "p_500"),
        (b'{"p_500": 0.7, "p_502": 0.7}', "add up to"),
        (b'{"latency_ms": NaN}', "latency_ms"),
        (b'{"applies_to": "gets"}', "applies_to"),
        (b"\xff\xfe", "not JSON"),
    ],
    ids=["not-json", "not-object", "unknown-key", "out-of-range", "sum", "nan", "applies-to", "not-utf8"],
)
def test_control_endpoint_rejects_bad_updates(serve: Callable[..., Served], body: bytes, named: str) -> None:
    served = serve(FaultConfig(p_502=0.25))
    with client(served) as c:
        response = c.put("/_sandbox/faults", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert named in response.json()["error"]
        assert c.get("/_sandbox/faults").json()["p_502"] == 0.25
    assert served.faults.config == FaultConfig(p_502=0.25)


def test_control_routes_are_never_faulted_and_skip_the_rest_of_the_chain(serve: Callable[..., Served]) -> None:
    sleeps = Recorder()
    served = serve(FaultConfig(p_500=1.0, latency_ms=50.0), sleep=sleeps)
    with client(served) as c:
        assert c.get("/_sandbox/faults").status_code == 200
        assert c.get("/_sandbox/counters").json()["total"] == 0
        assert c.post("/_sandbox/expire-sessions").json() == {"expired": 3}
        assert c.put("/_sandbox/faults", json={"latency_ms": 0}).status_code == 200
        assert c.get("/_sandbox/unknown").json()["_msg"] == "LOGIN_REQUIRED"  # not ours: passed on
        assert c.post("/_sandbox/faults").status_code == 405  # ours, answered without the chain
        assert c.get(f"{API}/user/a@example.com").status_code == 500
    assert sleeps.calls == []
    # The 500 came before the rest of the chain; only the unknown control path was passed on.
    assert served.seen_by_next == ["/_sandbox/unknown"]
    assert served.faults.fault_counts == {"p_500": 1}


def async_expire() -> Awaitable[int]:
    async def expire() -> int:
        await asyncio.sleep(0)
        return 5

    return expire()


@pytest.mark.parametrize(
    ("expire", "expired"),
    [(lambda: 2, 2), (lambda: 0, 0), (async_expire, 5)],
    ids=["sync", "none-open", "coroutine"],
)
def test_expire_sessions_calls_the_callback(
    serve: Callable[..., Served], expire: Callable[[], Any], expired: int
) -> None:
    served = serve(expire=expire)
    with client(served) as c:
        response = c.post("/_sandbox/expire-sessions")
    assert response.status_code == 200
    assert response.json() == {"expired": expired}
    assert served.expire_calls == 1


def test_expire_fault_expires_sessions_before_the_handler(serve: Callable[..., Served]) -> None:
    served = serve(FaultConfig(p_expire=1.0))
    with client(served) as c:
        assert c.get(f"{API}/user/a@example.com").status_code == 200
        assert c.post(f"{API}/user/b@example.com").status_code == 200
    assert served.expire_calls == 2
    assert len(served.handled) == 2
    assert served.faults.fault_counts == {"p_expire": 2}


# --- scope and after-write ------------------------------------------------------------------------


def test_writes_only_mode_spares_reads(serve: Callable[..., Served]) -> None:
    sleeps = Recorder()
    served = serve(FaultConfig(p_502=1.0, latency_ms=10.0, applies_to="writes"), sleep=sleeps)
    with client(served) as c:
        got = [
            c.get(f"{API}/user/a@example.com").status_code,
            c.get(f"{API}/users/example.com").status_code,
            c.post(f"{API}/user/a@example.com").status_code,
            c.put(f"{API}/user/a@example.com").status_code,
            c.delete(f"{API}/user/a@example.com").status_code,
        ]
    assert got == [200, 200, 502, 502, 502]
    assert sleeps.calls == [0.01] * 3
    assert [m for m, _ in served.handled] == ["GET", "GET"]
    assert served.faults.fault_counts == {"p_502": 3}


@pytest.mark.parametrize("key", ["p_500", "p_502", "p_503", "p_drop"], ids=["500", "502", "503", "drop"])
def test_fault_after_write_runs_the_handler_first(serve: Callable[..., Served], key: str) -> None:
    served = serve(FaultConfig.from_dict({key: 1.0, "fault_after_write": 1.0}))
    with client(served) as c:
        if key == "p_drop":
            with pytest.raises(httpx.TransportError):
                c.post(f"{API}/user/a@example.com", data={"name": "A"})
        else:
            assert c.post(f"{API}/user/a@example.com", data={"name": "A"}).status_code == int(key[2:])
        # A handler that raises (here a redirect) still ends in the injected fault.
        c.put("/_sandbox/faults", json={"p_drop": 0.0, key: 0.0, "p_502": 1.0})
        assert c.post(f"{API}/moved/a@example.com").status_code == 502
    assert served.handled == [("POST", f"{API}/user/a@example.com"), ("POST", f"{API}/moved/a@example.com")]
    assert served.faults.fault_counts["after_write"] == 2


def test_fault_after_write_is_seeded_per_request(serve: Callable[..., Served]) -> None:
    served = serve(FaultConfig(seed=11, p_503=1.0, fault_after_write=0.5))
    codes = statuses(served, 30)
    rng = random.Random(11)
    expected_after = sum(1 for _ in range(30) if [rng.random(), rng.random(), rng.random()][2] < 0.5)
    assert codes == [503] * 30
    assert len(served.handled) == expected_after == served.faults.fault_counts["after_write"]
    assert 0 < expected_after < 30
