"""Writers that turn a :class:`~migrate.snapshot.Snapshot` into files, and the registry that picks one.

========  =====================================================================================
format    writes
========  =====================================================================================
``json``  the canonical snapshot (:func:`~migrate.snapshot.write_snapshot`) plus ``.sha256``
``ldif``  iRedMail's LDAP tree (:func:`~migrate.exporters.ldif_writer.write_ldif`)
``csv``   one file per kind (:func:`~migrate.exporters.tabular_writer.write_csv`)
``xlsx``  one workbook, one sheet per kind (:func:`~migrate.exporters.tabular_writer.write_xlsx`)
========  =====================================================================================

Every writer takes ``(path, snapshot)`` and replaces its output files atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from migrate.exporters.json_writer import write_json
from migrate.exporters.ldif_writer import write_ldif
from migrate.exporters.tabular_writer import write_csv, write_xlsx
from migrate.snapshot import Snapshot

__all__ = ["EXPORTERS", "Exporter", "expand_output_name"]

Exporter = Callable[[str | os.PathLike[str], Snapshot], None]

#: Format name (the CLI's ``--format``) -> writer.
EXPORTERS: dict[str, Exporter] = {
    "json": write_json,
    "ldif": write_ldif,
    "csv": write_csv,
    "xlsx": write_xlsx,
}


def expand_output_name(pattern: str, now: datetime) -> str:
    """Fill the ``{date}`` and ``{datetime}`` placeholders of an output name.

    ``{date}`` becomes ``2026-11-24`` and ``{datetime}`` ``2026-11-24T074500Z`` (no colons, so
    the name is valid on every file system), both in UTC; a naive ``now`` is taken as UTC. Other
    braces are left as they are, so a name that merely contains ``{`` needs no escaping.

    Args:
        pattern: The output name as given with ``-o``, e.g. ``backups/{date}.json``.
        now: The export time.
    """
    stamp = now.astimezone(UTC) if now.tzinfo is not None else now
    return pattern.replace("{date}", stamp.strftime("%Y-%m-%d")).replace(
        "{datetime}", stamp.strftime("%Y-%m-%dT%H%M%SZ")
    )
