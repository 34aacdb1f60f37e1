"""Export of a whole server through the API, with injected latency (issue 5).

Fills a sandbox (its own process) with ``--users`` users over ``--domains`` domains without
latency, then turns on ``--latency-ms`` through the control endpoint and times
``iredmigrate export`` at each concurrency. Reports the API calls made against the minimum the
list endpoints allow, and requests/s against the ideal ``concurrency / latency``.

The minimum: 1 ``GET /domains``; per domain 2 (domain, its admins) + 3 lists (users, aliases, mls)
+ 3 policy reads (spam policy, inbound and outbound throttle); per user 1 ``GET /user`` (the list
rows carry neither forwardings, per-user aliases nor bcc) + 3 policy reads; per alias and list one
GET (members / subscribers); plus the 3 global policy reads.

    .venv/bin/python bench/bench_export_server.py --users 10000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_import import ADMIN, PASSWORD, Server, write_inputs

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 64])
    args = parser.parse_args()
    env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_inputs(folder, args.users, args.domains)
        server = Server(folder, 0)
        try:
            fill = [sys.executable, "-m", "migrate", "import", *map(str, files), "--url", server.base_url,
                    "--admin", ADMIN, "-c", "32", "-q", "--no-verify"]  # fmt: skip
            subprocess.run(fill, env=env, cwd=REPO, check=True, capture_output=True)
            minimum = 1 + args.domains * (2 + 3 + 3) + args.users * (1 + 3) + 3
            httpx.put(server.root + "/_sandbox/faults", json={"latency_ms": args.latency_ms}).raise_for_status()
            print(f"{args.users} users over {args.domains} domains, latency {args.latency_ms:.0f} ms")
            print(f"{'conc':>5} {'calls':>7} {'minimum':>8} {'seconds':>8} {'req/s':>7} {'ideal':>6} {'ratio':>6}")
            for concurrency in args.concurrency:
                httpx.delete(server.root + "/_sandbox/counters").raise_for_status()
                out = folder / f"export-{concurrency}.json"
                command = [sys.executable, "-m", "migrate", "export", "--url", server.base_url, "--admin", ADMIN,
                           "-o", str(out), "-c", str(concurrency), "-q"]  # fmt: skip
                start = time.perf_counter()
                subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
                elapsed = time.perf_counter() - start
                calls = int(httpx.get(server.root + "/_sandbox/counters").json()["total"]) - 1  # minus the login
                ideal = concurrency / (args.latency_ms / 1000)
                print(
                    f"{concurrency:>5} {calls:>7} {minimum:>8} {elapsed:>8.1f} {calls / elapsed:>7.0f} "
                    f"{ideal:>6.0f} {calls / elapsed / ideal:>6.2f}"
                )
        finally:
            server.close()


if __name__ == "__main__":
    main()
