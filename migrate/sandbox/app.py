"""The aiohttp application: session cookie, allow-list, envelope, redirects, 404/405.

Order of checks, as web.py and iRedAdmin apply them: the session is loaded first (a session
used from another IP is expired with a 303 to the login page), then a trailing slash is
redirected, then routing answers plain-text 404/405, and only then does an endpoint check the
client allow-list, the login and the admin's rights.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from migrate.sandbox.config import API_PREFIX
from migrate.sandbox.context import ApiError, AppState, Ctx, Reply, fail
from migrate.sandbox.faults import Faults
from migrate.sandbox.routes import GLOBAL, PUBLIC, Edition, Route, edition
from migrate.sandbox.sessions import Session

__all__ = ["SESSION_EXPIRED_PAGE", "build_app", "cookie_name", "encode_reply", "lone_cookie", "run_route"]

_log = logging.getLogger(__name__)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_LOGIN_PAGE = "/iredadmin/login"
_DOMAINS_PAGE = "/iredadmin/domains"
# Large member lists travel as one form field; the web.py default would be far lower.
_MAX_BODY = 64 * 1024 * 1024
#: Where a session used from another address is sent (after being dropped).
SESSION_EXPIRED_PAGE = f"{_LOGIN_PAGE}?msg=SESSION_EXPIRED"
_SESSION: web.RequestKey[Session | None] = web.RequestKey("sandbox_session")


def cookie_name(state: AppState) -> str:
    """Return the session cookie's name, ``iRedAdmin-Pro-<BACKEND>`` (``LDAP`` for the LDAP edition)."""
    backend = edition(state.config.edition).backend or state.config.backend_name
    return f"iRedAdmin-Pro-{backend.upper()}"


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location}, text="")


def encode_reply(state: AppState, reply: Reply) -> bytes:
    """Return the JSON body of a handled reply, in the configured envelope dialect."""
    if reply.data is None and reply.msg is None:
        # The bare envelope of most writes: the same bytes every time.
        encoded = b'{"success": true}' if state.config.old_envelope else b'{"_success": true}'
        return encoded if reply.success else encoded.replace(b"true", b"false")
    success, msg = ("success", "msg") if state.config.old_envelope else ("_success", "_msg")
    body: dict[str, object] = {success: reply.success}
    if reply.data is not None:
        body[reply.key] = reply.data
    if reply.msg is not None:
        body[msg] = reply.msg
    return json.dumps(body).encode("utf-8")


def _render(state: AppState, reply: Reply) -> web.Response:
    response = web.Response(body=encode_reply(state, reply), content_type="application/json")
    if reply.cookie:
        response.set_cookie(cookie_name(state), reply.cookie, path="/", httponly=True, samesite="Strict")
    return response


def _redirect_for(route: Route, ctx: Ctx, code: str | None) -> str | None:
    """The ``policy_auth_redirect`` quirk: auth failures as HTML redirects on some endpoints."""
    if not route.redirects or not ctx.quirk("policy_auth_redirect"):
        return None
    if route.redirects == "global" and ctx.match.get("account") != "global":
        return None
    if code == "LOGIN_REQUIRED":
        return f"{_LOGIN_PAGE}?msg=LOGIN_REQUIRED"
    if code == "PERMISSION_DENIED":
        return f"{_DOMAINS_PAGE}?msg=PERMISSION_DENIED"
    return None


def run_route(
    state: AppState,
    route: Route,
    parts: Edition,
    match: dict[str, str],
    params: dict[str, str],
    session: Session | None,
    remote: str,
    *,
    method: str,
    path: str,
) -> Reply | str:
    """Run an API endpoint on a read request from an allowed client: login, rights, then the handler.

    Shared by the aiohttp app and the lean path (:mod:`migrate.sandbox.fastpath`), so both
    answer alike.

    Args:
        state: The shared state.
        route: The matched route.
        parts: The edition.
        match: Path parameters as matched (lower-cased here).
        params: Query and form parameters (the last value of a repeated name wins).
        session: The caller's live session, if any.
        remote: The client address.
        method: The HTTP method.
        path: The request path, for the log line of an unexpected error.

    Returns:
        The reply to render, or the location of a 303 redirect (``policy_auth_redirect``).
    """
    ctx = parts.ctx_class(state, {key: value.lower() for key, value in match.items()}, params, session, remote)
    try:
        # Reads run in a transaction too: outside one, SQLite takes and drops the WAL read lock
        # (two fcntl calls) for each statement; inside, once for the request.
        with state.db.tx():
            if route.auth != PUBLIC:
                if ctx.session is None:
                    raise ApiError("LOGIN_REQUIRED")
                ctx.is_global = parts.is_global(ctx)
                if route.auth == GLOBAL:
                    ctx.require_global()
            return route.handler(ctx)
    except ApiError as exc:
        redirect = _redirect_for(route, ctx, exc.code)
        return redirect if redirect is not None else fail(exc.code)
    except Exception as exc:  # the real server renders any unexpected error as its repr()
        _log.warning("%s %s failed: %r", method, path, exc)
        return fail(repr(exc))


