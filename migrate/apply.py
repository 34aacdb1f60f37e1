"""Apply a plan: stages with barriers, bounded concurrency, journal, read-back verification.

This is the only module that writes to a server. Each input row gets exactly one result record,
written when its last operation finishes; a row whose earlier operation failed does not run its
later ones. Stopping early (``--max-failures``, Ctrl-C) lets in-flight calls finish and records the
rows that never ran as ``skipped``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migrate.errors import IredMigrateError, RejectedByServer
from migrate.inputs import Entry
from migrate.journal import Journal, row_id
from migrate.plan import Operation, Plan
from migrate.verify import mismatches

if TYPE_CHECKING:
    from migrate.client import ApiClient
    from migrate.credentials import CredentialsFile
    from migrate.results import ResultLog, ResultRecord

__all__ = ["ApplyOptions", "RowState", "apply_plan"]


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """How to run the plan.

    Attributes:
        concurrency: Operations in flight at once within a stage.
        max_failures: Stop after this many failed rows (``None`` = never).
        verify: Read every changed object back and compare.
    """

    concurrency: int = 8
    max_failures: int | None = None
    verify: bool = True


@dataclass(slots=True)
class RowState:
    """Progress of one input row through its operations."""

    entry: Entry
    pending: int
    action: str = ""
    status: str = "unchanged"
    code: str = ""
    message: str = ""
    attempts: int = 0
    started: float = field(default_factory=time.monotonic)
    notes: list[str] = field(default_factory=list)
    done: bool = False


class _Runner:
    def __init__(
        self,
        plan: Plan,
        entries: Sequence[Entry],
        client: ApiClient,
        options: ApplyOptions,
        log: ResultLog,
        make_record: Callable[..., ResultRecord],
        journal: Journal | None,
        credentials: CredentialsFile | None,
        on_progress: Callable[[int, int], None],
        stop: asyncio.Event,
    ) -> None:
        self.plan = plan
        self.client = client
        self.options = options
        self.log = log
        self.make_record = make_record
        self.journal = journal
        self.credentials = credentials
        self.on_progress = on_progress
        self.stop = stop
        self.failed_rows = 0
        self.finished_ops = 0
        self.rows: dict[int, RowState] = {}
        for index, ids in plan.by_entry.items():
            self.rows[index] = RowState(entries[index], pending=len(ids))

    def finish_row(self, row: RowState, status: str | None = None, code: str = "", message: str = "") -> None:
        if row.done:
            return
        row.done = True
        if status is not None:
            row.status, row.code, row.message = status, code, message
        if row.status == "failed":
            self.failed_rows += 1
            if self.options.max_failures is not None and self.failed_rows >= self.options.max_failures:
                self.stop.set()
        if not row.message and row.notes:
            row.message = "; ".join(row.notes)
        record = row.entry.record
        key = str(record.fields.get("email") or record.fields.get("domain") or "")
        if row.entry.obj is not None:
            key = row.entry.obj.key
        ms = int((time.monotonic() - row.started) * 1000)
        self.log.add(
            self.make_record(
                source=record.prov.source,
                sheet=record.prov.sheet,
                line=record.prov.line,
                kind=record.kind,
                key=key,
                action=row.action or "none",
                status=row.status,
                code=row.code,
                message=row.message,
                attempts=row.attempts,
                ms=ms,
                entry=row.entry,
            )
        )
        if self.journal is not None and row.status != "failed":
            self.journal.record(row_id(record.prov.source, record.prov.sheet, record.prov.line, key),
                                row.status, row.action, row.code, row.message)  # fmt: skip

    async def run_op(self, op: Operation) -> None:
        row = self.rows.get(op.entry) if op.entry is not None else None
        if (row is not None and (row.done or row.status == "failed")) or self.stop.is_set():
            if row is not None and not row.done:
                self.finish_row(row, "skipped", "ABORTED", "not attempted: the run was stopped before this row")
            self.finished_ops += 1
            self.on_progress(self.finished_ops, len(self.plan.operations))
            return
        try:
            # Known to the log before the server sees it (the plan makes some operations only now).
            self.log.add_secret(op.generated_password)
            created = await self._calls(op, row)
            if self.options.verify and op.verify is not None:
                problems = await self._verify(op)
                if problems:
                    raise RejectedByServer("; ".join(problems), code="VERIFY_MISMATCH", key=op.key)
            if self.credentials is not None and op.generated_password and created:
                self.credentials.add(op.key, op.generated_password)
            if row is not None:
                if op.note:
                    row.notes.append(op.note)
                if op.action == "create" and created:
                    row.status, row.action = "created", "create"
                elif row.status != "created":
                    row.status = "updated"
                    row.action = row.action or op.action
            if row is None:
                self._log_unattached(op, "updated")
        except IredMigrateError as exc:
            if row is not None:
                if not isinstance(exc, RejectedByServer):  # rejections counted where they happen
                    row.attempts += exc.attempts
                row.action = row.action or op.action
                self.finish_row(row, "failed", exc.code or type(exc).__name__, exc.message)
            else:
                self._log_unattached(op, "failed", exc.code or type(exc).__name__, exc.message)
        finally:
            op.forget()  # a deferred operation's parts die now, not at the end of the run
            self.finished_ops += 1
            self.on_progress(self.finished_ops, len(self.plan.operations))
            if row is not None:
                row.pending -= 1
                if row.pending <= 0:
                    self.finish_row(row)

    def _log_unattached(self, op: Operation, status: str, code: str = "", message: str = "") -> None:
        """Record an operation no input row asked for (a ``--delete-missing`` deletion)."""
        self.log.add(
            self.make_record(
                source="(target)",
                sheet=None,
                line=None,
                kind=op.kind,
                key=op.key,
                action=op.action,
                status=status,
                code=code,
                message=message or "not in any input (--delete-missing)",
                attempts=len(op.calls),
                ms=0,
                entry=None,
            )
        )

    async def _calls(self, op: Operation, row: RowState | None) -> bool:
        """Run the calls of one operation; return whether a create really created the object."""
        created = op.action == "create"
        for number, call in enumerate(op.calls):
            try:
                response = await self.client.call(call.method, call.path, data=call.data)
                if row is not None:
                    row.attempts += response.attempts
            except RejectedByServer as exc:
                if row is not None:
                    row.attempts += exc.attempts
                # A create that finds the object already there (our own earlier attempt whose reply
                # was lost, or a concurrent actor) goes on; verification decides whether it is right.
                if number == 0 and op.action == "create" and exc.code == "ALREADY_EXISTS":
                    created = False
                    continue
                raise
        return created

    async def _verify(self, op: Operation) -> list[str]:
        assert op.verify is not None
        return await mismatches(self.client, op.verify, self.plan.list_kind)


async def apply_plan(
    plan: Plan,
    entries: Sequence[Entry],
    client: ApiClient,
    *,
    log: ResultLog,
    make_record: Callable[..., ResultRecord],
    options: ApplyOptions = ApplyOptions(),
    journal: Journal | None = None,
    credentials: CredentialsFile | None = None,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    stop: asyncio.Event | None = None,
) -> dict[int, RowState]:
    """Run ``plan`` against the server behind ``client``; write one result per planned row.

    Args:
        plan: The operations (see :func:`migrate.plan.plan`).
        entries: The input rows the plan's entry indexes point into.
        client: A logged-in API client.
        log: Receives each row's result as it finishes.
        make_record: Builds a result record (keyword arguments of the log's record type).
        options: Concurrency, failure limit, verification.
        journal: Records finished rows for ``--resume``.
        credentials: Receives generated passwords of created users.
        on_progress: Called with (operations done, total) after each operation.
        stop: Set it to stop starting new work (Ctrl-C); in-flight calls finish.

    Returns:
        The rows' final states, by entry index.
    """
    stop = stop or asyncio.Event()
    runner = _Runner(plan, entries, client, options, log, make_record, journal, credentials, on_progress, stop)
    for index, row in runner.rows.items():
        if index in plan.skipped:
            code, message = plan.skipped[index]
            runner.finish_row(row, "invalid" if code.startswith("PW_") else "skipped", code, message)
        elif row.pending == 0:
            runner.finish_row(row)

    async def worker(queue: Iterator[Operation]) -> None:
        for op in queue:  # the workers share one iterator: each op is taken once, in plan order
            await runner.run_op(op)

    stages = sorted({op.stage for op in plan.operations})
    for stage in stages:
        # ``concurrency`` workers rather than one task per operation behind a semaphore: 10,000
        # waiting tasks cost 50 ms to set up at each stage start and CPU at every hand-over.
        ops = [op for op in plan.operations if op.stage == stage]
        queue = iter(ops)
        # The barrier: every operation of this stage ends before the next stage starts.
        await asyncio.gather(*(worker(queue) for _ in range(min(max(1, options.concurrency), len(ops)))))
    for row in runner.rows.values():
        if not row.done:
            runner.finish_row(row, "skipped", "ABORTED", "not attempted: the run was stopped before this row")
    return runner.rows
