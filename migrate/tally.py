"""Counting what validation found, row by row or in bulk, the one way ``validate`` reports it.

:func:`migrate.validate.validate` and the process that checks the second part of a big file
(:mod:`migrate.split`) both take each item the input stream yields (an entry, rows settled in
bulk, or the merged result of such a process) through :class:`Tally`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from migrate.bulk import BulkCount
from migrate.crosscheck import CrossCheck
from migrate.inputs import Entry
from migrate.records import KINDS, ErrorFields, Problem

__all__ = ["KindSummary", "Merged", "Tally"]


@dataclass(slots=True)
class KindSummary:
    """Counts for one kind of account."""

    rows: int = 0
    valid: int = 0
    invalid: int = 0
    warnings: int = 0


def new_summary() -> dict[str, KindSummary]:
    """A zero count for every kind."""
    return {kind: KindSummary() for kind in KINDS}


@dataclass(slots=True)
class Merged:
    """What another process found in its part of a file: counts per kind, problems in order.

    The problems come either as objects or, when only their text is wanted, already rendered
    (``text``: each :meth:`Problem.render` and a newline) with how many are errors and warnings.
    """

    summary: dict[str, KindSummary]
    problems: list[Problem] = field(default_factory=list)
    text: str | None = None
    errors: int = 0
    warnings: int = 0


class Tally:
    """Counts rows per kind, adds entries to the cross-checks and passes every problem on.

    Args:
        summary: Kind -> counts, updated in place.
        check: The cross-row checks entries are added to.
        emit: Receives each problem, in order.
        emit_text: Receives problems another process rendered: (text, errors, warnings).
        emit_errors: Receives the errors of rows settled in bulk as plain fields, in order;
            without it they reach ``emit`` as :class:`Problem` objects.
    """

    def __init__(
        self,
        summary: dict[str, KindSummary],
        check: CrossCheck,
        emit: Callable[[Problem], None],
        emit_text: Callable[[str, int, int], None] | None = None,
        emit_errors: Callable[[list[ErrorFields]], None] | None = None,
    ) -> None:
        self.summary = summary
        self.check = check
        self.emit = emit
        self.emit_text = emit_text
        self.emit_errors = emit_errors

    def take(self, item: Entry | BulkCount | Merged) -> None:
        """Count one item of the input stream and pass its problems on."""
        emit = self.emit
        if type(item) is Merged:
            for kind, counts in item.summary.items():
                mine = self.summary[kind]
                mine.rows += counts.rows
                mine.valid += counts.valid
                mine.invalid += counts.invalid
                mine.warnings += counts.warnings
            if item.text is not None:
                if self.emit_text is None:
                    raise ValueError("rendered problems, but no emit_text to pass them to")
                self.emit_text(item.text, item.errors, item.warnings)
            for problem in item.problems:
                emit(problem)
            return
        if type(item) is BulkCount:
            counts = self.summary[item.kind]
            counts.rows += item.rows
            counts.valid += item.valid
            counts.invalid += item.rows - item.valid
            if item.problems:  # errors only: no warning to count
                if self.emit_errors is not None:
                    self.emit_errors(item.problems)
                else:
                    for fields in item.problems:
                        emit(Problem.quick(*fields))
            return
        assert isinstance(item, Entry)
        self.check.add(item)
        counts = self.summary[item.record.kind]
        counts.rows += 1
        if item.valid:
            counts.valid += 1
        else:
            counts.invalid += 1
        problems = item.problems
        for problem in problems:
            if not problem.is_error:
                counts.warnings += 1
            emit(problem)
