"""What the LDAP edition's handlers share: context, lookups, password policy, quotas, members.

Lookups answer with the server's errors. The rules are the SQL edition's (reference §8, §9.5):
the reference does not tell the editions apart there, so only where the data lives differs.
"""

from __future__ import annotations

from typing import Any

from migrate.sandbox.context import ApiError, Ctx
from migrate.sandbox.ldap_dit import (
    Tree,
    account_taken,
    is_global_admin,
    manages,
    parse_account_settings,
    tree_for,
)
from migrate.sandbox.ldap_store import Dit, Entry
from migrate.sandbox.policy import PasswordRules
from migrate.sandbox.rules import comma_addresses, domain_of, split_extension
from migrate.sandbox.shared_checks import checked_domain, clamp_quota

__all__ = [
    "MB",
    "DomainRef",
    "LdapCtx",
    "allocated_mb",
    "check_limit",
    "dit",
    "domain_ref",
    "domain_status",
    "effective_quota",
    "existing_addresses",
    "is_global",
    "password_rules",
    "quota_mb",
    "rename_source",
    "renamed_shadows",
    "taken",
    "tree",
]

#: Bytes in a MB: ``mailQuota`` is bytes, the API speaks MB.
MB = 1024 * 1024


def dit(ctx: Ctx) -> Dit:
    """The directory on the request's database."""
    return Dit(ctx.db)


def tree(ctx: Ctx) -> Tree:
    """The DNs of the configured base."""
    return tree_for(ctx.state.config.base_dn)


def is_global(ctx: Ctx) -> bool:
    """Whether the logged-in admin has global rights (the app's hook for the LDAP edition)."""
    return is_global_admin(dit(ctx), tree(ctx), ctx.username)


class LdapCtx(Ctx):
    """A request on the LDAP edition: domain rights come from the domains' ``domainAdmin``."""

    def can_manage(self, domain: str) -> bool:
        """Tell whether the caller may manage ``domain``."""
        return self.is_global or manages(dit(self), tree(self), self.username, domain)

    def password_rules(self, domain: str | None) -> PasswordRules:
        """Return the password policy, with the domain's limits from its ``accountSetting``."""
        return password_rules(self, domain)


class DomainRef:
    """An existing domain with its entry and parsed ``accountSetting``.

    Attributes:
        name: The domain name.
        dn: Its entry's DN.
        entry: Its attributes.
        settings: ``accountSetting`` as a dict.
    """

    def __init__(self, name: str, dn: str, entry: Entry) -> None:
        self.name = name
        self.dn = dn
        self.entry = entry
        self.settings: dict[str, Any] = parse_account_settings(entry.get("accountSetting", []))

    def setting(self, key: str) -> int:
        """An integer setting, 0 when unset."""
        value = self.settings.get(key, 0)
        return value if isinstance(value, int) else 0

    @property
    def active(self) -> bool:
        """Whether the domain's ``accountStatus`` is ``active``."""
        return self.entry.get("accountStatus", ["active"])[0] == "active"


def domain_ref(ctx: Ctx, domain: str, *, check_rights: bool = True) -> DomainRef:
    """Return an existing domain, answering ``INVALID_DOMAIN_NAME`` for bad or missing ones."""
    checked_domain(ctx, domain, check_rights=check_rights)
    dn = tree(ctx).domain(domain)
    entry = dit(ctx).get(dn)
    if entry is None:
        raise ApiError("INVALID_DOMAIN_NAME")  # the server's answer for a missing domain too
    return DomainRef(domain, dn, entry)


def domain_status(ref: DomainRef) -> Entry:
    """The ``domainStatus`` a new account of the domain carries (only while it is disabled)."""
    return {} if ref.active else {"domainStatus": ["disabled"]}


def taken(ctx: Ctx, address: str) -> bool:
    """The server's existence check (a ``+extension`` is stripped first)."""
    return account_taken(dit(ctx), tree(ctx), split_extension(address))


