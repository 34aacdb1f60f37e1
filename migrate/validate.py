"""``iredmigrate validate``: read, map and validate inputs, and say what is wrong where.

Writes nothing anywhere but the report: this is the dry run of the dry run.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from migrate.crosscheck import CrossCheck
from migrate.errors import InputFileError
from migrate.inputs import InputOptions, load, load_checked
from migrate.records import ErrorFields, Problem, render_error
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
    on_rendered: Callable[[str], object] | None = None,
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
        on_rendered: When given (and not ``collect``), the problems a second process found come
            here instead of to ``on_problem``, already rendered: each :meth:`Problem.render`
            followed by a newline, in order. Saves the parent process rebuilding them.
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

    def emit_errors(errors: list[ErrorFields]) -> None:
        # Errors of rows settled in bulk: objects only when a caller wants objects.
        report.errors += len(errors)
        wanted = collect or (on_rendered is None and on_problem is not None)
        problems = [Problem.quick(*fields) for fields in errors] if wanted else []
        if collect:
            report.problems.extend(problems)
        if on_rendered is not None:
            on_rendered("".join([render_error(fields) + "\n" for fields in errors]))
        elif on_problem is not None:
            for problem in problems:
                on_problem(problem)

    def emit_text(text: str, errors: int, warnings: int) -> None:
        report.errors += errors
        report.warnings += warnings
        assert on_rendered is not None  # only asked for with a sink
        on_rendered(text)

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
            rendered=on_rendered is not None and not collect,
        )
        if bulk
        else load(paths, options, report=emit, on_file_error=file_error)
    )
    take = Tally(report.summary, check, emit, emit_text, emit_errors).take
    with young_collections_every(_YOUNG_THRESHOLD):
        for item in stream:
            take(item)
        for problem in check.finish():
            emit(problem)
    return report


# Validation keeps a growing index (and, at a time, a block of row lists) and makes few reference
# cycles. At the default 700 net new containers, a million rows meant ~1,500 young and ~10 full
# collections that walked the index: about 0.5 s of CPU. At 20,000 the same run makes about ten
# young collections, and cycles (from caught exceptions, say) are still collected.
_YOUNG_THRESHOLD = 20_000


@contextlib.contextmanager
def young_collections_every(containers: int) -> Iterator[None]:
    """Run the cyclic GC's young collections every ``containers`` net new containers meanwhile."""
    before = gc.get_threshold()
    gc.set_threshold(max(containers, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
