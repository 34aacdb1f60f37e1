"""The sandbox's CPU time per API request on the import workload (SQL edition, no injected latency).

Starts a sandbox (``python -m migrate sandbox serve``, a file database in a temporary directory)
in its own process, creates 20 domains, then sends, for each of ``users`` users, the three
requests an import makes: ``POST /user/<mail>`` (name, password, quota), ``PUT /user/<mail>``
(employeeid) and ``GET /user/<mail>``. They go one at a time over one raw keep-alive HTTP/1.1
connection, so they take the sandbox's lean path and the client costs the server nothing extra.

Prints the server process's user+system CPU time over those requests divided by their number
(the kernel counts CPU time in clock ticks, 10 ms on most Linux systems: keep ``users`` in the
thousands), and the wall time per request. Linux only (reads ``/proc/<pid>/stat``).

    flock /tmp/iredmigrate-bench.lock .venv/bin/python bench/sandbox_cpu.py 3000 [--repo DIR]

``--repo`` runs the sandbox from another checkout (for example an export of the previous commit),
so that two versions can be compared alternately on the same machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ADMIN = "postmaster@bench.test"
PASSWORD = "Bench#Admin-Pass1"
DOMAINS = [f"d{i:02d}.bench.example" for i in range(20)]
_ROOT = Path(__file__).resolve().parent.parent


def process_cpu_seconds(pid: int) -> float:
    """Return the user+system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as handle:
        # Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_requests(host: str, cookie: str, users: int) -> list[bytes]:
    """Return the raw POST, PUT and GET requests for ``users`` users, in import order."""

    def request(method: str, path: str, form: dict[str, str] | None = None) -> bytes:
        body = urlencode(form).encode() if form else b""
        head = f"{method} /iredadmin/api{path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nAccept: */*\r\n"
        if form:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        return head.encode() + b"\r\n" + body

    out: list[bytes] = []
    for i in range(users):
        mail = f"user{i:05d}@{DOMAINS[i % len(DOMAINS)]}"
        out.append(
            request("POST", f"/user/{mail}", {"name": f"User {i}", "password": f"Pw#{i:05d}Good", "quota": "1024"})
        )
        out.append(request("PUT", f"/user/{mail}", {"employeeid": f"E{i}"}))
        out.append(request("GET", f"/user/{mail}"))
    return out


class RawConnection:
    """One keep-alive connection that sends a request and reads its reply (Content-Length only)."""

    def __init__(self, host: str, port: int) -> None:
        self._sock = socket.create_connection((host, port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def exchange(self, request: bytes) -> tuple[bytes, bytes]:
        """Send ``request``; return the reply's status line and body."""
        self._sock.sendall(request)
        while b"\r\n\r\n" not in self._buffer:
            self._buffer += self._recv()
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._recv()
        self._buffer = rest[length:]
        return lines[0], rest[:length]

    def _recv(self) -> bytes:
        data = self._sock.recv(65536)
        if not data:
            raise ConnectionError("the sandbox closed the connection")
        return data

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()


def run(users: int, repo: Path) -> None:
    """Start a sandbox from ``repo``, send the workload, print CPU and wall time per request."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD, "PYTHONPATH": str(repo)}
        command = [sys.executable, "-m", "migrate", "sandbox", "serve", "--port", "0", "--db", f"{tmp}/sb.db"]
        server = subprocess.Popen([*command, "--admin", ADMIN], env=env, cwd=repo, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split()[2]
            with httpx.Client(base_url=url) as client:
                client.post("/login", data={"username": ADMIN, "password": PASSWORD}).raise_for_status()
                cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
                for domain in DOMAINS:
                    client.post(f"/domain/{domain}", data={"name": domain}).raise_for_status()
            host, _, port = url.split("//")[1].split("/")[0].rpartition(":")
            requests = build_requests(host, cookie, users)
            connection = RawConnection(host, int(port))
            failures = 0
            cpu_before, started = process_cpu_seconds(server.pid), time.perf_counter()
            for request in requests:
                status, body = connection.exchange(request)
                if not status.startswith(b"HTTP/1.1 200 ") or b'"_success": true' not in body:
                    failures += 1
            elapsed, cpu = time.perf_counter() - started, process_cpu_seconds(server.pid) - cpu_before
            connection.close()
        finally:
            server.terminate()
            server.wait()
    count = len(requests)
    print(
        f"server CPU {cpu / count * 1e3:.3f} ms/req, wall {elapsed / count * 1e3:.3f} ms/req ({count} requests"
        + (f", {failures} FAILED" if failures else "")
        + ")"
    )
    if failures:
        sys.exit(1)


def main() -> None:
    """Parse the options and run the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("users", nargs="?", type=int, default=3000, help="users to import (3 requests each)")
    parser.add_argument("--repo", type=Path, default=_ROOT, help="checkout to run the sandbox from (default: this one)")
    args = parser.parse_args()
    run(args.users, args.repo.resolve())


if __name__ == "__main__":
    main()
