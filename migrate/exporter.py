"""``iredmigrate export`` and ``diff``: snapshots of a target, and comparisons of two states."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from migrate.aio import run as run_async
from migrate.errors import InputFileError
from migrate.inputs import InputOptions, load
from migrate.model import Account
from migrate.readers.server_export import ExportRead, ReadFailure, read_everything
from migrate.records import Problem
from migrate.target import Endpoint, Target, open_target

__all__ = ["ExportResult", "load_objects", "run_export"]


@dataclass
class ExportResult:
    """What the export did: where it wrote, what it could not read, how many calls it made."""

    path: str | None
    objects: int
    failures: list[ReadFailure] = field(default_factory=list)
    missing_hashes: list[str] = field(default_factory=list)
    calls: int = 0

    @property
    def exit_code(self) -> int:
        """0 when complete, 3 when any object could not be read (nothing is written then)."""
        return 3 if self.failures else 0


def run_export(
    target: Target,
    fmt: str,
    output: str,
    *,
    domains: Sequence[str] = (),
    progress: Callable[[int, int], None] = lambda done, total: None,
    now: datetime | None = None,
) -> ExportResult:
    """Snapshot ``target`` into ``output`` (``{date}``/``{datetime}`` placeholders allowed)."""
    from migrate.exporters import EXPORTERS, expand_output_name
    from migrate.snapshot import Snapshot

    target.check()
    stamp = now or datetime.now(UTC)
    path = expand_output_name(output, stamp)
    with open_target(target) as endpoint:
        source = f"sandbox:{target.sandbox}" if target.sandbox else endpoint.base_url
        read = run_async(_read(endpoint, target, domains, progress))
    result = ExportResult(None, len(read.objects), read.failures, read.missing_hashes, read.calls)
    if read.failures:
        return result
    snapshot = Snapshot.from_objects(read.objects, source=source, exported_at=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
    snapshot.missing_hashes = list(read.missing_hashes)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    EXPORTERS[fmt](path, snapshot)
    result.path = path
    return result


async def _read(
    endpoint: Endpoint, target: Target, domains: Sequence[str], progress: Callable[[int, int], None]
) -> ExportRead:
    from migrate.client import ApiClient

    async with ApiClient(
        endpoint.base_url,
        endpoint.admin,
        endpoint.password,
        concurrency=target.concurrency,
        rate=target.rate,
        verify=endpoint.verify,
        ca_file=endpoint.ca_file,
        timeout=target.timeout,
    ) as client:
        await client.login()
        return await read_everything(client, domains=domains, progress=progress)


def load_objects(path: str, options: InputOptions, *, report: Callable[[Problem], None]) -> list[Account]:
    """Read any input the readers accept (snapshot, LDIF, CSV, XLSX) into valid model objects.

    Raises:
        InputFileError: when the file cannot be read or has invalid rows (a diff of a partly
            read file would report phantom removals).
    """
    objects: list[Account] = []
    bad = 0
    for entry in load([path], options, report=report):
        for problem in entry.problems:
            report(problem)
        if entry.valid and entry.obj is not None:
            objects.append(entry.obj)
        else:
            bad += 1
    if bad:
        raise InputFileError(
            f"{bad} row(s) are not valid, so a comparison would be wrong",
            code="INVALID_ROWS",
            hint=f"run iredmigrate validate {path} and fix them first",
            source=path,
        )
    return objects
