"""A big LDIF file's second half parsed by a second process reads exactly as one process reads it.

Every file here is read twice, split (any size is big enough) and whole, and must give the same
records (provenance, fields, columns, problems), the same file-level notes and the same error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migrate.errors import InputFileError
from migrate.readers import ldif_split
from migrate.readers.ldif_reader import read_ldif
from migrate.records import Problem

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CORPUS = Path(__file__).resolve().parent / "ldif_corpus"


def _read(path: Path) -> tuple[Any, ...]:
    notes: list[Problem] = []
    try:
        records = list(read_ldif(path, report=notes.append))
    except InputFileError as exc:
        return ("error", exc.code, exc.line, exc.message)
    return ([(r.prov, r.kind, r.fields, r.columns, r.problems) for r in records], notes)


@pytest.fixture
def splits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Split every file; record what became of each split."""
    monkeypatch.setattr(ldif_split, "MIN_SPLIT_BYTES", 0)
    # Two cores, and no thread but this one (whatever threads other tests left).
    monkeypatch.setattr(ldif_split, "can_fork", lambda: True)
    seen: list[str] = []
    real = ldif_split.LdifSplit.entries

    def entries(self: ldif_split.LdifSplit) -> Any:
        found = real(self)
        seen.append("theirs" if found is not None else "parsed here")
        return found

    monkeypatch.setattr(ldif_split.LdifSplit, "entries", entries)
    return seen


def _whole(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    with monkeypatch.context() as patch:
        patch.setattr(ldif_split, "MIN_SPLIT_BYTES", 1 << 60)
        return _read(path)


def _many_users(tmp_path: Path, count: int, *, broken_at: int | None = None) -> Path:
    lines = ["version: 1", ""]
    lines += ["dn: domainName=example.com,o=domains,dc=example,dc=com", "objectClass: mailDomain",
              "domainName: example.com", "accountStatus: active", ""]  # fmt: skip
    for i in range(count):
        lines += [
            f"dn: mail=u{i}@example.com,ou=Users,domainName=example.com,o=domains,dc=example,dc=com",
            "objectClass: mailUser",
            f"mail: u{i}@example.com",
            f"cn: User {i}",
            "cn:: w4lsaXNl" if i % 7 == 0 else f"sn: Number{i}",
            "mailQuota: 1073741824",
            "memberOfGroup: staff@example.com",
            f"shadowAddress: alias{i}@example.com",
            "enabledService: mail",
            "description: a long value folded",
            " onto a second line",
            "",
        ]
        if broken_at == i:
            lines += ["this is not ldif", ""]
    lines += ["dn: mail=staff@example.com,ou=Groups,domainName=example.com,o=domains,dc=example,dc=com",
              "objectClass: mailList", "mail: staff@example.com", "accountStatus: active", ""]  # fmt: skip
    path = tmp_path / "dump.ldif"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_a_dump_read_by_two_processes_gives_the_same_records(
    tmp_path: Path, splits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _many_users(tmp_path, 300)
    split = _read(path)
    assert splits == ["theirs"]
    assert split == _whole(path, monkeypatch)
    assert len(split[0]) == 302  # 300 users, the domain and the list


def test_a_syntax_error_in_the_second_half_is_reported_as_by_one_process(
    tmp_path: Path, splits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _many_users(tmp_path, 300, broken_at=250)
    split = _read(path)
    assert splits == ["parsed here"]
    assert split == _whole(path, monkeypatch)
    assert split[:2] == ("error", "LDIF_SYNTAX")


@pytest.mark.parametrize("path", [SAMPLES / "iredmail-ldap.ldif", *sorted(CORPUS.glob("*.ldif"))], ids=lambda p: p.name)
def test_samples_and_the_bad_input_corpus_read_alike_split_or_whole(
    path: Path, splits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _read(path) == _whole(path, monkeypatch)
