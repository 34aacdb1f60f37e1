"""Plain progress lines: the rate and ETA count from the first finished operation."""

from __future__ import annotations

import io

from migrate.progress import Progress


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_rate_counts_from_the_first_operation_not_from_the_start() -> None:
    clock = Clock(100.0)
    out = io.StringIO()
    progress = Progress(stream=out, interval=5.0, clock=clock)
    clock.now = 160.0  # a minute of loading and planning before the first operation ends
    progress.update(1, 1001)
    assert out.getvalue() == ""  # one operation tells nothing of the rate
    clock.now = 163.0
    progress.update(301, 1001)
    assert out.getvalue() == ""  # within the interval
    clock.now = 165.0
    progress.update(501, 1001)
    assert out.getvalue() == "progress: 501/1001 operations, 100.0/s, eta 5s\n"
    clock.now = 170.0
    progress.update(1001, 1001)
    assert out.getvalue().splitlines()[-1] == "progress: 1001/1001 operations, 100.0/s, eta 0s"


def test_a_run_that_ends_at_its_first_update_says_only_the_count() -> None:
    clock = Clock(5.0)
    out = io.StringIO()
    progress = Progress(stream=out, clock=clock)
    clock.now = 9.0
    progress.update(3, 3)
    assert out.getvalue() == "progress: 3/3 operations\n"


def test_quiet_prints_nothing() -> None:
    out = io.StringIO()
    progress = Progress(enabled=False, stream=out, clock=Clock(0.0))
    progress.update(1, 2)
    progress.update(2, 2)
    progress.close()
    assert out.getvalue() == ""
