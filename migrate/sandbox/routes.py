"""The route table of the SQL edition: every core endpoint plus the extended set (reference §5).

``/api/maillist`` and ``/api/ldif`` are absent on purpose: the SQL edition answers them with a
plain 404, as do malformed addresses, because the path patterns do not match them. The LDAP
edition's table is in :mod:`migrate.sandbox.ldap_routes`; :func:`edition` picks one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from migrate.sandbox import (
    handlers_admin,
    handlers_alias,
    handlers_auth,
    handlers_domain,
    handlers_ml,
    handlers_policy,
    handlers_user,
    handlers_user_put,
    store_domain,
)
from migrate.sandbox.context import Ctx, Reply

__all__ = ["ADMIN", "DOMAIN", "GLOBAL", "MAIL", "PUBLIC", "ROUTES", "SQL_EDITION", "Edition", "Route", "edition"]

PUBLIC = "public"  # no login needed
ADMIN = "admin"  # any admin; domain rights are checked by the handler
GLOBAL = "global"  # global admins only

# Path segments loose enough to reach the handler (which then applies the strict rules and
# answers INVALID_MAIL & co.), strict enough that "notanemail" gives the plain 404.
MAIL = r"[^/@\s]*@[\w\-]+(?:\.[\w\-]+)+"
DOMAIN = r"[\w\-]+(?:\.[\w\-]+)+"


@dataclass(frozen=True)
class Route:
    """One endpoint.

    Attributes:
        method: HTTP method.
        path: Path below ``/iredadmin/api`` with aiohttp placeholders.
        handler: The synchronous handler.
        auth: :data:`PUBLIC`, :data:`ADMIN` or :data:`GLOBAL`.
        redirects: Whether the ``policy_auth_redirect`` quirk turns auth failures into 303s
            (``"all"``, or ``"global"`` for the global throttle only).
    """

    method: str
    path: str
    handler: Callable[[Ctx], Reply]
    auth: str
    redirects: str = ""


def _crud(path: str, module: object, names: tuple[str, str, str, str], auth: str = ADMIN) -> list[Route]:
    get, post, put, delete = (getattr(module, name) for name in names)
    return [
        Route("GET", path, get, auth),
        Route("POST", path, post, auth),
        Route("PUT", path, put, auth),
        Route("DELETE", path, delete, auth),
    ]


_ADMIN_NAMES = ("get_admin", "create_admin", "update_admin", "delete_admin")
_SPAM_PATHS = ("/spampolicy/global", f"/spampolicy/domain/{{domain:{DOMAIN}}}", f"/spampolicy/user/{{mail:{MAIL}}}")
_USER = f"/user/{{mail:{MAIL}}}"
_ALIAS = f"/alias/{{mail:{MAIL}}}"
_DOMAIN = f"/domain/{{domain:{DOMAIN}}}"

ROUTES: tuple[Route, ...] = (
    Route("POST", "/login", handlers_auth.login, PUBLIC),
    Route("GET", "/login", handlers_auth.login_get, PUBLIC),
    Route("GET", "/domains", handlers_domain.list_domains, ADMIN),
    Route("GET", _DOMAIN, handlers_domain.get_domain, ADMIN),
    Route("POST", _DOMAIN, handlers_domain.create_domain, GLOBAL),
    Route("PUT", _DOMAIN, handlers_domain.update_domain, ADMIN),
    Route("DELETE", _DOMAIN, handlers_domain.delete_domain, ADMIN),
    Route("DELETE", _DOMAIN + r"/keep_mailbox_days/{days:\d+}", handlers_domain.delete_domain, ADMIN),
    Route("GET", f"/domain/admins/{{domain:{DOMAIN}}}", handlers_domain.get_domain_admins, ADMIN),
    Route("PUT", f"/domain/admins/{{domain:{DOMAIN}}}", handlers_domain.update_domain_admins, ADMIN),
    *_crud(f"/admin/{{mail:{MAIL}}}", handlers_admin, _ADMIN_NAMES, GLOBAL),
    Route("POST", f"/verify_password/admin/{{mail:{MAIL}}}", handlers_auth.verify_admin_password, GLOBAL),
    Route("POST", f"/verify_password/user/{{mail:{MAIL}}}", handlers_auth.verify_user_password, GLOBAL),
    Route("GET", _USER, handlers_user.get_user, ADMIN),
    Route("POST", _USER, handlers_user.create_user, ADMIN),
    Route("PUT", _USER, handlers_user_put.update_user, ADMIN),
    Route("DELETE", _USER, handlers_user.delete_user, ADMIN),
    Route("DELETE", _USER + r"/keep_mailbox_days/{days:\d+}", handlers_user.delete_user, ADMIN),
    Route("POST", _USER + f"/change_email/{{new_mail:{MAIL}}}", handlers_user.change_user_email, ADMIN),
    Route("GET", f"/users/{{domain:{DOMAIN}}}", handlers_user.list_users, ADMIN),
    Route("PUT", f"/users/{{domain:{DOMAIN}}}", handlers_user.update_users, ADMIN),
    *_crud(_ALIAS, handlers_alias, ("get_alias", "create_alias", "update_alias", "delete_alias")),
    Route("POST", _ALIAS + f"/change_email/{{new_mail:{MAIL}}}", handlers_alias.change_alias_email, ADMIN),
    Route("GET", f"/aliases/{{domain:{DOMAIN}}}", handlers_alias.list_aliases, ADMIN),
    *_crud(f"/ml/{{mail:{MAIL}}}", handlers_ml, ("get_ml", "create_ml", "update_ml", "delete_ml")),
    Route("GET", f"/mls/{{domain:{DOMAIN}}}", handlers_ml.list_mls, ADMIN),
    *(
        Route(method, path, handler, ADMIN, "all")
        for path in _SPAM_PATHS
        for method, handler in (
            ("GET", handlers_policy.get_spam_policy),
            ("PUT", handlers_policy.put_spam_policy),
            ("DELETE", handlers_policy.delete_spam_policy),
        )
    ),
    Route("GET", f"/throttle/{{account:global|{MAIL}|{DOMAIN}}}/{{direction:[^/]+}}", handlers_policy.get_throttle,
          ADMIN, "global"),
    Route("POST", f"/throttle/{{account:global|{MAIL}|{DOMAIN}}}/{{direction:[^/]+}}", handlers_policy.set_throttle,
          ADMIN, "global"),
)  # fmt: skip


@dataclass(frozen=True)
class Edition:
    """What the shared app takes from an edition.

    Attributes:
        routes: The route table.
        ctx_class: The request context handlers get.
        is_global: Whether a request's logged-in admin has global rights.
        backend: Backend part of the cookie name; ``None`` takes the configured SQL backend.
    """

    routes: tuple[Route, ...]
    ctx_class: type[Ctx]
    is_global: Callable[[Ctx], bool]
    backend: str | None = None


def _sql_is_global(ctx: Ctx) -> bool:
    return store_domain.is_global_admin(ctx.db, ctx.username)


#: The SQL edition.
SQL_EDITION = Edition(routes=ROUTES, ctx_class=Ctx, is_global=_sql_is_global)


def edition(name: str) -> Edition:
    """Return the edition called ``name`` (``sql`` or ``ldap``)."""
    if name == "ldap":
        # Imported here: the LDAP table builds on this module's names.
        from migrate.sandbox.ldap_routes import LDAP_EDITION

        return LDAP_EDITION
    return SQL_EDITION
