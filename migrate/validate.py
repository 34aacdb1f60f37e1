"""``iredmigrate validate``: read, map and validate inputs, and say what is wrong where.

Writes nothing anywhere but the report: this is the dry run of the dry run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from migrate.crosscheck import CrossCheck
from migrate.errors import InputFileError
from migrate.inputs import InputOptions, load, load_checked
from migrate.records import Problem
from migrate.tally import KindSummary, Tally, new_summary

__all__ = ["KindSummary", "ValidationReport", "validate"]


@dataclass
class ValidationReport:
    """What ``validate`` found.

    Attributes:
        files: Number of input files.
        summary: Kind -> counts.
        errors: Number of error problems (file-level ones included).
        warnings: Number of warnings.
        problems: Every problem, when the caller asked to collect them.
        file_errors: Files that could not be read at all.
    """

    files: int = 0
    summary: dict[str, KindSummary] = field(default_factory=new_summary)
    errors: int = 0
    warnings: int = 0
    problems: list[Problem] = field(default_factory=list)
    file_errors: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is wrong (warnings allowed)."""
        return self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the ``--json`` output)."""
        return {
            "ok": self.ok,
            "files": self.files,
            "errors": self.errors,
            "warnings": self.warnings,
            "summary": {k: vars_of(v) for k, v in self.summary.items() if v.rows},
            "problems": [p.as_dict() for p in self.problems],
        }


def vars_of(summary: KindSummary) -> dict[str, int]:
    """Return the counts as a dict."""
    return {"rows": summary.rows, "valid": summary.valid, "invalid": summary.invalid, "warnings": summary.warnings}


def validate(
    paths: Iterable[str | os.PathLike[str]],
    options: InputOptions | None = None,
    *,
    existing_domains: Iterable[str] = (),
    on_problem: Callable[[Problem], None] | None = None,
    collect: bool = False,
    bulk: bool = True,
    processes: int | None = None,
) -> ValidationReport:
    """Validate input files without writing anything.

    Args:
        paths: Input files (CSV, XLSX, LDIF, JSON snapshot).
        options: Mapping profile and CSV options.
        existing_domains: Domains the target already has (``--domain-exists``).
        on_problem: Called with each problem as soon as it is known (streaming output).
        collect: Keep every problem in the report (for ``--json``).
        bulk: Check plain rows a column at a time (:mod:`migrate.bulk`); the report is the same
            either way, only faster. False checks every row on its own.
        processes: How many processes may check one big CSV file (:mod:`migrate.split`);
            default: two when the machine has two cores. The report is the same either way.

    Returns:
        The report; ``report.ok`` is False when any error was found.
    """
    report = ValidationReport()
    paths = list(paths)
    report.files = len(paths)
    check = CrossCheck(existing_domains=existing_domains)

    def emit(problem: Problem) -> None:
        if problem.is_error:
            report.errors += 1
        else:
            report.warnings += 1
        if collect:
            report.problems.append(problem)
        if on_problem is not None:
            on_problem(problem)

    def file_error(exc: InputFileError) -> None:
        report.file_errors += 1
        emit(
            Problem(
                code=exc.code or "UNREADABLE_FILE",
                message=exc.message,
                hint=exc.hint,
                source=exc.source,
                sheet=exc.sheet,
                line=exc.line,
                column=exc.column,
            )
        )

    options = options or InputOptions()
    stream = (
        load_checked(
            paths,
            options,
            check=check,
            report=emit,
            on_file_error=file_error,
            processes=min(2, os.cpu_count() or 1) if processes is None else processes,
        )
        if bulk
        else load(paths, options, report=emit, on_file_error=file_error)
    )
    take = Tally(report.summary, check, emit).take
    for item in stream:
        take(item)
    for problem in check.finish():
        emit(problem)
    return report
