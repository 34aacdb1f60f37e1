"""Read the current state of a live target through the API, for planning and verification.

It reads as little as the plan needs: the list endpoints once per domain and kind where the server
has them, and per-object GETs only for what the lists do not carry (members, forwardings, per-user
aliases, bcc) and only for objects the input actually sets those fields on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from migrate.errors import EndpointUnsupported, RejectedByServer
from migrate.model import Account, Admin, Alias, Domain, MailingList, SpamPolicy, Throttle, User
from migrate.state import (
    State,
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

__all__ = ["FirstLook", "detect_edition", "first_look", "read_object", "read_state"]

T = TypeVar("T")


async def _gather(coros: Iterable[Awaitable[T]]) -> list[T]:
    return list(await asyncio.gather(*coros))


async def detect_edition(client: ApiClient, probe_domain: str) -> str:
    """Tell the SQL edition from the LDAP one: only LDAP has ``/api/maillist``."""
    try:
        await client.call("GET", f"/maillist/probe-edition@{probe_domain}", allow_failure=True)
    except EndpointUnsupported:
        return "sql"
    return "ldap"


@dataclass(frozen=True, slots=True)
class FirstLook:
    """What a target tells about itself whatever the input: its edition and its domains.

    Attributes:
        edition: ``sql`` or ``ldap``.
        domains: The domains the admin may see.
    """

    edition: str
    domains: frozenset[str]


async def first_look(client: ApiClient, probe_domain: str) -> FirstLook:
    """Detect the edition and list the domains, in one round trip (both requests at once).

    Args:
        client: A logged-in client.
        probe_domain: Any domain name, for the edition probe's path (the answer depends only on
            whether the endpoint exists).
    """
    listing = asyncio.ensure_future(client.list_domains())
    try:
        edition = await detect_edition(client, probe_domain)
    except BaseException:
        listing.cancel()
        await asyncio.gather(listing, return_exceptions=True)
        raise
    return FirstLook(edition, frozenset(await listing))


def _domain_of(key: str) -> str:
    return key.rpartition("@")[2]


async def _read_domain(client: ApiClient, state: State, domain: str, with_admins: bool) -> None:
    try:
        data = await client.get_domain(domain)
    except RejectedByServer as exc:
        if exc.code == "INVALID_DOMAIN_NAME":  # the server's answer for a domain that does not exist
            return
        raise
    if data is None:
        return
    admins = await client.get_domain_admins(domain) if with_admins else None
    state.domains[domain] = domain_from_api({"domain": domain, **data}, admins=admins)


async def _read_accounts(client: ApiClient, state: State, domain: str) -> None:
    """List a domain's users, aliases and mlmmj lists (one call per kind)."""
    users, aliases, lists = await asyncio.gather(
        client.list_users(domain), client.list_aliases(domain), client.list_mls(domain)
    )
    for row in users:
        user = user_from_api(row)
        state.users[user.email] = user
    for row in aliases:
        alias = alias_from_api(row)
        state.aliases[alias.email] = alias
    for row in lists:
        lst = list_from_api(row, kind="mlmmj")
        state.lists[lst.email] = lst


