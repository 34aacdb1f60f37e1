import os
import stat
from pathlib import Path

from migrate.credentials import CredentialsFile, generate_password
from migrate.journal import Journal, row_id
from migrate.passwords import PasswordPolicy, check_password


def test_journal_survives_a_cut_line_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "run.journal.jsonl"
    journal = Journal(path, resume=False)
    journal.record(row_id("u.csv", None, 2, "a@x.com"), "created", "create")
    journal.record(row_id("u.csv", None, 3, "b@x.com"), "updated", "update")
    journal.close()
    with open(path, "ab") as handle:  # what a kill -9 in the middle of a write leaves
        handle.write(b'{"row": "u.csv||4|c@x.com", "sta')
    resumed = Journal(path, resume=True)
    assert set(resumed.done) == {"u.csv||2|a@x.com", "u.csv||3|b@x.com"}
    assert resumed.done["u.csv||2|a@x.com"].status == "created"
    resumed.close()
    fresh = Journal(path, resume=False)
    assert fresh.done == {}
    fresh.close()
    assert path.read_bytes() == b""


def test_credentials_file_is_private_and_flushed(tmp_path: Path) -> None:
    path = tmp_path / "creds.csv"
    creds = CredentialsFile(path)
    creds.add("a@x.com", "S3cret#One")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().splitlines() == ["email,password", "a@x.com,S3cret#One"]  # readable before close
    creds.close()
    path.chmod(0o644)
    again = CredentialsFile(path)
    again.add("b@x.com", "S3cret#Two")
    again.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().count("email,password") == 1


def test_generated_passwords_meet_the_policy() -> None:
    for policy in (PasswordPolicy(), PasswordPolicy(min_length=24), PasswordPolicy(min_length=8, max_length=10)):
        for _ in range(50):
            password = generate_password(policy)
            assert check_password(password, policy) == []
            assert not set(password) & set("'\"`,;\\")
    assert len({generate_password() for _ in range(20)}) == 20
