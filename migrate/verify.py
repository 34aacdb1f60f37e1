"""Read-back verification: what the server holds after a write, against what we asked for.

iRedAdmin-Pro answers success and then clamps a quota, drops a member it does not like, or stores
an unknown language as empty (reference §8). Only reading the object back shows that; each
difference is reported with the field, what was asked and what was stored (never a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from migrate.errors import RejectedByServer
from migrate.model import Admin, Alias, MailingList, SpamPolicy, Throttle, User
from migrate.plan_types import Verify
from migrate.readers.server import read_object
from migrate.state import State

if TYPE_CHECKING:
    from migrate.client import ApiClient

__all__ = ["compare", "mismatches"]


def _as_set(value: Any) -> set[str]:
    return set(value or ())


def compare(verify: Verify, stored: Any) -> list[str]:
    """Return one message per field where ``stored`` differs from ``verify.expect``."""
    if stored is None:
        return [f"{verify.key} is not on the server after the write"]
    problems: list[str] = []
    for name, want in sorted(verify.expect.items()):
        have = stored.get(name) if isinstance(stored, dict) else getattr(stored, name, None)
        if isinstance(want, (tuple, list, set, frozenset)):
            want_set, have_set = _as_set(want), _as_set(have)
            if name in verify.subset:
                missing = sorted(want_set - have_set)
                if missing:
                    problems.append(f"{name}: the server dropped {', '.join(missing)}")
            elif want_set != have_set:
                problems.append(f"{name}: asked {sorted(want_set)}, stored {sorted(have_set)}")
        elif have != want:
            problems.append(f"{name}: asked {want!r}, stored {have!r}")
    return problems


def _probe(verify: Verify, list_kind: str) -> Any:
    """Build a minimal object that tells read_object what to read."""
    key = verify.key
    if verify.kind == "user":
        return User(email=key)
    if verify.kind == "alias":
        return Alias(email=key)
    if verify.kind in ("mlmmj", "maillist"):
        return MailingList(email=key, kind=verify.kind)
    if verify.kind == "admin":
        return Admin(email=key)
    if verify.kind == "spam_policy":
        scope, _, target = key.partition(":")
        return SpamPolicy(scope=scope, target=target)
    if verify.kind == "throttle":
        scope, target, direction = key.split(":")
        return Throttle(scope=scope, target="" if target == "global" else target, direction=direction)
    return None


async def mismatches(client: ApiClient, verify: Verify, list_kind: str) -> list[str]:
    """Read the object behind ``verify`` from the server and compare it."""
    if verify.kind in ("domain", "domain_admins"):
        try:
            data = await client.get_domain(verify.key)
        except RejectedByServer as exc:
            if exc.code != "INVALID_DOMAIN_NAME":  # how the API says "no such domain"
                raise
            data = None
        stored: dict[str, Any] = {}
        if data is not None:
            from migrate.state import domain_from_api

            admins = await client.get_domain_admins(verify.key) if verify.kind == "domain_admins" else None
            domain = domain_from_api({"domain": verify.key, **data}, admins=admins)
            stored = {name: getattr(domain, name) for name in verify.expect}
        return compare(verify, stored if data is not None else None)
    state = State(edition="sql")
    probe = _probe(verify, list_kind)
    await read_object(client, state, probe, list_kind)
    tables: dict[str, Mapping[str, Any]] = {
        "user": state.users,
        "alias": state.aliases,
        "mlmmj": state.lists,
        "maillist": state.lists,
        "admin": state.admins,
        "spam_policy": state.spam_policies,
        "throttle": state.throttles,
    }
    return compare(verify, tables[verify.kind].get(probe.key))
