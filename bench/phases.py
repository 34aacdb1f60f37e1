"""Where an import's time goes: each request's phases, timed in both processes (Linux only).

Runs one import of the benchmark's scenario (``bench_import.py``: users over 20 domains, the
sandbox in its own process holding each reply for ``--latency-ms``) with both processes
recording ``time.monotonic()`` (one clock for the whole machine) at the points below, then
matches the records per connection and prints:

- **Phases** of a request (ms; mean, p50, p90, p99; the first and last second left out):
  ``up`` client write to the sandbox reading the request, ``parse`` reading to the handler's start,
  ``handler``, ``hold`` handler end to the reply's release (the injected latency and how late the
  release came), ``down`` release to the client's first byte, ``resume`` first byte to the call
  returning, ``think`` call returned to the worker's next write on that connection.
- **Wall time**: process start to the first request (the login), the span from the first request
  to the last reply, the share of the ``concurrency`` slots busy over that span, and from the
  last reply to the process's exit handlers; against the ideal ``requests * latency / concurrency``.
- **Clustering**: the sandbox's parse+handler time in 0.5 ms bins, the share of bins it was idle,
  and the autocorrelation of that load at lags around one round trip. A high value means the
  workers travel in bunches, one round trip apart, and queue behind each other in the sandbox.

The recording patches the client's and the sandbox's connection classes in their processes (the
code under test is otherwise unchanged) and adds a few microseconds to each request.

    flock /tmp/iredmigrate-bench.lock .venv/bin/python bench/phases.py [--users 10000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import bisect
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import ADMIN, PASSWORD, REPO, Server, cpu_ticks, steal_share, write_inputs

# Shared by both bootstraps: records go to $PHASES_OUT as "port kind time" lines at exit.
_RECORDER = """
import atexit, os, sys, time
sys.path.insert(0, os.getcwd())
_rec = []
_mono = time.monotonic
def _dump():
    with open(os.environ["PHASES_OUT"], "w") as out:
        out.writelines("%d %d %.7f\\n" % r for r in _rec)
atexit.register(_dump)
"""

# The sandbox: 0 request bytes read, 1 handler start, 2 handler end, 3 reply released.
_SERVER = (
    _RECORDER
    + """
from migrate.sandbox import fastpath
C = fastpath._Connection
def _port(self):
    port = getattr(self, "_bench_port", None)
    if port is None:
        peer = self._transport.get_extra_info("peername") if self._transport else None
        port = self._bench_port = peer[1] if peer else 0
    return port
_received, _answer, _release = C.data_received, C._answer, C._release
def data_received(self, data):
    if self._hold is None:
        _rec.append((_port(self), 0, _mono()))
    return _received(self, data)
def answer(self, *args):
    start = _mono()
    result = _answer(self, *args)
    _rec.append((_port(self), 1, start))
    _rec.append((_port(self), 2, _mono()))
    return result
def release(self):
    _rec.append((_port(self), 3, _mono()))
    return _release(self)
C.data_received, C._answer, C._release = data_received, answer, release
from migrate.cli import main
sys.argv = ["iredmigrate", *sys.argv[1:]]
main()
"""
)

# The importer: 0 request written, 1 first reply byte, 2 call returned; 8 process start, 9 exit.
_CLIENT = (
    _RECORDER
    + """
_ticks = os.sysconf("SC_CLK_TCK")
with open("/proc/self/stat") as stat:
    _started = float(stat.read().rpartition(")")[2].split()[19]) / _ticks
_rec.append((0, 8, _mono() - (time.clock_gettime(time.CLOCK_BOOTTIME) - _started)))
atexit.register(lambda: _rec.append((0, 9, _mono())))  # runs before _dump (reverse order)
from migrate import client_transport
C = client_transport._Connection
_exchange, _received = C.exchange, C.data_received
async def exchange(self, data, head_only, read_timeout):
    port = getattr(self, "_bench_port", None)
    if port is None:
        port = self._bench_port = self.transport.get_extra_info("sockname")[1]
    _rec.append((port, 0, _mono()))
    try:
        return await _exchange(self, data, head_only, read_timeout)
    finally:
        _rec.append((port, 2, _mono()))
def data_received(self, data):
    _rec.append((getattr(self, "_bench_port", 0), 1, _mono()))
    return _received(self, data)
