"""Running the sandbox: in a background thread (:class:`Sandbox`) or in the foreground.

Either way one event loop owns the SQLite connection; other threads reach the state only
through :meth:`Sandbox.call`, which runs a function on that loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from aiohttp import web

from migrate.sandbox import store_domain, store_extra
from migrate.sandbox.app import build_app
from migrate.sandbox.config import API_PREFIX, SandboxConfig
from migrate.sandbox.context import AppState
from migrate.sandbox.fastpath import FastApi
from migrate.sandbox.faults import Faults
from migrate.sandbox.ldap_dit import start_directory
from migrate.sandbox.mlmmj import SubscriberStore
from migrate.sandbox.passwords import hash_password, verify_password
from migrate.sandbox.routes import edition
from migrate.sandbox.sessions import SessionStore
from migrate.sandbox.storage import Db

__all__ = ["Sandbox", "serve_forever"]

T = TypeVar("T")
_log = logging.getLogger(__name__)
_START_TIMEOUT = 30.0
# Requests still running at shutdown get this long (slow faulted ones are cut short anyway).
_SHUTDOWN_GRACE = 2.0
_BACKLOG = 128  # aiohttp's TCPSite default


def _ensure_admin(db: Db, email: str, password: str) -> None:
    """Create the configured global admin, or make it active, global and using ``password``."""
    email = email.strip().lower()
    with db.tx():
        row = store_domain.get_admin(db, email)
        if row is None:
            values = {"username": email, "password": hash_password(password), "language": "en_US", "active": 1}
            store_domain.create_admin(db, values, {})
        elif not verify_password(password, str(row["password"])) or not row["active"]:
            store_domain.update_admin(db, email, {"password": hash_password(password), "active": 1}, None)
        store_domain.set_global_admin(db, email, True)


class _Runtime:
    """An opened database plus a listening socket: the lean API path, aiohttp's app behind it."""

    def __init__(
        self, state: AppState, faults: Faults, runner: web.AppRunner, server: asyncio.Server, fast: FastApi
    ) -> None:
        self.state = state
        self.faults = faults
        self.runner = runner
        self.server = server
        self.fast = fast
        host, port = server.sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        self.root_url = f"http://{shown}:{port}"

    @classmethod
    async def start(cls, config: SandboxConfig) -> _Runtime:
        db = Db(config.db_path)
        try:
            if config.edition == "ldap":
                start_directory(db, config.base_dn, config.admin_email, config.admin_password)
            else:
                _ensure_admin(db, config.admin_email, config.admin_password)
            subscribers = SubscriberStore(None if config.db_path == ":memory:" else config.db_path + ".mlmmj")
            state = AppState(
                config=config,
                db=db,
                sessions=SessionStore(db, config.session_timeout),
                subscribers=subscribers,
                quirks=frozenset(config.quirks),
            )
            state.load_allow_list()
            faults = Faults(config.faults)
            runner = web.AppRunner(build_app(state, faults), access_log=None, shutdown_timeout=_SHUTDOWN_GRACE)
            await runner.setup()
            try:
                app_server = runner.server
                if app_server is None:  # pragma: no cover - setup() always makes one
                    raise RuntimeError("the aiohttp runner has no server")
                fast = FastApi(state, faults, edition(config.edition), app_server)
                loop = asyncio.get_running_loop()
                server = await loop.create_server(fast, config.host, config.port, backlog=_BACKLOG)
            except BaseException:
                await runner.cleanup()
                raise
        except BaseException:
            db.close()
            raise
        return cls(state, faults, runner, server, fast)

    async def close(self) -> None:
        try:
            # No new connections, held replies sent, then aiohttp closes the connections it took.
            self.server.close()
            self.fast.close()
            await self.runner.cleanup()
        finally:
            self.state.db.close()


class Sandbox:
    """A sandbox server on its own event loop in a background thread.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        config: What to run; checked at once (``ValueError`` on a bad configuration).

    Attributes:
        base_url: ``http://127.0.0.1:<port>/iredadmin/api`` (no trailing slash) once started.
        root_url: ``http://127.0.0.1:<port>``.
        control_url: ``root_url + "/_sandbox"``, the fault-injection control endpoint.
    """

    def __init__(self, config: SandboxConfig) -> None:
        config.check()
        self.config = config
        self.base_url = ""
        self.root_url = ""
        self.control_url = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._runtime: _Runtime | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def runtime_state(self) -> AppState:
        """The shared state (touch it only through :meth:`call`)."""
        if self._runtime is None:
            raise RuntimeError("the sandbox is not running")
        return self._runtime.state

    @property
    def faults(self) -> Faults:
        """The fault injector (its ``config`` may be replaced from any thread)."""
        if self._runtime is None:
            raise RuntimeError("the sandbox is not running")
        return self._runtime.faults

    def start(self) -> None:
        """Start serving; returns once the port is open (raises if startup failed)."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="iredmigrate-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            raise RuntimeError("the sandbox did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"the sandbox could not start: {self._error}") from self._error

    def _run(self) -> None:
        loop = _new_loop()
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start(); the thread just ends
            self._error = exc
        finally:
            self._ready.set()
            loop.close()

    async def _main(self) -> None:
        runtime = await _Runtime.start(self.config)
        self._runtime = runtime
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self.root_url = runtime.root_url
        self.base_url = runtime.root_url + API_PREFIX
        self.control_url = runtime.root_url + "/_sandbox"
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            await runtime.close()

    def stop(self) -> None:
        """Stop serving and close the database (idempotent)."""
        thread, loop, event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)
        thread.join(_START_TIMEOUT)
        self._thread = self._loop = self._stop_event = self._runtime = None

    def call(self, func: Callable[[AppState], T]) -> T:
        """Run ``func(state)`` on the server's loop (where the database lives) and return its result."""
        loop, runtime = self._loop, self._runtime
        if loop is None or runtime is None:
            raise RuntimeError("the sandbox is not running")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(func(runtime.state))
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(_START_TIMEOUT)

    def expire_sessions(self) -> int:
        """Invalidate every session (as if each idled out); returns how many there were."""
        return self.call(lambda state: state.sessions.expire_all())

    def set_allowed_clients(self, clients: list[str] | None) -> None:
        """Store an allow-list in the ``settings`` table, as the web UI does (``None`` removes it)."""

        def apply(state: AppState) -> None:
            with state.db.tx():
                store_extra.set_setting(state.db, "restful_api_clients", None if clients is None else ",".join(clients))
            state.load_allow_list()

        self.call(apply)


def _new_loop() -> asyncio.AbstractEventLoop:
    """Return a uvloop loop where installed: the sandbox must not be the bottleneck of a benchmark."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve_forever(config: SandboxConfig, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (or KeyboardInterrupt), then close cleanly.

    Args:
        config: What to run (``ValueError`` on a bad configuration).
        on_ready: Called with the base URL once the port is open.
    """
    config.check()
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=_new_loop) as runner:
        runner.run(_serve(config, on_ready))


async def _serve(config: SandboxConfig, on_ready: Callable[[str], None] | None) -> None:
    runtime = await _Runtime.start(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Outside the main thread this fails; KeyboardInterrupt then still ends asyncio.run.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if on_ready is not None:
            on_ready(runtime.root_url + API_PREFIX)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        await runtime.close()
        _log.info("sandbox stopped")
