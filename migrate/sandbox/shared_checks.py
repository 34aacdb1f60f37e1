"""Request checks both editions run before touching storage (reference §4.3, §8.1, §9).

The SQL and LDAP editions answer with the same errors in the same order; only where the data
lives differs. Each function here reads the request (and, for password rules, asks the request
context) and either returns plain values or raises :class:`ApiError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from migrate.sandbox.context import ApiError, Ctx
from migrate.sandbox.passwords import hash_password, is_accepted_hash
from migrate.sandbox.policy import check_password
from migrate.sandbox.rules import domain_of, is_valid_domain, is_valid_mail, is_valid_new_mail, parse_int

__all__ = [
    "checked_domain",
    "clamp_quota",
    "hashed_password",
    "new_account_mail",
    "new_user_address",
    "rename_pair",
    "requested_quota",
    "require_valid_password",
    "target_mail",
    "target_user",
    "user_password",
    "valid_mail",
]


def valid_mail(ctx: Ctx) -> str:
    """The path's ``<mail>``; ``INVALID_MAIL`` when malformed (no domain-rights check)."""
    mail = ctx.match["mail"]
    if not is_valid_mail(mail):
        raise ApiError("INVALID_MAIL")
    return mail


def target_user(ctx: Ctx) -> tuple[str, str]:
    """Validate the ``<mail>`` of an account endpoint and the caller's right to its domain."""
    mail = valid_mail(ctx)
    domain = domain_of(mail)
    ctx.require_domain(domain)
    return mail, domain


def target_mail(ctx: Ctx) -> str:
    """Like :func:`target_user`, returning only the address."""
    return target_user(ctx)[0]


def checked_domain(ctx: Ctx, domain: str, *, check_rights: bool = True) -> str:
    """Refuse a malformed domain (``INVALID_DOMAIN_NAME``), then, optionally, a foreign one."""
    if not is_valid_domain(domain):
        raise ApiError("INVALID_DOMAIN_NAME")
    if check_rights:
        ctx.require_domain(domain)
    return domain


def new_account_mail(ctx: Ctx) -> str:
    """The path's ``<mail>`` of a new alias or list; ``INVALID_MAIL`` unless the Pro 5.5 rule passes."""
    mail = ctx.match["mail"]
    if not is_valid_new_mail(mail):
        raise ApiError("INVALID_MAIL")
    return mail


def new_user_address(ctx: Ctx) -> tuple[str, str, str]:
    """The new user's ``(mail, local part, domain)``, checked in the server's order."""
    mail = ctx.match["mail"]
    local, _, domain = mail.rpartition("@")
    if not local:
        raise ApiError("INVALID_ACCOUNT")
    if not is_valid_new_mail(mail):
        raise ApiError("INVALID_MAIL")
    return mail, local, domain


def rename_pair(ctx: Ctx) -> tuple[str, str]:
    """The ``(old, new)`` addresses of a ``change_email`` call: syntax, same domain, rights."""
    old, new = ctx.match["mail"], ctx.match["new_mail"]
    if not is_valid_mail(old):
        raise ApiError("INVALID_OLD_EMAIL")
    if not is_valid_new_mail(new):
        raise ApiError("INVALID_NEW_EMAIL")
    if domain_of(old) != domain_of(new):
        raise ApiError("PERMISSION_DENIED")
    ctx.require_domain(domain_of(old))
    return old, new


def requested_quota(ctx: Ctx, default: int) -> int:
    """A new user's ``quota`` parameter in MB; a missing or negative one means the domain default."""
    requested = parse_int(ctx.get("quota"))
    if requested is None or requested < 0:
        return default
    return requested


def clamp_quota(requested: int, *, default: int, max_user: int, total: int, allocated: Callable[[], int]) -> int:
    """Apply the server's silent quota rules (reference §8.1) and return the MB to store.

    Args:
        requested: The asked quota in MB (0 = unlimited).
        default: The domain's default user quota (0 = none).
        max_user: The domain's largest user quota (0 = no limit).
        total: The domain's total quota (0 = unlimited).
        allocated: What the domain's other users hold; only asked when ``total`` is set.

    Raises:
        ApiError: ``EXCEEDED_DOMAIN_QUOTA_SIZE`` when the domain has no spare quota.
    """
    quota, spare = requested, 0
    if total > 0:
        spare = total - allocated()
        if spare <= 0:
            raise ApiError("EXCEEDED_DOMAIN_QUOTA_SIZE")
        if quota == 0:
            quota = default or max_user or spare
    if max_user > 0 and (quota == 0 or quota > max_user):
        quota = max_user
    if total > 0 and quota > spare:
        quota = spare
    return quota


def require_valid_password(
    ctx: Ctx, password: str, domain: str | None, *, limits: Mapping[str, Any] | None = None
) -> None:
    """Refuse a password the policy (settings, then the domain's limits) rejects.

    Args:
        ctx: The request.
        password: The plain password.
        domain: The account's domain (``None``: no domain).
        limits: The domain's password limits when the caller has just read them in this
            transaction (spares reading them again); else the edition looks them up.
    """
    rules = ctx.password_rules(domain) if limits is None else ctx.state.rules_with(limits)
    problem = check_password(password, rules)
    if problem:
        raise ApiError(problem)


def hashed_password(ctx: Ctx, domain: str | None, *, limits: Mapping[str, Any] | None = None) -> str:
    """The ``password`` parameter, checked against the policy, as a new salted hash (``limits``: as above)."""
    password = ctx.get("password") or ""
    require_valid_password(ctx, password, domain, limits=limits)
    return hash_password(password)


def user_password(ctx: Ctx, domain: str, *, limits: Mapping[str, Any] | None = None) -> str:
    """What a new user stores: a checked ``password`` hashed, else an accepted ``password_hash``.

    ``limits`` are the domain's password limits if the caller has them (see
    :func:`require_valid_password`).
    """
    if ctx.get("password"):
        return hashed_password(ctx, domain, limits=limits)
    password_hash = (ctx.get("password_hash") or "").strip()
    if password_hash:
        if not is_accepted_hash(password_hash):
            raise ApiError("INVALID_PASSWORD_SCHEME")
        return password_hash
    raise ApiError("PW_EMPTY")
