"""The route table of the LDAP edition: the SQL edition's endpoints on the DIT, plus more.

``/api/maillist/<mail>`` (classic lists) and ``/api/ldif/...`` only exist in this edition. The
envelope, sessions, allow-list, redirects, 404/405 and faults are the shared app's. Spam policies
and throttles are not in LDAP on a real install either (amavisd and iRedAPD keep them in
SQL), so their handlers are the SQL edition's. What the reference marks as SQL-only answers as the
LDAP edition does: alias ``accessPolicy`` is accepted and ignored; domain ``services`` may name the
LDAP-only domain services (``mail``, ``domainalias``, ``senderbcc``, ``recipientbcc``); user
``services`` keep any name, as ``enabledService`` does.
"""

from __future__ import annotations

from migrate.sandbox import handlers_auth, handlers_policy
from migrate.sandbox.ldap_admin import (
    create_admin,
    delete_admin,
    get_admin,
    login,
    update_admin,
    verify_admin_password,
    verify_user_password,
)
from migrate.sandbox.ldap_alias import (
    change_alias_email,
    create_alias,
    delete_alias,
    get_alias,
    list_aliases,
    update_alias,
)
from migrate.sandbox.ldap_common import LdapCtx, is_global
from migrate.sandbox.ldap_domain import (
    create_domain,
    delete_domain,
    get_domain,
    get_domain_admins,
    list_domains,
    update_domain,
    update_domain_admins,
)
from migrate.sandbox.ldap_ldif import ldif_admin, ldif_alias, ldif_catchall, ldif_domain, ldif_maillist, ldif_user
from migrate.sandbox.ldap_lists import (
    create_maillist,
    create_ml,
    delete_maillist,
    delete_ml,
    get_maillist,
    get_ml,
    list_mls,
    update_maillist,
    update_ml,
)
from migrate.sandbox.ldap_user import (
    change_user_email,
    create_user,
    delete_user,
    get_user,
    list_users,
    update_users,
)
from migrate.sandbox.ldap_user_put import update_user
from migrate.sandbox.routes import ADMIN, DOMAIN, GLOBAL, MAIL, PUBLIC, Edition, Route

__all__ = ["LDAP_EDITION", "LDAP_ROUTES"]

_USER = f"/user/{{mail:{MAIL}}}"
_ALIAS = f"/alias/{{mail:{MAIL}}}"
_DOMAIN = f"/domain/{{domain:{DOMAIN}}}"
_ADMIN = f"/admin/{{mail:{MAIL}}}"
_MAILLIST = f"/maillist/{{mail:{MAIL}}}"
_ML = f"/ml/{{mail:{MAIL}}}"
_SPAM_PATHS = ("/spampolicy/global", f"/spampolicy/domain/{{domain:{DOMAIN}}}", f"/spampolicy/user/{{mail:{MAIL}}}")
_THROTTLE = f"/throttle/{{account:global|{MAIL}|{DOMAIN}}}/{{direction:[^/]+}}"

LDAP_ROUTES: tuple[Route, ...] = (
    Route("POST", "/login", login, PUBLIC),
    Route("GET", "/login", handlers_auth.login_get, PUBLIC),
    Route("GET", "/domains", list_domains, ADMIN),
    Route("GET", _DOMAIN, get_domain, ADMIN),
    Route("POST", _DOMAIN, create_domain, GLOBAL),
    Route("PUT", _DOMAIN, update_domain, ADMIN),
    Route("DELETE", _DOMAIN, delete_domain, ADMIN),
    Route("DELETE", _DOMAIN + r"/keep_mailbox_days/{days:\d+}", delete_domain, ADMIN),
    Route("GET", f"/domain/admins/{{domain:{DOMAIN}}}", get_domain_admins, ADMIN),
    Route("PUT", f"/domain/admins/{{domain:{DOMAIN}}}", update_domain_admins, ADMIN),
    Route("GET", _ADMIN, get_admin, GLOBAL),
    Route("POST", _ADMIN, create_admin, GLOBAL),
    Route("PUT", _ADMIN, update_admin, GLOBAL),
    Route("DELETE", _ADMIN, delete_admin, GLOBAL),
    Route("POST", f"/verify_password/admin/{{mail:{MAIL}}}", verify_admin_password, GLOBAL),
    Route("POST", f"/verify_password/user/{{mail:{MAIL}}}", verify_user_password, GLOBAL),
    Route("GET", _USER, get_user, ADMIN),
    Route("POST", _USER, create_user, ADMIN),
    Route("PUT", _USER, update_user, ADMIN),
    Route("DELETE", _USER, delete_user, ADMIN),
    Route("DELETE", _USER + r"/keep_mailbox_days/{days:\d+}", delete_user, ADMIN),
    Route("POST", _USER + f"/change_email/{{new_mail:{MAIL}}}", change_user_email, ADMIN),
    Route("GET", f"/users/{{domain:{DOMAIN}}}", list_users, ADMIN),
    Route("PUT", f"/users/{{domain:{DOMAIN}}}", update_users, ADMIN),
    Route("GET", _ALIAS, get_alias, ADMIN),
    Route("POST", _ALIAS, create_alias, ADMIN),
    Route("PUT", _ALIAS, update_alias, ADMIN),
    Route("DELETE", _ALIAS, delete_alias, ADMIN),
    Route("POST", _ALIAS + f"/change_email/{{new_mail:{MAIL}}}", change_alias_email, ADMIN),
    Route("GET", f"/aliases/{{domain:{DOMAIN}}}", list_aliases, ADMIN),
    Route("GET", _MAILLIST, get_maillist, ADMIN),
    Route("POST", _MAILLIST, create_maillist, ADMIN),
    Route("PUT", _MAILLIST, update_maillist, ADMIN),
    Route("DELETE", _MAILLIST, delete_maillist, ADMIN),
    Route("GET", _ML, get_ml, ADMIN),
    Route("POST", _ML, create_ml, ADMIN),
    Route("PUT", _ML, update_ml, ADMIN),
    Route("DELETE", _ML, delete_ml, ADMIN),
    Route("GET", f"/mls/{{domain:{DOMAIN}}}", list_mls, ADMIN),
    Route("GET", f"/ldif/domain/{{domain:{DOMAIN}}}", ldif_domain, ADMIN),
    Route("GET", f"/ldif/catchall/{{domain:{DOMAIN}}}", ldif_catchall, ADMIN),
    Route("GET", f"/ldif/admin/{{mail:{MAIL}}}", ldif_admin, GLOBAL),
    Route("GET", f"/ldif/user/{{mail:{MAIL}}}", ldif_user, ADMIN),
    Route("GET", f"/ldif/maillist/{{mail:{MAIL}}}", ldif_maillist, ADMIN),
    Route("GET", f"/ldif/alias/{{mail:{MAIL}}}", ldif_alias, ADMIN),
    *(
        Route(method, path, handler, ADMIN, "all")
        for path in _SPAM_PATHS
        for method, handler in (
            ("GET", handlers_policy.get_spam_policy),
            ("PUT", handlers_policy.put_spam_policy),
            ("DELETE", handlers_policy.delete_spam_policy),
        )
    ),
    Route("GET", _THROTTLE, handlers_policy.get_throttle, ADMIN, "global"),
    Route("POST", _THROTTLE, handlers_policy.set_throttle, ADMIN, "global"),
)

#: The LDAP edition as the shared app runs it.
LDAP_EDITION = Edition(routes=LDAP_ROUTES, ctx_class=LdapCtx, is_global=is_global, backend="LDAP")
