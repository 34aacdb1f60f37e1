"""An LDAP -> SQL migration of a generated iRedMail install, with injected latency (issue 6).

Generates a slapcat-style LDIF in iRedMail's DIT (``--accounts`` users over ``--domains`` domains;
every user has a per-user alias, every fifth a forwarding (every other one of those keeping a local
copy), every user is in its domain's classic list, plus one alias account per domain), loads it into
an LDAP-edition sandbox running in its own process, then injects ``--latency-ms`` on the source AND
the target through ``PUT /_sandbox/faults`` and times the migration with the real CLI:
``export`` from LDAP, then ``import`` into an empty SQL-edition sandbox, both at ``--concurrency``.

Prints wall time, API calls (each sandbox's ``/_sandbox/counters`` ``total``, logins included) and
achieved requests/s against the ideal ``concurrency / latency``::

    .venv/bin/python bench/bench_migration.py                    # 1,000 accounts, 20 ms, c=32
    .venv/bin/python bench/bench_migration.py --accounts 200 --concurrency 8 32
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ADMIN = "postmaster@bench.test"
PASSWORD = "Bench#Admin-Pass1"
BASE = "dc=example,dc=com"
HASH = base64.b64encode(
    b"{SSHA512}FxgXDhBVYmTqoboW+ibyyzPv/wGG7y4VJtuHWrx+wfqrs/lIH2Qxn2eA0jygXtBhMvRi7GNFmL++6aAZ0kXpcy1fxag="
).decode()
SERVICES = (
    "mail internal doveadm lib-storage indexer-worker dsync quota-status smtp smtpsecured pop3 pop3secured "
    "imap imapsecured managesieve managesievesecured sieve sievesecured deliver lda lmtp forward shadowaddress"
).split()

__all__ = ["Server", "generate_ldif", "main"]


def _domain_entries(domain: str, first_user: int) -> list[str]:
    dn = f"domainName={domain},o=domains,{BASE}"
    out = [
        f"dn: {dn}\nobjectClass: mailDomain\ndomainName: {domain}\ncn: {domain}\nmtaTransport: dovecot\n"
        "accountStatus: active\nenabledService: mail\naccountSetting: defaultQuota:1024\n"
        f"entryUUID: 00000000-0000-0000-0000-{abs(hash(domain)) % 10**12:012d}\n"
    ]
    out += [f"dn: ou={ou},{dn}\nobjectClass: organizationalUnit\nobjectClass: top\nou: {ou}\n" for ou in
            ("Users", "Groups", "Aliases", "Externals")]  # fmt: skip
    local = domain.split(".")[0]
    out.append(
        f"dn: mail=all-{local}@{domain},ou=Groups,{dn}\nobjectClass: mailList\nmail: all-{local}@{domain}\n"
        "cn: Everyone\naccountStatus: active\naccessPolicy: domain\nenabledService: mail\nenabledService: deliver\n"
    )
    out.append(
        f"dn: mail=info@{domain},ou=Aliases,{dn}\nobjectClass: mailAlias\nmail: info@{domain}\ncn: Info\n"
        f"accountStatus: active\nenabledService: mail\nenabledService: deliver\n"
        f"mailForwardingAddress: u{first_user:05d}@{domain}\nmailForwardingAddress: desk@outside.example\n"
    )
    return out


def _user_entry(i: int, domain: str) -> str:
    mail = f"u{i:05d}@{domain}"
    dn = f"mail={mail},ou=Users,domainName={domain},o=domains,{BASE}"
    lines = [
        f"dn: {dn}", "objectClass: inetOrgPerson", "objectClass: mailUser", "objectClass: shadowAccount",
        "objectClass: amavisAccount", f"mail: {mail}", f"uid: u{i:05d}", f"cn: User {i}", f"sn: {i}",
        f"userPassword:: {HASH}", "mailQuota: 1073741824", "accountStatus: active", "preferredLanguage: en_US",
        f"employeeNumber: E{i}", "amavisLocal: TRUE",
        *(f"enabledService: {s}" for s in SERVICES),
        f"shadowAddress: alias{i:05d}@{domain}", f"memberOfGroup: all-{domain.split('.')[0]}@{domain}",
        "structuralObjectClass: inetOrgPerson", "createTimestamp: 20240101080000Z",
    ]  # fmt: skip
    if i % 5 == 0:
        if i % 10 == 0:
            lines.append(f"mailForwardingAddress: {mail}")  # keeps a local copy
        lines.append(f"mailForwardingAddress: u{i:05d}@outside.example")
    return "\n".join(lines) + "\n"


def generate_ldif(path: Path, accounts: int, domains: int) -> None:
    """Write the install's slapcat-style dump."""
    names = [f"d{i:02d}.migrate.example" for i in range(domains)]
    entries = [f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n"]
    entries += [f"dn: o=domains,{BASE}\nobjectClass: organization\no: domains\n"]
    for k, name in enumerate(names):
        entries += _domain_entries(name, k)  # user k is the first one of domain k
    entries += [_user_entry(i, names[i % domains]) for i in range(accounts)]
    path.write_text("version: 1\n\n" + "\n".join(entries), encoding="utf-8")


class Server:
    """``iredmigrate sandbox serve`` in a child process, so it does not share our GIL."""

    def __init__(self, folder: Path, edition: str) -> None:
        env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "migrate", "sandbox", "serve", "--port", "0", "--db",
             str(folder / f"{edition}.db"), "--admin", ADMIN, "--edition", edition, "--expose-password-hashes"],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().split()[2]
        self.control = self.base_url.split("/iredadmin/")[0] + "/_sandbox"

    def latency(self, ms: float) -> None:
        httpx.put(self.control + "/faults", json={"latency_ms": ms}, timeout=10).raise_for_status()

    def reset(self) -> None:
        httpx.delete(self.control + "/counters", timeout=10).raise_for_status()

    def requests(self) -> int:
        return int(httpx.get(self.control + "/counters", timeout=10).json()["total"])

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def cli(*args: str, cwd: Path) -> float:
    """Run the CLI; return its wall time. Exit on failure (with its output)."""
    env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "migrate", *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"iredmigrate {args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed


def run_once(folder: Path, ldif: Path, concurrency: int, latency_ms: float) -> dict[str, float]:
    """Load the LDIF into a fresh LDAP sandbox, then time export + import into a fresh SQL one."""
    source, target = Server(folder, "ldap"), Server(folder, "sql")
    try:
        cli("import", str(ldif), "--url", source.base_url, "--admin", ADMIN, "-c", "32", "-q", cwd=folder)
        for server in (source, target):
            server.latency(latency_ms)
            server.reset()
        common = ["--url", source.base_url, "--admin", ADMIN, "-c", str(concurrency), "-q"]
        export_s = cli("export", *common, "-o", "snapshot.json", cwd=folder)
        export_calls = source.requests()
        common = ["--url", target.base_url, "--admin", ADMIN, "-c", str(concurrency), "-q"]
        import_s = cli("import", "snapshot.json", *common, "--log", "run", cwd=folder)
        import_calls = target.requests()
    finally:
        source.close()
        target.close()
    failed = sum('"status":"failed"' in line.replace(" ", "") for line in (folder / "run.jsonl").open())
    return {"export_s": export_s, "export_calls": export_calls, "import_s": import_s,
            "import_calls": import_calls, "failed": failed}  # fmt: skip


def main() -> None:
    """Generate, migrate, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--domains", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32])
    args = parser.parse_args()
    ideal = 1000.0 / args.latency_ms
    print(f"LDAP -> SQL migration: {args.accounts} users over {args.domains} domains (+ {args.domains} classic "
          f"lists, {args.domains} aliases), {args.latency_ms:g} ms latency on both sandboxes")  # fmt: skip
    header = f"{'c':>3} {'step':<8} {'wall s':>8} {'calls':>7} {'req/s':>8} {'ideal':>8} {'of ideal':>9}"
    print(header)
    with tempfile.TemporaryDirectory(prefix="bench-migration-") as tmp:
        ldif = Path(tmp) / "install.ldif"
        generate_ldif(ldif, args.accounts, args.domains)
        for concurrency in args.concurrency:
            folder = Path(tmp) / f"c{concurrency}"
            folder.mkdir()
            r = run_once(folder, ldif, concurrency, args.latency_ms)
            rows = [("export", r["export_s"], r["export_calls"]), ("import", r["import_s"], r["import_calls"])]
            rows.append(("total", r["export_s"] + r["import_s"], r["export_calls"] + r["import_calls"]))
            for step, wall, calls in rows:
                rate = calls / wall
                top = concurrency * ideal
                print(
                    f"{concurrency:>3} {step:<8} {wall:>8.2f} {calls:>7.0f} {rate:>8.0f} {top:>8.0f} {rate / top:>8.0%}"
                )
            if r["failed"]:
                print(f"    {r['failed']:.0f} row(s) failed: see the import's result log")


if __name__ == "__main__":
    main()
