"""The data really lands in iRedMail's vmail layout in the SQLite file (reference §13)."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sbhelpers import USER_PASSWORD, Api, make_config, new_user

from migrate.sandbox import Sandbox, storage


@pytest.fixture
def db(sandbox: Sandbox) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(sandbox.config.db_path)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def _rows(db: sqlite3.Connection, sql: str, *params: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in db.execute(sql, params).fetchall()]


def test_wal_mode(db: sqlite3.Connection) -> None:
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_user_rows_self_forwarding_quota_and_hash(admin: Api, domain: str, db: sqlite3.Connection) -> None:
    new_user(admin, f"john@{domain}", quota="1024", name="John")
    mailbox = _rows(db, "SELECT * FROM mailbox WHERE username = ?", f"john@{domain}")[0]
    assert (mailbox["quota"], mailbox["domain"], mailbox["name"], mailbox["active"]) == (1024, domain, "John", 1)
    assert mailbox["maildir"].startswith(f"{domain}/j/o/h/john-") and mailbox["maildir"].endswith("/")
    raw = base64.b64decode(mailbox["password"].removeprefix("{SSHA512}"))
    assert mailbox["password"].startswith("{SSHA512}") and len(raw) == 72
    assert hashlib.sha512(USER_PASSWORD.encode() + raw[64:]).digest() == raw[:64]
    rows = _rows(db, "SELECT * FROM forwardings WHERE address = ?", f"john@{domain}")
    assert len(rows) == 1
    row = rows[0]
    assert (row["forwarding"], row["domain"], row["dest_domain"]) == (f"john@{domain}", domain, domain)
    assert (row["is_forwarding"], row["is_alias"], row["is_list"], row["is_maillist"], row["active"]) == (1, 0, 0, 0, 1)


def test_forwarding_alias_and_list_flags(admin: Api, domain: str, db: sqlite3.Connection) -> None:
    new_user(admin, f"f@{domain}")
    admin.ok("PUT", f"/user/f@{domain}",
             data={"forwarding": f"f@{domain},out@elsewhere.org", "aliases": f"nick@{domain}"})  # fmt: skip
    admin.ok("POST", f"/alias/team@{domain}", data={"members": f"f@{domain},out@elsewhere.org"})
    admin.ok("POST", f"/ml/news@{domain}")
    flags = ("is_forwarding", "is_alias", "is_list", "is_maillist", "dest_domain")
    rows = _rows(db, "SELECT * FROM forwardings WHERE domain = ?", domain)
    got = {(r["address"], r["forwarding"]): tuple(r[f] for f in flags) for r in rows}
    assert got == {
        (f"f@{domain}", f"f@{domain}"): (1, 0, 0, 0, domain),
        (f"f@{domain}", "out@elsewhere.org"): (1, 0, 0, 0, "elsewhere.org"),
        (f"nick@{domain}", f"f@{domain}"): (0, 1, 0, 0, domain),
        (f"team@{domain}", f"f@{domain}"): (0, 0, 1, 0, domain),
        (f"team@{domain}", "out@elsewhere.org"): (0, 0, 1, 0, "elsewhere.org"),
        (f"news@{domain}", f"news@{domain}"): (0, 0, 0, 1, domain),
    }
    assert _rows(db, "SELECT name, accesspolicy, domain FROM alias WHERE address = ?", f"team@{domain}") == [
        {"name": "", "accesspolicy": "public", "domain": domain}
    ]
    ml = _rows(db, "SELECT transport, mlid FROM maillists WHERE address = ?", f"news@{domain}")[0]
    assert ml["transport"] == f"mlmmj:{domain}/news" and len(ml["mlid"]) == 36


def test_disabling_a_user_flips_its_forwardings(admin: Api, domain: str, db: sqlite3.Connection) -> None:
    new_user(admin, f"d@{domain}")
    admin.ok("PUT", f"/user/d@{domain}", data={"aliases": f"dd@{domain}"})
    admin.ok("PUT", f"/user/d@{domain}", data={"accountStatus": "disabled"})
    flags = {
        r["active"] for r in _rows(db, "SELECT active FROM forwardings WHERE ? IN (address, forwarding)", f"d@{domain}")
    }
    assert flags == {0}


def test_catch_all_is_a_bare_domain_row(admin: Api, domain: str, db: sqlite3.Connection) -> None:
    admin.ok("PUT", f"/domain/{domain}", data={"catchall": "all@elsewhere.org"})
    rows = _rows(db, "SELECT * FROM forwardings WHERE address = ?", domain)
    assert len(rows) == 1
    assert (rows[0]["forwarding"], rows[0]["domain"], rows[0]["dest_domain"]) == (
        "all@elsewhere.org",
        domain,
        "elsewhere.org",
    )
    assert (rows[0]["is_forwarding"], rows[0]["is_alias"], rows[0]["is_list"], rows[0]["is_maillist"]) == (0, 0, 0, 0)


def test_domain_row_settings_string_and_mb(admin: Api, db: sqlite3.Connection) -> None:
    name = "storage-domain.example.com"
    admin.ok("POST", f"/domain/{name}", data={"quota": "2048", "defaultQuota": "1024", "numberOfUsers": "5"})
    row = _rows(db, "SELECT * FROM domain WHERE domain = ?", name)[0]
    assert (row["maxquota"], row["mailboxes"], row["transport"]) == (2048, 5, "dovecot")
    assert row["settings"] == "default_user_quota:1024;"


def test_admin_and_domain_admin_rows(admin: Api, domain: str, db: sqlite3.Connection) -> None:
    mail = "rows@admins.example.org"
    admin.ok("POST", f"/admin/{mail}", data={"password": USER_PASSWORD, "maxUsers": "3"})
    admin.ok("PUT", f"/domain/admins/{domain}", data={"addAdmin": mail})
    row = _rows(db, "SELECT * FROM admin WHERE username = ?", mail)[0]
    assert row["password"].startswith("{SSHA512}") and row["settings"] == "create_max_users:3;"
    assert _rows(db, "SELECT domain FROM domain_admins WHERE username = ?", mail) == [{"domain": domain}]
    admin.ok("PUT", f"/admin/{mail}", data={"isGlobalAdmin": "yes"})
    assert {r["domain"] for r in _rows(db, "SELECT domain FROM domain_admins WHERE username = ?", mail)} == {
        domain,
        "ALL",
    }


def test_bcc_alias_domain_relay_and_deleted_mailboxes(admin: Api, domain: str, db: sqlite3.Connection) -> None:
    admin.ok("PUT", f"/domain/{domain}",
             data={"addAliasDomain": f"alias-{domain}", "outboundRelay": "smtp:[10.0.0.1]:25"})  # fmt: skip
    new_user(admin, f"b@{domain}")
    admin.ok("PUT", f"/user/b@{domain}", data={"senderBcc": "copy@elsewhere.org"})
    bcc = {
        r["username"]
        for r in _rows(db, "SELECT username FROM sender_bcc_user WHERE bcc_address = 'copy@elsewhere.org'")
    }
    assert bcc == {f"b@{domain}", f"b@alias-{domain}"}
    assert _rows(db, "SELECT target_domain FROM alias_domain WHERE alias_domain = ?", f"alias-{domain}") == [
        {"target_domain": domain}
    ]
    assert _rows(db, "SELECT relayhost FROM sender_relayhost WHERE account = ?", f"@{domain}") == [
        {"relayhost": "smtp:[10.0.0.1]:25"}
    ]
    admin.ok("DELETE", f"/user/b@{domain}/keep_mailbox_days/0")
    new_user(admin, f"c@{domain}")
    admin.ok("DELETE", f"/user/c@{domain}/keep_mailbox_days/30")
    deleted = {r["username"]: r for r in _rows(db, "SELECT * FROM deleted_mailboxes WHERE domain = ?", domain)}
    assert deleted[f"b@{domain}"]["delete_date"] is None  # 0 = keep forever
    assert deleted[f"c@{domain}"]["delete_date"] is not None
    assert deleted[f"c@{domain}"]["maildir"].startswith(f"/var/vmail/vmail1/{domain}/c/_/_/c-")
    assert _rows(db, "SELECT * FROM forwardings WHERE ? IN (address, forwarding)", f"b@{domain}") == []
    assert _rows(db, "SELECT * FROM sender_bcc_user WHERE username = ?", f"b@{domain}") == []


def test_policy_and_throttle_rows(admin: Api, domain: str, db: sqlite3.Connection) -> None:
    admin.ok("PUT", f"/spampolicy/domain/{domain}", data={"spam_score": "5", "bypass_virus_checks": "yes"})
    admin.ok("POST", f"/throttle/{domain}/outbound", data={"period": "60", "max_quota": "1048576"})
    policy = _rows(db, "SELECT p.* FROM policy p JOIN users u ON u.policy_id = p.id WHERE u.email = ?", f"@{domain}")[0]
    assert (policy["spam_tag2_level"], policy["bypass_virus_checks"]) == (5.0, "Y")
    assert policy["virus_quarantine_to"] == "virus-quarantine"  # the documented default: quarantine viruses
    throttle = _rows(db, "SELECT * FROM throttle WHERE account = ?", f"@{domain}")[0]
    assert (throttle["kind"], throttle["period"], throttle["max_quota"], throttle["max_msgs"]) == (
        "outbound",
        60,
        1048576,
        -1,
    )


def test_mlmmj_subscribers_live_outside_sql(admin: Api, domain: str, sandbox: Sandbox, db: sqlite3.Connection) -> None:
    admin.ok("POST", f"/ml/subs@{domain}")
    admin.ok("PUT", f"/ml/subs@{domain}", data={"add_subscribers": "x@elsewhere.org", "require_confirm": "no"})
    path = Path(sandbox.config.db_path + ".mlmmj") / domain / "subs.json"
    assert json.loads(path.read_text())["subscribers"] == {"x@elsewhere.org": "normal"}
    tables = {r["name"] for r in _rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not any("subscriber" in t for t in tables)


def test_restart_keeps_data_and_sessions(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with Sandbox(config) as first:
        api = Api(first.base_url)
        api.login()
        api.ok("POST", "/domain/restart.example.com")
        api.ok("POST", "/ml/l@restart.example.com")
        api.ok("PUT", "/ml/l@restart.example.com", data={"add_subscribers": "s@elsewhere.org", "require_confirm": "no"})
        cookie = api.client.cookies.get("iRedAdmin-Pro-MYSQL")
        api.close()
    with Sandbox(config) as second:
        api = Api(second.base_url, cookies={"iRedAdmin-Pro-MYSQL": cookie or ""})
        # The session survived the restart (iRedAdmin keeps them in SQL) and so did the data.
        data = api.ok("GET", "/ml/l@restart.example.com", params={"with_subscribers": ""})
        assert data["subscribers"] == ["s@elsewhere.org"]
        api.close()


def test_password_hash_stored_verbatim(admin: Api, domain: str, db: sqlite3.Connection) -> None:
    given = "{CRYPT}$6$rounds=5000$abc$Z9x"
    admin.ok("POST", f"/user/v@{domain}", data={"password_hash": f"  {given}\n"})
    assert _rows(db, "SELECT password FROM mailbox WHERE username = ?", f"v@{domain}") == [{"password": given}]


def test_second_stamp_formats_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_700_000_000.25]
    monkeypatch.setattr(storage.time, "time", lambda: clock[0])
    calls: list[float] = []

    def convert(second: float) -> time.struct_time:
        calls.append(second)
        return time.gmtime(second)

    stamp = storage.SecondStamp("%Y-%m-%d %H:%M:%S", convert)
    assert stamp() == stamp() == time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(1_700_000_000)) == "2023-11-14 22:13:20"
    clock[0] = 1_700_000_000.99
    assert stamp() == "2023-11-14 22:13:20"
    clock[0] = 1_700_000_001.0
    assert stamp() == "2023-11-14 22:13:21"
    assert calls == [1_700_000_000, 1_700_000_001]
