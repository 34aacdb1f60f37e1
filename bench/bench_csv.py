"""CSV reading speed: the stdlib ``csv.reader`` alone vs ``read_csv``, on the same generated file.

Generates N user rows (default 1,000,000) with the columns admins hand over (email, name, password,
quota, language, accountStatus, employeeid, aliases; some names with accents, some quoted values
with commas), then times each stage in a fresh process, interleaved, R times (median):

* ``csv``: ``csv.reader`` over the file opened as UTF-8 (the floor);
* ``read_csv``: :func:`migrate.readers.csv_reader.read_csv` consumed (detection, provenance, checks);
* ``cmd``: with ``--cmd "iredmigrate validate {path}"``, that command (wall time, process start
  included), so the whole ``validate`` is timed next to the floor in the same run.

Prints rows/s, the ratio to the floor and each stage's peak RSS (ru_maxrss of its process).
Usage::

    .venv/bin/python bench/bench_csv.py [--rows N] [--repeat R] [--cmd "..."] [--keep PATH]

``--keep PATH`` writes the generated file to PATH and exits (to time other tools on it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

FIRST = ["Anna", "Jürgen", "Zoë", "Li", "Mohammed", "Olga", "José", "Sarah", "Kenji", "Émilie", "Tom", "Ines"]
LAST = ["Müller", "Smith", "Nguyen", "García", "Kowalski", "O'Brien", "Rossi", "Dubois", "Tanaka", "Berg"]
LANGUAGES = ["en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write ``rows`` user rows (plus a header) to ``path`` as UTF-8 CSV."""
    import csv

    pick = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "name", "password", "quota", "language", "accountStatus", "employeeid", "aliases"])
        for i in range(rows):
            first, last = pick.choice(FIRST), pick.choice(LAST)
            domain = f"example{i % 40}.com"
            name = f"{last}, {first}" if i % 7 == 0 else f"{first} {last}"
            aliases = f"{first.lower()}.{i}@{domain},{last.lower()}.{i}@{domain}" if i % 5 == 0 else ""
            writer.writerow(
                [
                    f"user{i:07d}@{domain}",
                    name,
                    f"Pw-{pick.getrandbits(40):x}!Q",
                    str(pick.choice((512, 1024, 2048, 5120))),
                    pick.choice(LANGUAGES),
                    "active" if i % 20 else "disabled",
                    f"E{i:07d}",
                    aliases,
                ]
            )


def stage_csv(path: str) -> int:
    import csv

    count = 0
    with open(path, encoding="utf-8", newline="") as fh:
        for _ in csv.reader(fh):
            count += 1
    return count - 1  # the header


def stage_read_csv(path: str) -> int:
    from migrate.readers.csv_reader import read_csv

    count = 0
    for _ in read_csv(path):
        count += 1
    return count


STAGES: dict[str, Callable[[str], int]] = {"csv": stage_csv, "read_csv": stage_read_csv}


def child(stages: dict[str, Callable[[str], int]], name: str, path: str) -> None:
    """Run one stage in this (fresh) process and print its time, rows and peak RSS as JSON."""
    start, cpu_start = time.perf_counter(), time.process_time()
    rows = stages[name](path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "rss_mb": peak_kb / 1024}))


def run_stage(script: str, name: str, path: str) -> dict[str, float]:
    """Run a stage of ``script`` in a child process and return what it measured."""
    out = subprocess.run(
        [sys.executable, script, "--stage", name, "--path", path], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_cmd(command: str, path: str) -> dict[str, float]:
    """Run the ``--cmd`` hook on the file; wall time and the child's peak RSS."""
    argv = [part.replace("{path}", path) for part in shlex.split(command)]
    if not any("{path}" in part for part in shlex.split(command)):
        argv.append(path)
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return {"seconds": seconds, "cpu": cpu, "rows": -1, "rss_mb": usage.ru_maxrss / 1024, "exit": process.returncode}


def report(rows: int, floor: str, results: dict[str, list[dict[str, float]]]) -> None:
    """Print the medians of each stage: wall and CPU seconds, rows/s, ratio to the floor, peak RSS.

    Rates and ratios are given on wall time and on CPU time: on a shared machine the CPU time is
    the steadier of the two (other processes stretch the wall clock, not the CPU seconds).
    """
    base = statistics.median(r["seconds"] for r in results[floor])
    base_cpu = statistics.median(r["cpu"] for r in results[floor])
    print(
        f"{'stage':<10} {'wall s':>8} {'rows/s':>11} {'x floor':>8}   {'cpu s':>7} {'rows/s':>11} {'x floor':>8}"
        f" {'peak RSS MB':>12}"
    )
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        extra = f"   exit {int(runs[-1]['exit'])}" if "exit" in runs[-1] else ""
        print(
            f"{name:<10} {seconds:8.3f} {rows / seconds:11,.0f} {base / seconds:8.2f}   "
            f"{cpu:7.3f} {rows / cpu:11,.0f} {base_cpu / cpu:8.2f} {rss:12.1f}{extra}"
        )


def main(
    argv: list[str] | None = None,
    *,
    script: str = __file__,
    stages: dict[str, Callable[[str], int]] = STAGES,
    write: Callable[[Path, int], None] = generate,
    default_rows: int = 1_000_000,
    suffix: str = ".csv",
) -> None:
    """Parse the options, generate the file, run the stages interleaved and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=default_rows)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cmd", help='command to time on the file, e.g. "iredmigrate validate {path}"')
    parser.add_argument("--keep", type=Path, help="write the generated file here and exit")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.stage:
        child(stages, options.stage, options.path)
        return
    if options.keep:
        write(options.keep, options.rows)
        print(f"wrote {options.rows:,} rows to {options.keep}")
        return
    # The package's bytecode is compiled first, as an installed package has it (pip compiles it at
    # install): otherwise the timed command also times compiling every module it imports.
    package = Path(__file__).resolve().parents[1] / "migrate"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"bench{suffix}"
        started = time.perf_counter()
        write(path, options.rows)
        size = path.stat().st_size / 1024**2
        print(f"{options.rows:,} rows, {size:.1f} MB, generated in {time.perf_counter() - started:.1f} s")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in stages}
        if options.cmd:
            results["cmd"] = []
        for _ in range(options.repeat):
            for name in stages:
                result = run_stage(script, name, str(path))
                if result["rows"] != options.rows:
                    raise SystemExit(f"{name} read {result['rows']} rows, expected {options.rows}")
                results[name].append(result)
            if options.cmd:
                results["cmd"].append(run_cmd(options.cmd, str(path)))
        report(options.rows, next(iter(stages)), results)


if __name__ == "__main__":
    main()
