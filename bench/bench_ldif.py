"""LDIF reading speed: the `ldif` parser alone vs `read_ldif` vs the whole `validate`, in one run.

Generates a slapcat-style dump of N iRedMail users (default 100,000; ~45 values per entry, like the
sample user: object classes, names, a base64 SSHA512 hash, quota, 22 services, an alias, forwarding,
a list membership, operational attributes), then times, interleaved and each in a fresh process:

* ``parser``: ``ldif.LDIFParser(file).parse()`` consumed (the floor);
* ``read_ldif``: :func:`migrate.readers.ldif_reader.read_ldif` consumed (parse + DIT mapping);
* ``validate``: the whole ``iredmigrate validate`` command (start-up, read, build the model,
  cross-checks), the second half of a big file parsed by a second process.

Prints medians of wall and CPU seconds, entries/s (entries in the file per wall second), the
ratios to the parser's wall and CPU time (target: validate >= 0.8; validate's CPU time counts its
second process) and each stage's peak RSS. The package is compiled to bytecode first::

    .venv/bin/python bench/bench_ldif.py [--entries N] [--repeat R] [--keep PATH] [--no-validate]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVICES = (
    "mail internal doveadm lib-storage indexer-worker dsync quota-status smtp smtpsecured smtptls pop3 "
    "pop3secured imap imapsecured managesieve sieve deliver lda lmtp forward shadowaddress senderbcc"
).split()
HASH = base64.b64encode(
    b"{SSHA512}FxgXDhBVYmTqoboW+ibyyzPv/wGG7y4VJtuHWrx+wfqrs/lIH2Qxn2eA0jygXtBhMvRi7GNFmL++6aAZ0kXpcy1fxag="
).decode()
BASE = "dc=example,dc=com"
DOMAIN_DN = f"domainName=example.com,o=domains,{BASE}"


def generate(path: Path, entries: int) -> int:
    """Write the dump; return the number of attribute values per user entry."""
    head = [
        "version: 1",
        "",
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n",
        f"dn: o=domains,{BASE}\nobjectClass: organization\no: domains\n",
        f"dn: {DOMAIN_DN}\nobjectClass: mailDomain\ndomainName: example.com\ncn: Example\n"
        "accountStatus: active\nmtaTransport: dovecot\nenabledService: mail\n"
        "accountSetting: defaultQuota:1024\n",
    ]
    for ou in ("Users", "Groups", "Aliases", "Externals"):
        head.append(f"dn: ou={ou},{DOMAIN_DN}\nobjectClass: organizationalUnit\nobjectClass: top\nou: {ou}\n")
    head.append(
        f"dn: mail=staff@example.com,ou=Groups,{DOMAIN_DN}\nobjectClass: mailList\nmail: staff@example.com\n"
        "cn: Staff\naccountStatus: active\nenabledService: mail\nenabledService: deliver\n"
    )
    services = "".join(f"enabledService: {s}\n" for s in SERVICES)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\n".join(head) + "\n")
        for i in range(entries):
            user = f"user{i:06d}"
            mail = f"{user}@example.com"
            out.write(
                f"dn: mail={mail},ou=Users,{DOMAIN_DN}\n"
                "objectClass: inetOrgPerson\nobjectClass: mailUser\nobjectClass: shadowAccount\n"
                "objectClass: amavisAccount\n"
                f"mail: {mail}\nuid: {user}\ncn: User {i}\nsn: {user}\ngivenName: User\n"
                f"userPassword:: {HASH}\nmailQuota: 1073741824\n"
                f"homeDirectory: /var/vmail/vmail1/example.com/u/s/e/{user}-2024.01.01.12.00.00\n"
                f"accountStatus: active\npreferredLanguage: en_US\nemployeeNumber: E-{i}\n"
                f"{services}"
                f"shadowAddress: {user}.alias@example.com\nmailForwardingAddress: {mail}\n"
                f"mailForwardingAddress: {user}@partner.example.org\nmemberOfGroup: staff@example.com\n"
                f"entryUUID: 3f1c2a9e-7b5d-4e8a-9c1f-{i:012d}\ncreateTimestamp: 20240101120000Z\n\n"
            )
    return 4 + 11 + len(SERVICES) + 4 + 2


def stage(name: str, path: str) -> dict[str, float]:
    """Run one stage in this process; return seconds, entries and peak RSS (MB)."""
    # Each stage imports what it needs before the clock starts: the stages are compared on
    # reading, not on interpreter start-up.
    if name == "parser":
        import ldif

        def run() -> int:
            with open(path, "rb") as raw:
                return sum(1 for dn, _ in ldif.LDIFParser(raw).parse() if dn is not None)

    elif name == "read_ldif":
        from migrate.readers.ldif_reader import read_ldif

        def run() -> int:
            return sum(1 for _ in read_ldif(path))

    else:
        return _validate_command(path)

    started, cpu = time.perf_counter(), time.process_time()
    count = run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "cpu": cpu, "entries": count, "rss_mb": rss_mb}


def _validate_command(path: str) -> dict[str, float]:
    """``iredmigrate validate`` as a whole process: wall time, and CPU time of it and its fork.

    For a big file validate parses the second half in a second process (migrate.readers.
    ldif_split): its CPU time is counted too, so the CPU ratio says what the speed costs.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "migrate", "validate", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit(f"validate failed on {path}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"seconds": seconds, "cpu": cpu, "entries": -1, "rss_mb": usage.ru_maxrss / 1024}


def compile_package() -> None:
    """Compile the package's bytecode first, as an installed package has it (pip compiles it at
    install), so no timed run also times compiling the modules it imports."""
    package = Path(__file__).resolve().parents[1] / "migrate"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True, stdout=subprocess.DEVNULL)


def run_stage(name: str, path: str) -> dict[str, float]:
    """Run one stage in a fresh interpreter, so peak RSS and heap state are its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--stage", name, "--path", path],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="write the generated LDIF here and keep it")
    parser.add_argument("--no-validate", action="store_true", help="skip the whole-validate stage")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.path)))
        return

    compile_package()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "bench.ldif"
        values = generate(path, args.entries)
        size_mb = path.stat().st_size / 1e6
        print(f"{args.entries:,} user entries, {values} values each, {size_mb:.0f} MB: {path}")
        stages = ["parser", "read_ldif"] + ([] if args.no_validate else ["validate"])
        runs: dict[str, list[dict[str, float]]] = {s: [] for s in stages}
        for _ in range(args.repeat):
            for name in stages:  # interleaved, so drift hits every stage alike
                runs[name].append(run_stage(name, str(path)))
        entries = runs["parser"][0]["entries"]  # entries in the file, whatever each stage yields
        # Ratios on wall time (what the admin waits) and on CPU time (what it costs; validate's
        # includes its second process and its own start-up).
        floor = statistics.median(r["seconds"] for r in runs["parser"])
        floor_cpu = statistics.median(r["cpu"] for r in runs["parser"])
        print(
            f"{'stage':<10} {'wall s':>7} {'entries/s':>10} {'x floor':>8} {'cpu s':>7} {'x floor':>8} {'peak RSS':>9}"
        )
        for name in stages:
            wall = statistics.median(r["seconds"] for r in runs[name])
            cpu = statistics.median(r["cpu"] for r in runs[name])
            rss = max(r["rss_mb"] for r in runs[name])
            print(
                f"{name:<10} {wall:>7.2f} {entries / wall:>10,.0f} {floor / wall:>8.2f} {cpu:>7.2f} "
                f"{floor_cpu / cpu:>8.2f} {rss:>7.0f} MB"
            )


if __name__ == "__main__":
    main()
