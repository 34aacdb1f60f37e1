"""An import into a remote server logs in while its input loads; the order of what it reports holds."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from migrate import importer
from migrate.errors import AuthError, InputFileError
from migrate.importer import ImportOptions, run_import
from migrate.inputs import BulkEntries, Entry, load
from migrate.records import Problem
from migrate.sandbox import Sandbox, SandboxConfig
from migrate.target import Target

ADMIN = "postmaster@overlap.test"
PASSWORD = "Overlap#Admin-Pass-7"
ROW_PASSWORD = "Row#Pass-Word-42"


class Reporter:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, problem: Problem) -> None:
        self.problems.append(problem)

    def info(self, text: str) -> None:
        pass

    def progress(self, done: int, total: int) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Sandbox]:
    config = SandboxConfig(db_path=str(tmp_path / "sandbox.db"), admin_email=ADMIN, admin_password=PASSWORD)
    with Sandbox(config) as sandbox:
        yield sandbox


def requests_seen(sandbox: Sandbox) -> dict[str, int]:
    seen: dict[str, int] = httpx.get(sandbox.control_url + "/counters", timeout=10).json()["requests"]
    return seen


def writes(sandbox: Sandbox) -> int:
    return sum(n for key, n in requests_seen(sandbox).items() if key.split()[0] != "GET" and not key.endswith("/login"))


def inputs(tmp_path: Path, *, bad_row: bool = False) -> list[str]:
    domains = tmp_path / "domains.csv"
    domains.write_text("domain,name\noverlap-a.example,A\n")
    users = tmp_path / "users.csv"
    rows = [f"u{i}@overlap-a.example,User {i},{ROW_PASSWORD}" for i in range(3)]
    if bad_row:
        rows.append("not-an-address,Bad,x")
    users.write_text("email,name,password\n" + "\n".join(rows) + "\n")
    return [str(domains), str(users)]


def target(sandbox: Sandbox, password: str = PASSWORD) -> Target:
    return Target(url=sandbox.base_url, admin=ADMIN, password=password, concurrency=4)


def test_login_and_first_look_go_out_while_the_input_is_still_loading(
    served: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = importer.load_entries
    waited: list[bool] = []

    def connected() -> bool:
        seen = requests_seen(served)
        return all(any(part in key for key in seen) for part in ("/login", "/domains", "/maillist/"))

    def slow_load(*args: Any, **kwargs: Any) -> Iterator[Entry | BulkEntries]:
        # The first row is held back until the server has seen the login, the edition probe
        # and the domain list: a run that connects only after loading would wait here in vain.
        ready = threading.Event()
        for _ in range(200):
            if connected():
                ready.set()
                break
            ready.wait(0.05)
        waited.append(ready.is_set())
        yield from real_load(*args, **kwargs)

    monkeypatch.setattr(importer, "load_entries", slow_load)
    result = run_import(inputs(tmp_path), target(served), ImportOptions(log=str(tmp_path / "log")), reporter=Reporter())
    assert waited == [True]
    assert result.exit_code == 0
    assert result.counts["user"]["created"] == 3 and result.counts["domain"]["created"] == 1
    # The first look was not taken twice: one probe and one domain list in the whole run.
    seen = requests_seen(served)
    assert sum(n for key, n in seen.items() if key.endswith("/domains")) == 1
    assert sum(n for key, n in seen.items() if "/maillist/" in key) == 1


def test_an_unreadable_input_is_reported_and_nothing_is_written(served: Sandbox, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.csv")
    with pytest.raises(InputFileError, match=r"missing\.csv"):
        run_import([missing], target(served), ImportOptions(log=str(tmp_path / "log")), reporter=Reporter())
    assert writes(served) == 0
    assert not (tmp_path / "log.journal.jsonl").exists()


def test_a_refused_login_comes_after_the_inputs_problems_and_their_records(served: Sandbox, tmp_path: Path) -> None:
    reporter = Reporter()
    log = tmp_path / "log.jsonl"
    with pytest.raises(AuthError):
        run_import(
            inputs(tmp_path, bad_row=True),
            target(served, password="Wrong#Pass-Word-1"),
            ImportOptions(log=str(log)),
            reporter=reporter,
        )
    assert any(p.is_error and p.line == 5 for p in reporter.problems)  # told before the login failed
    records = log.read_text()
    assert '"status": "invalid"' in records and "not-an-address" in records  # recorded as before
    assert ROW_PASSWORD not in records and "Wrong#Pass-Word-1" not in records
    assert writes(served) == 0


def test_loading_stops_at_the_next_row_once_its_caller_is_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[int] = []
    rows = list(load(inputs(tmp_path), report=lambda problem: None))

    def endless(*args: Any, **kwargs: Any) -> Iterator[Entry]:
        for i in range(10_000):
            taken.append(i)
            yield rows[i % len(rows)]

    monkeypatch.setattr(importer, "load_entries", endless)
    stop = threading.Event()
    stop.set()
    with pytest.raises(asyncio.CancelledError):
        importer._prepare([], Target(url="http://127.0.0.1:9/api"), ImportOptions(dry_run=True), Reporter(), stop)
    assert taken == [0]
