"""LDAP edition over HTTP: login as LDAP admins, roles, reply shapes, the SQL edition's rules on the DIT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sbhelpers import ADMIN, HELPDESK, PASSWORD, USER_PASSWORD, Api, make_config, new_user, unique_domain

from migrate.sandbox import Sandbox

BAD_LOGIN = {"_success": False, "_msg": "INVALID_CREDENTIALS"}


@pytest.fixture
def dom(api: Api) -> str:
    name = unique_domain("api")
    api.ok("POST", f"/domain/{name}", data={"name": "Api"})
    return name


@pytest.fixture
def client(ldap: Sandbox) -> Iterator[Api]:
    fresh = Api(ldap.base_url)
    yield fresh
    fresh.close()


def test_session_cookie_is_the_ldap_one(ldap: Sandbox) -> None:
    reply = httpx.post(ldap.base_url + "/login", data={"username": ADMIN, "password": PASSWORD})
    assert reply.json() == {"_success": True}
    cookie = reply.headers["set-cookie"]
    name, _, rest = cookie.partition("=")
    assert name == "iRedAdmin-Pro-LDAP"
    assert len(rest.split(";", 1)[0]) == 40 and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_login_as_a_standalone_normal_admin_is_limited_to_its_domains(api: Api, client: Api, dom: str) -> None:
    other = unique_domain("api")
    api.ok("POST", f"/domain/{other}")
    api.ok("POST", f"/admin/{HELPDESK}", data={"password": PASSWORD, "name": "Desk"})
    api.ok("PUT", f"/domain/admins/{dom}", data={"addAdmin": HELPDESK})
    assert client.login(HELPDESK, PASSWORD) == {"_success": True}
    assert client.ok("GET", "/domains", params={"name_only": ""}) == [dom]
    assert client.ok("GET", f"/domain/{dom}")["domain"] == dom
    denied = {"_success": False, "_msg": "PERMISSION_DENIED"}
    assert client.call("GET", f"/domain/{other}") == denied
    assert client.call("POST", f"/user/x@{other}", data={"password": USER_PASSWORD}) == denied
    assert client.call("GET", f"/admin/{HELPDESK}") == denied
    assert client.call("POST", f"/domain/{unique_domain('api')}") == denied
    api.ok("DELETE", f"/admin/{HELPDESK}")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [({"isGlobalAdmin": "yes"}, {"_success": True}), ({"admin_of_domain": "yes"}, {"_success": True}), ({}, BAD_LOGIN)],
    ids=["user-with-domainGlobalAdmin", "user-with-domainadmin-service", "plain-user"],
)  # fmt: skip
def test_login_as_a_mail_user(api: Api, client: Api, dom: str, flags: dict[str, str], expected: dict[str, Any]) -> None:
    new_user(api, f"boss@{dom}")
    if "isGlobalAdmin" in flags:
        api.ok("PUT", f"/user/boss@{dom}", data=flags)
    if "admin_of_domain" in flags:
        api.ok("PUT", f"/domain/admins/{dom}", data={"addAdmin": f"boss@{dom}"})
    assert client.login(f"boss@{dom}", USER_PASSWORD) == expected
    if expected["_success"]:
        mine = client.ok("GET", "/domains", params={"name_only": ""})
        assert dom in mine and (len(mine) > 1) == ("isGlobalAdmin" in flags)


def test_login_refusals(api: Api, client: Api, dom: str) -> None:
    new_user(api, f"adm@{dom}")
    api.ok("PUT", f"/domain/admins/{dom}", data={"addAdmin": f"adm@{dom}"})
    assert client.login(f"adm@{dom}", "Wrong#Passw0rd") == BAD_LOGIN
    api.ok("PUT", f"/user/adm@{dom}", data={"accountStatus": "disabled"})
    assert client.login(f"adm@{dom}", USER_PASSWORD) == BAD_LOGIN
    api.ok("PUT", f"/user/adm@{dom}", data={"accountStatus": "active"})
    api.ok("PUT", f"/domain/{dom}", data={"accountStatus": "disabled"})
    assert client.login(f"adm@{dom}", USER_PASSWORD) == BAD_LOGIN
    api.ok("POST", "/admin/off@msp.example", data={"password": PASSWORD, "accountStatus": "disabled"})
    assert client.login("off@msp.example", PASSWORD) == BAD_LOGIN
    assert client.login("nobody@msp.example", PASSWORD) == BAD_LOGIN
    assert client.login("not-an-address", PASSWORD) == {"_success": False, "_msg": "INVALID_USERNAME"}


def test_user_reply_has_ldap_attributes_and_sql_keys(api: Api, dom: str) -> None:
    new_user(api, f"john@{dom}", name="John", quota="300", language="de_DE")
    api.ok("PUT", f"/user/john@{dom}", data={"employeeid": "E1", "forwarding": f"john@{dom},x@ext.example",
                                             "aliases": f"jo@{dom}", "recipientBcc": "rb@ext.example"})  # fmt: skip
    data = api.ok("GET", f"/user/john@{dom}")
    ldap_side = {
        "mail": f"john@{dom}",
        "cn": "John",
        "mailQuota": 300 * 1048576,
        "accountStatus": "active",
        "preferredLanguage": "de_DE",
        "employeeNumber": "E1",
        "shadowAddress": [f"jo@{dom}"],
        "mailForwardingAddress": [f"john@{dom}", "x@ext.example"],
        "userRecipientBccAddress": "rb@ext.example",
    }
    sql_side = {"username": f"john@{dom}", "name": "John", "quota": 300, "active": 1, "language": "de_DE",
                "employeeid": "E1", "forwardings": [f"john@{dom}", "x@ext.example"], "aliases": [f"jo@{dom}"],
                "recipient_bcc_address": "rb@ext.example", "isadmin": 0, "isglobaladmin": 0, "domain": dom}  # fmt: skip
    assert {k: data[k] for k in ldap_side} == ldap_side
    assert {k: data[k] for k in sql_side} == sql_side
    assert "userPassword" not in data and "password" not in data
    rows = api.ok("GET", f"/users/{dom}")
    assert [row["username"] for row in rows] == [f"john@{dom}"] and rows[0]["quota"] == 300


def test_domain_reply_has_ldap_attributes_and_sql_keys(api: Api, dom: str) -> None:
    api.ok("PUT", f"/domain/{dom}", data={"defaultQuota": "100", "maxUserQuota": "200", "numberOfUsers": "7",
                                          "minPasswordLength": "9", "quota": "1000", "addAliasDomain": f"alias-{dom}",
                                          "recipientBcc": "rb@ext.example"})  # fmt: skip
    new_user(api, f"u@{dom}", quota="150")
    data = api.ok("GET", f"/domain/{dom}")
    assert data["accountSetting"] == {"defaultQuota": 100, "maxUserQuota": 200, "numberOfUsers": 7,
                                      "minPasswordLength": 9, "domainQuota": 1000}  # fmt: skip
    assert (data["domainName"], data["cn"], data["domainAliasName"]) == (dom, "Api", [f"alias-{dom}"])
    sql_side = {"domain": dom, "description": "Api", "maxquota": 1000, "mailboxes": 7, "aliases": 0, "maillists": 0,
                "alias_domains": [f"alias-{dom}"], "catchall": [], "rbcc_addr": "rb@ext.example", "sbcc_addr": "",
                "num_existing_users": 1, "allocated_quota": 150, "active": 1}  # fmt: skip
    assert {k: data[k] for k in sql_side} == sql_side
    assert {k: data["settings"][k] for k in ("default_user_quota", "max_user_quota", "min_passwd_length")} == {
        "default_user_quota": 100, "max_user_quota": 200, "min_passwd_length": 9}  # fmt: skip
    listed = api.ok("GET", "/domains")
    assert listed[dom]["mailboxes"] == 7 and listed[dom]["accountSetting"]["numberOfUsers"] == 7


@pytest.mark.parametrize(
    ("domain_params", "asked", "stored"),
    [({"maxUserQuota": "200"}, "500", 200), ({"quota": "300"}, "500", 300),
     ({"quota": "300", "defaultQuota": "50"}, "0", 50), ({}, "0", 0)],
    ids=["clamped-to-max-user-quota", "clamped-to-spare-domain-quota", "zero-becomes-default", "unlimited"],
)  # fmt: skip
def test_quota_rules_as_the_sql_edition(
    api: Api, dom: str, domain_params: dict[str, str], asked: str, stored: int
) -> None:
    api.ok("PUT", f"/domain/{dom}", data=domain_params)
    new_user(api, f"q@{dom}", quota=asked)
    assert api.ok("GET", f"/user/q@{dom}")["quota"] == stored


def test_no_spare_domain_quota_and_password_policy_from_accountsetting(api: Api, dom: str) -> None:
    api.ok("PUT", f"/domain/{dom}", data={"quota": "100", "minPasswordLength": "20"})
    weak = api.call("POST", f"/user/a@{dom}", data={"password": USER_PASSWORD, "quota": "100"})
    assert weak == {"_success": False, "_msg": "PW_SHORTER_THAN_MIN_LENGTH"}
    new_user(api, f"a@{dom}", password="Long#Enough#Passw0rd", quota="100")
    full = api.call("POST", f"/user/b@{dom}", data={"password": "Long#Enough#Passw0rd"})
    assert full == {"_success": False, "_msg": "EXCEEDED_DOMAIN_QUOTA_SIZE"}


def test_account_limits_and_existence_checks(api: Api, dom: str) -> None:
    api.ok("PUT", f"/domain/{dom}", data={"numberOfUsers": "2", "numberOfAliases": "-1", "catchall": "x@ext.example"})
    new_user(api, f"one@{dom}")
    # The catch-all lives in ou=Users but does not count as a user.
    new_user(api, f"two@{dom}")
    assert api.call("POST", f"/user/three@{dom}", data={"password": USER_PASSWORD}) == {
        "_success": False, "_msg": "EXCEEDED_DOMAIN_ACCOUNT_LIMIT"}  # fmt: skip
    assert api.call("POST", f"/alias/al@{dom}") == {"_success": False, "_msg": "NOT_ALLOWED"}
    api.ok("PUT", f"/domain/{dom}", data={"numberOfUsers": "0"})
    api.ok("PUT", f"/user/one@{dom}", data={"aliases": f"nick@{dom}"})
    for path in (f"/user/nick@{dom}", f"/alias/one@{dom}", f"/maillist/one@{dom}", f"/ml/nick@{dom}"):
        assert api.call("POST", path, data={"password": USER_PASSWORD}) == {"_success": False, "_msg": "ALREADY_EXISTS"}
    assert api.call("POST", f"/domain/{dom}") == {"_success": False, "_msg": "ALREADY_EXISTS"}


def test_alias_access_policy_is_sql_only(api: Api, dom: str) -> None:
    api.ok("POST", f"/alias/a@{dom}", data={"accessPolicy": "membersonly", "name": "A"})
    api.ok("PUT", f"/alias/a@{dom}", data={"accessPolicy": "domain", "addMember": "m@ext.example"})
    data = api.ok("GET", f"/alias/a@{dom}")
    assert "accesspolicy" not in data and "accessPolicy" not in data
    assert (data["address"], data["name"], data["members"], data["mailForwardingAddress"]) == (
        f"a@{dom}", "A", ["m@ext.example"], ["m@ext.example"])  # fmt: skip
    assert api.ok("GET", f"/aliases/{dom}", params={"email_only": ""}) == [f"a@{dom}"]
    assert "members" not in api.ok("GET", f"/aliases/{dom}")[0]
    assert api.call("PUT", f"/alias/none@{dom}", data={"name": "x"}) == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}


def test_passwords_verify_and_hashes_stored_verbatim(api: Api, dom: str) -> None:
    new_user(api, f"p@{dom}")
    assert api.call("POST", f"/verify_password/user/p@{dom}", data={"password": USER_PASSWORD}) == {"_success": True}
    assert api.call("POST", f"/verify_password/user/p@{dom}", data={"password": "Wrong#1x"}) == {"_success": False}
    plain = "{PLAIN}Plain#Passw0rd"
    api.ok("PUT", f"/user/p@{dom}", data={"password_hash": plain})
    assert api.call("POST", f"/verify_password/user/p@{dom}", data={"password": "Plain#Passw0rd"}) == {"_success": True}
    bad = api.call("POST", f"/user/h@{dom}", data={"password_hash": "$1$abc$def"})
    assert bad == {"_success": False, "_msg": "INVALID_PASSWORD_SCHEME"}
    assert api.call("POST", f"/verify_password/admin/{ADMIN}", data={"password": PASSWORD}) == {"_success": True}


def test_bulk_update_and_rename(api: Api, dom: str) -> None:
    new_user(api, f"a@{dom}")
    new_user(api, f"b@{dom}")
    api.ok(
        "PUT", f"/users/{dom}", data={"accountStatus": "disabled", "language": "it_IT", "password": "Bulk#Passw0rd1"}
    )
    rows = api.ok("GET", f"/users/{dom}", params={"disabled_only": ""})
    assert [(r["username"], r["language"], r["active"]) for r in rows] == [
        (f"a@{dom}", "it_IT", 0),
        (f"b@{dom}", "it_IT", 0),
    ]
    assert api.call("POST", f"/verify_password/user/b@{dom}", data={"password": "Bulk#Passw0rd1"}) == {"_success": True}
    api.ok("POST", f"/user/a@{dom}/change_email/c@{dom}")
    assert api.ok("GET", f"/users/{dom}", params={"email_only": ""}) == [f"b@{dom}", f"c@{dom}"]
    assert api.call("POST", f"/user/a@{dom}/change_email/d@{dom}") == {"_success": False, "_msg": "OLD_EMAIL_NOT_EXIST"}


def test_missing_accounts_and_idempotent_deletes(api: Api, dom: str) -> None:
    missing = {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}
    assert api.call("GET", f"/user/none@{dom}") == missing
    assert api.call("PUT", f"/user/none@{dom}", data={"name": "x"}) == missing
    assert api.call("GET", "/admin/none@msp.example") == missing
    assert api.call("GET", f"/domain/missing-{dom}") == {"_success": False, "_msg": "INVALID_DOMAIN_NAME"}
    for path in (f"/user/none@{dom}", f"/alias/none@{dom}", f"/ml/none@{dom}", f"/domain/missing-{dom}"):
        assert api.call("DELETE", path) == {"_success": True}


def test_spam_policy_and_throttle_work_on_the_ldap_edition(api: Api, dom: str) -> None:
    api.ok("PUT", f"/spampolicy/domain/{dom}", data={"spam_score": "5.5", "quarantine_spam": "yes"})
    assert api.ok("GET", f"/spampolicy/domain/{dom}")["spam_score"] == 5.5
    api.ok("POST", f"/throttle/{dom}/outbound", data={"period": "3600", "max_msgs": "100"})
    assert api.call("GET", f"/throttle/{dom}/outbound")["setting"]["max_msgs"] == 100


def test_restart_keeps_the_directory(tmp_path: Path) -> None:
    config = make_config(tmp_path, edition="ldap")
    with Sandbox(config) as running:
        api = Api(running.base_url)
        api.login()
        api.ok("POST", "/domain/keep.example")
        new_user(api, "u@keep.example")
        api.close()
    config.admin_password = "Changed#Passw0rd"
    with Sandbox(config) as running:
        api = Api(running.base_url)
        assert api.login(ADMIN, PASSWORD) == BAD_LOGIN
        assert api.login(ADMIN, "Changed#Passw0rd") == {"_success": True}
        assert api.ok("GET", "/users/keep.example", params={"email_only": ""}) == ["u@keep.example"]
        api.close()


def test_cli_sandbox_serve_edition_ldap(tmp_path: Path) -> None:
    env = {**os.environ, "IREDADMIN_PASSWORD": PASSWORD, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "migrate", "sandbox", "serve", "--edition", "ldap", "--port", "0",
               "--db", str(tmp_path / "served.db"), "--admin", ADMIN]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split()[2]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/iredadmin/api"), line
        with httpx.Client(base_url=url, timeout=10) as api:
            reply = api.post("/login", data={"username": ADMIN, "password": PASSWORD})
            assert reply.json() == {"_success": True} and "iRedAdmin-Pro-LDAP" in api.cookies
            assert api.post("/domain/served.example").json() == {"_success": True}
            assert api.get("/maillist/none@served.example").json() == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert PASSWORD not in err


def test_release_quirks_apply_to_the_ldap_edition_too(tmp_path: Path) -> None:
    quirks = {"pass_the_hash", "put_missing_user_succeeds", "user_add_service_noop", "empty_passsword_typo"}
    with Sandbox(make_config(tmp_path, edition="ldap", quirks=quirks, expose_password_hashes=True)) as running:
        api = Api(running.base_url)
        api.login()
        api.ok("POST", "/domain/quirk.example")
        new_user(api, "u@quirk.example")
        stored = api.ok("GET", "/user/u@quirk.example")["password"]
        assert api.call("POST", "/verify_password/user/u@quirk.example", data={"password": stored}) == {
            "_success": True}  # fmt: skip
        assert api.call("POST", "/verify_password/user/u@quirk.example", data={"password": ""}) == {
            "_success": False, "_msg": "EMPTY_PASSSWORD"}  # fmt: skip
        assert api.call("PUT", "/user/none@quirk.example", data={"name": "x"}) == {"_success": True}
        api.ok("PUT", "/user/u@quirk.example", data={"addService": "custom", "removeService": "pop3"})
        services = api.ok("GET", "/user/u@quirk.example")["enabledService"]
        assert "custom" not in services and "pop3" not in services and "imap" in services
        api.close()


def test_user_services_keep_any_name(api: Api, dom: str) -> None:
    new_user(api, f"s@{dom}")
    api.ok("PUT", f"/user/s@{dom}", data={"services": "imap,smtp,customService"})
    assert sorted(api.ok("GET", f"/user/s@{dom}")["enabledService"]) == ["customService", "imap", "smtp"]
    api.ok("PUT", f"/user/s@{dom}", data={"addService": "pop3", "removeService": "CUSTOMSERVICE"})
    assert sorted(api.ok("GET", f"/user/s@{dom}")["enabledService"]) == ["imap", "pop3", "smtp"]
