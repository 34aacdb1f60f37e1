"""Shared helpers of the sandbox conformance suite (constants, a thin httpx wrapper)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx

from migrate.sandbox import SandboxConfig

ADMIN = "postmaster@sandbox.test"
PASSWORD = "Adm1n#Sandbox"
USER_PASSWORD = "Us3r#Passw0rd"
HELPDESK = "helpdesk@admins.example.org"

_counter = itertools.count(1)


class Api:
    """A plain httpx client on a sandbox, with JSON helpers; redirects are never followed."""

    def __init__(self, base_url: str, **client_kw: Any) -> None:
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10.0, **client_kw)

    def close(self) -> None:
        self.client.close()

    def raw(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, **kw)

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        response = self.client.request(method, path, **kw)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json")
        body: dict[str, Any] = response.json()
        return body

    def get(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.call("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.call("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.call("DELETE", path, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        """Call and insist on success; returns ``_data`` (or ``setting``)."""
        body = self.call(method, path, **kw)
        assert body.get("_success") is True, (method, path, body)
        return body.get("_data", body.get("setting"))

    def login(self, username: str = ADMIN, password: str = PASSWORD) -> dict[str, Any]:
        return self.post("/login", data={"username": username, "password": password})


def unique_domain(prefix: str = "d") -> str:
    return f"{prefix}{next(_counter)}.example.com"


def make_config(tmp: Path, **kw: Any) -> SandboxConfig:
    return SandboxConfig(db_path=str(tmp / "sandbox.db"), admin_email=ADMIN, admin_password=PASSWORD, **kw)


def new_user(api: Api, mail: str, **params: Any) -> None:
    data = {"password": USER_PASSWORD, **params}
    api.ok("POST", f"/user/{mail}", data=data)
