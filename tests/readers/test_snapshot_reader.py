from pathlib import Path
from typing import Any

import orjson
import pytest

from migrate.errors import InputFileError
from migrate.model import Domain, MailingList, SpamPolicy, Throttle, User, build
from migrate.readers.snapshot_reader import read_snapshot
from migrate.records import Problem, Record, Severity
from migrate.validate import validate

USER = {
    "email": "john@example.com",
    "name": "John Smith",
    "quota": 1024,
    "password_hash": "{SSHA512}FxgXDhBVYmTqoboW+ibyyzPv/wGG7y4VJtuHWrx+wfqrs/lIH2Qxn2eA0jygXtBhMvRi7GNFmL++6aAZ0k"
    "Xpcy1fxag=",
    "forwarding": ["john@example.com", "john@partner.example"],
    "aliases": ["j.smith@example.com"],
    "isAdmin": True,
}


def snapshot(**sections: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "iredmigrate-snapshot",
        "version": 1,
        "exported_at": "2026-11-24T07:45:00Z",
        "source": "https://mail.example.com/iredadmin",
    }
    doc.update(sections)
    return doc


def write(tmp_path: Path, doc: Any, *, name: str = "snap.json") -> Path:
    path = tmp_path / name
    path.write_bytes(doc if isinstance(doc, bytes) else orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return path


def read(path: Path) -> tuple[list[Record], list[Problem]]:
    reported: list[Problem] = []
    return list(read_snapshot(path, report=reported.append)), reported


def test_every_section_becomes_records_of_its_kind_in_order(tmp_path: Path) -> None:
    doc = snapshot(
        throttles=[
            {"scope": "domain", "target": "example.com", "direction": "outbound", "period": 3600, "max_msgs": 100}
        ],
        users=[USER, {"email": "mary@example.com", "quota": 0}],
        domains=[{"domain": "example.com", "name": "Example", "catchall": ["john@example.com"], "numberOfLists": -1}],
        admins=[{"email": "helpdesk@msp.example", "isGlobalAdmin": False, "domains": ["example.com"]}],
        aliases=[{"email": "sales@example.com", "members": ["john@example.com"]}],
        lists=[{"email": "news@example.com", "kind": "mlmmj", "max_message_size": 10485760}],
        spam_policies=[{"scope": "global", "target": "", "spam_score": 6.5, "quarantine_spam": True}],
    )
    records, reported = read(write(tmp_path, doc))
    assert reported == []
    assert [(r.kind, r.prov.sheet, r.prov.line) for r in records] == [
        ("domain", "domains", 1),
        ("admin", "admins", 1),
        ("user", "users", 1),
        ("user", "users", 2),
        ("alias", "aliases", 1),
        ("list", "lists", 1),
        ("spam_policy", "spam_policies", 1),
        ("throttle", "throttles", 1),
    ]
    assert all(r.prov.fmt == "json" and r.prov.source == str(tmp_path / "snap.json") for r in records)
    assert records[2].fields == USER and records[2].problems == []
    objects = [build(r)[0] for r in records]
    assert objects[2] == User(
        email="john@example.com",
        name="John Smith",
        quota=1024,
        password_hash=USER["password_hash"],
        forwarding=("john@example.com", "john@partner.example"),
        aliases=("j.smith@example.com",),
        isAdmin=True,
    )
    assert objects[0] == Domain(domain="example.com", name="Example", catchall=("john@example.com",), numberOfLists=-1)
    assert objects[5] == MailingList(email="news@example.com", kind="mlmmj", max_message_size=10485760)
    assert objects[6] == SpamPolicy(scope="global", target="", spam_score=6.5, quarantine_spam=True)
    assert objects[7] == Throttle(scope="domain", target="example.com", direction="outbound", period=3600, max_msgs=100)


def test_missing_and_empty_sections_and_a_bom_are_fine(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + orjson.dumps(snapshot(users=[USER], aliases=[])))
    records, reported = read(path)
    assert [r.fields["email"] for r in records] == ["john@example.com"] and reported == []


def test_source_name_and_unknown_top_level_keys(tmp_path: Path) -> None:
    doc = snapshot(users=[USER], missing_password_hashes=["mary@example.com"], comment="hand edited")
    reported: list[Problem] = []
    records = list(read_snapshot(write(tmp_path, doc), source_name="backup.json", report=reported.append))
    assert records[0].prov.source == "backup.json"
    assert [(p.code, p.column, p.severity, p.source) for p in reported] == [
        ("SNAPSHOT_UNKNOWN_KEY", "comment", Severity.WARNING, "backup.json")
    ]


def test_item_that_is_not_an_object_is_an_invalid_row(tmp_path: Path) -> None:
    records, _ = read(write(tmp_path, snapshot(users=[USER, "mary@example.com"], throttles=[[1, 2]])))
    bad_user, bad_throttle = records[1], records[2]
    assert (bad_user.kind, bad_user.prov.sheet, bad_user.prov.line, bad_user.fields) == ("user", "users", 2, {})
    assert [(p.code, p.column, p.line, p.sheet) for p in bad_user.problems] == [("SNAPSHOT_ITEM", "email", 2, "users")]
    obj, problems = build(bad_user)
    assert obj is None and [p.code for p in problems] == ["SNAPSHOT_ITEM"]
    assert build(bad_throttle)[0] is None and bad_throttle.problems[0].column == "scope"


@pytest.mark.parametrize(
    ("content", "code", "line", "column", "words"),
    [
        (b'{"format": "iredmigrate-snapshot",\n  "version": 1,\n  "users": [}\n', "JSON_SYNTAX", 3, "13", "line 3"),
        (b'{"format": "iredmigrate-snapshot", "version": 1, "users": [{"email": "jo', "JSON_SYNTAX", 1, None, "JSON"),
        (b"", "JSON_SYNTAX", 1, "1", "empty"),
        (b'{"format": "iredmigrate-snapshot",\n "source": "caf\xe9"}', "JSON_SYNTAX", 2, "16", "not UTF-8"),
        (b"[1, 2, 3]", "SNAPSHOT_FORMAT", 1, None, "list"),
        (b'{"users": []}', "SNAPSHOT_FORMAT", None, "format", "not an iredmigrate snapshot"),
        (b'{"format": "other-tool", "version": 1}', "SNAPSHOT_FORMAT", None, "format", "other-tool"),
        (b'{"format": "iredmigrate-snapshot", "version": 2}', "SNAPSHOT_VERSION", None, "version", "version 2"),
        (b'{"format": "iredmigrate-snapshot", "version": "1"}', "SNAPSHOT_VERSION", None, "version", "'1'"),
        (b'{"format": "iredmigrate-snapshot"}', "SNAPSHOT_VERSION", None, "version", "None"),
        (
            b'{"format": "iredmigrate-snapshot", "version": 1, "users": {"a": 1}}',
            "SNAPSHOT_SECTION",
            None,
            None,
            "dict",
        ),
    ],
    ids=[
        "bad-json",
        "truncated",
        "empty-file",
        "not-utf8",
        "top-level-list",
        "no-format",
        "other-format",
        "newer-version",
        "version-as-string",
        "no-version",
        "section-not-a-list",
    ],
)
def test_malformed_snapshots_are_refused_with_a_located_error(
    tmp_path: Path, content: bytes, code: str, line: int | None, column: str | None, words: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(InputFileError) as caught:
        read(path)
    exc = caught.value
    assert (exc.code, exc.line, exc.source) == (code, line, str(path))
    if column is not None:
        assert exc.column == column
    assert words in exc.message and exc.hint
    if code == "SNAPSHOT_SECTION":
        assert exc.sheet == "users"


def test_newer_version_hint_says_upgrade(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        read(write(tmp_path, snapshot(version=2)))
    assert "upgrade" in caught.value.hint


def test_validate_reports_a_bad_snapshot_and_keeps_secrets_out(tmp_path: Path) -> None:
    doc = snapshot(users=[{**USER, "password_hash": "{BLF-CRYPT}nothash-secret"}, 42])
    report = validate([write(tmp_path, doc)], collect=True)
    assert not report.ok
    assert {(p.code, p.sheet, p.line) for p in report.problems if p.is_error} >= {("SNAPSHOT_ITEM", "users", 2)}
    assert all("nothash-secret" not in p.message + p.hint for p in report.problems)