C.exchange, C.data_received = exchange, data_received
from migrate.cli import run
sys.argv = ["iredmigrate", *sys.argv[1:]]
run()
"""
)

Events = dict[int, list[tuple[int, float]]]


def read_events(path: Path) -> Events:
    events: Events = defaultdict(list)
    with open(path) as handle:
        for line in handle:
            port, kind, at = line.split()
            events[int(port)].append((int(kind), float(at)))
    return events


def client_requests(events: list[tuple[int, float]]) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    for kind, at in events:
        if kind == 0:
            current = {"write": at}
        elif kind == 1 and current is not None:
            current.setdefault("byte", at)
        elif kind == 2 and current is not None:
            current["done"] = at
            out.append(current)
            current = None
    return out


def server_requests(events: list[tuple[int, float]]) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    for kind, at in events:
        if kind == 0:
            if current is None or "start" in current:  # more bytes of the same request otherwise
                if current is not None:
                    out.append(current)
                current = {"read": at}
        elif current is not None:
            current[{1: "start", 2: "end", 3: "release"}[kind]] = at
    if current is not None:
        out.append(current)
    return out


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def phases(client: Events, server: Events) -> list[dict[str, float]]:
    rows: list[dict[str, float]] = []
    for port, events in client.items():
        mine = client_requests(events)
        theirs = server_requests(server.get(port, []))
        if len(mine) != len(theirs):
            print(f"connection {port}: {len(mine)} requests written, {len(theirs)} read; left out", file=sys.stderr)
            continue
        for i, (c, s) in enumerate(zip(mine, theirs, strict=True)):
            if "start" not in s or "byte" not in c:
                continue
            release = s.get("release", s["end"])
            row = {
                "at": c["write"],
                "up": s["read"] - c["write"],
                "parse": s["start"] - s["read"],
                "handler": s["end"] - s["start"],
                "hold": release - s["end"],
                "down": c["byte"] - release,
                "resume": c["done"] - c["byte"],
                "request": c["done"] - c["write"],
            }
            if i + 1 < len(mine):
                row["think"] = mine[i + 1]["write"] - c["done"]
            rows.append(row)
    return rows


def print_phases(rows: list[dict[str, float]]) -> None:
    first, last = min(r["at"] for r in rows), max(r["at"] for r in rows)
    steady = [r for r in rows if first + 1.0 < r["at"] < last - 1.0] or rows
    print(f"phases of {len(steady)} requests, ms:   mean    p50    p90    p99")
    for name in ("up", "parse", "handler", "hold", "down", "resume", "think", "request"):
        values = sorted(r[name] * 1000 for r in steady if name in r)
        print(
            f"  {name:8}{statistics.fmean(values):22.3f}{percentile(values, 0.5):7.3f}"
            f"{percentile(values, 0.9):7.3f}{percentile(values, 0.99):7.3f}"
        )


def print_wall(client: Events, concurrency: int, latency: float) -> None:
    marks = dict(client.get(0, []))
    spans = sorted((r["write"], r["done"]) for port, events in client.items() if port for r in client_requests(events))
    first, last = spans[0][0], max(end for _, end in spans)
    busy = sum(end - start for start, end in spans)
    ideal = len(spans) * latency / concurrency
    print(f"wall time of {len(spans)} requests at concurrency {concurrency}, s:")
    if 8 in marks:
        print(f"  {'process start to the first request':42}{first - marks[8]:7.3f}")
    occupancy = busy / (last - first) / concurrency
    print(f"  {'first request to the last reply':42}{last - first:7.3f}  (slots busy {occupancy:.3f})")
    if 9 in marks:
        print(f"  {'last reply to the exit handlers':42}{marks[9] - last:7.3f}")
    print(f"  {'ideal: requests x latency / concurrency':42}{ideal:7.3f}")


def print_clustering(server: Events, latency: float, width: float = 0.0005) -> None:
    busy_spans = sorted(
        (s["read"], s["end"]) for events in server.values() for s in server_requests(events) if "end" in s
    )
    start, stop = busy_spans[0][0] + 1.0, busy_spans[-1][1] - 1.0
    if stop - start < 4 * latency:
        return
    bins = [0.0] * int((stop - start) / width)
    for low, high in busy_spans[bisect.bisect_left(busy_spans, (start,)) :]:
        low, high = max(low, start), min(high, stop)
        index = int((low - start) / width)
        while low < high and index < len(bins):
            edge = min(high, start + (index + 1) * width)
            bins[index] += (edge - low) / width
            low, index = edge, index + 1
    mean, variance = statistics.fmean(bins), statistics.pvariance(bins)
    if not variance:
        return

    def autocorrelation(lag: int) -> float:
        count = len(bins) - lag
        return sum((bins[i] - mean) * (bins[i + lag] - mean) for i in range(count)) / count / variance

    around = range(int(latency * 0.95 / width), int(latency * 1.2 / width) + 1)
    peak, lag = max((autocorrelation(lag), lag) for lag in around)
    idle = sum(1 for b in bins if b < 0.1) / len(bins)
    print(f"sandbox parse+handler load in {width * 1000:.1f} ms bins: mean {mean:.2f}, idle bins {idle:.2f}")
    half = autocorrelation(int(latency / 2 / width))
    print(f"  autocorrelation: {peak:.2f} at {lag * width * 1000:.1f} ms, {half:.2f} at half the latency")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "migrate")], check=True, stdout=subprocess.DEVNULL
    )
    env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_inputs(folder, args.users, args.domains)
        server_out, client_out = folder / "server.txt", folder / "client.txt"
        server = Server(folder, args.latency_ms, entry=("-c", _SERVER), extra_env={"PHASES_OUT": str(server_out)})
        try:
            before = cpu_ticks()
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-c", _CLIENT, "import", *map(str, files), "--url", server.base_url, "--admin", ADMIN,
                 "-c", str(args.concurrency), "-q"],
                env={**env, "PHASES_OUT": str(client_out)}, cwd=REPO, capture_output=True, text=True, check=False,
            )  # fmt: skip
            elapsed = time.perf_counter() - started
            stolen = steal_share(before, cpu_ticks())
        finally:
            server.close()
        if result.returncode != 0:
            raise SystemExit(f"import failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        client, served = read_events(client_out), read_events(server_out)
    requests = sum(len(client_requests(events)) for port, events in client.items() if port)
    shown = "n/a" if stolen is None else f"{stolen:.1%}"
    ratio = requests / elapsed / (args.concurrency / latency)
    print(
        f"{args.users} users, {requests} requests in {elapsed:.2f} s (recording on): ratio {ratio:.3f}, steal {shown}"
    )
    print_phases(phases(client, served))
    print_wall(client, args.concurrency, latency)
    print_clustering(served, latency)


if __name__ == "__main__":
    main()
