"""``can_fork``: a helper process only on two cores or more, and never beside another thread."""

from __future__ import annotations

import threading

import pytest

from migrate import forking


def test_two_cores_and_one_thread_may_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forking.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(forking.threading, "active_count", lambda: 1)
    assert forking.can_fork()


def test_one_core_or_an_unknown_count_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forking.threading, "active_count", lambda: 1)
    for count in (1, None):
        monkeypatch.setattr(forking.os, "cpu_count", lambda count=count: count)
        assert not forking.can_fork()


def test_a_running_thread_forbids_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forking.os, "cpu_count", lambda: 2)
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert not forking.can_fork()
    finally:
        release.set()
        worker.join()
