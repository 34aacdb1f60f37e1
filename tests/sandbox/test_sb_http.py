"""HTTP-level behaviour: envelope, encodings, redirects, 404/405 (reference §4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sbhelpers import ADMIN, PASSWORD, Api, make_config, new_user

from migrate.sandbox import Sandbox, SandboxConfig, store_mail


def test_envelope_success_failure_and_data(admin: Api, domain: str) -> None:
    write = admin.post(f"/user/u@{domain}", data={"password": "Us3r#Passw0rd"})
    assert write == {"_success": True}
    read = admin.get(f"/user/u@{domain}")
    assert read["_success"] is True and read["_data"]["username"] == f"u@{domain}"
    failure = admin.get(f"/user/nobody@{domain}")
    assert failure == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}


def test_failures_are_http_200_json(anon: Api) -> None:
    response = anon.raw("GET", "/domains")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"_success": False, "_msg": "LOGIN_REQUIRED"}


def test_json_body_is_not_understood(admin: Api, domain: str) -> None:
    body = json.dumps({"password": "Us3r#Passw0rd", "name": "Json"})
    reply = admin.post(f"/user/j@{domain}", content=body, headers={"Content-Type": "application/json"})
    assert reply == {"_success": False, "_msg": "PW_EMPTY"}


def test_multipart_body_also_parses(admin: Api, domain: str) -> None:
    files = {"password": (None, "Us3r#Passw0rd"), "name": (None, "Multi")}
    assert admin.post(f"/user/m@{domain}", files=files) == {"_success": True}
    assert admin.ok("GET", f"/user/m@{domain}")["name"] == "Multi"


def test_query_string_is_read_on_post(admin: Api, domain: str) -> None:
    assert admin.post(f"/user/q@{domain}", params={"name": "FromQuery"}, data={"password": "Us3r#Passw0rd"})["_success"]
    assert admin.ok("GET", f"/user/q@{domain}")["name"] == "FromQuery"


def test_delete_options_from_query_string_body_ignored(admin: Api, domain: str, sandbox: Sandbox) -> None:
    admin.ok("POST", f"/ml/list1@{domain}")
    admin.ok("POST", f"/ml/list2@{domain}")
    # The body of a DELETE is ignored: keep_archive=no there has no effect ...
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    admin.ok("DELETE", f"/ml/list1@{domain}", content=b"keep_archive=no", headers=form)
    # ... while the query string is read.
    admin.ok("DELETE", f"/ml/list2@{domain}", params={"keep_archive": "no"})
    archive = Path(sandbox.config.db_path + ".mlmmj") / "archive" / domain
    assert (archive / "list1.json").exists()
    assert not (archive / "list2.json").exists()
    assert not (Path(sandbox.config.db_path + ".mlmmj") / domain / "list2.json").exists()


def test_trailing_slash_redirects_303(admin: Api, domain: str) -> None:
    response = admin.raw("PUT", f"/user/x@{domain}/", data={"name": "n"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/iredadmin/api/user/x@{domain}"
    response = admin.raw("GET", "/domains/?name_only=yes")
    assert response.status_code == 303
    assert response.headers["location"] == "/iredadmin/api/domains?name_only=yes"


@pytest.mark.parametrize(
    "path",
    ["/user/notanemail", "/domain/nodot", "/alias/foo", "/maillist/list@example.com", "/ldif/domain/example.com",
     "/ldif/user/u@example.com", "/nosuchthing", "/greylisting/global"],
    ids=["user-no-at", "domain-no-dot", "alias-no-at", "maillist-ldap-only", "ldif-domain", "ldif-user", "unknown",
         "greylisting-not-built"],
)  # fmt: skip
def test_plain_404_for_malformed_paths(admin: Api, path: str) -> None:
    response = admin.raw("GET", path)
    assert response.status_code == 404
    assert response.text == "not found"
    assert not response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/user/a@example.com"), ("DELETE", "/throttle/global/inbound"), ("POST", "/domains"),
     ("PUT", "/login"), ("GET", "/verify_password/user/a@example.com")],
    ids=["patch-user", "delete-throttle", "post-domains", "put-login", "get-verify"],
)  # fmt: skip
def test_405_for_unimplemented_methods(admin: Api, method: str, path: str) -> None:
    response = admin.raw(method, path)
    assert response.status_code == 405


def test_get_login_is_invalid_http_method(anon: Api) -> None:
    assert anon.get("/login") == {"_success": False, "_msg": "INVALID_HTTP_METHOD"}


def test_unexpected_error_is_repr_in_msg(admin: Api, domain: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(db: object, username: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(store_mail, "get_mailbox", boom)
    assert admin.get(f"/user/x@{domain}") == {"_success": False, "_msg": "RuntimeError('boom')"}


def test_old_envelope_dialect() -> None:
    config = SandboxConfig(admin_email=ADMIN, admin_password=PASSWORD, old_envelope=True)
    with Sandbox(config) as old:
        api = Api(old.base_url)
        assert api.get("/domains") == {"success": False, "msg": "LOGIN_REQUIRED"}
        assert api.post("/login", data={"username": ADMIN, "password": PASSWORD}) == {"success": True}
        body = api.get("/domains", params={"name_only": ""})
        assert body["success"] is True and "_success" not in body and body["_data"] == []
        api.close()


def test_failed_write_changes_nothing(admin: Api, domain: str, monkeypatch: pytest.MonkeyPatch) -> None:
    new_user(admin, f"keep@{domain}")

    def boom(*args: object, **kw: object) -> None:
        raise RuntimeError("disk full")

    # The profile is written before the forwardings fail: the transaction must roll it back.
    monkeypatch.setattr(store_mail, "set_user_forwardings", boom)
    reply = admin.put(f"/user/keep@{domain}", data={"name": "Changed", "forwarding": "x@example.org"})
    assert reply == {"_success": False, "_msg": "RuntimeError('disk full')"}
    assert admin.ok("GET", f"/user/keep@{domain}")["name"] == ""


def test_redirect_targets_are_web_pages(admin: Api, domain: str) -> None:
    response = admin.raw("GET", f"/user/x@{domain}/")
    assert response.status_code == 303
    page = admin.client.get(admin.client.base_url.join("/iredadmin/login?msg=<b>SESSION_EXPIRED</b>"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;SESSION_EXPIRED" in page.text


def test_expose_password_hashes_switch(tmp_path: Path) -> None:
    with Sandbox(make_config(tmp_path, expose_password_hashes=True)) as exposing:
        api = Api(exposing.base_url)
        api.login()
        api.ok("POST", "/domain/expose.example.com")
        new_user(api, "u@expose.example.com")
        assert api.ok("GET", "/user/u@expose.example.com")["password"].startswith("{SSHA512}")
        assert api.ok("GET", "/users/expose.example.com")[0]["password"].startswith("{SSHA512}")
        assert api.ok("GET", f"/admin/{ADMIN}")["password"].startswith("{SSHA512}")
        api.close()


def test_hashes_hidden_by_default(admin: Api, domain: str) -> None:
    new_user(admin, f"h@{domain}")
    assert "password" not in admin.ok("GET", f"/user/h@{domain}")
    assert "password" not in admin.ok("GET", f"/users/{domain}")[0]
    assert "password" not in admin.ok("GET", f"/admin/{ADMIN}")
