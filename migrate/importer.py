"""``iredmigrate import``: validate, read the target, plan, apply, verify, report every row.

The library function :func:`run_import` does the whole job; the CLI only parses options and
renders. Every input row ends up with exactly one result record: ``invalid`` before anything is
sent, or the outcome of its operations.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from migrate.aio import run as run_async
from migrate.apply import ApplyOptions, apply_plan
from migrate.credentials import CredentialsFile, generate_password
from migrate.crosscheck import CrossCheck, merge_partials
from migrate.inputs import BulkEntries, Entry, InputOptions, load_entries
from migrate.journal import Journal, row_id
from migrate.model import Account, Alias, MailingList, User
from migrate.plan import Plan, PlanOptions, plan
from migrate.readers.server import FirstLook, first_look, read_state
from migrate.records import Problem
from migrate.results import RejectsWriter, ResultLog, ResultRecord, render_summary
from migrate.target import Endpoint, Target, open_target, url_endpoint

if TYPE_CHECKING:
    from migrate.client import ApiClient

__all__ = ["ImportOptions", "ImportResult", "Reporter", "run_import"]


class Reporter(Protocol):
    """What the import tells the person running it (the CLI renders it)."""

    def problem(self, problem: Problem) -> None:
        """A validation problem, as soon as it is known."""

    def info(self, text: str) -> None:
        """A line of information."""

    def progress(self, done: int, total: int) -> None:
        """Operations done so far."""


@dataclass(frozen=True)
class ImportOptions:
    """Everything ``import`` can be told.

    Attributes:
        inputs: Mapping profile and CSV options.
        plan: Merge/replace, deletions, lists, passwords.
        apply: Concurrency, failure limit, verification.
        dry_run: Compute and return the plan; send no write.
        log: Result log path (``.jsonl``, ``.csv``, or a stem for both).
        rejects: Where to write failed and invalid rows in the input's own format.
        credentials: Where generated passwords go (mode 0600).
        journal: Journal path for ``--resume`` (default: beside the log).
        resume: Skip rows an earlier run finished; re-plan the rest.
    """

    inputs: InputOptions = field(default_factory=InputOptions)
    plan: PlanOptions = field(default_factory=PlanOptions)
    apply: ApplyOptions = field(default_factory=ApplyOptions)
    dry_run: bool = False
    log: str | None = None
    rejects: str | None = None
    credentials: str | None = None
    journal: str | None = None
    resume: bool = False


@dataclass
class ImportResult:
    """The outcome: counts per kind and status, the plan, and the exit code."""

    counts: dict[str, dict[str, int]]
    plan: Plan | None
    exit_code: int
    summary: str
    interrupted: bool = False


def _first_error(entry: Entry) -> Problem | None:
    return next((p for p in entry.problems if p.is_error), None)


def _key_of(entry: Entry) -> str:
    if entry.obj is not None:
        return entry.obj.key
    fields = entry.record.fields
    return str(fields.get("email") or fields.get("domain") or "").strip().lower()


def _secrets(entries: Sequence[Entry]) -> list[str]:
    found: list[str] = []
    for entry in entries:
        for name in ("password", "password_hash"):
            value = entry.record.fields.get(name)
            if isinstance(value, str) and value.strip():
                found.append(value.strip())
            if entry.obj is not None and getattr(entry.obj, name, None):
                found.append(str(getattr(entry.obj, name)))
    return list(dict.fromkeys(found))  # a row's field and its model hold the same value: learn it once


def _journal_path(options: ImportOptions) -> str:
    if options.journal:
        return options.journal
    if options.log:
        return os.path.splitext(options.log)[0] + ".journal.jsonl"
    return ".iredmigrate-journal.jsonl"


class _Recorder:
    """Builds result records, and sends failed and invalid rows to the rejects file."""

    def __init__(self, log: ResultLog, rejects: RejectsWriter | None) -> None:
        self.log = log
        self.rejects = rejects

    def __call__(self, *, entry: Entry | None, **fields: Any) -> ResultRecord:
        column = None
        problem = _first_error(entry) if entry is not None else None
        if problem is not None:
            column = problem.column
        record = ResultRecord(column=column, **fields)
        if entry is not None and self.rejects is not None and record.status in ("failed", "invalid"):
            self.rejects.add(entry.record, code=record.code, message=record.message, column=column)
        return record

    def invalid(self, entry: Entry, code: str = "", message: str = "", column: str | None = None) -> None:
        problem = _first_error(entry)
        prov = entry.prov
        record = self(
            entry=entry,
            source=prov.source,
            sheet=prov.sheet,
            line=prov.line,
            kind=entry.record.kind,
            key=_key_of(entry),
            action="none",
            status="invalid",
            code=code or (problem.code if problem else "INVALID"),
            message=message or (problem.message if problem else "the row is not valid"),
        )
        if column is not None:
            record = replace(record, column=column)
        self.log.add(record)


def run_import(files: Sequence[str], target: Target, options: ImportOptions, *, reporter: Reporter) -> ImportResult:
    """Import ``files`` into ``target``.

    Raises:
        UsageError: the target is not fully described.
        InputFileError: an input file cannot be read at all (nothing is sent).
        AuthError, TargetUnavailable: the server refuses us or cannot be reached.
    """
    target.check()
    with _long_lived():
        return _import(files, target, options, reporter)


@contextlib.contextmanager
def _long_lived() -> Iterator[None]:
    """Keep the objects frozen meanwhile (``gc.freeze()``) out of full collections, then free them.

    The rows, the plan and the server state live until the end of the run. Left to the cyclic
    collector, its full passes walk all of them every few thousand requests and stall every
    worker for up to 0.1 s at 10,000 rows.
    """
    ours = gc.get_freeze_count() == 0  # a caller that froze its own heap keeps it frozen
    try:
        yield
    finally:
        if ours:
            gc.unfreeze()


@contextlib.contextmanager
def _building() -> Iterator[None]:
    """Pause the cyclic collector while long-lived data is built, then freeze what was built.

    Loading 10,000 rows and planning them allocate millions of objects that all live until the
    end of the run; the collector's passes over them (about 390 before the first request, two
    of them full, 0.1 s in all and pauses up to 30 ms) find next to nothing to free. The
    collector is back on, as the caller had it, before anything is sent.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@dataclass
