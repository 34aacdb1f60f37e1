"""Login, the session cookie, idle timeout, IP binding, allow-list and admin rights (§2, §3)."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sbhelpers import ADMIN, HELPDESK, PASSWORD, USER_PASSWORD, Api, make_config, new_user, unique_domain

from migrate.sandbox import Sandbox
from migrate.sandbox.context import AppState


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox of this module's own: these tests expire sessions and move its clock."""
    with Sandbox(make_config(tmp_path_factory.mktemp("session"), session_timeout=600)) as running:
        yield running


def _login(sandbox: Sandbox, **client_kw: object) -> Api:
    api = Api(sandbox.base_url, **client_kw)  # type: ignore[arg-type]
    assert api.login() == {"_success": True}
    return api


def test_login_sets_session_cookie_with_real_name_and_flags(private: Sandbox) -> None:
    api = Api(private.base_url)
    response = api.raw("POST", "/login", data={"username": ADMIN, "password": PASSWORD})
    assert response.json() == {"_success": True}
    header = response.headers["set-cookie"]
    name, _, rest = header.partition("=")
    assert name == "iRedAdmin-Pro-MYSQL"
    value = rest.split(";")[0]
    assert re.fullmatch(r"[0-9a-f]{40}", value)
    flags = [part.strip().lower() for part in rest.split(";")[1:]]
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "secure" not in flags
    assert PASSWORD not in header
    api.close()


def test_cookie_backend_name_is_configurable(tmp_path: Path) -> None:
    with Sandbox(make_config(tmp_path, backend_name="PGSQL")) as pg:
        response = httpx.post(pg.base_url + "/login", data={"username": ADMIN, "password": PASSWORD})
        assert response.headers["set-cookie"].startswith("iRedAdmin-Pro-PGSQL=")


def test_login_required_without_session(anon: Api) -> None:
    for method, path in (("GET", "/domains"), ("POST", "/domain/x.example.com"), ("DELETE", "/user/a@b.example")):
        assert anon.call(method, path) == {"_success": False, "_msg": "LOGIN_REQUIRED"}


def test_unknown_session_id_is_login_required(private: Sandbox) -> None:
    api = Api(private.base_url, cookies={"iRedAdmin-Pro-MYSQL": "0" * 40})
    assert api.get("/domains") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    api.close()


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [("not-an-email", PASSWORD, "INVALID_USERNAME"), (ADMIN, "", "EMPTY_PASSWORD"),
     (ADMIN, "wrong#Passw0rd", "INVALID_CREDENTIALS"), ("nobody@sandbox.test", PASSWORD, "INVALID_CREDENTIALS")],
    ids=["username-not-email", "empty-password", "wrong-password", "unknown-account"],
)  # fmt: skip
def test_login_failures(anon: Api, username: str, password: str, code: str) -> None:
    assert anon.post("/login", data={"username": username, "password": password}) == {"_success": False, "_msg": code}


def test_mail_user_without_admin_rights_cannot_log_in(admin: Api, anon: Api, domain: str) -> None:
    new_user(admin, f"plain@{domain}")
    reply = anon.login(f"plain@{domain}", USER_PASSWORD)
    assert reply == {"_success": False, "_msg": "INVALID_CREDENTIALS"}
    admin.ok("PUT", f"/domain/admins/{domain}", data={"addAdmin": f"plain@{domain}"})
    assert anon.login(f"plain@{domain}", USER_PASSWORD) == {"_success": True}
    # As a normal admin of its own domain only.
    assert anon.ok("GET", "/domains", params={"name_only": ""}) == [domain]


def test_disabled_admin_cannot_log_in(admin: Api, anon: Api) -> None:
    mail = "off@admins.example.org"
    admin.ok("POST", f"/admin/{mail}", data={"password": PASSWORD, "accountStatus": "disabled"})
    assert anon.login(mail, PASSWORD) == {"_success": False, "_msg": "INVALID_CREDENTIALS"}


def test_idle_timeout_gives_login_required(private: Sandbox) -> None:
    api = _login(private)
    assert api.get("/domains")["_success"] is True
    start = time.time()
    private.call(lambda state: setattr(state.sessions, "clock", lambda: start + 599))
    assert api.get("/domains")["_success"] is True  # still inside the 600 s timeout
    private.call(lambda state: setattr(state.sessions, "clock", lambda: start + 599 + 601))
    try:
        assert api.get("/domains") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    finally:
        private.call(lambda state: setattr(state.sessions, "clock", time.time))
    api.close()


