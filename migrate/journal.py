"""The apply journal: what already succeeded, so ``--resume`` neither repeats nor forgets it.

One JSON line per finished input row, flushed as it is written, so a ``kill -9`` loses at most the
rows that were in flight. On resume, the plan is recomputed against the live server (work that
reached the server shows up there as done), and rows the journal lists keep the status they had.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

__all__ = ["Journal", "JournalEntry", "row_id"]


def row_id(source: str, sheet: str | None, line: int | None, key: str) -> str:
    """Return the identity of an input row across runs."""
    return f"{source}|{sheet or ''}|{line or 0}|{key}"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A row that finished in an earlier run."""

    status: str
    action: str
    code: str
    message: str


class Journal:
    """Append-only record of finished rows.

    Args:
        path: The journal file.
        resume: Keep and load an existing journal; otherwise start a new one.
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool) -> None:
        self.path = Path(path)
        self.done: dict[str, JournalEntry] = {}
        if resume and self.path.exists():
            self._load()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = open(self.path, "ab" if resume else "wb")  # noqa: SIM115

    def _load(self) -> None:
        with open(self.path, "rb") as handle:
            for line in handle:
                try:
                    item = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a line cut short by a kill: that row was not finished
                if item.get("status") in ("created", "updated", "unchanged", "skipped"):
                    self.done[item["row"]] = JournalEntry(
                        item["status"], item.get("action", ""), item.get("code", ""), item.get("message", "")
                    )

    def record(self, row: str, status: str, action: str, code: str = "", message: str = "") -> None:
        """Append one finished row and flush it to the OS."""
        if self._file is None:
            return
        item = {"row": row, "status": status, "action": action, "code": code, "message": message}
        self._file.write(orjson.dumps(item) + b"\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