class _Prepared:
    """The checked input and the files the run writes, until the run ends."""

    entries: list[Entry]
    desired: list[tuple[int, Account]]
    log: ResultLog
    recorder: _Recorder
    journal: Journal | None
    rejects: RejectsWriter | None
    credentials: CredentialsFile | None

    def close(self) -> None:
        _close(self.journal, self.rejects, self.credentials, self.log)


def _close(*files: Journal | RejectsWriter | CredentialsFile | ResultLog | None) -> None:
    for closable in files:
        if closable is not None:
            closable.close()


def _prepare(
    files: Sequence[str],
    target: Target,
    options: ImportOptions,
    reporter: Reporter,
    stop: threading.Event | None = None,
) -> _Prepared:
    """Load and check the input, and open the result files.

    Args:
        files: The input files.
        target: The target (its password is one of the secrets to keep out of the log).
        options: The import's options.
        reporter: Told each problem as it is found.
        stop: Checked between rows: once set, the loading ends (its caller is gone).
    """
    with _building():
        entries: list[Entry] = []
        check = CrossCheck()
        for item in load_entries(files, options.inputs, check=check, report=reporter.problem):
            if stop is not None and stop.is_set():
                raise asyncio.CancelledError
            if type(item) is BulkEntries:
                entries.extend(item.entries)  # clean rows, in the cross-checks already
            else:
                assert isinstance(item, Entry)
                check.add(item)
                entries.append(item)
        # Each row's problems after the file-level notes the loading reported, as ever.
        for entry in entries:
            for problem in entry.problems:
                reporter.problem(problem)
        for problem in check.finish():
            if problem.code != "UNKNOWN_DOMAIN":  # decided against the target's real domains below
                reporter.problem(problem)
        merged = merge_partials(entries)
        secrets = _secrets(entries)
        if target.password:
            secrets.append(target.password)
        journal = None if options.dry_run else Journal(_journal_path(options), resume=options.resume)
        log = ResultLog(None if options.dry_run else options.log, secrets=secrets)
    rejects: RejectsWriter | None = None
    credentials: CredentialsFile | None = None
    try:
        if options.rejects and not options.dry_run:
            rejects = RejectsWriter(options.rejects, redactor=log.redactor)
        if options.credentials and not options.dry_run:
            credentials = CredentialsFile(options.credentials)
        recorder = _Recorder(log, rejects)
        desired = _desired(entries, merged, journal, log, recorder, options.dry_run)
    except BaseException:
        _close(journal, rejects, credentials, log)
        raise
    return _Prepared(entries, desired, log, recorder, journal, rejects, credentials)


