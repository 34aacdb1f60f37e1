"""Whether this process may fork a helper process (see migrate.split and migrate.readers.ldif_split)."""

from __future__ import annotations

import os
import threading

__all__ = ["can_fork"]


def can_fork() -> bool:
    """True on a POSIX system with two cores or more and no thread but this one.

    Forking a process that runs other threads (an in-process sandbox, say) is not safe: a lock
    one of them holds stays held in the child forever.
    """
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and threading.active_count() == 1
