"""Read a whole target through the API for ``export``: every domain, account, policy.

List endpoints first (one call per domain and kind), then per-object GETs only for what the lists
do not carry: a user's forwardings, per-user aliases and bcc, an alias's members, a list's
subscribers, domain admins, standalone admins, and the policies of every scope. A failure to read
any object is collected per object; the caller refuses to write a silently incomplete snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migrate.errors import IredMigrateError
from migrate.model import Account, Domain, User
from migrate.state import (
    admin_from_api,
    alias_from_api,
    domain_from_api,
    list_from_api,
    spam_policy_from_api,
    throttle_from_api,
    user_from_api,
)

if TYPE_CHECKING:
    from migrate.client import ApiClient

__all__ = ["ExportRead", "ReadFailure", "read_everything"]


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """An object that could not be read."""

    kind: str
    key: str
    code: str
    message: str


@dataclass
class ExportRead:
    """What was read: the objects, the failures, and users whose hash the server hides."""

    objects: list[Account] = field(default_factory=list)
    failures: list[ReadFailure] = field(default_factory=list)
    missing_hashes: list[str] = field(default_factory=list)
    calls: int = 0


class _Reader:
    def __init__(self, client: ApiClient, progress: Callable[[int, int], None]) -> None:
        self.client = client
        self.out = ExportRead()
        self.groups: set[str] = set()  # classic lists named by members' memberOfGroup (LDAP)
        self.progress = progress
        self.done = 0
        self.total = 0

    async def guard(self, kind: str, key: str, coro: Awaitable[Any]) -> Any:
        """Run one read; record a failure instead of raising."""
        self.total += 1
        try:
            return await coro
        except IredMigrateError as exc:
            self.out.failures.append(ReadFailure(kind, key, exc.code or type(exc).__name__, exc.message))
            return None
        finally:
            self.done += 1
            self.progress(self.done, self.total)

    async def domain(self, name: str) -> None:
        data, admins = await asyncio.gather(
            self.guard("domain", name, self.client.get_domain(name)),
            self.guard("domain", name, self.client.get_domain_admins(name)),
        )
        if data is None:
            return
        domain = domain_from_api({"domain": name, **data}, admins=admins if admins is not None else None)
        self.out.objects.append(domain)
        listed = await asyncio.gather(
            self.guard("user", name, self.client.list_users(name)),
            self.guard("alias", name, self.client.list_aliases(name)),
            self.guard("list", name, self.client.list_mls(name)),
        )
        users, aliases, lists = (row or [] for row in listed)
        await asyncio.gather(
            *(self.user(row) for row in users),
            *(self.alias(row) for row in aliases),
            *(self.mlmmj(row) for row in lists),
            self.policies("domain", name),
        )

    async def user(self, row: dict[str, Any]) -> None:
        email = str(row.get("username", "")).lower()
        detail = await self.guard("user", email, self.client.get_user(email))
        if detail is None:
            return
        merged = {**row, **detail, "username": email}
        groups = merged.get("memberOfGroup")
        if isinstance(groups, list):
            self.groups.update(str(g).lower() for g in groups)
        user = user_from_api(merged)
        if user.password_hash is None:
            self.out.missing_hashes.append(email)
        self.out.objects.append(user)
        await self.policies("user", email)

    async def alias(self, row: dict[str, Any]) -> None:
        email = str(row.get("address", "")).lower()
        detail = await self.guard("alias", email, self.client.get_alias(email))
        if detail is not None:
            self.out.objects.append(alias_from_api({**row, **detail, "address": email}))

    async def mlmmj(self, row: dict[str, Any]) -> None:
        email = str(row.get("address", "")).lower()
        detail = await self.guard("list", email, self.client.get_ml(email, with_subscribers=True))
        if detail is not None:
            self.out.objects.append(list_from_api({**row, **detail, "address": email}, kind="mlmmj"))

    async def maillist(self, email: str) -> None:
        detail = await self.guard("list", email, self.client.get_maillist(email))
        if detail is not None:
            self.out.objects.append(list_from_api({**detail, "address": email}, kind="maillist"))

    async def admin(self, email: str) -> None:
        data = await self.guard("admin", email, self.client.get_admin(email))
        if data is not None:
            self.out.objects.append(admin_from_api({"username": email, **data}))

    async def policies(self, scope: str, target: str) -> None:
        spam_target = None if scope == "global" else target
        throttle_target = "global" if scope == "global" else target
        spam, inbound, outbound = await asyncio.gather(
            self.guard("spam_policy", f"{scope}:{target}", self.client.get_spampolicy(scope, spam_target)),
            self.guard("throttle", f"{scope}:{target}:inbound", self.client.get_throttle(throttle_target, "inbound")),
            self.guard("throttle", f"{scope}:{target}:outbound", self.client.get_throttle(throttle_target, "outbound")),
        )
        key_target = "" if scope == "global" else target
        policy = spam_policy_from_api(spam or {}, scope=scope, target=key_target)
        if policy is not None:
            self.out.objects.append(policy)
        for direction, data in (("inbound", inbound), ("outbound", outbound)):
            throttle = throttle_from_api(data or {}, scope=scope, target=key_target, direction=direction)
            if throttle is not None:
                self.out.objects.append(throttle)


async def read_everything(
    client: ApiClient,
    *,
    domains: Iterable[str] = (),
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> ExportRead:
    """Read every object of the target (or of ``domains`` only).

    Standalone admins are found through the domains they manage (the API has no admin list, so a
    global admin that manages no domain cannot be found); mail users with admin rights are exported
    as users with ``isAdmin``/``isGlobalAdmin``. On the LDAP edition, classic lists are found
    through their members' ``memberOfGroup`` (a list without internal members cannot be found).
    """
    reader = _Reader(client, progress)
    names = sorted({d.lower() for d in domains})
    if not names:
        listed = await reader.guard("domain", "*", client.list_domains())
        names = sorted(listed or {})
    await asyncio.gather(*(reader.domain(name) for name in names), reader.policies("global", "global"))
    # The LDAP edition has no list endpoint for classic lists: find them through their members.
    known = {obj.key for obj in reader.out.objects}
    await asyncio.gather(*(reader.maillist(address) for address in sorted(reader.groups - known)))
    users = {obj.email for obj in reader.out.objects if isinstance(obj, User)}
    admins = sorted({a for obj in reader.out.objects if isinstance(obj, Domain) for a in (obj.admins or ())} - users)
    await asyncio.gather(*(reader.admin(email) for email in admins))
    reader.out.failures.sort(key=lambda f: (f.kind, f.key))
    reader.out.missing_hashes.sort()
    reader.out.calls = reader.total
    return reader.out
