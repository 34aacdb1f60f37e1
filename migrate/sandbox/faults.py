"""Seeded fault injection for the sandbox: latency, proxy errors, 429, drops, slow replies.

A real iRedAdmin-Pro sits behind nginx and uwsgi, so the importer meets 502s, resets and
timeouts that the application itself never produces. :class:`Faults` imitates those in an
aiohttp middleware placed first in the chain, counts every API request by method and route
template (so a test can assert how many writes a run made) and serves a small JSON control
endpoint under ``/_sandbox/`` that a test changes mid-run.

Every applicable request takes exactly three numbers from one ``random.Random(seed)``, in
arrival order: the fault choice, the jitter and the before/after-write choice. A run with the
same seed and the same request order therefore repeats, whatever the probabilities are.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import inspect
import ipaddress
import json
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

__all__ = [
    "API_PREFIX",
    "CONTROL_PREFIX",
    "FAULT_KINDS",
    "WRITE_METHODS",
    "FaultConfig",
    "Faults",
    "generic_template",
    "is_loopback",
    "path_template",
]

API_PREFIX = "/iredadmin/api/"
CONTROL_PREFIX = "/_sandbox/"
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
# The order is part of the seeded contract: the fault draw walks these cumulatively.
FAULT_KINDS = ("p_500", "p_502", "p_503", "p_429", "p_drop", "p_slow", "p_expire")
_PROXY_ERRORS = {
    "p_500": (500, "Internal Server Error"),
    "p_502": (502, "Bad Gateway"),
    "p_503": (503, "Service Unavailable"),
}
_NON_NEGATIVE = ("latency_ms", "jitter_ms", "retry_after", "slow_seconds")
_APPLIES_TO = ("all", "writes")

_log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
ExpireSessions = Callable[[], int | Awaitable[int]]


@dataclass(frozen=True)
class FaultConfig:
    """What to inject; immutable, so swap a whole new one into :attr:`Faults.config`.

    Attributes:
        seed: Seed of the one random stream that decides every fault.
        latency_ms: Delay added to each applicable request: the reply of a request that gets
            no fault is held back this long after its handler ran; a faulted request waits
            this long before its fault.
        jitter_ms: Uniform spread around ``latency_ms`` (the delay never goes below 0).
        p_500: Probability of a plain-text 500, as a crashed uwsgi worker gives.
        p_502: Probability of a plain-text 502 Bad Gateway, as nginx gives.
        p_503: Probability of a plain-text 503 Service Unavailable.
        p_429: Probability of 429 Too Many Requests with ``Retry-After``.
        retry_after: Seconds advertised by ``Retry-After`` (sent rounded up).
        p_drop: Probability of closing the connection without any response.
        p_slow: Probability of waiting ``slow_seconds`` before handling the request.
        slow_seconds: The slow wait; set it above the client's timeout.
        p_expire: Probability of expiring every session just before handling the request.
        fault_after_write: Probability that a chosen 5xx or drop happens after the real
            handler ran (the write is done but the client sees an error).
        applies_to: ``"all"`` or ``"writes"`` (only POST/PUT/DELETE get latency and faults).
    """

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    p_500: float = 0.0
    p_502: float = 0.0
    p_503: float = 0.0
    p_429: float = 0.0
    retry_after: float = 1.0
    p_drop: float = 0.0
    p_slow: float = 0.0
    slow_seconds: float = 60.0
    p_expire: float = 0.0
    fault_after_write: float = 0.0
    applies_to: str = "all"

    def __post_init__(self) -> None:
        for name in (*FAULT_KINDS, "fault_after_write"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # also false for NaN
                raise ValueError(f"{name} = {value!r} is not a probability; give 0 to 1")
        for name in _NON_NEGATIVE:
            value = getattr(self, name)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ValueError(f"{name} = {value!r} must be a finite number >= 0")
        total = sum(getattr(self, name) for name in FAULT_KINDS)
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault probabilities add up to {total:g}; keep the sum <= 1")
        if self.applies_to not in _APPLIES_TO:
            raise ValueError(f"applies_to = {self.applies_to!r}; use 'all' or 'writes'")

    @functools.cached_property
    def any_fault(self) -> bool:
        """Whether any fault kind can fire (latency and jitter are not faults)."""
        return any(getattr(self, name) > 0.0 for name in FAULT_KINDS)

    def to_dict(self) -> dict[str, object]:
        """Return the configuration as a JSON-ready dict (the control endpoint's shape)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> FaultConfig:
        """Build a validated configuration from a dict such as a JSON body; missing keys default.

        Raises:
            ValueError: On an unknown key, or a value of the wrong type or out of range.
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            known = ", ".join(fields)
            raise ValueError(f"unknown fault setting(s) {', '.join(unknown)}; known: {known}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            kind = fields[name].type
            if kind == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"{name} = {value!r} must be an integer")
                values[name] = value
            elif kind == "float":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{name} = {value!r} must be a number")
                values[name] = float(value)
            else:
                if not isinstance(value, str):
                    raise ValueError(f"{name} = {value!r} must be a string")
                values[name] = value
        return cls(**values)


def is_loopback(remote: str | None) -> bool:
    """Tell whether ``request.remote`` is 127.0.0.0/8, ::1 or IPv4-mapped loopback."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def generic_template(path: str) -> str:
    """Turn a concrete API path into a template without the routing table.

    After the resource name, a segment containing ``@`` becomes ``{mail}`` and one containing
    a dot becomes ``{domain}``; others (``global``, ``inbound``) stay as they are. Non-API
    paths come back unchanged.
    """
    if not path.startswith(API_PREFIX):
        return path
    resource, *rest = path[len(API_PREFIX) :].split("/")
    parts = [resource]
    for segment in rest:
        parts.append("{mail}" if "@" in segment else "{domain}" if "." in segment else segment)
    return API_PREFIX + "/".join(parts)


def path_template(request: web.Request) -> str:
    """Return the template a request is counted under, e.g. ``/iredadmin/api/user/{mail}``.

    The matched route's canonical form wins when it is an API route with as many segments as
    the path (a catch-all route would say nothing); otherwise :func:`generic_template`.
    """
    path = request.path
    resource = request.match_info.route.resource
    if resource is not None:
        canonical = resource.canonical
        if canonical.startswith(API_PREFIX) and canonical.count("/") == path.count("/"):
            return canonical
    return generic_template(path)


def _plain(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    # The body a proxy or a dying worker gives: no JSON envelope for the client to parse.
    return web.Response(status=status, reason=reason, text=f"{status} {reason}\n", headers=headers)


def _drop(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.close()
    # Never written: aiohttp meets the closed transport, treats it as a client disconnect
    # and logs nothing above debug. 444 is nginx's "close without a response".
    return web.Response(status=444, reason="No Response")


class Faults:
    """Fault injector, request counter and control endpoint of one sandbox app.

    Attributes:
        counters: Requests seen under the API prefix, by (method, route template), faulted
            ones included.
        fault_counts: Faults injected, by kind (the ``FaultConfig`` field name); the key
            ``after_write`` counts the 5xx/drops that came after the handler ran.
        sleep: The awaitable sleep used for latency and slow replies; replace it in tests.
        shutdown_grace: Seconds the shutdown hook waits for interrupted requests to finish.
    """

    def __init__(self, config: FaultConfig, *, sleep: Sleep | None = None) -> None:
        self._config = config
        self._rng = random.Random(config.seed)
        self.counters: collections.Counter[tuple[str, str]] = collections.Counter()
        self.fault_counts: collections.Counter[str] = collections.Counter()
        self.sleep: Sleep = sleep if sleep is not None else self._interruptible_sleep
        self.shutdown_grace = 5.0
        self._on_expire: ExpireSessions | None = None
        self._control_paths: set[str] = set()
        self._closing = False
        self._wakers: set[asyncio.Future[None]] = set()
        self._pausing: set[asyncio.Task[Any]] = set()
        # Replies held by a server that bypasses the middleware (the sandbox's lean path).
        self.held_elsewhere: Callable[[], int] = _none_held

    @property
    def config(self) -> FaultConfig:
        """The configuration in force; assigning one also restarts the seeded sequence."""
        return self._config

    @config.setter
    def config(self, value: FaultConfig) -> None:
        if not isinstance(value, FaultConfig):
            raise TypeError(f"config must be a FaultConfig, not {type(value).__name__}")
        self._config = value
        self._rng = random.Random(value.seed)

    @property
    def in_flight(self) -> int:
        """Requests currently held in an injected delay or slow reply."""
        return sum(1 for task in self._pausing if not task.done()) + self.held_elsewhere()

    def reset_counters(self) -> None:
        """Zero the request and fault counters."""
        self.counters.clear()
        self.fault_counts.clear()

    def snapshot(self) -> dict[str, object]:
        """Return the counters in the shape of ``GET /_sandbox/counters``."""
        items = sorted(self.counters.items())
        return {
            "requests": {f"{method} {template}": n for (method, template), n in items},
            "faults": dict(sorted(self.fault_counts.items())),
            "total": sum(n for _, n in items),
            "writes": sum(n for (method, _), n in items if method in WRITE_METHODS),
        }

    def plain_delay(self, method: str, template: str) -> float | None:
        """Count a request served without the middleware and return how long to hold its reply.

        For a server that answers API requests itself (:mod:`migrate.sandbox.fastpath`) when
        nothing but latency can be injected. ``None`` means a fault may fire (or the server is
        closing, or tests replaced :attr:`sleep`): nothing was counted or drawn and the request
        must go through :meth:`middleware`. Otherwise the request is counted and takes its
        three draws exactly as the middleware would, so the seeded sequence stays the same.

        Args:
            method: The HTTP method.
            template: The route template it is counted under (see :func:`path_template`).

        Returns:
            Seconds to hold the reply after the handler ran (0.0: none), or ``None``.
        """
        config = self._config
        if self._closing or self.sleep != self._interruptible_sleep or config.any_fault:
            return None
        self.counters[(method, template)] += 1
        if config.applies_to == "writes" and method not in WRITE_METHODS:
            return 0.0
        rng = self._rng.random
        rng()
        u_jitter = rng()
        rng()
        return max(0.0, config.latency_ms + (2.0 * u_jitter - 1.0) * config.jitter_ms) / 1000.0

    def middleware(self) -> Middleware:
        """Return the aiohttp middleware; put it first in the app's middlewares.

        Control routes registered by :meth:`add_control_routes` are answered here directly,
        so the rest of the chain (sessions, allow-list, trailing slash) never sees them. Other
        paths outside the API prefix pass through untouched and uncounted.
        """

        @web.middleware
        async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            path = request.path
            if path in self._control_paths:
                match = request.match_info
                if match.http_exception is not None:
                    raise match.http_exception  # e.g. 405 for POST /_sandbox/faults
                return await match.handler(request)
            if not (path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")):
                return await handler(request)
            self.counters[(request.method, path_template(request))] += 1
            return await self._inject(request, handler)

        return fault_middleware

    async def _inject(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        config = self._config  # one snapshot, in case a PUT swaps it while we sleep
        if config.applies_to == "writes" and request.method not in WRITE_METHODS:
            return await handler(request)
        # Always three draws, before any await, so the sequence follows arrival order only.
        u_fault, u_jitter, u_after = self._rng.random(), self._rng.random(), self._rng.random()
        kind = _choose(config, u_fault)
        delay_ms = max(0.0, config.latency_ms + (2.0 * u_jitter - 1.0) * config.jitter_ms)
        if kind is None:
            if delay_ms <= 0.0:
                return await handler(request)
            return await self._handle_then_pause(request, handler, delay_ms / 1000.0)
        if delay_ms > 0.0 and not await self._pause(delay_ms / 1000.0):
            return _drop(request)
        self.fault_counts[kind] += 1
        _log.debug("injecting %s on %s %s", kind, request.method, path_template(request))
        if kind == "p_429":
            seconds = str(math.ceil(config.retry_after))
            return _plain(429, "Too Many Requests", {"Retry-After": seconds})
        if kind == "p_slow":
            if not await self._pause(config.slow_seconds):
                return _drop(request)
            return await handler(request)
        if kind == "p_expire":
            if self._on_expire is not None:
                await _call_expire(self._on_expire)
            return await handler(request)
        if u_after < config.fault_after_write:
            self.fault_counts["after_write"] += 1
            # A redirect or 404 raised by the handler: the client still sees our fault.
            with contextlib.suppress(web.HTTPException):
                await handler(request)
        if kind == "p_drop":
            return _drop(request)
        return _plain(*_PROXY_ERRORS[kind])

    async def _handle_then_pause(self, request: web.Request, handler: Handler, seconds: float) -> web.StreamResponse:
        # The reply leaves ``seconds`` after the handler finished. Handling at once, not after
        # the wait, keeps the sandbox's own CPU from piling up: with a fixed latency, requests
        # sent together would otherwise all wake together and queue behind each other's
        # handlers, and every client would measure that queue on top of the latency (as if the
        # server had one worker and the network no delay of its own).
        try:
            response = await handler(request)
        except web.HTTPException:
            await self._pause(seconds)
            raise
        await self._pause(seconds)  # shutting down meanwhile: the work is done, reply anyway
        return response

    async def _pause(self, seconds: float) -> bool:
        # False when the server began shutting down meanwhile: the caller then drops the
        # connection instead of running a handler against a closing database.
        task = asyncio.current_task()
        if task is not None and task not in self._pausing:
            self._pausing.add(task)
            task.add_done_callback(self._pausing.discard)
        await self.sleep(seconds)
        return not self._closing

    async def _interruptible_sleep(self, seconds: float) -> None:
        if self._closing:
            return
        loop = asyncio.get_running_loop()
        waker: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _wake, waker)
        self._wakers.add(waker)
        try:
            await waker
        finally:
            timer.cancel()
            self._wakers.discard(waker)

    async def shutdown(self) -> None:
        """Cut injected delays short and wait (``shutdown_grace`` at most) for those requests.

        Registered as an ``on_shutdown`` hook by :meth:`add_control_routes`. A request whose
        client already timed out is no longer tracked by aiohttp, so without this its task
        would outlive the event loop.
        """
        self._closing = True
        for waker in list(self._wakers):
            _wake(waker)
        current = asyncio.current_task()
        pending = {task for task in self._pausing if not task.done() and task is not current}
        if pending:
            await asyncio.wait(pending, timeout=self.shutdown_grace)

    def add_control_routes(
        self,
        app: web.Application,
        *,
        on_expire_sessions: ExpireSessions,
    ) -> None:
        """Add the ``/_sandbox/`` JSON routes and the startup/shutdown hooks to an app.

        Routes (loopback clients only, others get 403): ``GET``/``PUT /_sandbox/faults``,
        ``GET``/``DELETE /_sandbox/counters``, ``POST /_sandbox/expire-sessions``.

        Args:
            app: The sandbox application (not yet started).
            on_expire_sessions: Invalidates every session and returns how many there were;
                may also be a coroutine function. Also used by the ``p_expire`` fault.
        """
        self._on_expire = on_expire_sessions
        routes = [
            web.get(CONTROL_PREFIX + "faults", _local_only(self._get_faults), allow_head=False),
            web.put(CONTROL_PREFIX + "faults", _local_only(self._put_faults)),
            web.get(CONTROL_PREFIX + "counters", _local_only(self._get_counters), allow_head=False),
            web.delete(CONTROL_PREFIX + "counters", _local_only(self._delete_counters)),
            web.post(CONTROL_PREFIX + "expire-sessions", _local_only(self._expire_sessions)),
        ]
        app.router.add_routes(routes)
        self._control_paths.update(route.path for route in routes)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)

    async def _on_startup(self, app: web.Application) -> None:
        self._closing = False

    async def _on_shutdown(self, app: web.Application) -> None:
        await self.shutdown()

    async def _get_faults(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._config.to_dict())

    async def _put_faults(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.text())
        except ValueError:
            return _bad_request('the body is not JSON; send an object such as {"p_502": 0.1}')
        if not isinstance(body, dict):
            return _bad_request('send a JSON object such as {"p_502": 0.1}')
        try:
            config = FaultConfig.from_dict({**self._config.to_dict(), **body})
        except ValueError as exc:
            return _bad_request(str(exc))
        self.config = config
        _log.info("fault configuration changed: %s", sorted(body))
        return web.json_response(config.to_dict())

    async def _get_counters(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.snapshot())

    async def _delete_counters(self, request: web.Request) -> web.StreamResponse:
        self.reset_counters()
        return web.json_response(self.snapshot())

    async def _expire_sessions(self, request: web.Request) -> web.StreamResponse:
        if self._on_expire is None:
            return web.json_response({"expired": 0})
        return web.json_response({"expired": await _call_expire(self._on_expire)})


def _none_held() -> int:
    return 0


def _choose(config: FaultConfig, u: float) -> str | None:
    edge = 0.0
    for kind in FAULT_KINDS:
        edge += getattr(config, kind)
        if u < edge:
            return kind
    return None


def _wake(waker: asyncio.Future[None]) -> None:
    if not waker.done():
        waker.set_result(None)


async def _call_expire(callback: ExpireSessions) -> int:
    result = callback()
    if inspect.isawaitable(result):
        result = await result
    return int(result)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _local_only(handler: Handler) -> Handler:
    # The control endpoint can switch faults off or expire sessions: loopback clients only.
    async def guarded(request: web.Request) -> web.StreamResponse:
        if not is_loopback(request.remote):
            message = "the sandbox control endpoint answers loopback clients only"
            return web.json_response({"error": message}, status=403)
        return await handler(request)

    return guarded
