"""Which HTTP client stack keeps up with many API calls in flight?

Starts a trivial aiohttp server in a child process on 127.0.0.1 that answers every request after
an injected delay (20 ms by default, a stand-in for a real server's latency), then drives it with
each client stack at several concurrency levels and reports, per cell:

* rps: completed requests per second;
* rps/ideal: against the ideal ``concurrency / delay`` (what a client with zero cost would do);
* CPU/req: client CPU per request (``time.process_time`` of this process, which holds only the
  client, divided by the requests).

Clients: httpx.AsyncClient on its default transport; the same httpx API over httpx-aiohttp's
``AiohttpTransport``; raw aiohttp; a sync httpx.Client shared by a thread pool; and
iredmigrate's own ``ApiClient`` (its ``Http11Transport`` plus envelope, retry and session handling).

Each cell sends up to ``--requests`` requests, fewer when the ideal duration would pass ~3 s, and
stops early after ``--cell-seconds``; one run per cell, so expect 10-20% noise.

    .venv/bin/python bench/http_transport.py            # whole run well under 3 minutes
    .venv/bin/python bench/http_transport.py --concurrency 32 --clients aiohttp,apiclient
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cell", "main"]

ADMIN = "bench@example.com"
PASSWORD = "bench-password"
CLIENTS = ("httpx", "httpx-aiohttp", "aiohttp", "httpx-sync-threads", "apiclient")


# --- server (child process) --------------------------------------------------------------------


def serve(delay: float) -> None:
    """Run the delayed JSON server; print the port on stdout; stop when stdin closes."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        if request.path == "/api/login":
            response = web.json_response({"_success": True})
            response.set_cookie("iRedAdmin-Pro-MYSQL", "0" * 40, httponly=True)
            return response
        return web.json_response({"_success": True, "_data": {"mail": request.path.rsplit("/", 1)[-1]}})

    async def main() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # parent gone: exit
        await runner.cleanup()

    asyncio.run(main())


# --- clients -----------------------------------------------------------------------------------


@dataclass
class Cell:
    """One measurement."""

    client: str
    concurrency: int
    requests: int
    seconds: float
    cpu: float

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds

    def ratio(self, delay: float) -> float:
        """rps against the ideal concurrency / delay."""
        return self.rps / (self.concurrency / delay)

    @property
    def cpu_us(self) -> float:
        """Client CPU microseconds per request."""
        return self.cpu / self.requests * 1e6


async def _drive(request: Callable[[int], Awaitable[None]], concurrency: int, total: int, budget: float) -> int:
    """Run ``total`` requests on ``concurrency`` workers; stop early past ``budget`` seconds."""
    counter = iter(range(total))
    deadline = time.perf_counter() + budget
    done = 0

    async def worker() -> None:
        nonlocal done
        for i in counter:
            await request(i)
            done += 1
            if time.perf_counter() > deadline:
                return

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def _async_cell(kind: str, base: str, concurrency: int, total: int, budget: float) -> tuple[int, float, float]:
    import aiohttp
    import httpx
    from httpx_aiohttp import AiohttpTransport

    from migrate.client import ApiClient

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    close: Callable[[], Awaitable[None]]
    request: Callable[[int], Awaitable[None]]
    if kind in ("httpx", "httpx-aiohttp"):
        transport = AiohttpTransport(limits=limits) if kind == "httpx-aiohttp" else None
        hx = httpx.AsyncClient(limits=limits, transport=transport)

        async def request(i: int) -> None:
            response = await hx.get(f"{base}/user/u{i}@example.com")
            response.json()

        close = hx.aclose
    elif kind == "aiohttp":
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))

        async def request(i: int) -> None:
            async with session.get(f"{base}/user/u{i}@example.com") as response:
                await response.json()

        close = session.close
    else:
        api = ApiClient(base, ADMIN, PASSWORD, concurrency=concurrency)

        async def request(i: int) -> None:
            await api.call("GET", f"/user/u{i}@example.com")

        close = api.aclose
    try:
        await _drive(request, concurrency, concurrency * 2, budget)  # warm up: connections, login
        cpu0, t0 = time.process_time(), time.perf_counter()
        done = await _drive(request, concurrency, total, budget)
        return done, time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await close()


def _threads_cell(base: str, concurrency: int, total: int, budget: float) -> tuple[int, float, float]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    lock = threading.Lock()

    def drive(client: httpx.Client, count: int) -> tuple[int, float, float]:
        counter = iter(range(count))
        deadline = time.perf_counter() + budget
        done = [0]

        def worker() -> None:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None or time.perf_counter() > deadline:
                    return
                client.get(f"{base}/user/u{i}@example.com").json()
                with lock:
                    done[0] += 1

        cpu0, t0 = time.process_time(), time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for future in [pool.submit(worker) for _ in range(concurrency)]:
                future.result()
        return done[0], time.perf_counter() - t0, time.process_time() - cpu0

    with httpx.Client(limits=limits) as client:
        drive(client, concurrency * 2)
        return drive(client, total)


def measure(kind: str, base: str, concurrency: int, total: int, budget: float) -> Cell:
    """Measure one client at one concurrency."""
    if kind == "httpx-sync-threads":
        done, seconds, cpu = _threads_cell(base, concurrency, total, budget)
    else:
        done, seconds, cpu = asyncio.run(_async_cell(kind, base, concurrency, total, budget))
    return Cell(kind, concurrency, done, seconds, cpu)


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--delay", type=float, default=0.020, help="injected server delay, seconds")
    parser.add_argument("--requests", type=int, default=2000, help="requests per cell (at most)")
    parser.add_argument("--concurrency", default="1,8,32,64", help="comma list")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma list of " + ", ".join(CLIENTS))
    parser.add_argument("--cell-seconds", type=float, default=8.0, help="stop a cell after this long")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.delay)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
    levels = [int(c) for c in args.concurrency.split(",")]
    kinds = [k for k in args.clients.split(",") if k]
    unknown = set(kinds) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--delay", str(args.delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{int(server.stdout.readline())}/api"
        started = time.perf_counter()
        print(f"server delay {args.delay * 1e3:.0f} ms; ideal rps = concurrency / delay\n")
        print("| client | conc | requests | rps | ideal | rps/ideal | client CPU µs/req |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for concurrency in levels:
            ideal = concurrency / args.delay
            # Keep each cell's ideal duration near 3 s at low concurrency (c=1 would take 40 s).
            total = min(args.requests, max(100, int(ideal * 3)))
            for kind in kinds:
                cell = measure(kind, base, concurrency, total, args.cell_seconds)
                print(
                    f"| {kind} | {concurrency} | {cell.requests} | {cell.rps:,.0f} | {ideal:,.0f} "
                    f"| {cell.ratio(args.delay):.0%} | {cell.cpu_us:,.0f} |",
                    flush=True,
                )
        print(f"\ntotal {time.perf_counter() - started:.0f} s")
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
