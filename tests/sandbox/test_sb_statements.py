"""The SQL statements the import's requests cost, and the combined reads that keep them few."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sbhelpers import Api, new_user

from migrate.sandbox import Sandbox, store_domain, store_extra, store_mail
from migrate.sandbox.context import ApiError, AppState
from migrate.sandbox.handlers_user import check_account_limit
from migrate.sandbox.storage import Db


@contextmanager
def traced(sandbox: Sandbox) -> Iterator[list[str]]:
    """Record every statement the sandbox's connection runs inside the block."""
    statements: list[str] = []

    def trace(state: AppState, on: bool) -> None:
        state.db._conn.set_trace_callback(statements.append if on else None)

    sandbox.call(lambda state: trace(state, True))
    try:
        yield statements
    finally:
        sandbox.call(lambda state: trace(state, False))


def _heads(statements: list[str]) -> list[str]:
    """The statements' beginnings, for failure messages (the full text holds the password hash)."""
    return [s[:40] for s in statements]


def _memory_db() -> Db:
    return Db(":memory:")


def _separate(db: Db, username: str) -> tuple[Any, ...]:
    return (
        store_mail.user_bcc(db, username, "sender"),
        store_mail.user_bcc(db, username, "recipient"),
        store_mail.used_quota(db, username),
        store_mail.last_login(db, username),
    )


def test_user_details_match_the_separate_lookups() -> None:
    db = _memory_db()
    with db.tx():
        db.insert("sender_bcc_user", {"username": "a@x.example", "bcc_address": "s@y.example", "active": 0})
        db.insert("recipient_bcc_user", {"username": "a@x.example", "bcc_address": "r@y.example"})
        db.insert("used_quota", {"username": "a@x.example", "bytes": 1234, "messages": 5})
        db.insert("last_login", {"username": "a@x.example", "imap": 17})  # pop3 and lda stay NULL
        db.insert("recipient_bcc_user", {"username": "b@x.example", "bcc_address": "", "active": 1})
    for username in ("a@x.example", "b@x.example", "nobody@x.example"):
        assert store_mail.user_details(db, username) == _separate(db, username), username
    sender, recipient, quota, login = store_mail.user_details(db, "a@x.example")
    assert (sender, recipient) == (
        {"bcc_address": "s@y.example", "active": 0},
        {"bcc_address": "r@y.example", "active": 1},
    )
    assert (quota, login) == ({"bytes": 1234, "messages": 5}, {"imap": 17, "pop3": 0, "lda": 0})
    # An empty bcc address is still a row (the username column tells rows from NULLs).
    assert store_mail.user_details(db, "b@x.example")[1] == {"bcc_address": "", "active": 1}


def test_mailbox_for_update_matches_the_separate_reads() -> None:
    db = _memory_db()
    with db.tx():
        db.insert("domain", {"domain": "x.example", "settings": "max_user_quota:100;", "maxquota": 500})
        store_mail.create_mailbox(db, {"username": "a@x.example", "domain": "x.example", "mailboxfolder": "Box"})
        store_mail.create_mailbox(db, {"username": "b@gone.example", "domain": "gone.example"})
    for username, domain in (
        ("a@x.example", "x.example"),
        ("b@gone.example", "gone.example"),
        ("c@x.example", "x.example"),
    ):
        row = store_mail.get_mailbox_columns(db, username, "username, domain, mailboxfolder, active")
        domain_row = store_domain.get_domain(db, domain, "domain, settings, maxquota") if row else None
        assert store_mail.mailbox_for_update(db, username, domain) == (row, domain_row), username
    assert store_mail.mailbox_for_update(db, "a@x.example", "x.example")[1] == {
        "domain": "x.example",
        "settings": "max_user_quota:100;",
        "maxquota": 500,
    }


