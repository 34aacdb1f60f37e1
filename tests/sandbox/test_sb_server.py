"""Running the sandbox: configuration checks, start/stop, foreground serving, fault wiring."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from sbhelpers import ADMIN, PASSWORD, Api, make_config

from migrate.sandbox import FaultConfig, Sandbox, SandboxConfig


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"edition": "ldap", "base_dn": "example.com"}, "LDAP edition"),
     ({"edition": "nosql"}, "unknown sandbox edition"),
     ({"admin_password": ""}, "non-empty admin password"), ({"quirks": {"bogus"}}, "unknown quirk"),
     ({"backend_name": "SQLITE"}, "not an SQL backend"), ({"allowed_clients": ["not-an-ip"]}, "not an IP"),
     ({"session_timeout": 0}, "positive")],
    ids=["ldap-bad-base-dn", "unknown-edition", "no-password", "bad-quirk", "bad-backend", "bad-allow-list",
         "bad-timeout"],
)  # fmt: skip
def test_bad_configuration_is_refused(changes: dict[str, object], message: str) -> None:
    params: dict[str, object] = {"admin_password": PASSWORD, **changes}
    with pytest.raises(ValueError, match=message):
        Sandbox(SandboxConfig(**params))  # type: ignore[arg-type]


def test_urls_and_stop_is_idempotent(tmp_path: Path) -> None:
    running = Sandbox(make_config(tmp_path))
    running.start()
    try:
        assert running.base_url.startswith("http://127.0.0.1:") and running.base_url.endswith("/iredadmin/api")
        assert running.control_url == running.root_url + "/_sandbox"
        assert httpx.get(running.base_url + "/domains").json() == {"_success": False, "_msg": "LOGIN_REQUIRED"}
        with pytest.raises(RuntimeError, match="already running"):
            running.start()
    finally:
        running.stop()
    running.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(running.base_url + "/domains", timeout=2)


def test_port_in_use_fails_start(tmp_path: Path, sandbox: Sandbox) -> None:
    port = int(sandbox.root_url.rsplit(":", 1)[1])
    with pytest.raises(RuntimeError, match="could not start"):
        Sandbox(make_config(tmp_path, port=port)).start()


def test_admin_password_follows_configuration(tmp_path: Path) -> None:
    with Sandbox(make_config(tmp_path)):
        pass
    config = make_config(tmp_path)
    config.admin_password = "Another#Pass1"
    with Sandbox(config) as again:
        api = Api(again.base_url)
        assert api.login(ADMIN, "Another#Pass1") == {"_success": True}
        assert api.login(ADMIN, PASSWORD) == {"_success": False, "_msg": "INVALID_CREDENTIALS"}
        api.close()


def test_faults_from_configuration_and_control_endpoint(tmp_path: Path) -> None:
    config = make_config(tmp_path, faults=FaultConfig(seed=7, p_503=1.0, applies_to="writes"))
    with Sandbox(config) as faulty:
        api = Api(faulty.base_url)
        # Reads pass, writes get the injected 503 (plain text, no JSON envelope).
        assert api.get("/domains") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
        response = api.raw("POST", "/login", data={"username": ADMIN, "password": PASSWORD})
        assert response.status_code == 503
        assert httpx.put(faulty.control_url + "/faults", json={"p_503": 0.0}).status_code == 200
        assert api.login() == {"_success": True}
        counters = httpx.get(faulty.control_url + "/counters").json()
        assert counters["requests"]["POST /iredadmin/api/login"] == 2
        api.close()


_SERVE = textwrap.dedent(
    """
    import sys
    from migrate.sandbox import SandboxConfig, serve_forever
    config = SandboxConfig(db_path=sys.argv[1], admin_password="Adm1n#Sandbox")
    serve_forever(config, on_ready=lambda url: print(url, flush=True))
    print("closed", flush=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_forever_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    db_path = tmp_path / "served.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(db_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/iredadmin/api")
        reply = httpx.post(url + "/login", data={"username": ADMIN, "password": PASSWORD})
        assert reply.json() == {"_success": True}
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == "closed"
    assert PASSWORD not in err
    # Closed cleanly: the WAL was checkpointed into the main file.
    assert not Path(str(db_path) + "-wal").exists() or Path(str(db_path) + "-wal").stat().st_size == 0
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM admin").fetchone() == (1,)