async def read_object(client: ApiClient, state: State, obj: Account, list_kind: str = "mlmmj") -> None:
    """Read one object's full profile into ``state`` (``None`` results leave it absent)."""
    if isinstance(obj, User):
        data = await client.get_user(obj.email)
        if data is not None:
            state.users[obj.email] = user_from_api({"username": obj.email, **data})
        else:
            state.users.pop(obj.email, None)
    elif isinstance(obj, Alias) or (isinstance(obj, MailingList) and list_kind == "alias"):
        data = await client.get_alias(obj.email)
        if data is not None:
            state.aliases[obj.email] = alias_from_api({"address": obj.email, **data})
    elif isinstance(obj, MailingList):
        kind = "mlmmj" if (obj.kind == "mlmmj" or list_kind == "mlmmj") else "maillist"
        existing = state.lists.get(obj.email)
        if existing is not None and existing.kind:
            kind = existing.kind
        data = await (client.get_ml(obj.email) if kind == "mlmmj" else client.get_maillist(obj.email))
        if data is not None:
            state.lists[obj.email] = list_from_api({"address": obj.email, **data}, kind=kind)
    elif isinstance(obj, Admin):
        data = await client.get_admin(obj.email)
        if data is not None:
            state.admins[obj.email] = admin_from_api({"username": obj.email, **data})
    elif isinstance(obj, SpamPolicy):
        policy = spam_policy_from_api(
            await client.get_spampolicy(obj.scope, obj.target or None), scope=obj.scope, target=obj.target
        )
        if policy is not None:
            state.spam_policies[obj.key] = policy
    elif isinstance(obj, Throttle):
        target = "global" if obj.scope == "global" else obj.target
        throttle = throttle_from_api(
            await client.get_throttle(target, obj.direction),
            scope=obj.scope,
            target=obj.target,
            direction=obj.direction,
        )
        if throttle is not None:
            state.throttles[obj.key] = throttle
    state.detailed.add(obj.key)


def _needs_detail(obj: Account, state: State) -> bool:
    """Whether the list endpoints leave out something this object sets."""
    if isinstance(obj, User):
        return obj.email in state.users and any(
            getattr(obj, f) is not None for f in ("forwarding", "aliases", "senderBcc", "recipientBcc")
        )
    if isinstance(obj, MailingList) and state.edition == "ldap":
        return True  # classic LDAP lists have no list endpoint
    if isinstance(obj, (Alias, MailingList)):
        return obj.email in state.aliases or obj.email in state.lists or not state.has_list_endpoints
    return isinstance(obj, (Admin, SpamPolicy, Throttle))


async def read_state(
    client: ApiClient,
    desired: Sequence[Account],
    *,
    scope: Iterable[str] = (),
    edition: str | None = None,
    list_kind: str | None = None,
    first: FirstLook | None = None,
) -> State:
    """Read what the plan needs to know about the target.

    Args:
        client: A logged-in client.
        desired: The valid objects of the input.
        scope: Extra domains to list fully (``--domain``, needed for ``--delete-missing``).
        edition: ``sql`` or ``ldap``; detected when ``None``.
        list_kind: What lists become on the target (``alias`` with ``--lists-as-aliases``).
        first: The edition and domain list, when already read (:func:`first_look`).
    """
    domains = {obj.domain for obj in desired if isinstance(obj, Domain)}
    domains |= {_domain_of(obj.key) for obj in desired if isinstance(obj, (User, Alias, MailingList))}
    domains |= {d for obj in desired if isinstance(obj, Admin) for d in (obj.domains or ())}
    domains |= set(scope)
    state = State()
    if first is None and domains:
        if edition is None:
            first = await first_look(client, sorted(domains)[0])
        else:
            first = FirstLook(edition, frozenset(await client.list_domains()))
    existing = first.domains if first is not None else frozenset()  # no domain named: none to read
    state.edition = edition or (first.edition if first is not None else "sql")
    kind = list_kind or ("maillist" if state.edition == "ldap" else "mlmmj")
    admin_domains = {obj.domain for obj in desired if isinstance(obj, Domain) and obj.admins is not None}
    admin_domains |= {_domain_of(obj.email) for obj in desired if isinstance(obj, User) and obj.isAdmin}
    admin_domains |= {d for obj in desired if isinstance(obj, Admin) for d in (obj.domains or ())}
    present = sorted(d for d in domains if d in existing)
    await _gather(_read_domain(client, state, d, d in admin_domains) for d in present)
    try:
        await _gather(_read_accounts(client, state, d) for d in sorted(state.domains))
    except EndpointUnsupported:
        state.has_list_endpoints = False
        state.users.clear()
        state.aliases.clear()
        state.lists.clear()
    detail: list[Any] = [obj for obj in desired if not state.has_list_endpoints or _needs_detail(obj, state)]
    await _gather(read_object(client, state, obj, kind) for obj in detail)
    return state
