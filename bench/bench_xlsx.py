"""XLSX reading speed: python-calamine alone vs ``read_xlsx``, on the same generated workbook.

Generates a "Users" sheet of N rows (default 100,000; the columns of ``bench_csv.py``, quota as a
number) with xlsxwriter in constant_memory mode (inline strings), or with ``--shared-strings`` in
its default mode (a shared string table, as Excel writes), then times each stage in a fresh
process, interleaved, R times (median):

* ``calamine``: open the workbook, load the sheet, iterate its rows (the floor);
* ``read_xlsx``: :func:`migrate.readers.xlsx_reader.read_xlsx` consumed (archive checks, formula
  scan, header search, value rendering, provenance);
* ``cmd``: with ``--cmd "iredmigrate validate {path}"``, that command (wall time).

Usage::

    .venv/bin/python bench/bench_xlsx.py [--rows N] [--repeat R] [--shared-strings] [--cmd "..."] [--keep PATH]
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from bench_csv import FIRST, LANGUAGES, LAST, main

HEADER = ["email", "name", "password", "quota", "language", "accountStatus", "employeeid", "aliases"]


def generate(path: Path, rows: int, *, shared_strings: bool = False, seed: int = 7) -> None:
    """Write a workbook with a header and ``rows`` user rows on a sheet named Users."""
    import xlsxwriter

    pick = random.Random(seed)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": not shared_strings})
    sheet = workbook.add_worksheet("Users")
    sheet.write_row(0, 0, HEADER)
    for i in range(rows):
        first, last = pick.choice(FIRST), pick.choice(LAST)
        domain = f"example{i % 40}.com"
        row = i + 1
        sheet.write_string(row, 0, f"user{i:07d}@{domain}")
        sheet.write_string(row, 1, f"{last}, {first}" if i % 7 == 0 else f"{first} {last}")
        sheet.write_string(row, 2, f"Pw-{pick.getrandbits(40):x}!Q")
        sheet.write_number(row, 3, pick.choice((512, 1024, 2048, 5120)))
        sheet.write_string(row, 4, pick.choice(LANGUAGES))
        sheet.write_string(row, 5, "active" if i % 20 else "disabled")
        sheet.write_string(row, 6, f"E{i:07d}")
        if i % 5 == 0:
            sheet.write_string(row, 7, f"{first.lower()}.{i}@{domain},{last.lower()}.{i}@{domain}")
    workbook.close()


def stage_calamine(path: str) -> int:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(path)
    count = 0
    for _ in workbook.get_sheet_by_name("Users").iter_rows():
        count += 1
    return count - 1  # the header


def stage_read_xlsx(path: str) -> int:
    from migrate.readers.xlsx_reader import read_xlsx

    count = 0
    for _ in read_xlsx(path):
        count += 1
    return count


if __name__ == "__main__":
    shared = "--shared-strings" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--shared-strings"]
    main(
        args,
        script=__file__,
        stages={"calamine": stage_calamine, "read_xlsx": stage_read_xlsx},
        write=lambda path, rows: generate(path, rows, shared_strings=shared),
        default_rows=100_000,
        suffix=".xlsx",
    )