def rename_source(ctx: Ctx, dn: str, new: str) -> Entry:
    """The entry a ``change_email`` renames, refusing a missing one or a taken new address."""
    entry = dit(ctx).get(dn)
    if entry is None:
        raise ApiError("OLD_EMAIL_NOT_EXIST")
    if taken(ctx, split_extension(new)):
        raise ApiError("NEW_EMAIL_ALREADY_EXISTS")
    return entry


def renamed_shadows(entry: Entry, old: str, new: str) -> list[str]:
    """``shadowAddress`` after a rename: the ``<old local>@<alias domain>`` values follow along."""
    old_local, new_local = old.rpartition("@")[0], new.rpartition("@")[0]
    shadows = entry.get("shadowAddress", [])
    return [f"{new_local}@{a.rpartition('@')[2]}" if a.startswith(old_local + "@") else a for a in shadows]


def check_limit(ctx: Ctx, ref: DomainRef, key: str, ou: str) -> None:
    """Apply ``numberOfUsers``/``numberOfAliases``/``numberOfLists``: 0 unlimited, -1 not allowed."""
    limit = ref.setting(key)
    if limit == -1:
        raise ApiError("NOT_ALLOWED")
    if limit > 0:
        count = dit(ctx).count_children(tree(ctx).ou(ref.name, ou))
        if ou == "Users" and dit(ctx).exists(tree(ctx).catchall(ref.name)):
            count -= 1  # the catch-all lives in ou=Users but is no account
        if count >= limit:
            raise ApiError("EXCEEDED_DOMAIN_ACCOUNT_LIMIT")


def password_rules(ctx: Ctx, domain: str | None) -> PasswordRules:
    """The policy for a password: the settings table, then the domain's ``accountSetting``."""
    limits: dict[str, Any] = {}
    if domain:
        entry = dit(ctx).get(tree(ctx).domain(domain)) or {}
        settings = parse_account_settings(entry.get("accountSetting", []))
        for key, name in (("min_passwd_length", "minPasswordLength"), ("max_passwd_length", "maxPasswordLength")):
            if name in settings:
                limits[key] = settings[name]
    return ctx.state.rules_with(limits)


def quota_mb(entry: Entry) -> int:
    """A user's quota in MB (0 = unlimited = no ``mailQuota``); partial MB round up."""
    values = entry.get("mailQuota")
    if not values or not values[0].isdigit():
        return 0
    return -(-int(values[0]) // MB)


def allocated_mb(ctx: Ctx, domain: str) -> int:
    """Sum the quotas (MB) of a domain's users."""
    return -(-dit(ctx).sum_children(tree(ctx).ou(domain, "Users"), "mailQuota") // MB)


def effective_quota(ctx: Ctx, ref: DomainRef, requested: int, *, username: str | None) -> int:
    """Apply the server's silent quota rules (reference §8.1) and return the MB to store.

    Args:
        ctx: The request.
        ref: The user's domain.
        requested: The asked quota in MB (0 = unlimited).
        username: The user being updated (its current quota is not counted as allocated).

    Raises:
        ApiError: ``EXCEEDED_DOMAIN_QUOTA_SIZE`` when the domain has no spare quota.
    """

    def allocated() -> int:
        taken_mb = allocated_mb(ctx, ref.name)
        if username is not None:
            taken_mb -= quota_mb(dit(ctx).get(tree(ctx).user(username)) or {})
        return taken_mb

    return clamp_quota(
        requested,
        default=ref.setting("defaultQuota"),
        max_user=ref.setting("maxUserQuota"),
        total=ref.setting("domainQuota"),
        allocated=allocated,
    )


def existing_addresses(ctx: Ctx, raw: str | None, owner: str) -> list[str]:
    """Filter a members/forwarding list as the server does.

    Invalid addresses and same-domain addresses that do not exist are dropped; addresses in
    other domains pass unchecked; ``owner`` itself is kept (callers decide what it means).
    """
    domain = domain_of(owner)
    out = []
    for address in comma_addresses(raw):
        if address == owner or domain_of(address) != domain or taken(ctx, address):
            out.append(address)
    return out
