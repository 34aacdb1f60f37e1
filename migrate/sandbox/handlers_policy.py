"""Spam policy (amavisd) and throttle (iRedAPD) endpoints (reference §6.9, §6.10)."""

from __future__ import annotations

import math
from typing import Any

from migrate.sandbox import store_extra
from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.rules import comma_names, domain_of, is_valid_domain, is_valid_mail, parse_int, yes

__all__ = [
    "delete_spam_policy",
    "get_spam_policy",
    "get_throttle",
    "put_spam_policy",
    "set_throttle",
]

_THROTTLE_PRIORITY = {"global": 0, "domain": 10, "user": 100}
_DIRECTIONS = ("inbound", "outbound")


def _policy_account(ctx: Ctx) -> tuple[str, str]:
    """Return (scope, amavisd account) of a spam policy path, checking the caller's rights."""
    if "domain" in ctx.match:
        domain = ctx.match["domain"]
        if not is_valid_domain(domain):
            raise ApiError("INVALID_ACCOUNT")
        ctx.require_domain(domain)
        return "domain", f"@{domain}"
    if "mail" in ctx.match:
        mail = ctx.match["mail"]
        if not is_valid_mail(mail):
            raise ApiError("INVALID_ACCOUNT")
        ctx.require_domain(domain_of(mail))
        return "user", mail
    ctx.require_global()
    return "global", "@."


def get_spam_policy(ctx: Ctx) -> Reply:
    """``GET /api/spampolicy/...``: the policy parameters (``{}`` when none is set)."""
    _, account = _policy_account(ctx)
    return ok(store_extra.get_spam_policy(ctx.db, account) or {})


def put_spam_policy(ctx: Ctx) -> Reply:
    """``PUT /api/spampolicy/...``: set the given parameters; the others keep their values."""
    scope, account = _policy_account(ctx)
    values: dict[str, Any] = {name: yes(ctx.get(name)) for name in store_extra.SPAM_FLAGS if ctx.has(name)}
    if ctx.has("spam_score"):
        try:
            score = float((ctx.get("spam_score") or "").strip())
        except ValueError:
            raise ApiError("INVALID_SPAM_SCORE") from None
        if not math.isfinite(score):
            raise ApiError("INVALID_SPAM_SCORE")
        values["spam_score"] = score
    if ctx.has("banned_rulenames"):
        values["banned_rulenames"] = ",".join(n.upper() for n in comma_names(ctx.get("banned_rulenames")))
    store_extra.put_spam_policy(ctx.db, account, scope, values)
    return ok()


def delete_spam_policy(ctx: Ctx) -> Reply:
    """``DELETE /api/spampolicy/...``: remove the policy (none is fine)."""
    _, account = _policy_account(ctx)
    store_extra.delete_spam_policy(ctx.db, account)
    return ok()


def _throttle_account(ctx: Ctx) -> tuple[str, str, str]:
    """Return (scope, iRedAPD account, direction) of a throttle path, checking rights."""
    target = ctx.match["account"]
    direction = ctx.match["direction"]
    if target == "global":
        ctx.require_global()
        scope, account = "global", "@."
    elif "@" in target:
        if not is_valid_mail(target):
            raise ApiError("INVALID_ACCOUNT")
        ctx.require_domain(domain_of(target))
        scope, account = "user", target
    else:
        if not is_valid_domain(target):
            raise ApiError("INVALID_ACCOUNT")
        ctx.require_domain(target)
        scope, account = "domain", f"@{target}"
    if direction not in _DIRECTIONS:
        raise ApiError("INVALID_INOUT_TYPE")
    return scope, account, direction


def get_throttle(ctx: Ctx) -> Reply:
    """``GET /api/throttle/<target>/<direction>``: the row under ``setting`` (``{}`` when none)."""
    _, account, direction = _throttle_account(ctx)
    return ok(store_extra.get_throttle(ctx.db, account, direction) or {}, key="setting")


def set_throttle(ctx: Ctx) -> Reply:
    """``POST /api/throttle/<target>/<direction>``: replace the whole setting."""
    scope, account, direction = _throttle_account(ctx)
    period = parse_int(ctx.get("period"))
    if period is None or period < 0:
        raise ApiError("MISS_PERIOD")
    values: dict[str, int] = {"period": period}
    for name in ("msg_size", "max_msgs", "max_quota"):
        number = parse_int(ctx.get(name))
        if number is not None:
            values[name] = number
    if len(values) == 1:
        raise ApiError("MISS_THROTTLE_SETTING")
    store_extra.set_throttle(ctx.db, account, direction, _THROTTLE_PRIORITY[scope], values)
    return ok()
