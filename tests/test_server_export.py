"""Reading a whole server for export: a failure on any object is reported, never silently skipped."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from migrate.client import ApiClient
from migrate.model import Domain, Throttle, User
from migrate.readers.server_export import read_everything
from migrate.retry import RetryPolicy


async def _no_sleep(seconds: float) -> None:
    return None


def fake_server(broken: str) -> httpx.MockTransport:
    """A two-user SQL-edition server whose GET of ``broken`` keeps failing with HTTP 502."""

    def reply(data: object = None, **extra: object) -> httpx.Response:
        body = {"_success": True, **extra} if data is None else {"_success": True, "_data": data}
        return httpx.Response(200, json=body, headers={"Set-Cookie": "iRedAdmin-Pro-MYSQL=" + "a" * 40})

    def handle(request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path).removeprefix("/iredadmin/api")
        if path == "/login":
            return reply()
        if path == "/domains":
            return reply({"example.com": {"domain": "example.com"}})
        if path == "/domain/example.com":
            return reply({"domain": "example.com", "maxquota": 0, "catchall": [], "alias_domains": []})
        if path == "/domain/admins/example.com":
            return reply([])
        if path == "/users/example.com":
            return reply([{"username": "a@example.com", "quota": 10}, {"username": "b@example.com", "quota": 20}])
        if path in ("/aliases/example.com", "/mls/example.com"):
            return reply([])
        if path == f"/user/{broken}":
            return httpx.Response(502, text="502 Bad Gateway")
        if path.startswith("/user/"):
            email = path.rsplit("/", 1)[1]
            return reply({"username": email, "quota": 10, "forwardings": [], "aliases": []})
        if path.startswith("/spampolicy/"):
            return reply({})
        if path.startswith("/throttle/"):
            setting = {"period": 60, "max_msgs": 5} if path == "/throttle/a@example.com/outbound" else {}
            return reply(setting=setting)
        return httpx.Response(404, text="not found")

    return httpx.MockTransport(handle)


def read(broken: str) -> tuple[list[object], list[tuple[str, str, str]], int]:
    async def main() -> tuple[list[object], list[tuple[str, str, str]], int]:
        retry = RetryPolicy(max_attempts=2, sleep=_no_sleep)
        async with ApiClient(
            "http://mail.test/iredadmin/api", "admin@x.test", "Adm1n#pass", retry=retry, transport=fake_server(broken)
        ) as client:
            result = await read_everything(client)
            return result.objects, [(f.kind, f.key, f.code) for f in result.failures], result.calls

    return asyncio.run(main())


def test_every_object_is_read_with_list_endpoints_first() -> None:
    objects, failures, calls = read(broken="nobody@example.com")
    assert failures == []
    assert {type(o).__name__ for o in objects} == {"Domain", "User", "Throttle"}
    assert sorted(o.email for o in objects if isinstance(o, User)) == ["a@example.com", "b@example.com"]
    (throttle,) = [o for o in objects if isinstance(o, Throttle)]
    assert (throttle.key, throttle.period, throttle.max_msgs) == ("user:a@example.com:outbound", 60, 5)
    assert any(isinstance(o, Domain) for o in objects)
    # 1 domain list + 2 domain reads + 3 account lists + 2 user GETs + 3 policy reads x (global, domain, 2 users)
    assert calls == 1 + 2 + 3 + 2 + 3 * 4


def test_a_failed_read_is_reported_per_object() -> None:
    objects, failures, _ = read(broken="b@example.com")
    assert failures == [("user", "b@example.com", "HTTP_502")]
    assert sorted(o.email for o in objects if isinstance(o, User)) == ["a@example.com"]
    assert json.dumps(failures)  # plain data, printable by the CLI


def test_export_command_writes_nothing_and_exits_3_when_a_read_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    import migrate.exporter as exporter
    from migrate.cli import main
    from migrate.readers.server_export import ExportRead, ReadFailure

    async def partial(client: object, **kwargs: object) -> ExportRead:
        return ExportRead(
            objects=[User(email="a@example.com")],
            failures=[ReadFailure("user", "b@example.com", "HTTP_502", "GET /user/b@example.com: 502 Bad Gateway")],
        )

    monkeypatch.setattr(exporter, "read_everything", partial)
    out = tmp_path / "snap.json"
    result = CliRunner().invoke(main, ["export", "--sandbox", str(tmp_path / "sb.db"), "-o", str(out), "-q"])
    assert result.exit_code == 3
    assert "could not read user b@example.com" in result.output and "(HTTP_502)" in result.output
    assert "no snapshot was written" in result.output
    assert not out.exists() and not (tmp_path / "snap.json.sha256").exists()
