"""Pick the XLSX engine by measurement: python-calamine vs openpyxl's read-only mode.

Generates the same "Users" workbook as ``bench_xlsx.py`` (default 100,000 rows) and times, each in
a fresh process, interleaved, R times (median): python-calamine (``iter_rows``) and openpyxl
(``load_workbook(read_only=True, data_only=True)``, ``iter_rows(values_only=True)``), both reading
every row as a list of values. Prints rows/s for each, the ratio, and peak RSS. Usage::

    .venv/bin/python bench/xlsx_engines.py [--rows N] [--repeat R] [--shared-strings] [--keep PATH]
"""

from __future__ import annotations

import sys

from bench_csv import main
from bench_xlsx import generate, stage_calamine


def stage_openpyxl(path: str) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    count = 0
    for _ in workbook["Users"].iter_rows(values_only=True):
        count += 1
    workbook.close()
    return count - 1  # the header


if __name__ == "__main__":
    shared = "--shared-strings" in sys.argv
    main(
        [a for a in sys.argv[1:] if a != "--shared-strings"],
        script=__file__,
        stages={"calamine": stage_calamine, "openpyxl": stage_openpyxl},
        write=lambda path, rows: generate(path, rows, shared_strings=shared),
        default_rows=100_000,
        suffix=".xlsx",
    )
