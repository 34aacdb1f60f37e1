"""Progress display: a bar with rate and ETA on a terminal, plain lines in logs and cron."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Show how many operations are done.

    Args:
        enabled: Show anything at all (``--quiet`` turns it off).
        stream: Where to draw; a terminal gets a rich bar, anything else a line every few seconds.
        interval: Seconds between plain lines.
        clock: Monotonic seconds (replace it in tests).
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.interval = interval
        self.tty = enabled and self.stream.isatty()
        self._clock = clock
        self._bar: object | None = None
        self._task: object | None = None
        self._last = 0.0
        # (time, done) at the first update. The rate counts from there: counted from the start of
        # the command, it would take in the loading and the planning, and the first line of an
        # import of 147 operations said "2.4/s, eta 61s" for a run that ended 0.7 s later.
        self._first: tuple[float, int] | None = None

    def _rate(self, now: float, done: int) -> float | None:
        """Operations per second since the first update, or ``None`` while that tells nothing."""
        assert self._first is not None
        start, done_then = self._first
        if done <= done_then or now <= start:
            return None
        return (done - done_then) / (now - start)

    def update(self, done: int, total: int) -> None:
        """Record that ``done`` of ``total`` operations finished."""
        if not self.enabled or total <= 0:
            return
        now = self._clock()
        if self._first is None:
            self._first = (now, done)
            self._last = now  # the first plain line comes one interval on, with a rate worth reading
        rate = self._rate(now, done)
        if self.tty:
            self._draw_bar(done, total, rate)
            return
        if done == total or now - self._last >= self.interval:
            self._last = now
            line = f"progress: {done}/{total} operations"
            if rate is not None:
                line += f", {rate:.1f}/s, eta {(total - done) / rate:.0f}s"
            self.stream.write(line + "\n")
            self.stream.flush()

    def _draw_bar(self, done: int, total: int, rate: float | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        if self._bar is None:
            bar = RichProgress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[progress.percentage]{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                transient=False,
            )
            bar.start()
            self._bar = bar
            self._task = bar.add_task("apply", total=total, rate="")
        assert isinstance(self._bar, RichProgress)
        shown = "" if rate is None else f"{rate:.1f} ops/s"
        self._bar.update(self._task, completed=done, total=total, rate=shown)  # type: ignore[arg-type]

    def close(self) -> None:
        """Stop the bar, if one was drawn."""
        if self._bar is None:
            return  # rich is imported only where a bar was drawn (it costs 30 ms to import)
        from rich.progress import Progress as RichProgress

        if isinstance(self._bar, RichProgress):
            self._bar.stop()
        self._bar = None
