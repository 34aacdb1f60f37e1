"""``iredmigrate validate`` over every file a user could hand it: located messages, exit codes, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrate.cli import main

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "readers" / "corpus"
SAMPLES = REPO / "samples"
ROW = re.compile(r"^\| (\S+\.(?:csv|xlsx)) \|[^|]*\| ([A-Z_]+) \| ([^|]*) \| (\w+) \| (\d)\*? \|", re.MULTILINE)
CASES = {
    m.group(1): (m.group(2), m.group(3).strip(), int(m.group(5)))
    for m in ROW.finditer((CORPUS / "README.md").read_text())
}


def validate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_corpus_is_large_enough() -> None:
    ldif_cases = list((REPO / "tests" / "readers" / "ldif_corpus").glob("*.ldif"))
    assert len(CASES) >= 25 and len(CASES) + len(ldif_cases) >= 45


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_gets_a_located_message_and_the_documented_exit(name: str) -> None:
    code, where, expected_exit = CASES[name]
    exit_code, output = validate(str(CORPUS / name), "--domain-exists", "example.com", "--domain-exists", "example.org")
    assert "Traceback" not in output
    assert exit_code == expected_exit, output
    if expected_exit == 3:
        assert f"({code})" in output or f"({code}," in output, output
        line = re.search(r"(?:line |:)(\d+)", where)
        if line and where != "file":
            assert re.search(rf"{re.escape(name)}(:\w[\w ]*)?:{line.group(1)}\b", output), output
        else:
            assert f"{CORPUS / name}" in output


def test_samples_validate_clean_together() -> None:
    files = [str(SAMPLES / "onboarding.xlsx"), *sorted(str(p) for p in SAMPLES.glob("*.csv"))]
    exit_code, output = validate(*files, str(SAMPLES / "iredmail-ldap.ldif"))
    assert exit_code == 0, output
    assert "no problems" in output
    summary = dict(re.findall(r"^(\w+)\s+(\d+)\s+\d+\s+0\s+\d+$", output, re.MULTILINE))
    assert summary == {
        "domain": "8", "admin": "4", "user": "57", "alias": "7", "list": "9", "spam_policy": "2", "throttle": "2"
    }  # fmt: skip


def test_json_output_and_problem_exit() -> None:
    exit_code, output = validate(str(CORPUS / "csv_ragged_row.csv"), "--json", "--domain-exists", "example.com")
    assert exit_code == 3
    assert '"code": "RAGGED_ROW"' in output and '"line": 3' in output


def test_missing_file_and_unknown_suffix() -> None:
    exit_code, output = validate("/nonexistent/users.csv")
    assert exit_code == 3 and "(FILE_NOT_FOUND)" in output
    exit_code, output = validate(str(REPO / "README.md"))
    assert exit_code == 3 and "(UNKNOWN_FORMAT)" in output


def test_unknown_mapping_profile_is_a_fatal_error() -> None:
    exit_code, output = validate(str(SAMPLES / "users.csv"), "--mapping", "nosuchprofile")
    assert exit_code == 1 and "unknown mapping profile" in output
