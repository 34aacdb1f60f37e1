"""Export throughput: N users (+ their domains, aliases, lists) -> JSON, LDIF, CSV, XLSX.

    .venv/bin/python bench/bench_export.py [--users 100000] [--repeat 3] [--keep DIR]

Prints objects/s per writer (median of --repeat runs) next to the perf-baselines targets, the
time of the bare library on prepared input in the same run ("floor"), and the peak RSS of the
process. Writes into a temporary directory unless --keep is given.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ldif
import orjson
import xlsxwriter

from migrate.exporters import EXPORTERS
from migrate.exporters.tabular_writer import SHEETS, table_rows
from migrate.model import Alias, Domain, MailingList, User
from migrate.snapshot import Snapshot, snapshot_dict

TARGETS = {"json": 1_000_000, "ldif": 50_000, "csv": 400_000, "xlsx": 30_000}


def make_snapshot(n_users: int) -> Snapshot:
    per_domain = 1000
    n_domains = max(1, n_users // per_domain)
    salt = b"12345678"
    digest = base64.b64encode(hashlib.sha512(b"Secret#2024x" + salt).digest() + salt).decode()
    objs: list = []
    for d in range(n_domains):
        name = f"dept{d:04d}.example.com"
        objs.append(
            Domain(
                domain=name,
                name=f"Department {d}",
                accountStatus="active",
                defaultQuota=1024,
                aliasDomains=(f"dept{d:04d}.example.net",),
                services=("domainalias", "mail"),
            )
        )
        objs.append(Alias(email=f"all@{name}", name="Everyone", members=tuple(f"u{i:06d}@{name}" for i in range(20))))
        objs.append(MailingList(email=f"staff@{name}", kind="maillist", name="Staff", members=(f"ext@partner{d}.org",)))
    for i in range(n_users):
        name = f"dept{i % n_domains:04d}.example.com"
        objs.append(
            User(
                email=f"u{i:06d}@{name}",
                name=f"User Number {i}" if i % 10 else f"Jörg Müller {i}",
                gn="User",
                sn=f"Number{i}",
                password_hash="{SSHA512}" + digest,
                quota=1024,
                accountStatus="active",
                language="en_US",
                employeeid=f"E-{i:06d}",
                forwarding=(f"u{i:06d}@{name}", f"private{i}@gmail.com") if i % 4 == 0 else None,
                aliases=(f"alias{i:06d}@{name}",) if i % 3 == 0 else None,
                lists=(f"staff@{name}",) if i % 5 == 0 else None,
            )
        )
    return Snapshot.from_objects(objs, source="bench", exported_at="2026-11-24T07:45:00Z")


def floors(snap: Snapshot, out: Path, fmt: str, ours: Path) -> Callable[[], None]:
    """Return the library doing only its own part of ``fmt``, on input prepared beforehand."""
    if fmt == "json":
        data = snapshot_dict(snap)
        return lambda: (out / "floor.json").write_bytes(
            orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
        )
    if fmt == "ldif":
        with open(ours, "rb") as fh:
            entries = [(dn, entry) for dn, entry in ldif.LDIFParser(fh).parse() if dn is not None]

        def run_ldif() -> None:
            with open(out / "floor.ldif", "wb") as fh:
                writer = ldif.LDIFWriter(fh)
                for dn, entry in entries:
                    writer.unparse(dn, entry)

        return run_ldif
    tables = {section: table_rows(section, snap.section(section), numbers=fmt == "xlsx") for section in SHEETS}
    if fmt == "csv":

        def run_csv() -> None:
            for section, (header, rows) in tables.items():
                with open(out / f"floor-{section}.csv", "w", newline="", encoding="utf-8") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(header)
                    writer.writerows(rows)

        return run_csv

    def run_xlsx() -> None:
        book = xlsxwriter.Workbook(str(out / "floor.xlsx"), {"constant_memory": True})
        for section, (header, rows) in tables.items():
            ws = book.add_worksheet(SHEETS[section])
            ws.write_row(0, 0, header)
            for r, row in enumerate(rows, start=1):
                ws.write_row(r, 0, row)
        book.close()

    return run_xlsx


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="json,ldif,csv,xlsx")
    parser.add_argument("--keep", type=Path, default=None, help="write the files here and keep them")
    args = parser.parse_args()

    t0 = time.perf_counter()
    snap = make_snapshot(args.users)
    n = sum(1 for _ in snap.objects())
    print(f"{n:,} objects ({len(snap.users):,} users) built in {time.perf_counter() - t0:.2f} s")
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        ours = {}
        for fmt in formats:
            path = out / f"bench.{fmt}"
            ours[fmt] = median_time(lambda fmt=fmt, path=path: EXPORTERS[fmt](path, snap), args.repeat)
        # Peak RSS of our writers alone; the floors below hold parsed LDIF entries in memory.
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        floor = {fmt: median_time(floors(snap, out, fmt, out / f"bench.{fmt}"), args.repeat) for fmt in formats}
    print(f"{'format':<6} {'ours s':>7} {'objects/s':>10} {'target/s':>10} {'vs target':>9}", end="")
    print(f" {'floor s':>8} {'ours/floor':>10}")
    for fmt in formats:
        rate = n / ours[fmt]
        print(
            f"{fmt:<6} {ours[fmt]:>7.2f} {rate:>10,.0f} {TARGETS[fmt]:>10,} {rate / TARGETS[fmt]:>9.2f}"
            f" {floor[fmt]:>8.2f} {ours[fmt] / floor[fmt]:>10.2f}"
        )
    print(f"peak RSS after our writers (snapshot included): {peak_mb:.0f} MB")
    print("floor = the library alone on prepared input: orjson.dumps of the dicts, ldif.LDIFWriter of the")
    print("entries parsed back from our file, csv.writer / xlsxwriter write_row of the prepared rows")


if __name__ == "__main__":
    main()
