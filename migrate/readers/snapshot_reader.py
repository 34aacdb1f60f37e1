"""Read a JSON snapshot (DESIGN.md, "Snapshot") back as model records.

A snapshot is what ``iredmigrate export`` writes: ``{"format": "iredmigrate-snapshot", "version": 1,
"exported_at", "source", "domains": [...], "admins": [...], "users": [...], "aliases": [...],
"lists": [...], "spam_policies": [...], "throttles": [...]}``, each object already in the model's
vocabulary. Records come out section by section in that order; a record's provenance names the
section as its sheet and its position in the section (1-based) as its line.

The document is parsed whole with orjson (a snapshot is one JSON value; orjson reads a 100,000-user
snapshot in well under a second). Anything that makes the file as a whole untrustworthy (not JSON,
not a snapshot, a newer format version, a section that is not a list) raises
:class:`~migrate.errors.InputFileError`: reading half of a backup would make a restore or a diff
silently wrong. An object that is not a JSON object becomes a record with an error instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from migrate.errors import InputFileError
from migrate.records import Problem, Provenance, Record, Severity

__all__ = ["FORMAT", "SECTIONS", "VERSION", "read_snapshot"]

#: The ``format`` value of a snapshot.
FORMAT = "iredmigrate-snapshot"
#: The snapshot format version this reader understands.
VERSION = 1
#: Section -> record kind, in the order records come out.
SECTIONS: dict[str, str] = {
    "domains": "domain",
    "admins": "admin",
    "users": "user",
    "aliases": "alias",
    "lists": "list",
    "spam_policies": "spam_policy",
    "throttles": "throttle",
}
# Top-level keys that describe the snapshot rather than hold accounts.
_META = frozenset({"format", "version", "exported_at", "source", "missing_password_hashes"})
_KEY_FIELD = {"domain": "domain", "spam_policy": "scope", "throttle": "scope"}
_HINT = "give a snapshot written by `iredmigrate export --format json`"


def _load(path: str | os.PathLike[str], name: str) -> Any:
    try:
        with open(path, "rb") as raw:
            data = raw.read()
    except OSError as exc:
        raise InputFileError(
            f"cannot read the file: {exc.strerror}", code="UNREADABLE_FILE", hint="check the path", source=name
        ) from None
    # Editors on Windows like to add a BOM; it is not JSON, but it is not worth refusing.
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        reason, line, column = exc.msg or str(exc), exc.lineno, exc.colno
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        # orjson places encoding errors at 1:1; find the byte ourselves.
        reason = "the text is not UTF-8"
        line = data.count(b"\n", 0, bad.start) + 1
        column = bad.start - data.rfind(b"\n", 0, bad.start)
    raise InputFileError(
        f"not valid JSON: {reason} (line {line}, column {column})",
        code="JSON_SYNTAX",
        hint="the snapshot is damaged or truncated; use the copy whose .sha256 still matches",
        source=name,
        line=line,
        column=str(column),
    )


def _check_header(doc: Any, name: str) -> None:
    if not isinstance(doc, dict):
        raise InputFileError(
            f"the file holds a JSON {type(doc).__name__}, not a snapshot object",
            code="SNAPSHOT_FORMAT",
            hint=_HINT,
            source=name,
            line=1,
        )
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise InputFileError(
            f"this JSON is not an iredmigrate snapshot (format is {fmt!r}, not {FORMAT!r})",
            code="SNAPSHOT_FORMAT",
            hint=_HINT,
            source=name,
            column="format",
        )
    version = doc.get("version")
    if version != VERSION or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
        raise InputFileError(
            f"snapshot format version {version!r} is not supported (this iredmigrate reads version {VERSION})",
            code="SNAPSHOT_VERSION",
            hint="upgrade iredmigrate to read it" if newer else _HINT,
            source=name,
            column="version",
        )


def read_snapshot(
    path: str | os.PathLike[str],
    *,
    source_name: str | None = None,
    report: Callable[[Problem], None] = lambda p: None,
) -> Iterator[Record]:
    """Stream the records of a JSON snapshot.

    Args:
        path: The snapshot file.
        source_name: How to name the file in provenance and messages (default: ``path``).
        report: Receives problems about the file as a whole (unknown top-level keys).

    Yields:
        Records section by section (domains, admins, users, aliases, lists, spam policies,
        throttles), with the stored objects as fields.

    Raises:
        InputFileError: the file is not JSON (``JSON_SYNTAX``, with line and column), not a snapshot
            (``SNAPSHOT_FORMAT``), a version this reader does not know (``SNAPSHOT_VERSION``), or
            has a section that is not a list (``SNAPSHOT_SECTION``).
    """
    name = source_name or os.fspath(path)
    doc = _load(path, name)
    _check_header(doc, name)
    for key in doc:
        if key not in SECTIONS and key not in _META:
            report(
                Problem(
                    code="SNAPSHOT_UNKNOWN_KEY",
                    message=f"top-level key {key!r} is not part of the snapshot format; ignored",
                    hint="snapshots hold domains, admins, users, aliases, lists, spam_policies and throttles",
                    source=name,
                    column=key,
                    severity=Severity.WARNING,
                )
            )
    sections = [(section, doc.get(section)) for section in SECTIONS]
    for section, items in sections:
        if items is not None and not isinstance(items, list):
            raise InputFileError(
                f"section {section!r} is a JSON {type(items).__name__}, not a list",
                code="SNAPSHOT_SECTION",
                hint="the snapshot was edited or damaged; restore it from a good copy",
                source=name,
                sheet=section,
            )
    del doc  # the sections keep what is needed
    for section, items in sections:
        kind = SECTIONS[section]
        for index, item in enumerate(items or ()):
            prov = Provenance(name, section, index + 1, "json")
            if isinstance(item, dict):
                yield Record(prov, kind, item)
                continue
            problem = Problem.at(
                prov,
                "SNAPSHOT_ITEM",
                f"item {index + 1} of {section} is a JSON {type(item).__name__}, not an object",
                hint="each item of a section is an object of field: value pairs",
                column=_KEY_FIELD.get(kind, "email"),
            )
            yield Record(prov, kind, {}, problems=[problem])
