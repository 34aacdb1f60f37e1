"""Throughput of the sandbox for GET and POST /api/user/<mail> at concurrency 32.

Starts its own sandbox (a file database in a temporary directory) in a separate process, so the
load generator and the server do not share one interpreter lock, then drives it with an aiohttp
client. Bounded: a fixed number of requests per phase, cut off after --max-seconds.

    .venv/bin/python bench/sandbox_load.py [--requests 5000] [--concurrency 32] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from migrate.sandbox import Sandbox, SandboxConfig

ADMIN = "postmaster@sandbox.test"
PASSWORD = "Bench#Passw0rd"
DOMAIN = "bench.example.com"
USER_PASSWORD = "Us3r#Passw0rd"

_SERVE = textwrap.dedent(
    """
    import sys
    from migrate.sandbox import SandboxConfig, serve_forever
    config = SandboxConfig(db_path=sys.argv[1], admin_email=sys.argv[2], admin_password=sys.argv[3])
    serve_forever(config, on_ready=lambda url: print(url, flush=True))
    """
)


async def _phase(
    session: aiohttp.ClientSession,
    name: str,
    request: Callable[[int], tuple[str, str, dict[str, str] | None]],
    total: int,
    concurrency: int,
    max_seconds: float,
) -> dict[str, float | int | str]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            if time.perf_counter() > deadline:
                return
            method, url, data = request(i)
            start = time.perf_counter()
            async with session.request(method, url, data=data) as response:
                body = await response.json(content_type=None)
            latencies.append(time.perf_counter() - start)
            if response.status != 200 or body.get("_success") is not True:
                errors += 1

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    done = len(latencies)
    latencies.sort()
    return {
        "phase": name,
        "requests": done,
        "errors": errors,
        "seconds": wall,
        "rps": done / wall if wall else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(0.99 * (done - 1))] * 1000 if latencies else 0.0,
        "client_us": cpu / done * 1e6 if done else 0.0,
    }


async def _drive(base_url: str, total: int, concurrency: int, max_seconds: float) -> list[dict[str, float | int | str]]:
    jar = aiohttp.CookieJar(unsafe=True)  # the sandbox is addressed by IP
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(cookie_jar=jar, connector=connector) as session:
        async with session.post(f"{base_url}/login", data={"username": ADMIN, "password": PASSWORD}) as response:
            assert (await response.json(content_type=None))["_success"], "login failed"
        async with session.post(f"{base_url}/domain/{DOMAIN}", data={"name": "Bench"}) as response:
            await response.read()
        results = [
            await _phase(
                session,
                "POST /api/user/<mail>",
                lambda i: ("POST", f"{base_url}/user/u{i}@{DOMAIN}", {"name": f"User {i}", "password": USER_PASSWORD}),
                total,
                concurrency,
                max_seconds,
            )
        ]
        created = int(results[0]["requests"]) or 1
        results.append(
            await _phase(
                session,
                "GET /api/user/<mail>",
                lambda i: ("GET", f"{base_url}/user/u{i % created}@{DOMAIN}", None),
                total,
                concurrency,
                max_seconds,
            )
        )
    return results


def _print(results: list[dict[str, float | int | str]], concurrency: int, mode: str) -> None:
    print(f"sandbox throughput, concurrency {concurrency}, server {mode}, {os.cpu_count()} cores")
    header = (
        f"{'phase':<24}{'requests':>9}{'errors':>7}{'seconds':>9}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'cli us':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['phase']:<24}{r['requests']:>9}{r['errors']:>7}{r['seconds']:>9.2f}{r['rps']:>9.0f}"
            f"{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}{r['client_us']:>8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="cut-off per phase")
    parser.add_argument("--in-process", action="store_true", help="run the sandbox in a thread of this process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "bench.db")
        if args.in_process:
            config = SandboxConfig(db_path=db_path, admin_email=ADMIN, admin_password=PASSWORD)
            with Sandbox(config) as sandbox:
                results = asyncio.run(_drive(sandbox.base_url, args.requests, args.concurrency, args.max_seconds))
            _print(results, args.concurrency, "in-process thread")
            return
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVE, db_path, ADMIN, PASSWORD], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            assert proc.stdout is not None
            base_url = proc.stdout.readline().strip()
            results = asyncio.run(_drive(base_url, args.requests, args.concurrency, args.max_seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        _print(results, args.concurrency, "separate process")


if __name__ == "__main__":
    main()
