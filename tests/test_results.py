import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from migrate.errors import FatalError
from migrate.records import Provenance, Record
from migrate.results import (
    COLUMNS,
    STATUSES,
    Redactor,
    RejectsWriter,
    ResultLog,
    ResultRecord,
    log_paths,
    render_summary,
)

PASSWORD = "Tr0ub4dor&3xyz"
HASH = "{SSHA512}q0bAl9f1QmZ0y2Lr9mXwX2c3ZkVNb3JlU2VjcmV0U2FsdA=="
BCRYPT = "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
COOKIE = "0123456789abcdef0123456789abcdef01234567"


def rec(status: str = "created", **over: Any) -> ResultRecord:
    base: dict[str, Any] = {
        "source": "users.csv",
        "sheet": None,
        "line": 2,
        "kind": "user",
        "key": "a@x.com",
        "action": "create",
        "status": status,
    }
    base.update(over)
    return ResultRecord(**base)


def csv_record(line: int, raw: dict[str, str], *, source: str = "users.csv", **fields: Any) -> Record:
    columns = {name: name for name in fields if name in raw}
    return Record(Provenance(source, None, line, "csv"), "user", dict(fields), columns, [], raw)


def read_csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def read_sheets(path: Path) -> dict[str, list[list[Any]]]:
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}
    finally:
        workbook.close()


# --- result records and paths -------------------------------------------------------------------


def test_columns_and_statuses_are_the_design_contract() -> None:
    assert COLUMNS == (
        "source", "sheet", "line", "kind", "key", "action", "status", "code", "message", "attempts", "ms",
    )  # fmt: skip
    assert STATUSES == ("created", "updated", "unchanged", "failed", "invalid", "skipped")
    assert list(rec().as_row()) == list(COLUMNS)  # `column` is for rejects, never logged


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown result status 'done'"):
        rec("done")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("run.jsonl", ["run.jsonl"]),
        ("run.csv", ["run.csv"]),
        ("RUN.CSV", ["RUN.CSV"]),
        ("run", ["run.jsonl", "run.csv"]),
        ("run.log", ["run.log.jsonl", "run.log.csv"]),
    ],
    ids=["jsonl", "csv", "csv-upper", "no-suffix", "other-suffix"],
)
def test_log_paths(tmp_path: Path, name: str, expected: list[str]) -> None:
    assert [p.name for p in log_paths(tmp_path / name)] == expected


# --- the result log -----------------------------------------------------------------------------