def test_domain_for_new_account_matches_the_separate_reads() -> None:
    db = _memory_db()
    with db.tx():
        db.insert("domain", {"domain": "x.example", "mailboxes": 7, "settings": "default_language:de_DE;"})
        store_mail.create_mailbox(db, {"username": "a@x.example", "domain": "x.example"})
        db.insert("alias", {"address": "team@x.example", "domain": "x.example"})
    columns = "mailboxes, domain, settings, maxquota"
    cases = [("x.example", "a@x.example"), ("x.example", "team@x.example"), ("x.example", "new@x.example"),
             ("none.example", "a@none.example")]  # fmt: skip
    for domain, address in cases:
        row = store_domain.get_domain(db, domain, columns)
        expected = (row, store_domain.account_taken(db, address)) if row else (None, False)
        assert store_domain.domain_for_new_account(db, domain, address, columns) == expected, address
    assert store_domain.domain_for_new_account(db, "x.example", "a@x.example", columns) == (
        {"mailboxes": 7, "domain": "x.example", "settings": "default_language:de_DE;", "maxquota": 0},
        True,
    )


def test_get_settings_reads_several_keys_as_get_setting_does() -> None:
    db = _memory_db()
    with db.tx():
        store_extra.set_setting(db, "min_passwd_length", "10")
        store_extra.set_setting(db, "max_passwd_length", "")
        store_extra.set_setting(db, "min_passwd_length", "99", account="someone@x.example")
    keys = ("min_passwd_length", "max_passwd_length", "absent")
    got = store_extra.get_settings(db, keys)
    assert got == {"min_passwd_length": "10", "max_passwd_length": ""}
    assert got == {k: v for k in keys if (v := store_extra.get_setting(db, k)) is not None}


@pytest.mark.parametrize(
    ("limit", "count", "code", "counted"),
    [
        (0, 50, None, False),
        (-1, 0, "NOT_ALLOWED", False),
        (3, 2, None, True),
        (3, 3, "EXCEEDED_DOMAIN_ACCOUNT_LIMIT", True),
    ],
    ids=["unlimited", "not-allowed", "below", "at-limit"],
)
def test_account_limit_counts_only_against_a_maximum(limit: int, count: int, code: str | None, counted: bool) -> None:
    calls: list[int] = []

    def counter() -> int:
        calls.append(count)
        return count

    if code is None:
        check_account_limit(counter, limit)
    else:
        with pytest.raises(ApiError) as caught:
            check_account_limit(counter, limit)
        assert caught.value.code == code
    assert bool(calls) is counted


def test_import_requests_statements(admin: Api, domain: str, sandbox: Sandbox) -> None:
    mail = f"imp@{domain}"
    with traced(sandbox) as post:
        new_user(admin, mail, name="Imp", quota="100")
    with traced(sandbox) as put:
        admin.ok("PUT", f"/user/{mail}", data={"employeeid": "E1"})
    with traced(sandbox) as get:
        data = admin.ok("GET", f"/user/{mail}")
    assert data["employeeid"] == "E1" and data["quota"] == 100
    # No account limit: no count; the password policy: one settings read, the domain's limits
    # from the domain row already read.
    assert not [s for s in post if "COUNT(" in s]
    assert len([s for s in post if "FROM settings" in s]) == 1
    assert len([s for s in post if "FROM domain WHERE" in s]) == 1  # with the existence check
    assert len(post) == 7, _heads(post)
    assert len(put) == 5, _heads(put)
    assert not [s for s in put if s.startswith("SELECT *")]
    # The reads of a GET share one transaction (one WAL read lock instead of one per statement).
    assert (get[0], get[-1], len(get)) == ("BEGIN", "COMMIT", 6), _heads(get)


def test_account_limit_is_still_counted(admin: Api, domain: str, sandbox: Sandbox) -> None:
    admin.ok("PUT", f"/domain/{domain}", data={"numberOfUsers": "1"})
    with traced(sandbox) as post:
        new_user(admin, f"first@{domain}")
    assert len([s for s in post if "COUNT(" in s]) == 1
    assert admin.post(f"/user/second@{domain}", data={"password": "Us3r#Passw0rd"}) == {
        "_success": False,
        "_msg": "EXCEEDED_DOMAIN_ACCOUNT_LIMIT",
    }


def test_domain_password_limits_apply_on_create(admin: Api, domain: str) -> None:
    admin.ok("PUT", f"/domain/{domain}", data={"minPasswordLength": "15"})
    assert admin.post(f"/user/short@{domain}", data={"password": "Us3r#Passw0rd"}) == {
        "_success": False,
        "_msg": "PW_SHORTER_THAN_MIN_LENGTH",
    }
    new_user(admin, f"long@{domain}", password="Us3r#Passw0rd-long")
