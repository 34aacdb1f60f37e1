"""Import throughput against the sandbox with injected latency, against the ideal and a naive loop.

Scenario (issue 4): users over 20 domains, the sandbox in its own process answering every API
request after ``--latency-ms`` (20 ms). For each concurrency the real CLI imports into a fresh
sandbox; achieved requests/s (every API request the server saw, reads and writes, divided by the
import's wall time) is compared with the ideal ``min(rate, concurrency / latency)`` and with a
hand-written sequential loop of plain httpx calls, what an admin's script does.

Each import's share of CPU time the hypervisor gave to other guests ("steal", from
``/proc/stat``) is printed beside it: on a shared machine it moves a run by more than most
changes to the code. ``--repeat N`` runs every concurrency N times, round by round, and reports
each run and the median.

    .venv/bin/python bench/bench_import.py                 # 10,000 users; 1,000 at concurrency 1
    .venv/bin/python bench/bench_import.py --users 2000 --concurrency 8 32
    .venv/bin/python bench/bench_import.py --concurrency 32 --repeat 5
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ADMIN = "postmaster@bench.test"
PASSWORD = "Bench#Admin-Pass1"


def write_inputs(folder: Path, users: int, domains: int) -> tuple[Path, Path]:
    names = [f"d{i:02d}.bench.example" for i in range(domains)]
    domain_file = folder / "domains.csv"
    with open(domain_file, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["domain", "name"])
        writer.writerows([[d, f"Domain {d}"] for d in names])
    user_file = folder / f"users-{users}.csv"
    with open(user_file, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "password", "quota", "employeeid"])
        for i in range(users):
            writer.writerow([f"user{i:05d}@{names[i % domains]}", f"User {i}", f"Pw#{i:05d}Good", "1024", f"E{i}"])
    return domain_file, user_file


class Server:
    """``iredmigrate sandbox serve`` in a child process, so it does not share our GIL."""

    def __init__(
        self,
        folder: Path,
        latency_ms: float,
        jitter_ms: float = 0.0,
        *,
        entry: tuple[str, ...] = ("-m", "migrate"),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD, **(extra_env or {})}
        self.process = subprocess.Popen(
            [sys.executable, *entry, "sandbox", "serve", "--port", "0", "--db", str(folder / "sb.db"),
             "--admin", ADMIN, "--latency-ms", str(latency_ms), "--jitter-ms", str(jitter_ms)],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.base_url = line.split()[2]
        self.root = self.base_url.split("/iredadmin/")[0]

    def requests(self) -> int:
        return int(httpx.get(self.root + "/_sandbox/counters").json()["total"])

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def cpu_ticks() -> tuple[int, int] | None:
    """Return (steal, all) clock ticks of every CPU since boot, or ``None`` off Linux."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return fields[7], sum(fields)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Return the share of CPU time stolen between two :func:`cpu_ticks` readings."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def run_import(server: Server, files: list[Path], concurrency: int) -> float:
    env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD}
    command = [sys.executable, "-m", "migrate", "import", *map(str, files), "--url", server.base_url,
               "--admin", ADMIN, "-c", str(concurrency), "-q"]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"import failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed


def naive_loop(server: Server, users: int, domains: list[str]) -> float:
    """What an admin's script does: log in, then one plain httpx call after another."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        client.post("/login", data={"username": ADMIN, "password": PASSWORD})
        for domain in domains:
            client.post(f"/domain/{domain}", data={"name": domain})
        start = time.perf_counter()
        for i in range(users):
            reply = client.post(
                f"/user/naive{i:05d}@{domains[i % len(domains)]}",
                data={"name": f"User {i}", "password": f"Pw#{i:05d}Good", "quota": "1024"},
            )
            assert reply.json()["_success"], reply.text
        return users / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--users-at-1", type=int, default=1_000, help="users for the concurrency-1 run (it is slow)")
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="uniform jitter around the latency (the mean stays the same)"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--naive-users", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1, help="runs of every concurrency (the median is reported)")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    # The package's bytecode is compiled first, as an installed package has it (pip compiles it at
    # install): otherwise, where bytecode is not written (PYTHONDONTWRITEBYTECODE), every timed
    # import also times compiling the modules changed since their bytecode was last written.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "migrate")], check=True, stdout=subprocess.DEVNULL
    )
    runs: dict[int, list[tuple[int, int, float, float | None]]] = {c: [] for c in args.concurrency}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for round_number in range(args.repeat):
            for concurrency in args.concurrency:
                users = args.users_at_1 if concurrency == 1 else args.users
                files = list(write_inputs(folder, users, args.domains))
                run_dir = folder / f"c{concurrency}-{round_number}"
                run_dir.mkdir()
                server = Server(run_dir, args.latency_ms, args.jitter_ms)
                try:
                    before = cpu_ticks()
                    elapsed = run_import(server, files, concurrency)
                    stolen = steal_share(before, cpu_ticks())
                    total = server.requests()
                finally:
                    server.close()
                runs[concurrency].append((users, total, elapsed, stolen))
                shown = "n/a" if stolen is None else f"{stolen:.1%}"
                ratio = total / elapsed / (concurrency / latency)
                print(f"c={concurrency}: {users} users, {total} requests in {elapsed:.2f}s, ratio {ratio:.3f}, "
                      f"steal {shown}", flush=True)  # fmt: skip
        naive_dir = folder / "naive"
        naive_dir.mkdir()
        server = Server(naive_dir, args.latency_ms, args.jitter_ms)
        try:
            names = [f"n{i:02d}.bench.example" for i in range(args.domains)]
            naive = naive_loop(server, args.naive_users, names)
        finally:
            server.close()
    print()
    print(f"latency {args.latency_ms:.0f} ms ± {args.jitter_ms:.0f} ms; ideal = concurrency / latency (no --rate)")
    header = f"{'conc':>5} {'users':>7} {'requests':>9} {'seconds':>8} {'req/s':>8} {'ideal':>7} {'ratio':>6}"
    print(header + f" {'x loop req/s':>13} {'users/s':>8} {'x loop users/s':>15}")
    for concurrency, results in runs.items():
        ideal = concurrency / latency
        # The median run by wall time (of an even count, the slower of the middle two).
        users, total, elapsed, _ = sorted(results, key=lambda run: run[2])[len(results) // 2]
        rps = total / elapsed
        print(
            f"{concurrency:>5} {users:>7} {total:>9} {elapsed:>8.1f} {rps:>8.0f} {ideal:>7.0f} "
            f"{rps / ideal:>6.2f} {rps / naive:>13.1f} {users / elapsed:>8.1f} {users / elapsed / naive:>15.1f}"
        )
    if args.repeat > 1:
        print(f"median of {args.repeat} runs each; every run's ratio:")
        for concurrency, results in runs.items():
            ratios = [total / elapsed / (concurrency / latency) for _, total, elapsed, _ in results]
            print(f"  c={concurrency}: " + " ".join(f"{r:.3f}" for r in ratios)
                  + f" (median {sorted(ratios)[(len(ratios) - 1) // 2]:.3f})")  # fmt: skip
    print(f"naive sequential httpx loop: {naive:.1f} req/s = users/s ({args.naive_users} user creations, 1 call each)")


if __name__ == "__main__":
    main()
