"""The API client's CPU time per call on the import workload, at 32 calls in flight.

Starts a sandbox (``python -m migrate sandbox serve``, no injected latency) in its own process,
then, in this process, an :class:`~migrate.client.ApiClient` logs in, creates 20 domains and
runs 32 workers that each take the next of ``users`` users and make the three calls an import
makes for it: ``POST /user/<mail>``, ``PUT /user/<mail>`` (employeeid) and the read-back
``GET /user/<mail>``. Prints this process's CPU time (``time.process_time``: the client and its
event loop, the sandbox excluded) over those calls divided by their number, and the wall time.

At 32 concurrent 20 ms requests the client has about 0.6 ms of wall time per request for
everything, and the sandbox needs most of the other core: the client's CPU per call decides how
long replies wait for it (see the Import section of bench/RESULTS.md).

    flock /tmp/iredmigrate-bench.lock .venv/bin/python bench/client_cpu.py 3000 [--repo DIR]

``--repo`` imports the client from another checkout (for example an export of the previous
commit), so that two versions can be compared alternately; the sandbox always runs from this one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ADMIN = "postmaster@bench.test"
PASSWORD = "Bench#Admin-Pass1"
DOMAINS = [f"d{i:02d}.bench.example" for i in range(20)]
_ROOT = Path(__file__).resolve().parent.parent


async def workload(client: Any, users: int, concurrency: int) -> tuple[float, float]:
    """Run the calls; return (CPU seconds, wall seconds) spent on the users' calls."""
    await client.login()
    await asyncio.gather(*(client.call("POST", f"/domain/{d}", data={"name": d}) for d in DOMAINS))
    numbers = iter(range(users))

    async def worker() -> None:
        for i in numbers:  # the workers share one iterator: each user is taken once
            mail = f"user{i:05d}@{DOMAINS[i % len(DOMAINS)]}"
            form = {"name": f"User {i}", "password": f"Pw#{i:05d}Good", "quota": "1024"}
            await client.call("POST", f"/user/{mail}", data=form)
            await client.call("PUT", f"/user/{mail}", data={"employeeid": f"E{i}"})
            await client.get_user(mail)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("users", type=int, nargs="?", default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repo", type=Path, default=_ROOT, help="checkout to import the client from")
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo.resolve()))
    from migrate.aio import run
    from migrate.client import ApiClient

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD, "PYTHONPATH": str(_ROOT)}
        server = subprocess.Popen(
            [sys.executable, "-m", "migrate", "sandbox", "serve", "--port", "0", "--db", f"{tmp}/sb.db",
             "--admin", ADMIN],
            env=env, cwd=_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split()[2]

            async def session() -> tuple[float, float]:
                async with ApiClient(url, ADMIN, PASSWORD, concurrency=args.concurrency) as client:
                    return await workload(client, args.users, args.concurrency)

            cpu, wall = run(session())
        finally:
            server.terminate()
            server.wait(timeout=30)
    calls = 3 * args.users
    print(
        f"client CPU {cpu / calls * 1e3:.3f} ms/call, wall {wall / calls * 1e3:.3f} ms/call "
        f"({calls} calls, {args.concurrency} in flight, client from {args.repo})"
    )


if __name__ == "__main__":
    main()
