"""Release quirks of Pro-SQL 5.5 (reference §12): each off by default, each reproduced when on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sbhelpers import PASSWORD, Api, make_config, new_user, unique_domain

from migrate.sandbox import QUIRKS, Sandbox, SandboxConfig


@pytest.fixture(scope="module")
def quirky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(make_config(tmp_path_factory.mktemp("quirks"), quirks=set(QUIRKS))) as running:
        yield running


@pytest.fixture(scope="module")
def q_admin(quirky: Sandbox) -> Iterator[Api]:
    api = Api(quirky.base_url)
    assert api.login() == {"_success": True}
    yield api
    api.close()


@pytest.fixture
def q_domain(q_admin: Api) -> str:
    name = unique_domain("q")
    q_admin.ok("POST", f"/domain/{name}")
    return name


def test_unknown_quirk_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown quirk"):
        Sandbox(SandboxConfig(admin_password=PASSWORD, quirks={"no_such_quirk"}))


def test_user_add_service_noop(q_admin: Api, admin: Api, q_domain: str, domain: str) -> None:
    for api, name in ((q_admin, q_domain), (admin, domain)):
        new_user(api, f"s@{name}")
        api.ok("PUT", f"/user/s@{name}", data={"removeService": "imap"})
        api.ok("PUT", f"/user/s@{name}", data={"addService": "imap"})
    assert q_admin.ok("GET", f"/user/s@{q_domain}")["enableimap"] == 0  # 5.5: addService does nothing
    assert admin.ok("GET", f"/user/s@{domain}")["enableimap"] == 1


def test_users_list_password(q_admin: Api, admin: Api, q_domain: str, domain: str) -> None:
    new_user(q_admin, f"p@{q_domain}")
    new_user(admin, f"p@{domain}")
    assert q_admin.ok("GET", f"/users/{q_domain}")[0]["password"].startswith("{SSHA512}")
    assert "password" not in q_admin.ok("GET", f"/user/p@{q_domain}")
    assert "password" not in admin.ok("GET", f"/users/{domain}")[0]


def test_last_login_repr(q_admin: Api, admin: Api, q_domain: str, domain: str) -> None:
    new_user(q_admin, f"l@{q_domain}")
    new_user(admin, f"l@{domain}")
    assert q_admin.ok("GET", f"/user/l@{q_domain}")["last_login"] == "{'imap': 0, 'pop3': 0, 'lda': 0}"
    assert admin.ok("GET", f"/user/l@{domain}")["last_login"] == {"imap": 0, "pop3": 0, "lda": 0}


def test_pass_the_hash(quirky: Sandbox, sandbox: Sandbox) -> None:
    for running, works in ((quirky, True), (sandbox, False)):
        api = Api(running.base_url)
        assert api.login() == {"_success": True}
        name = unique_domain("pth")
        api.ok("POST", f"/domain/{name}")
        new_user(api, f"h@{name}")
        api.ok("PUT", f"/domain/admins/{name}", data={"addAdmin": f"h@{name}"})
        stored = _stored_hash(running, f"h@{name}")
        expected = {"_success": True} if works else {"_success": False}
        assert api.post(f"/verify_password/user/h@{name}", data={"password": stored}) == expected
        other = Api(running.base_url)
        login = other.login(f"h@{name}", stored)
        other.close()
        assert login == ({"_success": True} if works else {"_success": False, "_msg": "INVALID_CREDENTIALS"})
        api.close()


def _stored_hash(running: Sandbox, mail: str) -> str:
    with sqlite3.connect(running.config.db_path) as conn:
        row = conn.execute("SELECT password FROM mailbox WHERE username = ?", (mail,)).fetchone()
    return str(row[0])


def test_empty_passsword_typo(q_admin: Api, admin: Api, q_domain: str) -> None:
    new_user(q_admin, f"e@{q_domain}")
    reply = q_admin.post(f"/verify_password/user/e@{q_domain}", data={"password": ""})
    assert reply == {"_success": False, "_msg": "EMPTY_PASSSWORD"}
    reply = admin.post("/verify_password/admin/x@admins.example.org", data={"password": ""})
    assert reply == {"_success": False, "_msg": "EMPTY_PASSWORD"}


def test_policy_auth_redirect(quirky: Sandbox, q_domain: str, q_admin: Api, anon: Api) -> None:
    stranger = Api(quirky.base_url)
    for path in ("/spampolicy/global", f"/spampolicy/domain/{q_domain}", "/throttle/global/inbound"):
        response = stranger.raw("GET", path)
        assert response.status_code == 303
        assert response.headers["location"].endswith("/login?msg=LOGIN_REQUIRED")
        # Off by default: JSON.
        assert anon.get(path) == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    # Other throttles and other endpoints keep answering JSON.
    assert stranger.get(f"/throttle/{q_domain}/inbound") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    # A normal admin is sent to the domain list.
    helper = "helper@admins.example.org"
    q_admin.ok("POST", f"/admin/{helper}", data={"password": PASSWORD})
    assert stranger.login(helper, PASSWORD) == {"_success": True}
    response = stranger.raw("PUT", "/spampolicy/global", data={"spam_score": "3"})
    assert response.status_code == 303
    assert response.headers["location"].endswith("/domains?msg=PERMISSION_DENIED")
    stranger.close()


def test_put_missing_user_succeeds(q_admin: Api, admin: Api, q_domain: str, domain: str) -> None:
    assert q_admin.put(f"/user/ghost@{q_domain}", data={"name": "x"}) == {"_success": True}
    assert q_admin.get(f"/user/ghost@{q_domain}") == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}
    assert admin.put(f"/user/ghost@{domain}", data={"name": "x"}) == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}


def test_quirk_names_match_the_reference() -> None:
    assert {
        "user_add_service_noop", "users_list_password", "last_login_repr", "pass_the_hash", "empty_passsword_typo",
        "policy_auth_redirect", "put_missing_user_succeeds",
    } == QUIRKS  # fmt: skip
