"""Reading the target's state before planning: the first round trips overlap where they can."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import httpx
import pytest

from migrate.client import ApiClient
from migrate.errors import RejectedByServer
from migrate.model import Domain, User
from migrate.readers.server import read_state
from migrate.retry import RetryPolicy

COOKIE = {"Set-Cookie": "iRedAdmin-Pro-MYSQL=" + "c" * 40}


async def _no_sleep(seconds: float) -> None:
    return None


def _ok(data: object) -> httpx.Response:
    return httpx.Response(200, json={"_success": True, "_data": data}, headers=COOKIE)


class Server:
    """A SQL-edition server where the edition probe and the domain list wait for each other.

    Each of the two answers only once the other request has arrived too, so a client that
    sends them one after the other times out instead of reading the state.
    """

    def __init__(self) -> None:
        self.arrived: set[str] = set()
        self.both = asyncio.Event()
        self.paths: list[str] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path).removeprefix("/iredadmin/api")
        self.paths.append(path)
        if path == "/login":
            return httpx.Response(200, json={"_success": True}, headers=COOKIE)
        if path.startswith("/maillist/") or path == "/domains":
            self.arrived.add("probe" if path.startswith("/maillist/") else "domains")
            if len(self.arrived) == 2:
                self.both.set()
            await asyncio.wait_for(self.both.wait(), timeout=2)
            if path.startswith("/maillist/"):
                return httpx.Response(404, text="not found")  # no such endpoint: the SQL edition
            return _ok({"old.example": {"domain": "old.example"}})
        return httpx.Response(404, text="not found")


def _client(server: Server) -> ApiClient:
    return ApiClient(
        "http://mail.test/iredadmin/api",
        "postmaster@mail.test",
        "Adm1n#Pass-Word",
        transport=httpx.MockTransport(server.handle),
        retry=RetryPolicy(max_attempts=1, sleep=_no_sleep),
    )


def test_edition_probe_and_domain_list_are_in_flight_together() -> None:
    server = Server()

    async def main() -> tuple[str, dict[str, object]]:
        async with _client(server) as client:
            await client.login()
            state = await read_state(client, [Domain(domain="new.example"), User(email="a@new.example")])
            return state.edition, dict(state.domains)

    edition, domains = asyncio.run(main())
    assert edition == "sql"
    assert domains == {}  # new.example is not on the server; old.example is not ours to read
    assert server.both.is_set()
    assert server.paths.count("/domains") == 1


def test_an_error_of_the_probe_leaves_no_stray_request(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Server):
        async def handle(self, request: httpx.Request) -> httpx.Response:
            path = unquote(request.url.path).removeprefix("/iredadmin/api")
            if path.startswith("/maillist/"):
                raise RejectedByServer("probe refused", code="PERMISSION_DENIED")
            if path == "/domains":
                await asyncio.sleep(10)  # cancelled, never answered
            return await super().handle(request)

    server = Broken()

    async def main() -> None:
        async with _client(server) as client:
            await client.login()
            with pytest.raises(RejectedByServer):
                await read_state(client, [Domain(domain="new.example")])

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(main(), timeout=5))
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    finally:
        loop.close()
    assert pending == []
    assert "never retrieved" not in caplog.text