def _desired(
    entries: list[Entry],
    merged: dict[int, int],
    journal: Journal | None,
    log: ResultLog,
    recorder: _Recorder,
    dry_run: bool,
) -> list[tuple[int, Account]]:
    """Record the rows that will not be planned (invalid, merged, done before); return the rest."""
    done = journal.done if journal is not None else {}
    desired: list[tuple[int, Account]] = []
    for index, entry in enumerate(entries):
        if not entry.valid:
            if not dry_run:
                recorder.invalid(entry)
            continue
        assert entry.obj is not None
        if index in merged:
            if not dry_run:
                into = entries[merged[index]].prov
                log.add(
                    ResultRecord(
                        source=entry.prov.source,
                        sheet=entry.prov.sheet,
                        line=entry.prov.line,
                        kind=entry.record.kind,
                        key=entry.obj.key,
                        action="merge",
                        status="skipped",
                        code="MERGED",
                        message=f"merged into line {into.line}; its result covers this row",
                    )
                )
            continue
        previous = (
            done.get(row_id(entry.prov.source, entry.prov.sheet, entry.prov.line, entry.obj.key)) if done else None
        )
        if previous is not None:
            log.add(
                ResultRecord(
                    source=entry.prov.source,
                    sheet=entry.prov.sheet,
                    line=entry.prov.line,
                    kind=entry.record.kind,
                    key=entry.obj.key,
                    action=previous.action or "none",
                    status=previous.status,
                    code=previous.code,
                    message=previous.message or "finished in an earlier run (--resume)",
                )
            )
            continue
        desired.append((index, entry.obj))

    return desired


def _import(files: Sequence[str], target: Target, options: ImportOptions, reporter: Reporter) -> ImportResult:
    if target.url:
        return run_async(_import_remote(files, url_endpoint(target), target, options, reporter))
    # The sandbox is started only for an input that could be read.
    prepared = _prepare(files, target, options, reporter)
    try:
        with open_target(target) as endpoint:
            return run_async(_import_local(prepared, endpoint, target, options, reporter))
    finally:
        prepared.close()


async def _import_local(
    prepared: _Prepared, endpoint: Endpoint, target: Target, options: ImportOptions, reporter: Reporter
) -> ImportResult:
    async with _client(endpoint, target) as client:
        await client.login()
        return await _run(prepared, endpoint, target, options, reporter, client, None)


async def _import_remote(
    files: Sequence[str], endpoint: Endpoint, target: Target, options: ImportOptions, reporter: Reporter
) -> ImportResult:
    """Log in and take the server's first look while the input loads in a thread.

    The two round trips (login; edition probe with the domain list) then cost nothing on top of
    the loading: about 50 ms against the benchmark's sandbox at 20 ms, twice the round trip over
    any link. What is reported, and in which order, stays as in a run that connects after
    loading: the input's problems, their records and a file error first, then a refused login.
    Nothing but the login and those two reads is sent before the input has been checked.
    """
    async with _client(endpoint, target) as client:
        looking = asyncio.ensure_future(_log_in_and_look(client, endpoint))
        stop = threading.Event()
        try:
            prepared = await asyncio.to_thread(_prepare, files, target, options, reporter, stop)
        except BaseException:
            stop.set()  # Ctrl-C or an unreadable input: the thread stops at its next row
            looking.cancel()
            await asyncio.gather(looking, return_exceptions=True)
            raise
        try:
            first = await looking
            return await _run(prepared, endpoint, target, options, reporter, client, first)
        finally:
            prepared.close()