def test_session_bound_to_client_ip(private: Sandbox) -> None:
    api = _login(private)
    stolen = api.client.cookies.get("iRedAdmin-Pro-MYSQL")
    other = Api(private.base_url, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    other.client.cookies.set("iRedAdmin-Pro-MYSQL", stolen or "")
    response = other.raw("GET", "/domains")
    assert response.status_code == 303
    assert response.headers["location"].endswith("/login?msg=SESSION_EXPIRED")
    # The session is gone for its owner too.
    assert api.get("/domains") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    other.close()
    api.close()


def test_sessions_are_stored_server_side(private: Sandbox) -> None:
    api = _login(private)
    sid = api.client.cookies.get("iRedAdmin-Pro-MYSQL")
    with sqlite3.connect(private.config.db_path) as conn:
        rows = conn.execute("SELECT session_id FROM sessions").fetchall()
    assert (sid,) in rows
    api.close()


def test_forced_session_expiry(private: Sandbox) -> None:
    api = _login(private)
    assert private.expire_sessions() >= 1
    assert api.get("/domains") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    api.close()


def test_control_endpoint_expires_sessions_and_counts(private: Sandbox) -> None:
    api = _login(private)
    httpx.delete(private.control_url + "/counters")
    api.get("/domains")
    api.get("/domains")
    counters = httpx.get(private.control_url + "/counters").json()
    assert counters["requests"]["GET /iredadmin/api/domains"] == 2
    assert httpx.post(private.control_url + "/expire-sessions").json()["expired"] >= 1
    assert api.get("/domains") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
    api.close()


def test_allow_list_not_authorized(tmp_path: Path) -> None:
    with Sandbox(make_config(tmp_path, allowed_clients=["10.0.0.0/8"])) as locked:
        api = Api(locked.base_url)
        # Every endpoint, login included.
        assert api.login() == {"_success": False, "_msg": "NOT_AUTHORIZED"}
        assert api.get("/domains") == {"_success": False, "_msg": "NOT_AUTHORIZED"}
        # The settings table overrides the configured list (as the web UI setting does).
        locked.set_allowed_clients(["127.0.0.1/32"])
        assert api.login() == {"_success": True}
        with sqlite3.connect(locked.config.db_path) as conn:
            stored = conn.execute("SELECT v FROM settings WHERE k = 'restful_api_clients'").fetchone()
        assert stored == ("127.0.0.1/32",)
        locked.set_allowed_clients(None)
        state: AppState = locked.call(lambda s: s)
        assert [str(n) for n in state.allowed] == ["10.0.0.0/8"]
        assert api.get("/domains") == {"_success": False, "_msg": "NOT_AUTHORIZED"}
        api.close()


def test_empty_allow_list_allows_everyone(anon: Api) -> None:
    assert anon.login() == {"_success": True}


def test_normal_admin_permission_denied(helpdesk: tuple[Api, str], admin: Api) -> None:
    api, managed = helpdesk
    other = unique_domain()
    admin.ok("POST", f"/domain/{other}")
    denied = {"_success": False, "_msg": "PERMISSION_DENIED"}
    # Global-only endpoints.
    assert api.post(f"/domain/{unique_domain()}") == denied
    assert api.get(f"/admin/{HELPDESK}") == denied
    assert api.post(f"/verify_password/user/x@{managed}", data={"password": "x"}) == denied
    assert api.get("/spampolicy/global") == denied
    assert api.get("/throttle/global/inbound") == denied
    # Domain-scoped endpoints of a domain it does not manage.
    assert api.get(f"/domain/{other}") == denied
    assert api.post(f"/user/u@{other}", data={"password": USER_PASSWORD}) == denied
    assert api.get(f"/users/{other}") == denied
    assert api.get(f"/spampolicy/domain/{other}") == denied
    # Its own domain works.
    assert api.ok("GET", f"/domain/{managed}")["domain"] == managed
    assert api.ok("GET", "/domains", params={"name_only": ""}) == [managed]
    assert api.post(f"/user/u@{managed}", data={"password": USER_PASSWORD}) == {"_success": True}


def test_normal_admin_cannot_touch_global_admin_user(helpdesk: tuple[Api, str], admin: Api) -> None:
    api, managed = helpdesk
    new_user(admin, f"boss@{managed}")
    admin.ok("PUT", f"/user/boss@{managed}", data={"isGlobalAdmin": "yes"})
    code = {"_success": False, "_msg": "PERMISSION_DENIED_UPDATE_GLOBAL_ADMIN_PROFILE"}
    assert api.put(f"/user/boss@{managed}", data={"name": "x"}) == code
    assert api.delete(f"/user/boss@{managed}") == code
    assert admin.ok("GET", f"/user/boss@{managed}")["isglobaladmin"] == 1


def test_normal_admin_promotes_only_own_users(helpdesk: tuple[Api, str], admin: Api) -> None:
    api, managed = helpdesk
    new_user(admin, f"second@{managed}")
    assert api.put(f"/domain/admins/{managed}", data={"addAdmin": f"second@{managed}"}) == {"_success": True}
    assert f"second@{managed}" in api.ok("GET", f"/domain/admins/{managed}")
    outsider = "outsider@admins.example.org"
    admin.ok("POST", f"/admin/{outsider}", data={"password": PASSWORD})
    reply = api.put(f"/domain/admins/{managed}", data={"addAdmin": outsider})
    assert reply == {"_success": False, "_msg": "PERMISSION_DENIED"}


def test_idle_sessions_are_purged_at_login(private: Sandbox) -> None:
    private.expire_sessions()
    first = _login(private)
    start = time.time()
    private.call(lambda state: setattr(state.sessions, "clock", lambda: start + 10_000))
    try:
        second = _login(private)
        assert private.call(lambda state: len(state.sessions)) == 1
        with sqlite3.connect(private.config.db_path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (1,)
    finally:
        private.call(lambda state: setattr(state.sessions, "clock", time.time))
    first.close()
    second.close()
