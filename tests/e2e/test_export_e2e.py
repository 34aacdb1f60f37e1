"""Export, restore and diff through the real CLI over HTTP (issue 5's must-shows)."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_helpers import ADMIN, ADMIN_PASSWORD, SAMPLES, run_cli
from python_calamine import CalamineWorkbook

from migrate.sandbox import Sandbox, SandboxConfig

SAMPLE_FILES = [
    str(SAMPLES / "onboarding.xlsx"),
    *sorted(str(p) for p in SAMPLES.glob("*.csv")),
    str(SAMPLES / "iredmail-ldap.ldif"),
]


def serve(db: Path, port: int = 0) -> Sandbox:
    # The server exposes stored hashes (API_HIDDEN_USER_PROFILES = []), as a backup source must.
    config = SandboxConfig(
        db_path=str(db), admin_email=ADMIN, admin_password=ADMIN_PASSWORD, port=port, expose_password_hashes=True
    )
    sandbox = Sandbox(config)
    sandbox.start()
    return sandbox


def cli_ok(*args: str, cwd: Path) -> str:
    result = run_cli(*args, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def without_stamp(path: Path) -> bytes:
    return b"\n".join(line for line in path.read_bytes().split(b"\n") if not line.startswith(b'  "exported_at"'))


def round_trip(tmp_path: Path, fmt: str, output: str) -> tuple[Path, Path, Path, Path]:
    """Import the samples into A, export FMT, import that into an empty B on A's port, export B."""
    first = serve(tmp_path / "a.db")
    try:
        port = int(first.base_url.split(":")[2].split("/")[0])
        url = ["--url", first.base_url, "--admin", ADMIN]
        cli_ok("import", *SAMPLE_FILES, *url, "--generate-passwords", "--credentials", "c1.csv", "-q", cwd=tmp_path)
        cli_ok("export", *url, "--format", fmt, "-o", f"a-{output}", "-q", cwd=tmp_path)
        cli_ok("export", *url, "--format", "json", "-o", "a.json", "-q", cwd=tmp_path)
    finally:
        first.stop()
    second = serve(tmp_path / "b.db", port)
    try:
        url = ["--url", second.base_url, "--admin", ADMIN]
        restored = sorted(str(p) for p in tmp_path.glob(f"a-{output.replace('.csv', '')}*"))
        restored = [p for p in restored if not p.endswith(".sha256")]
        cli_ok("import", *restored, *url, "--generate-passwords", "--credentials", "c2.csv", "-q", cwd=tmp_path)
        cli_ok("export", *url, "--format", fmt, "-o", f"b-{output}", "-q", cwd=tmp_path)
        cli_ok("export", *url, "--format", "json", "-o", "b.json", "-q", cwd=tmp_path)
    finally:
        second.stop()
    return tmp_path / f"a-{output}", tmp_path / f"b-{output}", tmp_path / "a.json", tmp_path / "b.json"


def test_json_snapshot_restores_byte_identical_and_diff_is_empty(tmp_path: Path) -> None:
    a, b, _, _ = round_trip(tmp_path, "json", "snap.json")
    assert without_stamp(a) == without_stamp(b)
    assert json.loads(a.read_text())["exported_at"] != ""
    digest, name = (tmp_path / "a-snap.json.sha256").read_text().split()
    assert name == "a-snap.json" and len(digest) == 64
    diff = run_cli("diff", str(a), str(b), cwd=tmp_path)
    assert diff.returncode == 0, diff.stdout + diff.stderr

    # A changed copy: diff names exactly the changes, field by field.
    snapshot = json.loads(a.read_text())
    user = next(u for u in snapshot["users"] if u["email"] == "anna.berg@acme.example")
    user["quota"] = 4096
    snapshot["aliases"] = [x for x in snapshot["aliases"] if x["email"] != "billing@acme.example"]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(snapshot))
    diff = run_cli("diff", str(a), str(changed), "--json", cwd=tmp_path)
    assert diff.returncode == 3
    report = json.loads(diff.stdout)
    assert report["added"] == []
    assert report["removed"] == [{"kind": "alias", "key": "billing@acme.example"}]
    assert report["changed"] == [
        {"kind": "user", "key": "anna.berg@acme.example", "fields": {"quota": {"a": 2048, "b": 4096}}}
    ]


def test_ldif_export_restores_to_the_same_ldif(tmp_path: Path) -> None:
    a, b, _, _ = round_trip(tmp_path, "ldif", "dump.ldif")

    def entries(path: Path) -> list[str]:
        # Comments carry the export time and what LDAP cannot hold (mlmmj keeps subscribers on
        # disk, so a restored list has none to mention); every entry line must be identical.
        return [line for line in path.read_text().splitlines() if not line.startswith("#")]

    assert entries(a) == entries(b)
    assert "objectClass: mailUser" in entries(a)
    assert "subscriber(s) not written: mlmmj keeps them on disk" in a.read_text()


def test_xlsx_export_restores_to_the_same_workbook(tmp_path: Path) -> None:
    a, b, a_json, b_json = round_trip(tmp_path, "xlsx", "book.xlsx")
    first, second = CalamineWorkbook.from_path(str(a)), CalamineWorkbook.from_path(str(b))
    assert first.sheet_names == second.sheet_names
    for name in first.sheet_names:
        assert first.get_sheet_by_name(name).to_python() == second.get_sheet_by_name(name).to_python(), name
    assert run_cli("diff", str(a_json), str(b_json), cwd=tmp_path).returncode == 0