async def _log_in_and_look(client: ApiClient, endpoint: Endpoint) -> FirstLook:
    await client.login()
    # The admin's own domain names the edition probe's path: any domain would do.
    return await first_look(client, endpoint.admin.rpartition("@")[2])


def _client(endpoint: Endpoint, target: Target) -> ApiClient:
    from migrate.client import ApiClient

    return ApiClient(
        endpoint.base_url,
        endpoint.admin,
        endpoint.password,
        concurrency=target.concurrency,
        rate=target.rate,
        verify=endpoint.verify,
        ca_file=endpoint.ca_file,
        timeout=target.timeout,
    )


async def _run(
    prepared: _Prepared,
    endpoint: Endpoint,
    target: Target,
    options: ImportOptions,
    reporter: Reporter,
    client: ApiClient,
    first: FirstLook | None,
) -> ImportResult:
    entries, desired, log, recorder = prepared.entries, prepared.desired, prepared.log, prepared.recorder
    journal, credentials = prepared.journal, prepared.credentials
    log.add_secret(endpoint.password)
    plan_options = options.plan
    if plan_options.generate_passwords and plan_options.password_factory is None:
        plan_options = replace(plan_options, password_factory=generate_password)
    plan_options = replace(plan_options, protected=plan_options.protected | {endpoint.admin.lower()})
    stop = asyncio.Event()
    list_kind = "alias" if plan_options.lists_as_aliases else None
    with _building():  # the server state and the plan
        objs = [obj for _, obj in desired]
        state = await read_state(client, objs, scope=plan_options.scope, list_kind=list_kind, first=first)
        desired = _drop_unknown_domains(desired, entries, state.domains, recorder, options.dry_run)
        the_plan = plan(desired, state, plan_options)
    for note in the_plan.notes:
        reporter.info(note)
    if options.dry_run:
        return ImportResult(log.counts, the_plan, 0, render_summary(log))
    loop = asyncio.get_running_loop()
    _install_interrupt(loop, stop)
    try:
        await apply_plan(
            the_plan,
            entries,
            client,
            log=log,
            make_record=recorder,
            options=options.apply,
            journal=journal,
            credentials=credentials,
            on_progress=reporter.progress,
            stop=stop,
        )
    finally:
        _remove_interrupt(loop)
    bad = any(counts.get(s, 0) for counts in log.counts.values() for s in ("failed", "invalid"))
    interrupted = stop.is_set()
    return ImportResult(log.counts, the_plan, 3 if bad or interrupted else 0, render_summary(log), interrupted)


def _drop_unknown_domains(
    desired: list[tuple[int, Account]],
    entries: list[Entry],
    existing: dict[str, Any],
    recorder: _Recorder,
    dry_run: bool,
) -> list[tuple[int, Account]]:
    """Rows under a domain that is neither on the target nor in the inputs are invalid."""
    from migrate.model import Domain

    planned = {obj.domain for _, obj in desired if isinstance(obj, Domain)}
    kept: list[tuple[int, Account]] = []
    for index, obj in desired:
        if isinstance(obj, (User, Alias, MailingList)):
            domain = obj.email.rpartition("@")[2]
            if domain not in existing and domain not in planned:
                if not dry_run:
                    column = entries[index].record.columns.get("email", "email")
                    recorder.invalid(
                        entries[index],
                        "UNKNOWN_DOMAIN",
                        f"the domain {domain} is neither on the target nor in the inputs",
                        column,
                    )
                continue
        kept.append((index, obj))
    return kept


def _install_interrupt(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    # Ctrl-C stops new work; in-flight calls finish and every row still gets its record.
    try:
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
        pass


def _remove_interrupt(loop: asyncio.AbstractEventLoop) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(sig)
