"""Mapping profiles: turn the rows of a CSV or XLSX file into records in the model's vocabulary.

A profile (``mappings/*.toml``, documented in ``mappings/README.md``) says which column feeds
which model field: header synonyms matched ignoring case, spaces, punctuation and accents, or
column positions for headerless files, possibly chosen per row by a record-type column. On the
way it converts units, splits multi-valued cells, applies defaults and value maps, and builds
addresses from names. It does not validate: values go to :func:`migrate.model.build` as text (or
lists), with :attr:`Record.columns <migrate.records.Record.columns>` naming the column each came
from so the model's messages point at the right cell.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from migrate.errors import ConfigError
from migrate.mapping_mapper import Mapper, Report
from migrate.mapping_schema import Profile, parse_profile
from migrate.normalize import normalize_header
from migrate.records import Problem, Record, TableRow

__all__ = [
    "MAPPINGS_DIR",
    "Mapper",
    "Profile",
    "detect_profile",
    "list_profiles",
    "load_profile",
    "map_rows",
]

#: Where the shipped profiles live (the repository's ``mappings/``).
MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"


def _ignore(problem: Problem) -> None:
    """Default ``report``: drop file-level notes."""


def list_profiles() -> list[str]:
    """Return the names of the shipped profiles, sorted."""
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))


def _resolve(name_or_path: str, relative_to: Path | None = None) -> Path:
    if name_or_path.endswith(".toml") or "/" in name_or_path or os.sep in name_or_path:
        path = Path(name_or_path).expanduser()
        if not path.is_absolute() and relative_to is not None and not path.is_file():
            path = relative_to / path
        if not path.is_file():
            raise ConfigError(
                "no such mapping profile file",
                code="MAPPING_NOT_FOUND",
                hint="check the path, or use a shipped profile: " + ", ".join(list_profiles()),
                source=name_or_path,
            )
        return path.resolve()
    shipped = MAPPINGS_DIR / f"{name_or_path}.toml"
    if not shipped.is_file():
        raise ConfigError(
            f"unknown mapping profile {name_or_path!r}",
            code="MAPPING_NOT_FOUND",
            hint="use one of " + ", ".join(list_profiles()) + ", or the path to a .toml file of your own",
        )
    return shipped


@functools.lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int) -> Profile:
    return parse_profile(Path(path), _resolve)


def load_profile(name_or_path: str) -> Profile:
    """Load a shipped profile by name, or a user's profile from a path.

    Raises:
        ConfigError: when the profile does not exist or is wrong (unknown key, bad value, unknown
            field, TOML syntax); the error names the file and, where possible, the line.
    """
    path = _resolve(name_or_path)
    return _load(str(path), path.stat().st_mtime_ns)


def _score(profile: Profile, headers: Sequence[str], folded: set[str]) -> int:
    detect = profile.detect
    best = max((len(group) for group in detect.headers if set(group) <= folded), default=0)
    if not (detect.first_row or detect.row):
        return best
    cells = [h.strip() for h in headers]
    count = len(cells)
    fits = (
        count >= len(detect.first_row)
        and (not detect.min_columns or count >= detect.min_columns)
        and (not detect.max_columns or count <= detect.max_columns)
        and all(p.fullmatch(c) for p, c in zip(detect.first_row, cells, strict=False))
        and (detect.row is None or detect.row.match(";".join(cells)) is not None)
    )
    # A headerless layout matched cell by cell is stronger evidence than a few header names.
    return max(best, 100) if fits else best


def detect_profile(headers: Sequence[str]) -> str | None:
    """Return the shipped profile that best fits a file whose first row is ``headers``.

    For headerless formats ``headers`` is the first data row, read as if it were a header.
    ``None`` when no profile recognizes the file (the caller falls back to ``default``).
    """
    folded = {normalize_header(h) for h in headers}
    names = [n for n in list_profiles() if n != "default"] + ["default"]
    best: str | None = None
    best_score = 0
    for name in names:
        score = _score(load_profile(name), headers, folded)
        if score > best_score:
            best, best_score = name, score
    return best


def map_rows(rows: Iterable[TableRow], profile: Profile, *, report: Report = _ignore) -> Iterator[Record]:
    """Map a stream of rows with one profile, skipping blank and comment rows.

    Args:
        rows: Rows from a tabular reader.
        profile: The profile (see :func:`load_profile`).
        report: Receives file-level notes (ignored columns, unmapped kinds...).
    """
    mapper = Mapper(profile, report=report)
    for row in rows:
        record = mapper.map_row(row)
        if record is not None:
            yield record
