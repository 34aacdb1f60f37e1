"""JSON export: the canonical snapshot file and its ``.sha256`` checksum."""

from __future__ import annotations

import os

from migrate.snapshot import Snapshot, write_snapshot

__all__ = ["write_json"]


def write_json(path: str | os.PathLike[str], s: Snapshot) -> None:
    """Write ``s`` as a JSON snapshot to ``path``, with ``path.sha256`` beside it.

    The format is DESIGN.md's (see :func:`migrate.snapshot.snapshot_bytes`); the file restores with
    ``iredmigrate import``.
    """
    write_snapshot(path, s)
