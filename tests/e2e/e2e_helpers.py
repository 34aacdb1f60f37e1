"""End-to-end helpers: run the real CLI in a subprocess, read the sandbox's counters."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from migrate.sandbox import FaultConfig, Sandbox

ADMIN = "postmaster@e2e.test"
ADMIN_PASSWORD = "E2e#Admin-Pass-9"
REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def run_cli(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``python -m migrate ARGS`` with the admin password in the environment only."""
    env = {**os.environ, "IREDADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONPATH": str(REPO)}
    env.pop("IREDMIGRATE_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "migrate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def target_args(sandbox: Sandbox) -> list[str]:
    return ["--url", sandbox.base_url, "--admin", ADMIN]


def counters(sandbox: Sandbox) -> dict[str, Any]:
    reply = httpx.get(sandbox.control_url + "/counters", timeout=10)
    reply.raise_for_status()
    result: dict[str, Any] = reply.json()
    return result


def reset_counters(sandbox: Sandbox) -> None:
    httpx.delete(sandbox.control_url + "/counters", timeout=10).raise_for_status()


def api_writes(snapshot: dict[str, Any]) -> int:
    """Writes to the API, not counting logins."""
    return sum(
        n
        for key, n in snapshot["requests"].items()
        if key.split(" ", 1)[0] in ("POST", "PUT", "DELETE") and not key.endswith("/login")
    )


def set_faults(sandbox: Sandbox, config: FaultConfig) -> None:
    httpx.put(sandbox.control_url + "/faults", json=config.to_dict(), timeout=10).raise_for_status()


@contextlib.contextmanager
def admin_client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A plain httpx session logged in as the sandbox admin (to check the server's state)."""
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
        reply = client.post("/login", data={"username": ADMIN, "password": ADMIN_PASSWORD})
        assert reply.json()["_success"], reply.text
        yield client
