"""The ``iredmigrate`` command line: parse options, call one library function, render, exit.

Exit codes (DESIGN.md): 0 all good; 1 the run could not proceed; 2 usage error; 3 finished, but
some rows were invalid or failed. Nothing else in the package imports click.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
import orjson

from migrate import __version__
from migrate.errors import ConfigError, FatalError, IredMigrateError, UsageError
from migrate.inputs import InputOptions
from migrate.records import Problem

__all__ = ["main"]

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
    click.echo(problem.render(), err=False)


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
            collect=as_json,
        )
    except ConfigError as exc:
        _fail(str(exc), exc.hint, EXIT_FATAL)
    if as_json:
        click.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo("")
        click.echo(f"{'kind':<12} {'rows':>8} {'valid':>8} {'invalid':>8} {'warnings':>8}")
        for kind, counts in report.summary.items():
            if counts.rows:
                click.echo(f"{kind:<12} {counts.rows:>8} {counts.valid:>8} {counts.invalid:>8} {counts.warnings:>8}")
        verdict = "no problems" if report.ok else f"{report.errors} error(s)"
        click.echo(f"{report.files} file(s): {verdict}, {report.warnings} warning(s)")
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)
