"""The ``iredmigrate`` command line: parse options, call one library function, render, exit.

Exit codes (DESIGN.md): 0 all good; 1 the run could not proceed; 2 usage error; 3 finished, but
some rows were invalid or failed. Nothing else in the package imports click.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
import orjson

from migrate import __version__
from migrate.errors import ConfigError, FatalError, IredMigrateError, UsageError
from migrate.inputs import InputOptions
from migrate.records import Problem

if TYPE_CHECKING:
    from migrate.target import Target

__all__ = ["main"]

# ``import httpx`` also imports httpx's own command-line client (``httpx._main``, which pulls in
# rich and pygments): 60-70 ms of every run's start-up, for a ``main`` this program never calls.
# A ``None`` entry makes that import fail, and httpx then leaves its command out, as it does
# when its ``[cli]`` extra is not installed. Only this process's entry point does this; the
# library never does (an application embedding it may want httpx's command).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_PROBLEMS = 0, 1, 2, 3
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, hint: str = "", code: int = EXIT_FATAL) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn our exceptions into a message and an exit code; never show a traceback to users."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UsageError as exc:
            _fail(str(exc), exc.hint, EXIT_USAGE)
        except (FatalError, IredMigrateError) as exc:
            _fail(str(exc), exc.hint, EXIT_FATAL)
        except KeyboardInterrupt:
            _fail("interrupted", code=EXIT_PROBLEMS)
        except Exception as exc:  # a bug of ours: say so briefly, full detail only when asked
            if os.environ.get("IREDMIGRATE_DEBUG"):
                raise
            _fail(
                f"internal error: {type(exc).__name__}",
                "this is a bug in iredmigrate; run again with IREDMIGRATE_DEBUG=1 and report the traceback",
            )

    return wrapper  # type: ignore[return-value]


def run() -> NoReturn:
    """The ``iredmigrate`` command: :func:`main`, then a quick exit (:func:`migrate.leave.leave`)."""
    from migrate.leave import leave

    try:
        main()
    except SystemExit as exc:  # how click's standalone mode always ends
        leave(exc.code)
    leave(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iredmigrate")
def main() -> None:
    """Bulk import, export and migration for iRedMail via the iRedAdmin-Pro RESTful API."""


def _input_options(func: F) -> F:
    func = click.option("--delimiter", help="CSV delimiter (default: sniffed).")(func)
    func = click.option("--encoding", help="CSV encoding (default: detected).")(func)
    func = click.option(
        "--mapping", "-m", metavar="NAME|PATH", help="Mapping profile (default: detected from the headers)."
    )(func)
    return func


def _print_problem(problem: Problem) -> None:
    # Not click.echo: it flushes every line, and a big file can have a hundred thousand problems.
    sys.stdout.write(problem.render() + "\n")


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_input_options
@click.option("--domain-exists", multiple=True, metavar="DOMAIN", help="A domain the target server already has.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@handle_errors
def validate_cmd(
    files: tuple[str, ...],
    mapping: str | None,
    encoding: str | None,
    delimiter: str | None,
    domain_exists: tuple[str, ...],
    as_json: bool,
) -> None:
    """Read, map and validate FILES; print every problem with its location; write nothing."""
    from migrate.validate import validate

    if delimiter is not None and len(delimiter.encode("unicode_escape").decode()) > 2 and delimiter != "\\t":
        raise UsageError(f"--delimiter must be one character, got {delimiter!r}")
    options = InputOptions(mapping=mapping, encoding=encoding, delimiter="\t" if delimiter == "\\t" else delimiter)
    try:
        report = validate(
            files,
            options,
            existing_domains=domain_exists,
            on_problem=None if as_json else _print_problem,
            on_rendered=None if as_json else sys.stdout.write,
            collect=as_json,
        )
    except ConfigError as exc:
        _fail(str(exc), exc.hint, EXIT_FATAL)
    if as_json:
        click.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        sys.stdout.flush()
        click.echo("")
        click.echo(f"{'kind':<12} {'rows':>8} {'valid':>8} {'invalid':>8} {'warnings':>8}")
        for kind, counts in report.summary.items():
            if counts.rows:
                click.echo(f"{kind:<12} {counts.rows:>8} {counts.valid:>8} {counts.invalid:>8} {counts.warnings:>8}")
        verdict = "no problems" if report.ok else f"{report.errors} error(s)"
        click.echo(f"{report.files} file(s): {verdict}, {report.warnings} warning(s)")
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


def _target_options(func: F) -> F:
    options = [
        click.option("--url", metavar="URL", help="API base URL, e.g. https://mail.example.com/iredadmin/api"),
        click.option("--admin", metavar="EMAIL", help="Admin to log in as (password from $IREDADMIN_PASSWORD)."),
        click.option("--sandbox", metavar="FILE", help="Use an in-process sandbox on this SQLite file instead."),
        click.option(
            "--edition", type=click.Choice(["sql", "ldap"]), default="sql", show_default=True, help="Sandbox edition."
        ),
        click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate."),
        click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA bundle for TLS."),
        click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per request."),
        click.option("--rate", type=float, help="At most this many requests per second."),
        click.option(
            "--concurrency",
            "-c",
            type=click.IntRange(1, 256),
            default=8,
            show_default=True,
            help="Requests in flight at once.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _build_target(kw: dict[str, Any]) -> Target:
    from migrate.target import PASSWORD_ENV, Target

    password = os.environ.get(PASSWORD_ENV)
    if kw["url"] and not password and sys.stdin.isatty():
        password = click.prompt(f"Password for {kw['admin']}", hide_input=True)
    return Target(
        url=kw["url"],
        admin=kw["admin"],
        password=password,
        sandbox=kw["sandbox"],
        insecure=kw["insecure"],
        ca_file=kw["ca_file"],
        timeout=kw["timeout"],
        rate=kw["rate"],
        concurrency=kw["concurrency"],
        edition=kw["edition"],
    )


class _CliReporter:
    """Renders import progress: a bar on a terminal, plain lines otherwise."""

    def __init__(self, quiet: bool) -> None:
        from migrate.progress import Progress

        self.quiet = quiet
        self.bar = Progress(enabled=not quiet)

    def problem(self, problem: Problem) -> None:
        if not self.quiet or problem.is_error:
            click.echo(problem.render(), err=True)

    def info(self, text: str) -> None:
        if not self.quiet:
            click.echo(text, err=True)

    def progress(self, done: int, total: int) -> None:
        self.bar.update(done, total)


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_input_options
@_target_options
@click.option("--dry-run", is_flag=True, help="Print the plan; send no write.")
@click.option("-v", "--verbose", is_flag=True, help="With --dry-run: every operation and its diff.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the summary.")
@click.option("--log", "log_path", metavar="PATH", help="Result log (.jsonl, .csv, or a name for both).")
@click.option("--rejects", metavar="PATH", help="Write failed and invalid rows here, in the input's format.")
@click.option("--credentials", metavar="PATH", help="Where generated passwords go (created with mode 0600).")
@click.option("--generate-passwords", is_flag=True, help="Give new accounts without a password a generated one.")
@click.option("--update-passwords", is_flag=True, help="Also set passwords of accounts that already exist.")
@click.option("--replace", is_flag=True, help="Make list fields exactly as given (default: add to them).")
@click.option("--delete-missing", is_flag=True, help="Delete accounts of the --domain scope that no input names.")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN", help="Limit the run to this domain.")
@click.option("--lists-as-aliases", is_flag=True, help="Create mailing lists as alias accounts.")
@click.option("--max-failures", type=click.IntRange(1), help="Stop after this many failed rows.")
@click.option("--no-verify", is_flag=True, help="Skip the read-back verification.")
@click.option("--journal", metavar="PATH", help="Journal for --resume (default: beside the log).")
@click.option("--resume", is_flag=True, help="Skip rows an earlier run finished; re-plan the rest.")
@handle_errors
def import_cmd(files: tuple[str, ...], **kw: Any) -> None:
    """Validate FILES, plan against the target, apply, verify; one result per input row."""
    from migrate.apply import ApplyOptions
    from migrate.importer import ImportOptions, run_import
    from migrate.plan import PlanOptions

    if kw["delete_missing"] and not kw["domains"]:
        raise UsageError("--delete-missing needs an explicit --domain scope", hint="e.g. --domain example.com")
    if kw["generate_passwords"] and not kw["credentials"] and not kw["dry_run"]:
        raise UsageError("--generate-passwords needs --credentials PATH, the only place the passwords are written")
    target = _build_target(kw)
    options = ImportOptions(
        inputs=InputOptions(mapping=kw["mapping"], encoding=kw["encoding"], delimiter=kw["delimiter"]),
        plan=PlanOptions(
            replace=kw["replace"],
            delete_missing=kw["delete_missing"],
            scope=frozenset(d.lower() for d in kw["domains"]),
            lists_as_aliases=kw["lists_as_aliases"],
            update_passwords=kw["update_passwords"],
            generate_passwords=kw["generate_passwords"],
        ),
        apply=ApplyOptions(concurrency=kw["concurrency"], max_failures=kw["max_failures"], verify=not kw["no_verify"]),
        dry_run=kw["dry_run"],
        log=kw["log_path"],
        rejects=kw["rejects"],
        credentials=kw["credentials"],
        journal=kw["journal"],
        resume=kw["resume"],
    )
    reporter = _CliReporter(kw["quiet"])
    result = run_import(files, target, options, reporter=reporter)
    reporter.bar.close()
    if kw["dry_run"] and result.plan is not None:
        from migrate.render import render_plan

        click.echo(render_plan(result.plan, verbose=kw["verbose"]))
    else:
        click.echo(result.summary)
    if result.interrupted:
        click.echo("interrupted: in-flight calls finished; the log has every row", err=True)
    sys.exit(result.exit_code)


@main.group("sandbox")
def sandbox_group() -> None:
    """The local imitation of the iRedAdmin-Pro API."""


@sandbox_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True, help="0 picks a free port.")
@click.option("--db", "db_path", default="sandbox.db", show_default=True, help="SQLite file (':memory:' allowed).")
@click.option(
    "--admin",
    default="postmaster@sandbox.test",
    show_default=True,
    help="Global admin (password from $IREDADMIN_PASSWORD).",
)
@click.option("--edition", type=click.Choice(["sql", "ldap"]), default="sql", show_default=True)
@click.option("--base-dn", default="dc=example,dc=com", show_default=True, help="LDAP edition: the DIT's suffix.")
@click.option("--session-timeout", type=float, default=1800.0, show_default=True)
@click.option("--allow", "allowed", multiple=True, metavar="IP/CIDR", help="API client allow-list (default: all).")
@click.option("--quirk", "quirks", multiple=True, help="Turn on a release-specific quirk (repeatable).")
@click.option("--old-envelope", is_flag=True, help="Answer with success/msg instead of _success/_msg.")
@click.option("--expose-password-hashes", is_flag=True, help="Include stored hashes in GETs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault injection.")
@click.option("--latency-ms", type=float, default=0.0)
@click.option("--jitter-ms", type=float, default=0.0)
@click.option("--p500", type=float, default=0.0)
@click.option("--p502", type=float, default=0.0)
@click.option("--p503", type=float, default=0.0)
@click.option("--p429", type=float, default=0.0)
@click.option("--retry-after", type=float, default=1.0)
@click.option("--p-drop", type=float, default=0.0, help="Probability of a dropped connection.")
@click.option("--p-slow", type=float, default=0.0, help="Probability of a reply slower than --slow-seconds.")
@click.option("--slow-seconds", type=float, default=60.0)
@click.option("--p-expire", type=float, default=0.0, help="Probability of a forced session expiry.")
@click.option("--fault-after-write", type=float, default=0.0, help="Chance a 5xx/drop comes after the write.")
@click.option("--faults-writes-only", is_flag=True, help="Inject faults and latency into writes only.")
@handle_errors
def sandbox_serve(**kw: Any) -> None:
    """Serve the sandbox until Ctrl-C; prints the base URL."""
    from migrate.sandbox import SandboxConfig, serve_forever
    from migrate.sandbox.faults import FaultConfig
    from migrate.target import PASSWORD_ENV

    password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        raise UsageError(f"set {PASSWORD_ENV} to the password of --admin {kw['admin']}")
    try:
        faults = FaultConfig(
            seed=kw["seed"],
            latency_ms=kw["latency_ms"],
            jitter_ms=kw["jitter_ms"],
            p_500=kw["p500"],
            p_502=kw["p502"],
            p_503=kw["p503"],
            p_429=kw["p429"],
            retry_after=kw["retry_after"],
            p_drop=kw["p_drop"],
            p_slow=kw["p_slow"],
            slow_seconds=kw["slow_seconds"],
            p_expire=kw["p_expire"],
            fault_after_write=kw["fault_after_write"],
            applies_to="writes" if kw["faults_writes_only"] else "all",
        )
    except ValueError as exc:
        raise UsageError(f"bad fault option: {exc}") from exc
    config = SandboxConfig(
        db_path=kw["db_path"],
        admin_email=kw["admin"],
        admin_password=password,
        host=kw["host"],
        port=kw["port"],
        edition=kw["edition"],
        base_dn=kw["base_dn"],
        session_timeout=kw["session_timeout"],
        allowed_clients=list(kw["allowed"]),
        quirks=set(kw["quirks"]),
        old_envelope=kw["old_envelope"],
        expose_password_hashes=kw["expose_password_hashes"],
        faults=faults,
    )
    try:
        serve_forever(config, on_ready=lambda url: click.echo(f"sandbox serving {url} (Ctrl-C stops)", err=False))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    click.echo("sandbox stopped", err=True)


@main.command("export")
@_target_options
@click.option("--format", "fmt", type=click.Choice(["json", "ldif", "csv", "xlsx"]), default="json", show_default=True)
@click.option("-o", "--output", required=True, metavar="PATH", help="Output file; {date} and {datetime} are expanded.")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN", help="Export only this domain (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something is wrong (for cron).")
@handle_errors
def export_cmd(fmt: str, output: str, domains: tuple[str, ...], quiet: bool, **kw: Any) -> None:
    """Snapshot the target: every domain and account, or the --domain ones."""
    from migrate.exporter import run_export
    from migrate.progress import Progress

    bar = Progress(enabled=not quiet)
    result = run_export(_build_target(kw), fmt, output, domains=domains, progress=bar.update)
    bar.close()
    for failure in result.failures:
        click.echo(f"error: could not read {failure.kind} {failure.key}: {failure.message} ({failure.code})", err=True)
    if result.failures:
        click.echo(f"{len(result.failures)} object(s) could not be read: no snapshot was written", err=True)
        sys.exit(EXIT_PROBLEMS)
    if result.missing_hashes:
        click.echo(
            f"note: the server does not expose password hashes, so {len(result.missing_hashes)} user(s) are "
            "exported without one (marked in the snapshot). To include them, set API_HIDDEN_USER_PROFILES = [] "
            "in iRedAdmin-Pro's settings.py, or export from an LDIF (slapcat) source.",
            err=True,
        )
    if not quiet:
        click.echo(f"wrote {result.path}: {result.objects} objects, {result.calls} API reads")
    sys.exit(EXIT_OK)


@main.command("diff")
@click.argument("a", type=click.Path(dir_okay=False))
@click.argument("b", type=click.Path(dir_okay=False))
@_input_options
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.option(
    "--only-given", is_flag=True, help="Compare only the fields A sets: does B hold everything A (e.g. an LDIF) says?"
)
@handle_errors
def diff_cmd(
    a: str, b: str, mapping: str | None, encoding: str | None, delimiter: str | None, as_json: bool, only_given: bool
) -> None:
    """Compare two snapshots (or any inputs) object by object, field by field. Exit 3 when they differ."""
    from migrate.diff import as_json as diff_json
    from migrate.diff import diff_objects, render_text
    from migrate.exporter import load_objects

    options = InputOptions(mapping=mapping, encoding=encoding, delimiter=delimiter)
    problems: list[Problem] = []
    left = load_objects(a, options, report=problems.append)
    right = load_objects(b, options, report=problems.append)
    result = diff_objects(left, right, only_given=only_given)
    if as_json:
        click.echo(orjson.dumps(diff_json(result), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    else:
        text = render_text(result)
        click.echo(text, nl=not text.endswith("\n"))
    sys.exit(EXIT_OK if result.identical else EXIT_PROBLEMS)