def test_both_files_line_up_with_columns(tmp_path: Path) -> None:
    with ResultLog(tmp_path / "sub" / "dir" / "run") as log:  # parent directories are created
        log.add(rec(attempts=1, ms=12))
        log.add(rec("failed", sheet="Users", line=None, code="INVALID_MAIL", message='bad, "quoted"\nline'))
    lines = (tmp_path / "sub/dir/run.jsonl").read_text(encoding="utf-8").splitlines()
    objects = [json.loads(line) for line in lines]
    assert [list(o) for o in objects] == [list(COLUMNS)] * 2
    assert objects[0] == {
        "source": "users.csv", "sheet": None, "line": 2, "kind": "user", "key": "a@x.com",
        "action": "create", "status": "created", "code": "", "message": "", "attempts": 1, "ms": 12,
    }  # fmt: skip
    assert objects[1]["line"] is None and objects[1]["message"] == 'bad, "quoted"\nline'
    raw = (tmp_path / "sub/dir/run.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert rows[0] == list(COLUMNS)
    assert rows[1] == ["users.csv", "", "2", "user", "a@x.com", "create", "created", "", "", "1", "12"]
    assert rows[2][1:3] == ["Users", ""] and rows[2][8] == 'bad, "quoted"\nline'


@pytest.mark.parametrize(
    ("name", "present", "absent"),
    [("run.jsonl", "run.jsonl", "run.csv"), ("run.csv", "run.csv", "run.jsonl")],
    ids=["jsonl-only", "csv-only"],
)
def test_single_file_modes(tmp_path: Path, name: str, present: str, absent: str) -> None:
    with ResultLog(tmp_path / name) as log:
        log.add(rec())
    assert sorted(p.name for p in tmp_path.iterdir()) == [present]
    assert "a@x.com" in (tmp_path / present).read_text(encoding="utf-8")
    assert not (tmp_path / absent).exists()


def test_every_record_is_readable_while_the_log_is_open(tmp_path: Path) -> None:
    with ResultLog(tmp_path / "run") as log:
        for n in range(3):
            log.add(rec(key=f"u{n}@x.com", line=n + 2))
            jsonl = (tmp_path / "run.jsonl").read_text(encoding="utf-8").splitlines()
            rows = read_csv_rows(tmp_path / "run.csv")
            assert [json.loads(x)["key"] for x in jsonl] == [f"u{i}@x.com" for i in range(n + 1)]
            assert [r[4] for r in rows[1:]] == [f"u{i}@x.com" for i in range(n + 1)]


def test_kill_9_leaves_every_completed_record(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal
        from migrate.results import ResultLog, ResultRecord
        log = ResultLog({str(tmp_path / "run")!r})
        for n in range(25):
            log.add(ResultRecord("u.csv", None, n + 2, "user", f"u{{n}}@x.com", "create", "created"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent, check=False)
    assert done.returncode == -9
    assert len((tmp_path / "run.jsonl").read_text(encoding="utf-8").splitlines()) == 25
    assert len(read_csv_rows(tmp_path / "run.csv")) == 26


def test_no_path_only_counts(tmp_path: Path) -> None:
    log = ResultLog(None)
    log.add(rec())
    log.add(rec("invalid", kind="alias"))
    log.add(rec())
    log.close()
    assert log.paths == ()
    assert list(tmp_path.iterdir()) == []
    assert log.counts["user"]["created"] == 2 and log.counts["alias"]["invalid"] == 1
    assert log.total == 3


def test_add_after_close_is_an_error_and_close_is_idempotent(tmp_path: Path) -> None:
    log = ResultLog(tmp_path / "run.csv")
    log.close()
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.add(rec())


def test_unwritable_log_path_is_a_fatal_error(tmp_path: Path) -> None:
    (tmp_path / "taken.csv").mkdir()
    with pytest.raises(FatalError) as info:
        ResultLog(tmp_path / "taken.csv")
    assert info.value.code == "OUTPUT_NOT_WRITABLE" and info.value.source == str(tmp_path / "taken.csv")


def test_csv_log_neutralizes_formula_text_but_jsonl_keeps_it(tmp_path: Path) -> None:
    with ResultLog(tmp_path / "run") as log:
        log.add(rec("invalid", message="-1 is not a size", code="=HYPERLINK"))
    row = read_csv_rows(tmp_path / "run.csv")[1]
    assert row[7:9] == ["'=HYPERLINK", "'-1 is not a size"]
    obj = json.loads((tmp_path / "run.jsonl").read_text(encoding="utf-8"))
    assert obj["message"] == "-1 is not a size" and obj["code"] == "=HYPERLINK"


def test_log_redacts_every_secret_it_knows_or_recognizes(tmp_path: Path) -> None:
    generated = "Gen#Pass99word"
    with ResultLog(tmp_path / "run", secrets=[PASSWORD, None, "abc"]) as log:
        log.add(rec("failed", message=f"server echoed password {PASSWORD} back"))
        log.add_secret(generated)
        log.add(rec("failed", key="b@x.com", message=f"sent {generated}"))
        log.add(rec("failed", key="c@x.com", message=f"hash {HASH} and {BCRYPT} were refused"))
        log.add(rec("failed", key="d@x.com", message=f"Cookie: iRedAdmin-Pro-MYSQL={COOKIE}; path=/"))
        log.add(rec("failed", key="e@x.com", code="X", message="body: username=a%40x.com&password=Unknown%21Pw1&x=1"))
        log.add(rec("failed", key="abc@x.com", message="abc is too short to be taken as a secret"))
    for name in ("run.jsonl", "run.csv"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        for secret in (PASSWORD, generated, HASH, BCRYPT, COOKIE, "Unknown%21Pw1", "q0bAl9f1", "N9qo8uLO"):
            assert secret not in text, (name, secret)
        assert "{SSHA512}***" in text and "iRedAdmin-Pro-MYSQL=***" in text and "password=***&x=1" in text
        assert "abc@x.com" in text and "abc is too short" in text  # keys and short values are untouched


# --- the redactor -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"pw {PASSWORD}!", "pw ***!"),
        ("pw%3D" + "Tr0ub4dor%263xyz", "pw%3D***"),
        (json.dumps({"msg": 'say Qu0te"d'}), '{"msg": "say ***"}'),
        ("long Secret1234 short Secret123x", "long *** short ***x"),
        ("{CRYPT}$6$rounds=5000$salt$abcdefgh", "{CRYPT}***"),
        ("stored $6$saltsalt$abcdefghijkl.", "stored ***"),
        ("md5 $1$abcd$efghijkl end", "md5 *** end"),
        ("argon $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA end", "argon *** end"),
        ('{"password": "p\\"w", "name": "x"}', '{"password": "***", "name": "x"}'),
        ("a=1&password_hash=%7BSSHA%7Dabc&b=2", "a=1&password_hash=***&b=2"),
        ("dn: a\nuserPassword:: e1NTSEF9YWJj\nmail: a@x.com", "dn: a\nuserPassword:: ***\nmail: a@x.com"),
        (f"Set-Cookie: iRedAdmin-Pro-LDAP={COOKIE}; HttpOnly", "Set-Cookie: iRedAdmin-Pro-LDAP=***; HttpOnly"),
        ("quota costs $5 or $10 {name} = fine", "quota costs $5 or $10 {name} = fine"),
        ("", ""),
    ],
    ids=[
        "known", "url-encoded", "json-escaped", "longest-first", "scheme-hash", "sha512-crypt", "md5-crypt",
        "argon2", "json-member", "form-field", "ldif", "cookie", "ordinary-text", "empty",
    ],
)  # fmt: skip
def test_redactor(text: str, expected: str) -> None:
    redact = Redactor([PASSWORD, 'Qu0te"d', "Secret123", "Secret1234"])
    assert redact(text) == expected


def test_redactor_learns_secrets_later_and_ignores_short_ones() -> None:
    redact = Redactor()
    assert redact("x Later#Secret9 y") == "x Later#Secret9 y"
    redact.add("Later#Secret9")
    redact.add("ab")
    redact.add("   ")
    redact.add(None)
    assert redact("x Later#Secret9 y ab") == "x *** y ab"


def test_redactor_with_thousands_of_secrets() -> None:
    secrets = [f"Pw#{n:05d}xyz" for n in range(5000)]
    redact = Redactor(secrets)
    text = " / ".join(secrets[::997]) + " user@x.com Pw#99999xyz"
    assert redact(text) == " / ".join(["***"] * 6) + " user@x.com Pw#99999xyz"


def test_redactor_indexes_secrets_only_when_a_text_needs_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from migrate import results_redact

    calls: list[str] = []
    real = results_redact._spellings
    monkeypatch.setattr(results_redact, "_spellings", lambda value: calls.append(value) or real(value))
    redact = Redactor([f"Pw#{n:03d}xyz" for n in range(100)])
    redact.add("Added#Later1")
    assert calls == []  # handing secrets over costs nothing
    assert redact("") == ""
    assert calls == []  # nor does an empty message (the records of rows that went well)
    assert redact("x Pw#042xyz Added#Later1 y") == "x *** *** y"
    assert len(calls) == 101
    redact.add("One#More-Secret")
    assert redact("One#More-Secret Pw#007xyz") == "*** ***"
    assert len(calls) == 102  # each secret is indexed once


def test_redactor_never_scans_a_half_built_index() -> None:
    import threading

    from migrate import results_redact

    entered, release = threading.Event(), threading.Event()
    real = results_redact._spellings

    def slow(value: str) -> set[str]:
        if value == "Last#Secret99":
            entered.set()
            release.wait(5)
        return real(value)

    redact = Redactor(["First#Secret1", "Last#Secret99"])
    results: list[str] = []
    original = results_redact._spellings
    results_redact._spellings = slow
    try:
        builder = threading.Thread(target=lambda: results.append(redact("a First#Secret1")))
        builder.start()
        assert entered.wait(5)  # the builder is halfway through the pending secrets
        reader = threading.Thread(target=lambda: results.append(redact("b Last#Secret99")))
        reader.start()
        reader.join(0.2)
        assert reader.is_alive()  # it waits for the index instead of scanning half of it
        release.set()
        builder.join(5)
        reader.join(5)
    finally:
        results_redact._spellings = original
        release.set()
    assert sorted(results) == ["a ***", "b ***"]


# --- rejects ------------------------------------------------------------------------------------


def test_csv_rejects_keep_header_order_and_bom_and_mask_passwords(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    raw = {"name": "Ann", "email": "ann@x", "password": PASSWORD, "quota": "=1+2", "copy": f" {PASSWORD} "}
    with RejectsWriter(path) as rejects:
        rejects.add(
            csv_record(3, raw, email="ann@x", password=PASSWORD),
            code="INVALID_MAIL",
            message=f"ann@x is not an address (password {PASSWORD})",
            column="email",
        )
        assert read_csv_rows(path)[1][1] == "ann@x"  # flushed before close
        assert rejects.count == 1
    assert path.read_bytes().startswith(b"\xef\xbb\xbfname,email,password,quota,copy,error_code,")
    rows = read_csv_rows(path)
    assert rows[0] == ["name", "email", "password", "quota", "copy", "error_code", "error_message", "error_column"]
    assert rows[1] == [
        "Ann",
        "ann@x",
        "",
        "'=1+2",
        "",
        "INVALID_MAIL",
        "ann@x is not an address (password ***)",
        "email",
    ]
    assert PASSWORD not in path.read_text(encoding="utf-8-sig")


def test_csv_rejects_can_keep_plain_passwords(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    raw = {"email": "ann@x", "password": PASSWORD}
    with RejectsWriter(path, keep_passwords=True) as rejects:
        rejects.add(csv_record(2, raw, email="ann@x", password=PASSWORD), code="X", message=PASSWORD, column=None)
    assert read_csv_rows(path)[1] == ["ann@x", PASSWORD, "X", "***", ""]


def test_rejects_share_the_logs_redactor(tmp_path: Path) -> None:
    with ResultLog(None) as log, RejectsWriter(tmp_path / "r.jsonl", redactor=log.redactor) as rejects:
        log.add_secret("Learned#Later1")
        rejects.add(csv_record(2, {"email": "a@x"}), code="E", message="got Learned#Later1", column=None)
    assert json.loads((tmp_path / "r.jsonl").read_text(encoding="utf-8"))["error_message"] == "got ***"


def test_unwritable_rejects_path_is_a_fatal_error(tmp_path: Path) -> None:
    (tmp_path / "taken.csv").mkdir()
    with pytest.raises(FatalError) as info:
        RejectsWriter(tmp_path / "taken.csv")
    assert info.value.code == "OUTPUT_NOT_WRITABLE"


def test_csv_rejects_of_a_headerless_input_stay_headerless(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    with RejectsWriter(path) as rejects:
        rejects.add(csv_record(1, {"1": "a@x", "2": "Ann", "3": "100"}), code="E1", message="m1", column="1")
        rejects.add(csv_record(4, {"1": "b@x", "2": "Bob"}), code="E2", message="m2", column=None)
    assert read_csv_rows(path) == [["a@x", "Ann", "100", "E1", "m1", "1"], ["b@x", "Bob", "", "E2", "m2", ""]]


def test_csv_rejects_widen_the_header_once_a_new_column_appears(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    with RejectsWriter(path) as rejects:
        rejects.add(csv_record(2, {"email": "a@x", "name": "A"}), code="E1", message="m1", column="email")
        rejects.add(
            csv_record(2, {"mail": "b@x", "name": "B"}, source="other.csv"), code="E2", message="m2", column="mail"
        )
        rejects.add(csv_record(3, {"email": "c@x"}), code="E3", message="m3", column=None)
    assert path.read_bytes().count(b"\xef\xbb\xbf") == 1
    assert read_csv_rows(path) == [
        ["email", "name", "mail", "error_code", "error_message", "error_column"],
        ["a@x", "A", "", "E1", "m1", "email"],
        ["", "B", "b@x", "E2", "m2", "mail"],
        ["c@x", "", "", "E3", "m3", ""],
    ]


def test_rejects_of_a_rejects_file_replace_the_old_error_columns(tmp_path: Path) -> None:
    path = tmp_path / "again.csv"
    raw = {"email": "a@x", "error_code": "OLD", "error_message": "old", "error_column": "email"}
    with RejectsWriter(path) as rejects:
        rejects.add(csv_record(2, raw), code="NEW", message="new", column=None)
    assert read_csv_rows(path) == [["email", "error_code", "error_message", "error_column"], ["a@x", "NEW", "new", ""]]


def test_xlsx_rejects_one_sheet_per_input_sheet(tmp_path: Path) -> None:
    path = tmp_path / "rejects.xlsx"

    def xlsx_record(sheet: str, line: int, kind: str, raw: dict[str, str], **fields: Any) -> Record:
        columns = {name: name for name in fields if name in raw}
        return Record(Provenance("in.xlsx", sheet, line, "xlsx"), kind, fields, columns, [], raw)

    with RejectsWriter(path) as rejects:
        rejects.add(
            xlsx_record("Users", 2, "user", {"email": "a@x", "password": PASSWORD}, password=PASSWORD),
            code="INVALID_MAIL", message="bad a", column="email",
        )  # fmt: skip
        rejects.add(
            xlsx_record("Aliases", 5, "alias", {"address": "l@x", "members": "=x"}),
            code="E",
            message="bad l",
            column=None,
        )
        rejects.add(
            xlsx_record("users", 7, "user", {"email": "b@x", "name": "B"}), code="E", message="bad b", column="name"
        )
        rejects.add(csv_record(9, {"email": "c@x"}), code="E", message="from csv", column=None)
        assert not path.read_bytes()  # the workbook is written on close
    sheets = read_sheets(path)
    assert list(sheets) == ["Users", "Aliases"]
    assert sheets["Users"] == [
        ["email", "password", "name", "error_code", "error_message", "error_column"],
        ["a@x", "", "", "INVALID_MAIL", "bad a", "email"],
        ["b@x", "", "B", "E", "bad b", "name"],
        ["c@x", "", "", "E", "from csv", ""],
    ]
    assert sheets["Aliases"][1] == ["l@x", "'=x", "E", "bad l", ""]
    assert sheets["Aliases"][0][-3:] == ["error_code", "error_message", "error_column"]


def test_jsonl_rejects_from_ldif_drop_secret_fields(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    prov = Provenance("dump.ldif", None, 40, "ldif")
    fields = {"email": "a@x", "password_hash": HASH, "aliases": ["b@x"], "quota": 1024}
    with RejectsWriter(path) as rejects:
        rejects.add(Record(prov, "user", fields, {}, [], None), code="E", message=f"hash {HASH}", column="quota")
        assert len(path.read_text(encoding="utf-8").splitlines()) == 1  # flushed
    objects = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert objects == [
        {
            "source": "dump.ldif", "sheet": None, "line": 40, "kind": "user",
            "fields": {"email": "a@x", "aliases": ["b@x"], "quota": 1024},
            "error_code": "E", "error_message": "hash ***", "error_column": "quota",
        }
    ]  # fmt: skip


def test_mixed_inputs_follow_the_rejects_suffix(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    ldif = Record(
        Provenance("d.ldif", None, 7, "ldif"), "user", {"email": "l@x", "enabled": True, "aliases": ["a@x", "b@x"]}
    )
    with RejectsWriter(path) as rejects:
        rejects.add(csv_record(2, {"email": "c@x", "name": "C"}), code="E1", message="m1", column=None)
        rejects.add(ldif, code="E2", message="m2", column="email")
    assert read_csv_rows(path) == [
        ["email", "name", "enabled", "aliases", "error_code", "error_message", "error_column"],
        ["c@x", "C", "", "", "E1", "m1", ""],
        ["l@x", "", "yes", "a@x, b@x", "E2", "m2", "email"],
    ]


@pytest.mark.parametrize(
    ("fmt", "check"),
    [("csv", "csv"), ("xlsx", "xlsx"), ("ldif", "jsonl"), ("json", "jsonl")],
    ids=["csv", "xlsx", "ldif", "json"],
)
def test_unknown_suffix_follows_the_first_input(tmp_path: Path, fmt: str, check: str) -> None:
    path = tmp_path / "rejects.out"
    record = Record(
        Provenance(f"in.{fmt}", "Users" if fmt == "xlsx" else None, 2, fmt),
        "user",
        {"email": "a@x"},
        {},
        [],
        {"email": "a@x"},
    )
    with RejectsWriter(path) as rejects:
        rejects.add(record, code="E", message="m", column=None)
    if check == "csv":
        assert read_csv_rows(path) == [["email", "error_code", "error_message", "error_column"], ["a@x", "E", "m", ""]]
    elif check == "xlsx":
        assert read_sheets(path)["Users"][1] == ["a@x", "E", "m", ""]
    else:
        assert json.loads(path.read_text(encoding="utf-8"))["fields"] == {"email": "a@x"}


@pytest.mark.parametrize("name", ["rejects.csv", "rejects.jsonl", "rejects.xlsx", "rejects.out"], ids=str)
def test_a_run_without_rejects_leaves_an_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"stale rows from an earlier run")
    RejectsWriter(path).close()
    if name.endswith(".xlsx"):
        assert read_sheets(path) == {"Rejects": []}
    else:
        assert path.read_bytes() == b""


# --- summary ------------------------------------------------------------------------------------


def test_summary_rows_and_table() -> None:
    log = ResultLog(None)
    for status in ("created", "created", "failed"):
        log.add(rec(status))
    log.add(rec("invalid", kind="alias"))
    log.add(rec("unchanged", kind="domain"))
    log.add(rec("skipped", kind="zzz_custom"))
    log.close()
    assert [kind for kind, _ in log.summary_rows()] == ["domain", "user", "alias", "zzz_custom"]
    assert dict(log.summary_rows())["user"] == {
        "created": 2, "updated": 0, "unchanged": 0, "failed": 1, "invalid": 0, "skipped": 0,
    }  # fmt: skip
    assert render_summary(log).splitlines() == [
        "kind        created  updated  unchanged  failed  invalid  skipped  total",
        "domain            0        0          1       0        0        0      1",
        "user              2        0          0       1        0        0      3",
        "alias             0        0          0       0        1        0      1",
        "zzz_custom        0        0          0       0        0        1      1",
        "total             2        0          1       1        1        1      6",
    ]


def test_summary_of_an_empty_run() -> None:
    assert render_summary(ResultLog(None)).splitlines() == [
        "kind   created  updated  unchanged  failed  invalid  skipped  total",
        "total        0        0          0       0        0        0      0",
    ]