def _endpoint(state: AppState, route: Route, parts: Edition) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        remote = request.remote or ""
        if not state.client_allowed(remote):
            return _render(state, fail("NOT_AUTHORIZED"))
        # The query string is read on every method, the body only where web.py reads one.
        params = {key: value for key, value in request.query.items()} if request.query_string else {}
        if request.method in _BODY_METHODS:
            form = await request.post()
            params.update((key, value) for key, value in form.items() if isinstance(value, str))
        outcome = run_route(
            state,
            route,
            parts,
            dict(request.match_info),
            params,
            request.get(_SESSION),
            remote,
            method=request.method,
            path=request.path,
        )
        return _see_other(outcome) if isinstance(outcome, str) else _render(state, outcome)

    return endpoint


def lone_cookie(header: str, name: str) -> str | None:
    """Return the value of a ``Cookie`` header made of ``name=<ASCII letters and digits>`` alone.

    ``None`` means the header holds anything else, which needs a full cookie parse.
    """
    prefix = name + "="
    if header.startswith(prefix):
        value = header[len(prefix) :]
        if value.isalnum() and value.isascii():
            return value
    return None


def _session_id(request: web.Request, name: str) -> str | None:
    """The session cookie's value; a lone ``name=<letters and digits>`` header is read directly."""
    header = request.headers.get("Cookie")
    if not header:
        return None
    return lone_cookie(header, name) or request.cookies.get(name)


def _api_middleware(state: AppState) -> Middleware:
    name = cookie_name(state)

    @web.middleware
    async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/iredadmin/"):
            return await handler(request)
        sid = _session_id(request, name)
        session = state.sessions.get(sid) if sid else None
        if session is not None and session.ip != (request.remote or ""):
            state.sessions.drop(session.sid)
            return _see_other(SESSION_EXPIRED_PAGE)
        if path.endswith("/") and path.rstrip("/"):
            target = path.rstrip("/")
            if request.query_string:
                target += "?" + request.query_string
            return _see_other(target)
        request[_SESSION] = session
        error = request.match_info.http_exception
        if isinstance(error, web.HTTPMethodNotAllowed):
            return web.Response(
                status=405, text="method not allowed", headers={"Allow": ", ".join(error.allowed_methods)}
            )
        if error is not None:
            return web.Response(status=404, text="not found")
        return await handler(request)

    return api_middleware


async def _web_page(request: web.Request) -> web.StreamResponse:
    """Stand-in for the web UI pages the API redirects to (login, domain list)."""
    title = "Login" if request.path == _LOGIN_PAGE else "Domains"
    msg = html.escape(request.query.get("msg", ""))
    body = f"<!DOCTYPE html><html><head><title>iRedAdmin-Pro - {title}</title></head><body>{msg}</body></html>"
    return web.Response(text=body, content_type="text/html")


def build_app(state: AppState, faults: Faults) -> web.Application:
    """Return the application: fault injection first, then the API middleware and routes."""
    app = web.Application(middlewares=[faults.middleware(), _api_middleware(state)], client_max_size=_MAX_BODY)
    faults.add_control_routes(app, on_expire_sessions=state.sessions.expire_all)
    parts = edition(state.config.edition)
    for route in parts.routes:
        app.router.add_route(route.method, API_PREFIX + route.path, _endpoint(state, route, parts))
    for page in (_LOGIN_PAGE, _DOMAINS_PAGE):
        app.router.add_get(page, _web_page, allow_head=False)
    return app
