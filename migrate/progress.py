"""Progress display: a bar with rate and ETA on a terminal, plain lines in logs and cron."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Show how many operations are done.

    Args:
        enabled: Show anything at all (``--quiet`` turns it off).
        stream: Where to draw; a terminal gets a rich bar, anything else a line every few seconds.
        interval: Seconds between plain lines.
    """

    def __init__(self, *, enabled: bool = True, stream: TextIO | None = None, interval: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.interval = interval
        self.tty = enabled and self.stream.isatty()
        self._bar: object | None = None
        self._task: object | None = None
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, done: int, total: int) -> None:
        """Record that ``done`` of ``total`` operations finished."""
        if not self.enabled or total <= 0:
            return
        if self.tty:
            self._draw_bar(done, total)
            return
        now = time.monotonic()
        if done == total or now - self._last >= self.interval:
            self._last = now
            elapsed = max(now - self._start, 1e-9)
            rate = done / elapsed
            eta = (total - done) / rate if rate > 0 else 0.0
            self.stream.write(f"progress: {done}/{total} operations, {rate:.1f}/s, eta {eta:.0f}s\n")
            self.stream.flush()

    def _draw_bar(self, done: int, total: int) -> None:
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
        rate = done / max(time.monotonic() - self._start, 1e-9)
        self._bar.update(self._task, completed=done, total=total, rate=f"{rate:.1f} ops/s")  # type: ignore[arg-type]

    def close(self) -> None:
        """Stop the bar, if one was drawn."""
        if self._bar is None:
            return  # rich is imported only where a bar was drawn (it costs 30 ms to import)
        from rich.progress import Progress as RichProgress

        if isinstance(self._bar, RichProgress):
            self._bar.stop()
        self._bar = None
