"""The import through the real CLI against a served sandbox over HTTP (issue 4's must-shows)."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import ldif
from e2e_helpers import (
    ADMIN_PASSWORD,
    REPO,
    SAMPLES,
    admin_client,
    api_writes,
    counters,
    reset_counters,
    run_cli,
    set_faults,
    target_args,
)

from migrate.sandbox import FaultConfig, Sandbox

WEAK_CODES = "PW_SHORTER_THAN_MIN_LENGTH,PW_NO_UPPERCASE,PW_NO_DIGIT_NUMBER,PW_NO_SPECIAL_CHAR"
HASHED_SAMPLES = ["modoboa-export.csv", "iredadmin-pro-import.csv", "google-workspace-users.csv"]
SAMPLE_FILES = [
    str(SAMPLES / "onboarding.xlsx"),
    *sorted(str(p) for p in SAMPLES.glob("*.csv")),
    str(SAMPLES / "iredmail-ldap.ldif"),
]
SAMPLE_ROWS = 89


def sample_passwords() -> list[tuple[str, str]]:
    """(account, plaintext) pairs of samples/PASSWORDS.md."""
    pairs = []
    for line in (SAMPLES / "PASSWORDS.md").read_text().splitlines():
        parts = [p.strip().strip("`") for p in line.split("|")]
        if len(parts) > 4 and "@" in parts[2] and parts[3]:
            pairs.append((parts[2], parts[3]))
    for line in (SAMPLES / "README-ldif.md").read_text().splitlines():
        parts = [p.strip().strip("`") for p in line.split("|")]
        if len(parts) > 3 and "@" in parts[1] and parts[2].startswith("Sample#"):
            pairs.append((parts[1], parts[2]))
    return pairs


def read_log(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_users_csv(path: Path, domain: str, count: int, *, extra: list[dict[str, str]] = ()) -> None:  # type: ignore[assignment]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["email", "name", "password", "quota"])
        writer.writeheader()
        for i in range(count):
            writer.writerow(
                {"email": f"user{i:04d}@{domain}", "name": f"User {i}", "password": f"Pw#{i:04d}Good", "quota": "100"}
            )
        for row in extra:
            writer.writerow(row)


def write_domain_csv(path: Path, domain: str, **settings: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["domain", "name", *settings])
        writer.writeheader()
        writer.writerow({"domain": domain, "name": "Bulk", **settings})


def test_onboarding_every_sample_then_rerun_is_unchanged_with_zero_writes(sandbox: Sandbox, tmp_path: Path) -> None:
    args = [*SAMPLE_FILES, *target_args(sandbox), "--generate-passwords", "--credentials", "creds.csv"]
    first = run_cli("import", *args, "--log", "run1.jsonl", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    rows = read_log(tmp_path / "run1.jsonl")
    assert len(rows) == SAMPLE_ROWS
    assert {r["status"] for r in rows} == {"created"}
    assert "Traceback" not in first.stderr

    reset_counters(sandbox)
    second = run_cli("import", *args, "--log", "run2.jsonl", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert {r["status"] for r in read_log(tmp_path / "run2.jsonl")} == {"unchanged"}
    assert api_writes(counters(sandbox)) == 0

    # What the server holds is what the spreadsheet said, and hashes carried over still verify.
    with admin_client(sandbox) as api:
        user = api.get("/user/chloe.dubois@acme.example").json()["_data"]
        assert user["quota"] == 1536 and user["language"] == "fr_FR"
        assert sorted(user["aliases"]) == ["c.dubois@acme.example", "chloe@acme.example"]
        members = api.get("/ml/all-staff@acme.example", params={"with_subscribers": "yes"}).json()["_data"]
        assert "anna.berg@acme.example" in members["subscribers"]
        users = set(api.get("/users/initech.example", params={"email_only": ""}).json()["_data"])
        checked = 0
        for account, password in sample_passwords():
            if account in users or api.get(f"/user/{account}").json()["_success"]:
                reply = api.post(f"/verify_password/user/{account}", data={"password": password})
                assert reply.json()["_success"] is True, account
                checked += 1
        assert checked >= 46


def test_kill_9_and_resume_apply_each_remaining_operation_once(sandbox: Sandbox, tmp_path: Path) -> None:
    write_domain_csv(tmp_path / "domains.csv", "bulk.example")
    write_users_csv(tmp_path / "users.csv", "bulk.example", 200)
    set_faults(sandbox, FaultConfig(latency_ms=15, applies_to="writes"))
    env = {**os.environ, "IREDADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "migrate",
        "import",
        "domains.csv",
        "users.csv",
        *target_args(sandbox),
        "--log",
        "run.jsonl",
        "-c",
        "4",
        "-q",
    ]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while counters(sandbox)["requests"].get("POST /iredadmin/api/user/{mail}", 0) < 60:
        assert time.monotonic() < deadline and process.poll() is None, "the import ended before it could be killed"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    with admin_client(sandbox) as api:
        existing = len(api.get("/users/bulk.example", params={"email_only": ""}).json()["_data"])
    assert 50 <= existing < 200
    before = counters(sandbox)["requests"]["POST /iredadmin/api/user/{mail}"]

    set_faults(sandbox, FaultConfig())
    resumed = run_cli(
        "import", "domains.csv", "users.csv", *target_args(sandbox), "--log", "run.jsonl", "--resume", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    # The resumed run creates exactly the users the killed one had not: nothing repeated, nothing lost.
    after = counters(sandbox)["requests"]["POST /iredadmin/api/user/{mail}"]
    assert after - before == 200 - existing
    rows = read_log(tmp_path / "run.jsonl")
    assert len(rows) == 201
    statuses = {r["key"]: r["status"] for r in rows}
    assert set(statuses.values()) <= {"created", "unchanged"}
    with admin_client(sandbox) as api:
        assert len(api.get("/users/bulk.example", params={"email_only": ""}).json()["_data"]) == 200


def test_transient_faults_still_converge_with_every_row_created(sandbox: Sandbox, tmp_path: Path) -> None:
    set_faults(sandbox, FaultConfig(seed=7, p_500=0.025, p_503=0.025, p_429=0.025, retry_after=1, p_drop=0.025))
    expired = threading.Event()

    def expire_once() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and api_writes(counters(sandbox)) < 20:
            time.sleep(0.02)
        httpx.post(sandbox.control_url + "/expire-sessions", timeout=10).raise_for_status()
        expired.set()

    thread = threading.Thread(target=expire_once, daemon=True)
    thread.start()
    result = run_cli(
        "import",
        *SAMPLE_FILES,
        *target_args(sandbox),
        "--generate-passwords",
        "--credentials",
        "creds.csv",
        "--log",
        "run.jsonl",
        "-c",
        "8",
        cwd=tmp_path,
    )
    thread.join(timeout=60)
    assert expired.is_set()
    assert result.returncode == 0, result.stdout + result.stderr
    rows = read_log(tmp_path / "run.jsonl")
    assert len(rows) == SAMPLE_ROWS and {r["status"] for r in rows} == {"created"}
    faults = counters(sandbox)["faults"]
    assert sum(faults.get(k, 0) for k in ("p_500", "p_503", "p_429", "p_drop")) >= 4
    assert any(int(r["attempts"]) > 1 for r in rows)


def test_permanent_errors_are_reported_once_and_never_retried(sandbox: Sandbox, tmp_path: Path) -> None:
    write_domain_csv(tmp_path / "domains.csv", "small.example", numberOfUsers="2")
    write_users_csv(tmp_path / "users.csv", "small.example", 3)
    result = run_cli(
        "import", "domains.csv", "users.csv", *target_args(sandbox), "--log", "run.jsonl", "-c", "1", cwd=tmp_path
    )
    assert result.returncode == 3
    failed = [r for r in read_log(tmp_path / "run.jsonl") if r["status"] == "failed"]
    assert [(r["key"], r["code"], r["attempts"]) for r in failed] == [
        ("user0002@small.example", "EXCEEDED_DOMAIN_ACCOUNT_LIMIT", 1)
    ]
    assert counters(sandbox)["requests"]["POST /iredadmin/api/user/{mail}"] == 3


def test_rejects_file_reimported_after_fixing(sandbox: Sandbox, tmp_path: Path) -> None:
    write_domain_csv(tmp_path / "domains.csv", "fix.example")
    bad = [
        {"email": "broken address@fix.example", "name": "Broken", "password": "Pw#Good1234", "quota": "100"},
        {"email": "weak@fix.example", "name": "Weak", "password": "weak", "quota": "100"},
    ]
    write_users_csv(tmp_path / "users.csv", "fix.example", 2, extra=bad)
    first = run_cli(
        "import", "domains.csv", "users.csv", *target_args(sandbox), "--rejects", "fix-me.csv", cwd=tmp_path
    )
    assert first.returncode == 3
    with open(tmp_path / "fix-me.csv", encoding="utf-8-sig", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["email"], r["error_code"], r["error_column"]) for r in rejected] == [
        ("broken address@fix.example", "INVALID_MAIL", "email"),
        (
            "weak@fix.example",
            "PW_SHORTER_THAN_MIN_LENGTH,PW_NO_UPPERCASE,PW_NO_DIGIT_NUMBER,PW_NO_SPECIAL_CHAR",
            "password",
        ),
    ]
    # The rejects file never carries passwords: the admin types them again while fixing.
    assert {r["password"] for r in rejected} == {""}
    rejected[0]["email"] = "broken.address@fix.example"
    rejected[0]["password"] = "Pw#Good1234"
    rejected[1]["password"] = "Str0nger#Now"
    with open(tmp_path / "fixed.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rejected[0]))
        writer.writeheader()
        writer.writerows(rejected)
    second = run_cli("import", "fixed.csv", *target_args(sandbox), "--log", "fixed.jsonl", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert {(r["key"], r["status"]) for r in read_log(tmp_path / "fixed.jsonl")} == {
        ("broken.address@fix.example", "created"),
        ("weak@fix.example", "created"),
    }


def test_no_password_hash_or_cookie_anywhere(sandbox: Sandbox, tmp_path: Path) -> None:
    write_domain_csv(tmp_path / "domains.csv", "secret.example")
    extra = [{"email": "weak@secret.example", "name": "Weak", "password": "weakling7", "quota": "100"}]
    write_users_csv(tmp_path / "users.csv", "secret.example", 3, extra=extra)
    files = [*SAMPLE_FILES, "domains.csv", "users.csv"]
    result = run_cli(
        "import",
        *files,
        *target_args(sandbox),
        "--generate-passwords",
        "--credentials",
        "creds.csv",
        "--log",
        "run",
        "--rejects",
        "rejects.csv",
        cwd=tmp_path,
    )
    dry = run_cli("import", *files, *target_args(sandbox), "--dry-run", "-v", cwd=tmp_path)
    secrets = {ADMIN_PASSWORD, "weakling7", *(f"Pw#{i:04d}Good" for i in range(3))}
    secrets |= {password for _, password in sample_passwords()}
    with open(SAMPLES / "iredmail-ldap.ldif", "rb") as handle:
        for _, entry in ldif.LDIFParser(handle).parse():
            secrets |= {str(value) for value in (entry or {}).get("userPassword", [])}
    for path in [
        SAMPLES / "modoboa-export.csv",
        SAMPLES / "iredadmin-pro-import.csv",
        SAMPLES / "google-workspace-users.csv",
    ]:
        for token in path.read_text().replace(";", ",").split(","):
            if token.startswith(("{", "$")) or (len(token) in (32, 40) and token.isalnum()):
                secrets.add(token.strip())
    with open(tmp_path / "creds.csv", encoding="utf-8") as handle:
        secrets |= {row["password"] for row in csv.DictReader(handle)}
    db = sqlite3.connect(str(Path(sandbox.config.db_path)))
    try:
        secrets |= {row[0] for row in db.execute("SELECT password FROM mailbox")}
        secrets |= {row[0] for row in db.execute("SELECT sessionid FROM sessions") if row[0]}
    except sqlite3.OperationalError:
        secrets |= {row[0] for row in db.execute("SELECT password FROM mailbox")}
    finally:
        db.close()
    secrets = {s for s in secrets if s and len(s) >= 6}
    assert len(secrets) > 40
    outputs = {
        "stdout": result.stdout + dry.stdout,
        "stderr": result.stderr + dry.stderr,
        **{
            p.name: p.read_text(encoding="utf-8-sig")
            for p in tmp_path.iterdir()
            if p.name.startswith(("run", "rejects"))
        },
    }
    assert {"run.jsonl", "run.csv", "rejects.csv"} <= set(outputs)
    leaks = [(name, secret[:4]) for name, text in outputs.items() for secret in secrets if secret in text]
    assert leaks == []


def test_what_the_server_silently_changed_is_reported_as_verify_mismatch(sandbox: Sandbox, tmp_path: Path) -> None:
    # The domain holds 250 MB in all; after the first user's 100 MB the server quietly clamps the
    # second user's 500 MB to the 150 MB left, and answers success: only the read-back sees it.
    write_domain_csv(tmp_path / "domains.csv", "tight.example", quota="250")
    write_users_csv(tmp_path / "users.csv", "tight.example", 1)
    with open(tmp_path / "users.csv", "a", encoding="utf-8") as handle:
        handle.write("big@tight.example,Big,Pw#Big12345,500\n")
    result = run_cli(
        "import", "domains.csv", "users.csv", *target_args(sandbox), "--log", "run.jsonl", "-c", "1", cwd=tmp_path
    )
    assert result.returncode == 3
    rows = {r["key"]: r for r in read_log(tmp_path / "run.jsonl")}
    assert rows["user0000@tight.example"]["status"] == "created"
    assert rows["big@tight.example"]["status"] == "failed"
    assert rows["big@tight.example"]["code"] == "VERIFY_MISMATCH"
    assert rows["big@tight.example"]["message"] == "quota: asked 500, stored 150"


def test_delete_missing_needs_a_scope_and_logs_each_deletion(sandbox: Sandbox, tmp_path: Path) -> None:
    write_domain_csv(tmp_path / "domains.csv", "gone.example")
    write_users_csv(tmp_path / "users.csv", "gone.example", 3)
    assert run_cli("import", "domains.csv", "users.csv", *target_args(sandbox), cwd=tmp_path).returncode == 0
    write_users_csv(tmp_path / "fewer.csv", "gone.example", 2)
    unscoped = run_cli("import", "fewer.csv", *target_args(sandbox), "--delete-missing", cwd=tmp_path)
    assert unscoped.returncode == 2 and "--domain" in unscoped.stderr
    result = run_cli(
        "import", "fewer.csv", *target_args(sandbox), "--delete-missing", "--domain", "gone.example",
        "--log", "run.jsonl", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = read_log(tmp_path / "run.jsonl")
    assert [(r["key"], r["action"], r["status"]) for r in rows if r["source"] == "(target)"] == [
        ("user0002@gone.example", "delete", "updated")
    ]
    with admin_client(sandbox) as api:
        users = api.get("/users/gone.example", params={"email_only": ""}).json()["_data"]
    assert sorted(users) == ["user0000@gone.example", "user0001@gone.example"]


def test_ctrl_c_finishes_in_flight_calls_writes_every_row_and_exits_3(sandbox: Sandbox, tmp_path: Path) -> None:
    write_domain_csv(tmp_path / "domains.csv", "stop.example")
    write_users_csv(tmp_path / "users.csv", "stop.example", 150)
    set_faults(sandbox, FaultConfig(latency_ms=15, applies_to="writes"))
    env = {**os.environ, "IREDADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "migrate", "import", "domains.csv", "users.csv", *target_args(sandbox),
               "--log", "run.jsonl", "-c", "4", "-q"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while counters(sandbox)["requests"].get("POST /iredadmin/api/user/{mail}", 0) < 20:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 3, stdout + stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    rows = read_log(tmp_path / "run.jsonl")
    assert len(rows) == 151  # every input row has its record
    statuses = {r["status"] for r in rows}
    assert statuses <= {"created", "skipped"} and "skipped" in statuses
    created = {r["key"] for r in rows if r["status"] == "created" and r["kind"] == "user"}
    with admin_client(sandbox) as api:
        on_server = set(api.get("/users/stop.example", params={"email_only": ""}).json()["_data"])
    assert created == on_server  # in-flight calls finished and were recorded; nothing half-done
    assert all(r["code"] == "ABORTED" for r in rows if r["status"] == "skipped")
