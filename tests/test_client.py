"""ApiClient against an in-memory fake API (httpx.MockTransport): no server, no real sleeps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from migrate.client import ApiClient
from migrate.client_wire import UnexpectedResponse, parse_retry_after, split_codes
from migrate.errors import (
    AuthError,
    ConfigError,
    EndpointUnsupported,
    RejectedByServer,
    TargetUnavailable,
)
from migrate.retry import RetryPolicy

BASE = "https://mail.test/iredadmin/api"
ADMIN = "postmaster@example.com"
PASSWORD = "S3cret-Adm1n-Passw0rd"
COOKIE_NAME = "iRedAdmin-Pro-MYSQL"

Reply = httpx.Response | Exception
Route = Callable[[httpx.Request], Reply | Awaitable[Reply]]


def ok(data: Any = None, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"_success": True, **extra}
    if data is not None:
        body["_data"] = data
    return httpx.Response(200, json=body)


def fail(msg: str | None) -> httpx.Response:
    return httpx.Response(200, json={"_success": False} if msg is None else {"_success": False, "_msg": msg})


def as_route(reply: Reply | Route) -> Route:
    if callable(reply) and not isinstance(reply, Exception):
        return reply

    def fixed(_request: httpx.Request) -> Reply:
        return reply

    return fixed


class FakeApi:
    """Just enough of iRedAdmin-Pro: login, cookie sessions, scripted routes, a request log."""

    def __init__(self) -> None:
        self.sessions: set[str] = set()
        self.serial = 0
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], list[Route]] = {}
        self.default: dict[tuple[str, str], Route] = {}
        self.login_reply: Callable[[], httpx.Response] | None = None

    def new_sid(self) -> str:
        self.serial += 1
        return f"{self.serial:040x}"

    def script(self, method: str, path: str, *replies: Reply | Route, then: Reply | Route | None = None) -> None:
        """Answer the next requests with ``replies`` in turn, then with ``then`` (default: ok)."""
        key = (method, "/iredadmin/api" + path)
        self.routes[key] = [as_route(r) for r in replies]
        if then is not None:
            self.default[key] = as_route(then)

    def expire(self) -> None:
        self.sessions.clear()

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == "/iredadmin/api" + path]

    def _session_ok(self, request: httpx.Request) -> bool:
        cookie = request.headers.get("cookie", "")
        return any(part.strip() == f"{COOKIE_NAME}={sid}" for part in cookie.split(";") for sid in self.sessions)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/iredadmin/api/login":
            return self._login(request)
        key = (request.method, request.url.path)
        queue = self.routes.get(key)
        route = queue.pop(0) if queue else self.default.get(key)
        if route is not None:
            reply = route(request)
            if asyncio.iscoroutine(reply):
                reply = await reply
            if isinstance(reply, Exception):
                raise reply
            assert isinstance(reply, httpx.Response)
            if reply is not SESSION_CHECK:
                return reply
        if not self._session_ok(request):
            # The real server starts a fresh anonymous session here and sends its cookie.
            response = fail("LOGIN_REQUIRED")
            response.headers["set-cookie"] = f"{COOKIE_NAME}={self.new_sid()}; HttpOnly; Path=/"
            return response
        return ok()

    def _login(self, request: httpx.Request) -> httpx.Response:
        if self.login_reply is not None:
            return self.login_reply()
        form = parse_qs(request.content.decode())
        if form.get("username") != [ADMIN] or form.get("password") != [PASSWORD]:
            return fail("INVALID_CREDENTIALS")
        sid = self.new_sid()
        self.sessions.add(sid)
        response = ok()
        response.headers["set-cookie"] = f"{COOKIE_NAME}={sid}; HttpOnly; SameSite=Strict; Path=/"
        return response


#: A scripted reply that falls through to the session check (then answers ok).
SESSION_CHECK = httpx.Response(200)


def session_checked(_request: httpx.Request) -> httpx.Response:
    return SESSION_CHECK


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make(api: FakeApi, fake: FakeTime | None = None, password: str = PASSWORD, **kwargs: Any) -> ApiClient:
    fake = fake or FakeTime()
    retry = kwargs.pop("retry", None) or RetryPolicy(jitter=0.0, sleep=fake.sleep, clock=fake.clock)
    return ApiClient(BASE, ADMIN, password, retry=retry, transport=httpx.MockTransport(api), **kwargs)


def run(fn: Callable[[ApiClient], Awaitable[Any]], api: FakeApi, **kwargs: Any) -> Any:
    async def main() -> Any:
        async with make(api, **kwargs) as client:
            return await fn(client)

    return asyncio.run(main())


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}


def query_of(request: httpx.Request) -> dict[str, str]:
    return {k: v for k, v in request.url.params.items()}


# --- envelope ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"_success": True, "_data": {"cn": "John"}}, (True, {"cn": "John"}, None)),
        ({"success": True, "data": {"cn": "John"}}, (True, {"cn": "John"}, None)),
        ({"_success": False, "_msg": "INVALID_MAIL"}, (False, None, "INVALID_MAIL")),
        ({"success": False, "msg": "INVALID_MAIL"}, (False, None, "INVALID_MAIL")),
        ({"_success": True, "_data": 5, "_msg": "OK"}, (True, 5, "OK")),
    ],
    ids=["current-get", "legacy-get", "current-failure", "legacy-failure", "write-with-data"],
)
def test_both_envelope_dialects(body: dict[str, Any], expected: tuple[bool, Any, str | None]) -> None:
    api = FakeApi()
    api.script("GET", "/user/john@example.com", httpx.Response(200, json=body))
    reply = run(lambda c: c.call("GET", "/user/john@example.com", allow_failure=True), api)
    assert (reply.ok, reply.data, reply.msg) == expected
    assert reply.status == 200
    assert reply.attempts == 1


def test_throttle_get_reads_the_setting_key() -> None:
    api = FakeApi()
    setting = {"period": 3600, "max_msgs": 100}
    api.script("GET", "/throttle/example.com/outbound", ok(setting=setting))
    assert run(lambda c: c.get_throttle("example.com", "outbound"), api) == setting


def test_msg_is_split_on_commas_into_codes() -> None:
    api = FakeApi()
    api.script("POST", "/user/a@example.com", fail("PW_NO_LETTER,PW_NO_DIGIT_NUMBER"))
    with pytest.raises(RejectedByServer) as info:
        run(lambda c: c.create_user("a@example.com", {"password": "12"}), api)
    assert info.value.code == "PW_NO_LETTER,PW_NO_DIGIT_NUMBER"
    assert info.value.key == "a@example.com"
    api.script("POST", "/user/a@example.com", fail("PW_NO_LETTER,PW_NO_DIGIT_NUMBER"))
    reply = run(lambda c: c.call("POST", "/user/a@example.com", allow_failure=True), api)
    assert reply.codes == ("PW_NO_LETTER", "PW_NO_DIGIT_NUMBER")


@pytest.mark.parametrize(
    ("msg", "codes"),
    [
        ("ALREADY_EXISTS", ("ALREADY_EXISTS",)),
        ("PW_NO_LETTER, PW_NO_UPPERCASE", ("PW_NO_LETTER", "PW_NO_UPPERCASE")),
        ("IntegrityError(1062, \"Duplicate entry 'a' for key 'PRIMARY'\")", ("SERVER_EXCEPTION",)),
    ],
    ids=["one", "two-with-space", "exception-text"],
)
def test_split_codes(msg: str, codes: tuple[str, ...]) -> None:
    assert split_codes(msg) == codes


@pytest.mark.parametrize(
    ("answer", "expected"), [(ok(), True), (fail(None), False)], ids=["right-password", "wrong-password"]
)
def test_verify_password_true_and_false(answer: httpx.Response, expected: bool) -> None:
    api = FakeApi()
    api.script("POST", "/verify_password/user/a@example.com", answer)
    assert run(lambda c: c.verify_user_password("a@example.com", "pw-under-test"), api) is expected
    assert form_of(api.sent("POST", "/verify_password/user/a@example.com")[0]) == {"password": "pw-under-test"}


def test_verify_password_with_a_code_raises() -> None:
    api = FakeApi()
    api.script("POST", "/verify_password/admin/a@example.net", fail("EMPTY_PASSSWORD"))
    with pytest.raises(RejectedByServer) as info:
        run(lambda c: c.verify_admin_password("a@example.net", ""), api)
    assert info.value.code == "EMPTY_PASSSWORD"


@pytest.mark.parametrize("status", [404, 405], ids=["404", "405"])
@pytest.mark.parametrize("allow_failure", [False, True], ids=["raising", "allow-failure"])
def test_plain_404_405_is_endpoint_unsupported(status: int, allow_failure: bool) -> None:
    api = FakeApi()
    api.script("GET", "/maillist/list@example.com", httpx.Response(status, text="not found"))
    with pytest.raises(EndpointUnsupported) as info:
        run(lambda c: c.call("GET", "/maillist/list@example.com", allow_failure=allow_failure), api)
    assert info.value.code == f"HTTP_{status}"
    assert info.value.key == "list@example.com"
    assert len(api.sent("GET", "/maillist/list@example.com")) == 1


def test_non_json_200_is_a_clear_error() -> None:
    api = FakeApi()
    api.script("GET", "/domains", httpx.Response(200, text="<html>iRedAdmin login</html>"))
    with pytest.raises(UnexpectedResponse) as info:
        run(lambda c: c.list_domains(), api)
    assert info.value.code == "NOT_JSON"
    assert "iredadmin/api" in info.value.hint


def test_redirect_elsewhere_is_a_clear_error_and_not_followed() -> None:
    api = FakeApi()
    api.script("PUT", "/user/a@example.com", httpx.Response(303, headers={"location": "/somewhere/else"}))
    with pytest.raises(UnexpectedResponse) as info:
        run(lambda c: c.update_user("a@example.com", {"name": "A"}), api)
    assert "/somewhere/else" in info.value.message
    assert len(api.sent("PUT", "/user/a@example.com")) == 1
    assert not api.sent("GET", "/somewhere/else")


def test_redirect_with_permission_denied_is_a_rejection() -> None:
    api = FakeApi()
    api.script("PUT", "/spampolicy/global", httpx.Response(303, headers={"location": "/domains?msg=PERMISSION_DENIED"}))
    with pytest.raises(RejectedByServer) as info:
        run(lambda c: c.put_spampolicy("global", None, {"spam_score": 6}), api)
    assert info.value.code == "PERMISSION_DENIED"
    assert info.value.key == "global"


# --- permanent and transient failures ----------------------------------------------------------


@pytest.mark.parametrize("code", ["ALREADY_EXISTS", "INVALID_MAIL", "PERMISSION_DENIED"])
def test_permanent_codes_raise_once_and_are_never_retried(code: str) -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("POST", "/user/a@example.com", fail(code), then=ok())
    with pytest.raises(RejectedByServer) as info:
        run(lambda c: c.create_user("a@example.com", {"name": "A"}), api, fake=fake)
    assert info.value.code == code
    assert len(api.sent("POST", "/user/a@example.com")) == 1
    assert fake.sleeps == []


def test_allow_failure_returns_the_failure() -> None:
    api = FakeApi()
    api.script("DELETE", "/alias/x@example.com", fail("NO_SUCH_ACCOUNT"))

    async def go(c: ApiClient) -> Any:
        reply = await c.call("DELETE", "/alias/x@example.com", allow_failure=True)
        return reply, c.stats.rejected

    reply, rejected = run(go, api)
    assert (reply.ok, reply.codes, reply.attempts) == (False, ("NO_SUCH_ACCOUNT",), 1)
    assert rejected == 0


@pytest.mark.parametrize("status", [500, 502, 503, 429], ids=["500", "502", "503", "429"])
def test_http_5xx_and_429_are_retried_with_backoff(status: int) -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("GET", "/user/a@example.com", httpx.Response(status), httpx.Response(status), ok({"mail": "a"}))

    async def go(c: ApiClient) -> Any:
        return await c.call("GET", "/user/a@example.com"), c.stats.retries

    reply, retries = run(go, api, fake=fake)
    assert reply.data == {"mail": "a"}
    assert reply.attempts == 3
    assert retries == 2
    assert fake.sleeps == pytest.approx([0.2, 0.4])


@pytest.mark.parametrize(
    ("status", "header", "first_sleep"),
    [(429, "7", 7.0), (503, "2.5", 2.5), (429, "0", 0.2)],
    ids=["429-seconds", "503-fraction", "zero-keeps-backoff"],
)
def test_retry_after_is_respected(status: int, header: str, first_sleep: float) -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("PUT", "/user/a@example.com", httpx.Response(status, headers={"retry-after": header}), ok())
    run(lambda c: c.update_user("a@example.com", {"quota": 100}), api, fake=fake)
    assert fake.sleeps == pytest.approx([first_sleep])


def test_retry_after_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == pytest.approx(30.0)
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (httpx.ConnectError("connection refused"), "CONNECTION_ERROR"),
        (httpx.ReadTimeout("timed out"), "TIMEOUT"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "CONNECTION_ERROR"),
    ],
    ids=["refused", "read-timeout", "dropped"],
)
def test_transport_errors_are_retried(error: Exception, code: str) -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("GET", "/alias/x@example.com", error, error, ok({"members": []}))
    reply = run(lambda c: c.call("GET", "/alias/x@example.com"), api, fake=fake)
    assert reply.attempts == 3
    assert len(fake.sleeps) == 2
    # and when they persist, the code survives into TargetUnavailable
    api.script("GET", "/alias/x@example.com", *[error] * 6)
    with pytest.raises(TargetUnavailable) as info:
        run(lambda c: c.call("GET", "/alias/x@example.com"), api, fake=FakeTime())
    assert info.value.code == code


@pytest.mark.parametrize(
    "msg",
    [
        "API_SERVER_NOT_REACHABLE",
        "OperationalError(2006, 'MySQL server has gone away')",
        "SERVER_DOWN({'desc': \"Can't contact LDAP server\"})",
        "TimeoutError('timed out')",
    ],
    ids=["mlmmjadmin-down", "mysql-gone", "ldap-down", "timeout-repr"],
)
def test_transient_messages_are_retried(msg: str) -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("POST", "/ml/list@example.com", fail(msg), ok())
    reply = run(lambda c: c.create_ml("list@example.com", {"name": "L"}), api, fake=fake)
    assert reply.ok and reply.attempts == 2
    assert len(fake.sleeps) == 1


def test_exception_text_that_is_not_transient_is_permanent() -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("POST", "/user/a@example.com", fail("IntegrityError(1062, \"Duplicate entry 'a@example.com'\")"))
    with pytest.raises(RejectedByServer) as info:
        run(lambda c: c.create_user("a@example.com", {"name": "A"}), api, fake=fake)
    assert info.value.code == "SERVER_EXCEPTION"
    assert "Duplicate entry" in info.value.message
    assert fake.sleeps == []


def test_attempts_are_bounded() -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("GET", "/users/example.com", then=httpx.Response(503))
    retry = RetryPolicy(max_attempts=4, jitter=0.0, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(TargetUnavailable) as info:
        run(lambda c: c.list_users("example.com"), api, retry=retry)
    assert len(api.sent("GET", "/users/example.com")) == 4
    assert fake.sleeps == pytest.approx([0.2, 0.4, 0.8])
    assert info.value.code == "HTTP_503"
    assert info.value.key == "example.com"
    assert "4 attempt" in info.value.message


def test_elapsed_time_is_bounded() -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("GET", "/users/example.com", then=httpx.Response(502))
    retry = RetryPolicy(max_attempts=100, max_elapsed=5.0, initial=1.0, jitter=0.0, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(TargetUnavailable):
        run(lambda c: c.list_users("example.com"), api, retry=retry)
    assert fake.sleeps == pytest.approx([1.0, 2.0])  # a 4 s wait would end at 7 s > 5 s
    assert len(api.sent("GET", "/users/example.com")) == 3


# --- session -----------------------------------------------------------------------------------


def test_login_is_lazy_and_happens_once() -> None:
    api = FakeApi()
    api.script("GET", "/domains", then=session_checked)

    async def go(c: ApiClient) -> Any:
        assert not c.logged_in
        await asyncio.gather(*(c.call("GET", "/domains") for _ in range(10)))
        return c.stats

    stats = run(go, api)
    assert len(api.sent("POST", "/login")) == 1
    assert (stats.logins, stats.relogins, stats.calls, stats.attempts) == (1, 0, 10, 10)
    login = form_of(api.sent("POST", "/login")[0])
    assert login == {"username": ADMIN, "password": PASSWORD}
    assert "cookie" not in api.sent("POST", "/login")[0].headers


@pytest.mark.parametrize(
    "expiry",
    [fail("LOGIN_REQUIRED"), httpx.Response(303, headers={"location": "/iredadmin/login?msg=SESSION_EXPIRED"})],
    ids=["LOGIN_REQUIRED", "303-to-login"],
)
def test_relogin_once_on_expiry(expiry: httpx.Response) -> None:
    api = FakeApi()
    api.script("GET", "/user/a@example.com", expiry, then=session_checked)

    async def go(c: ApiClient) -> Any:
        await c.login()
        reply = await c.call("GET", "/user/a@example.com")
        return reply, c.stats

    reply, stats = run(go, api)
    assert reply.ok and reply.attempts == 2
    assert (stats.logins, stats.relogins, stats.retries) == (2, 1, 0)
    first, second = api.sent("GET", "/user/a@example.com")
    assert first.headers["cookie"] != second.headers["cookie"]


def test_relogin_happens_at_most_once_per_call() -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("GET", "/user/a@example.com", then=fail("LOGIN_REQUIRED"))
    with pytest.raises(AuthError) as info:
        run(lambda c: c.call("GET", "/user/a@example.com"), api, fake=fake)
    assert info.value.code == "LOGIN_REQUIRED"
    assert len(api.sent("POST", "/login")) == 2
    assert len(api.sent("GET", "/user/a@example.com")) == 2
    assert fake.sleeps == []


def test_relogin_then_transient_fault_then_success() -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("PUT", "/user/a@example.com", fail("LOGIN_REQUIRED"), httpx.Response(503), then=session_checked)
    reply = run(lambda c: c.update_user("a@example.com", {"name": "A"}), api, fake=fake)
    assert reply.attempts == 3
    assert len(api.sent("POST", "/login")) == 2
    assert fake.sleeps == pytest.approx([0.2])


def test_concurrent_expiry_logs_in_once() -> None:
    api = FakeApi()
    n = 20
    arrived = asyncio.Event()
    waiting: list[int] = []

    async def expired_after_all_arrive(_request: httpx.Request) -> httpx.Response:
        waiting.append(1)
        if len(waiting) == n:
            arrived.set()
        await arrived.wait()  # every call is in flight with the old session before any answer
        return session_checked(_request)

    async def go(c: ApiClient) -> Any:
        await c.login()
        api.expire()
        for i in range(n):
            api.script("GET", f"/user/u{i}@example.com", expired_after_all_arrive, then=session_checked)
        replies = await asyncio.gather(*(c.call("GET", f"/user/u{i}@example.com") for i in range(n)))
        return replies, c.stats

    replies, stats = run(go, api, concurrency=n)
    assert all(r.ok and r.attempts == 2 for r in replies)
    assert len(api.sent("POST", "/login")) == 2
    assert (stats.logins, stats.relogins) == (2, 1)


def test_a_late_anonymous_cookie_does_not_replace_the_new_session() -> None:
    api = FakeApi()
    relogged = asyncio.Event()
    original_login = api._login
    logins: list[int] = []

    def login(request: httpx.Request) -> httpx.Response:
        logins.append(1)
        if len(logins) >= 2:
            relogged.set()
        return original_login(request)

    api._login = login  # type: ignore[method-assign]

    async def slow(request: httpx.Request) -> httpx.Response:
        await relogged.wait()  # answers after the other call has logged in again
        return session_checked(request)  # old cookie: LOGIN_REQUIRED + a fresh anonymous cookie

    async def go(c: ApiClient) -> Any:
        await c.login()
        api.expire()
        api.script("GET", "/user/slow@example.com", slow, then=session_checked)
        api.script("GET", "/user/fast@example.com", then=session_checked)
        api.script("GET", "/user/after@example.com", then=session_checked)
        both = await asyncio.gather(c.call("GET", "/user/slow@example.com"), c.call("GET", "/user/fast@example.com"))
        after = await c.call("GET", "/user/after@example.com")
        return [*both, after], c.stats

    replies, stats = run(go, api, concurrency=4)
    assert [r.attempts for r in replies] == [2, 2, 1]
    assert stats.logins == 2


@pytest.mark.parametrize(
    ("msg", "hint_word"),
    [("INVALID_CREDENTIALS", "IREDADMIN_PASSWORD"), ("NOT_AUTHORIZED", "RESTFUL_API_CLIENTS")],
    ids=["bad-password", "ip-not-allowed"],
)
def test_refused_login_is_an_auth_error(msg: str, hint_word: str) -> None:
    api = FakeApi()
    api.login_reply = lambda: fail(msg)
    with pytest.raises(AuthError) as info:
        run(lambda c: c.call("GET", "/domains"), api)
    assert info.value.code == msg
    assert info.value.key == ADMIN
    assert hint_word in info.value.hint
    assert len(api.sent("POST", "/login")) == 1
    assert not api.sent("GET", "/domains")


def test_login_404_says_the_api_is_off() -> None:
    api = FakeApi()
    api.login_reply = lambda: httpx.Response(404, text="not found")
    with pytest.raises(EndpointUnsupported) as info:
        run(lambda c: c.login(), api)
    assert "ENABLE_RESTFUL_API" in info.value.hint


def test_login_without_a_cookie_is_an_auth_error() -> None:
    api = FakeApi()
    api.login_reply = lambda: ok()
    with pytest.raises(AuthError) as info:
        run(lambda c: c.login(), api)
    assert info.value.code == "NO_SESSION_COOKIE"


def test_login_transient_faults_are_retried() -> None:
    api, fake = FakeApi(), FakeTime()
    replies = [httpx.Response(502), httpx.Response(503)]
    original = api._login
    api._login = lambda request: replies.pop(0) if replies else original(request)  # type: ignore[method-assign]
    stats = run(_login_stats, api, fake=fake)
    assert stats == (1, 3)
    assert fake.sleeps == pytest.approx([0.2, 0.4])


async def _login_stats(c: ApiClient) -> tuple[int, int]:
    await c.login()
    return c.stats.logins, c.stats.login_requests


# --- request encoding --------------------------------------------------------------------------


def test_form_encoding_lists_bools_ints() -> None:
    api = FakeApi()
    api.script("POST", "/alias/team@example.com", then=session_checked)
    params: dict[str, Any] = {
        "name": "Team Jørn",
        "members": ["a@example.com", "b@example.com"],
        "is_newsletter": False,
    }
    run(lambda c: c.create_alias("team@example.com", {**params, "quota": 1024, "active": True}), api)
    request = api.sent("POST", "/alias/team@example.com")[0]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_of(request) == {
        "name": "Team Jørn",
        "members": "a@example.com,b@example.com",
        "is_newsletter": "no",
        "quota": "1024",
        "active": "yes",
    }
    assert request.url.query == b""


def test_empty_list_sends_an_empty_value() -> None:
    api = FakeApi()
    api.script("PUT", "/alias/team@example.com", then=session_checked)
    run(lambda c: c.update_alias("team@example.com", {"members": []}), api)
    assert form_of(api.sent("PUT", "/alias/team@example.com")[0]) == {"members": ""}


@pytest.mark.parametrize(
    ("action", "path", "query"),
    [
        (lambda c: c.delete_ml("l@example.com", keep_archive=False), "/ml/l@example.com", {"keep_archive": "no"}),
        (lambda c: c.delete_maillist("l@example.com", archive=True), "/maillist/l@example.com", {"archive": "yes"}),
        (lambda c: c.delete_user("u@example.com"), "/user/u@example.com", {}),
        (lambda c: c.delete_user("u@example.com", 30), "/user/u@example.com/keep_mailbox_days/30", {}),
        (lambda c: c.delete_domain("example.com", 0), "/domain/example.com/keep_mailbox_days/0", {}),
    ],
    ids=["ml-keep-archive", "maillist-archive", "user", "user-keep-days", "domain-keep-days"],
)
def test_delete_options_go_to_the_query_string(
    action: Callable[[ApiClient], Awaitable[Any]], path: str, query: dict[str, str]
) -> None:
    api = FakeApi()
    api.script("DELETE", path, then=session_checked)
    run(action, api)
    request = api.sent("DELETE", path)[0]
    assert query_of(request) == query
    assert request.content == b""


def test_presence_flags_are_sent_only_when_true() -> None:
    api = FakeApi()
    api.script("GET", "/ml/l@example.com", then=session_checked)

    async def go(c: ApiClient) -> None:
        await c.get_ml("l@example.com")
        await c.get_ml("l@example.com", with_subscribers=False)

    run(go, api)
    with_subs, without = api.sent("GET", "/ml/l@example.com")
    assert query_of(with_subs) == {"with_subscribers": "yes"}
    assert query_of(without) == {}


@pytest.mark.parametrize(
    "path",
    ["/user/a@example.com/", "user/a@example.com", "//user/a@example.com//"],
    ids=["trailing", "bare", "doubled"],
)
def test_no_trailing_slash_is_ever_sent(path: str) -> None:
    api = FakeApi()
    api.script("PUT", "/user/a@example.com", then=session_checked)
    run(lambda c: c.call("PUT", path, data={"name": "A"}), api)
    assert [r.url.path for r in api.requests[1:]] == ["/iredadmin/api/user/a@example.com"]


def test_base_url_trailing_slash_is_tolerated_and_path_segments_are_quoted() -> None:
    api = FakeApi()
    api.script("GET", "/user/a%2Fb@example.com", then=session_checked)

    async def go() -> None:
        client = ApiClient(BASE + "/", ADMIN, PASSWORD, transport=httpx.MockTransport(api))
        async with client:
            await client.get_user("a/b@example.com")

    asyncio.run(go())
    assert api.requests[-1].url.raw_path == b"/iredadmin/api/user/a%2Fb@example.com"


# --- typed helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("getter", "path"),
    [
        ("get_user", "/user/x@example.com"),
        ("get_alias", "/alias/x@example.com"),
        ("get_ml", "/ml/x@example.com"),
        ("get_maillist", "/maillist/x@example.com"),
        ("get_admin", "/admin/x@example.com"),
    ],
    ids=["user", "alias", "ml", "maillist", "admin"],
)
def test_account_gets_return_none_when_missing(getter: str, path: str) -> None:
    api = FakeApi()
    api.script("GET", path, fail("NO_SUCH_ACCOUNT"), ok({"mail": "x@example.com"}))

    async def go(c: ApiClient) -> Any:
        fetch = getattr(c, getter)
        return await fetch("x@example.com"), await fetch("x@example.com")

    assert run(go, api) == (None, {"mail": "x@example.com"})


def test_account_get_with_another_code_raises() -> None:
    api = FakeApi()
    api.script("GET", "/user/x@example.com", fail("PERMISSION_DENIED"))
    with pytest.raises(RejectedByServer) as info:
        run(lambda c: c.get_user("x@example.com"), api)
    assert (info.value.code, info.value.key) == ("PERMISSION_DENIED", "x@example.com")


def test_missing_domain_raises_invalid_domain_name() -> None:
    api = FakeApi()
    api.script("GET", "/domain/nope.example", fail("INVALID_DOMAIN_NAME"))
    with pytest.raises(RejectedByServer) as info:
        run(lambda c: c.get_domain("nope.example"), api)
    assert (info.value.code, info.value.key) == ("INVALID_DOMAIN_NAME", "nope.example")


def test_list_helpers_read_the_list_shapes() -> None:
    api = FakeApi()
    api.script("GET", "/domains", ok({"example.com": {"active": 1}, "example.net": {"active": 0}}))
    api.script("GET", "/users/example.com", ok([{"username": "a@example.com"}]))
    api.script("GET", "/domain/admins/example.com", ok(["Boss@Example.com", {"username": "x@example.com"}]))

    async def go(c: ApiClient) -> Any:
        return await c.list_domains(), await c.list_users("example.com"), await c.get_domain_admins("example.com")

    domains, users, admins = run(go, api)
    assert domains == {"example.com": {"active": 1}, "example.net": {"active": 0}}
    assert users == [{"username": "a@example.com"}]
    assert admins == ["boss@example.com", "x@example.com"]


def test_update_domain_admins_parameters() -> None:
    api = FakeApi()
    api.script("PUT", "/domain/admins/example.com", then=session_checked)

    async def go(c: ApiClient) -> None:
        await c.update_domain_admins("example.com", add=["a@example.com", "b@example.com"], remove=["c@example.com"])
        await c.update_domain_admins("example.com", remove_all=True)

    run(go, api)
    first, second = api.sent("PUT", "/domain/admins/example.com")
    assert form_of(first) == {"addAdmin": "a@example.com,b@example.com", "removeAdmin": "c@example.com"}
    assert form_of(second) == {"removeAllAdmins": ""}


@pytest.mark.parametrize(
    ("scope", "target", "path"),
    [
        ("global", None, "/spampolicy/global"),
        ("domain", "example.com", "/spampolicy/domain/example.com"),
        ("user", "a@example.com", "/spampolicy/user/a@example.com"),
    ],
    ids=["global", "domain", "user"],
)
def test_spampolicy_paths(scope: str, target: str | None, path: str) -> None:
    api = FakeApi()
    api.script("GET", path, ok({"spam_score": 6.0}))
    assert run(lambda c: c.get_spampolicy(scope, target), api) == {"spam_score": 6.0}


def test_change_email_and_throttle_write_paths() -> None:
    api = FakeApi()
    api.script("POST", "/user/old@example.com/change_email/new@example.com", then=session_checked)
    api.script("POST", "/throttle/global/inbound", then=session_checked)

    async def go(c: ApiClient) -> None:
        await c.change_user_email("old@example.com", "new@example.com")
        await c.set_throttle("global", "inbound", {"period": 60, "max_msgs": 10})

    run(go, api)
    assert len(api.sent("POST", "/user/old@example.com/change_email/new@example.com")) == 1
    assert form_of(api.sent("POST", "/throttle/global/inbound")[0]) == {"period": "60", "max_msgs": "10"}


@pytest.mark.parametrize(
    "call",
    [lambda c: c.get_throttle("example.com", "sideways"), lambda c: c.get_spampolicy("planet", "x")],
    ids=["direction", "scope"],
)
def test_helpers_reject_bad_arguments(call: Callable[[ApiClient], Awaitable[Any]]) -> None:
    with pytest.raises(ValueError):
        run(call, FakeApi())


# --- secrets -----------------------------------------------------------------------------------


def test_secrets_never_reach_repr_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api, fake = FakeApi(), FakeTime()
    user_hash = "{SSHA512}c2VjcmV0LWhhc2gtdmFsdWU="
    # The server echoes what we sent inside an exception text, a worst case for leaks.
    api.script("POST", "/user/a@example.com", fail(f"OperationalError(1366, \"bad value '{user_hash}'\")"))
    api.script("GET", "/user/b@example.com", *[httpx.Response(503)] * 6)
    texts: list[str] = []

    async def go(c: ApiClient) -> None:
        texts.append(repr(c))
        await c.login()
        for coro in (
            c.create_user("a@example.com", {"password_hash": user_hash}),
            c.get_user("b@example.com"),
        ):
            try:
                await coro
            except Exception as exc:
                texts.extend([str(exc), repr(exc), getattr(exc, "hint", "")])

    run(go, api, fake=fake)
    bad = FakeApi()
    bad.login_reply = lambda: fail("INVALID_CREDENTIALS")
    with pytest.raises(AuthError) as info:
        run(lambda c: c.login(), bad, password=PASSWORD)
    texts.extend([str(info.value), repr(info.value)])
    cookies = {r.headers.get("cookie", "").partition("=")[2] for r in api.requests if "cookie" in r.headers}
    assert cookies  # the session was used, so there is something to look for
    everything = "\n".join(texts) + "\n" + caplog.text
    assert "POST /login" in caplog.text or "GET /user/b@example.com" in caplog.text
    for secret in (PASSWORD, user_hash, *cookies):
        assert secret not in everything
    assert "***" in everything  # the echoed hash was scrubbed, not just absent


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [("ftp://mail.test/api", {}), ("mail.test/api", {}), (BASE, {"concurrency": 0}), (BASE, {"rate": 0.0})],
    ids=["ftp", "no-scheme", "zero-concurrency", "zero-rate"],
)
def test_bad_settings_are_config_errors(url: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        ApiClient(url, ADMIN, PASSWORD, transport=httpx.MockTransport(FakeApi()), **kwargs)


def test_missing_ca_file_is_a_config_error(tmp_path: Any) -> None:
    with pytest.raises(ConfigError) as info:
        ApiClient(BASE, ADMIN, PASSWORD, ca_file=str(tmp_path / "missing.pem"))
    assert info.value.code == "BAD_CA_FILE"


def test_rate_limit_applies_to_every_request() -> None:
    api, fake = FakeApi(), FakeTime()
    api.script("GET", "/domains", then=session_checked)

    async def go(c: ApiClient) -> None:
        for _ in range(4):
            await c.call("GET", "/domains")

    run(go, api, fake=fake, rate=5.0)
    # login + 4 calls = 5 requests at 5/s with a burst of 1: four waits of 0.2 s.
    assert fake.sleeps == pytest.approx([0.2] * 4)


# --- over real HTTP: the default aiohttp transport against a local aiohttp server -------------


class LocalServer:
    """A tiny aiohttp app on 127.0.0.1 speaking just enough of the API for transport checks."""

    def __init__(self) -> None:
        from aiohttp import web

        self.web = web
        self.sessions: set[str] = set()
        self.seen: list[tuple[str, str, str, str]] = []  # method, path_qs, body, cookie header
        self.faults: list[str] = []  # consumed one per non-login request: "503", "drop", "slow"
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{tail:.*}", self.handle)
        self.runner = web.AppRunner(self.app, handle_signals=False)
        self.release = asyncio.Event()
        self.port = 0

    async def start(self, ssl_context: Any = None) -> str:
        await self.runner.setup()
        site = self.web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}/api"

    async def stop(self) -> None:
        self.release.set()
        await self.runner.cleanup()

    async def handle(self, request: Any) -> Any:
        web = self.web
        body = (await request.read()).decode()
        self.seen.append((request.method, request.path_qs, body, request.headers.get("Cookie", "")))
        if request.path == "/api/login":
            form = parse_qs(body)
            if form.get("password") != [PASSWORD]:
                return web.json_response({"_success": False, "_msg": "INVALID_CREDENTIALS"})
            sid = f"{len(self.seen):040x}"
            self.sessions.add(sid)
            response = web.json_response({"_success": True})
            response.set_cookie(COOKIE_NAME, sid, httponly=True, samesite="Strict")
            return response
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "503":
            return web.Response(status=503, headers={"Retry-After": "0"})
        if fault == "drop":
            # The connection dies half-way through the reply. (A connection closed before any
            # reply byte is re-sent by aiohttp itself when it was a reused keep-alive one.)
            assert request.transport is not None
            request.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
            request.transport.close()
            return web.Response()
        if fault == "slow":
            # Longer than the client's read timeout; released at shutdown so cleanup is quick.
            await asyncio.wait_for(self.release.wait(), 10.0)
        if fault == "redirect":
            raise web.HTTPSeeOther(location="/iredadmin/login?msg=SESSION_EXPIRED")
        if request.cookies.get(COOKIE_NAME) not in self.sessions:
            response = web.json_response({"_success": False, "_msg": "LOGIN_REQUIRED"})
            response.set_cookie(COOKIE_NAME, "f" * 40)  # the anonymous session of a real server
            return response
        return web.json_response({"_success": True, "_data": {"path": request.path, "query": dict(request.query)}})


def instant_retry() -> RetryPolicy:
    async def no_sleep(_seconds: float) -> None:
        return None

    return RetryPolicy(jitter=0.0, sleep=no_sleep)


def test_real_http_session_faults_and_encoding() -> None:
    async def go() -> None:
        server = LocalServer()
        url = await server.start()
        try:
            async with ApiClient(url, ADMIN, PASSWORD, retry=instant_retry(), timeout=1.0) as client:
                assert (await client.get_user("a@example.com")) == {"path": "/api/user/a@example.com", "query": {}}
                # DELETE options in the query string, nothing in the body
                reply = await client.delete_ml("l@example.com", keep_archive=False)
                assert reply.data["query"] == {"keep_archive": "no"}
                assert server.seen[-1][2] == ""
                # a form body on PUT, no trailing slash
                await client.call("PUT", "/user/a@example.com/", data={"members": ["x@example.com", "y@example.com"]})
                assert server.seen[-1][:3] == (
                    "PUT",
                    "/api/user/a@example.com",
                    "members=x%40example.com%2Cy%40example.com",
                )
                # expired session: LOGIN_REQUIRED, then a 303 to the login page
                server.sessions.clear()
                assert (await client.call("GET", "/domains")).attempts == 2
                server.faults = ["redirect"]
                assert (await client.call("GET", "/domains")).attempts == 2
                # transient faults: 503, a dropped connection, a read timeout
                server.faults = ["503", "drop", "slow"]
                before = len(server.seen)
                assert (await client.call("PUT", "/user/a@example.com", data={"name": "A"})).attempts == 4
                assert len(server.seen) - before == 4
                assert client.stats.logins == 3 and client.stats.relogins == 2
        finally:
            await server.stop()
        cookies = [seen[3] for seen in server.seen if seen[1] != "/api/login"]
        assert all(c.startswith(f"{COOKIE_NAME}=") and ";" not in c for c in cookies)
        assert not any(c.endswith("f" * 40) for c in cookies)  # the anonymous cookie was never adopted

    asyncio.run(go())


def test_real_http_unreachable_server_gives_target_unavailable() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def go() -> None:
        async with ApiClient(f"http://127.0.0.1:{port}/api", ADMIN, PASSWORD, retry=instant_retry()) as client:
            with pytest.raises(TargetUnavailable) as info:
                await client.login()
            assert info.value.code == "CONNECTION_ERROR"
            assert client.stats.login_requests == 6

    asyncio.run(go())


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize(
    ("settings", "outcome"),
    [({}, "untrusted"), ({"ca_file": "CERT"}, "ok"), ({"verify": False}, "ok")],
    ids=["default-verifies", "ca-file", "insecure"],
)
def test_real_https_verification(tls_files: tuple[str, str], settings: dict[str, Any], outcome: str) -> None:
    import ssl

    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    options: dict[str, Any] = {k: (cert if v == "CERT" else v) for k, v in settings.items()}

    async def go() -> None:
        server = LocalServer()
        url = await server.start(server_ctx)
        try:
            async with ApiClient(url, ADMIN, PASSWORD, retry=instant_retry(), **options) as client:
                if outcome == "ok":
                    assert (await client.get_user("a@example.com")) is not None
                else:
                    with pytest.raises(ConfigError) as info:
                        await client.login()
                    assert info.value.code == "TLS_VERIFY_FAILED"
                    assert "--ca-file" in info.value.hint
                    assert client.stats.login_requests == 1  # not retried
        finally:
            await server.stop()

    asyncio.run(go())


def test_form_body_is_urlencode_for_any_field() -> None:
    import random
    from urllib.parse import urlencode

    from migrate.client_wire import form_body

    rng = random.Random(3)
    chars = "aZ09_.~-+ &=%/@#?é\u2028\"'<>,;:!*()\\"
    for _ in range(3000):
        form = {
            "".join(rng.choice(chars) for _ in range(rng.randint(1, 6))): "".join(
                rng.choice(chars) for _ in range(rng.randint(0, 12))
            )
            for _ in range(rng.randint(1, 4))
        }
        assert form_body(form) == urlencode(form).encode("ascii"), form
    assert form_body({}) == b""
