"""Rules shared by the user endpoints: quota clamping, address filtering, maildir paths, views."""

from __future__ import annotations

import re
import time
from typing import Any

from migrate.sandbox import store_domain, store_mail
from migrate.sandbox.context import Ctx
from migrate.sandbox.rules import comma_addresses, domain_of, split_extension
from migrate.sandbox.shared_checks import clamp_quota
from migrate.sandbox.storage import Row, SecondStamp, parse_settings

__all__ = [
    "QUOTA_COLUMNS",
    "effective_quota",
    "existing_addresses",
    "mailbox_folder",
    "maildir_columns",
    "user_list_row",
    "user_view",
]

#: The ``domain`` columns :func:`effective_quota` reads, for callers that read no others.
QUOTA_COLUMNS = "domain, settings, maxquota"
_FOLDER_RE = re.compile(r"^[A-Za-z0-9]{0,20}$")
_BASE = "/var/vmail"
_NODE = "vmail1"
# The local time in a new maildir's name (formatted once a second, as now()).
_MAILDIR_STAMP = SecondStamp("%Y.%m.%d.%H.%M.%S", time.localtime)


def effective_quota(ctx: Ctx, domain: Row, requested: int, *, username: str | None) -> int:
    """Apply the server's silent quota rules (reference §8.1) and return the MB to store.

    Args:
        ctx: The request.
        domain: The user's domain row (at least :data:`QUOTA_COLUMNS`).
        requested: The asked quota in MB (0 = unlimited).
        username: The user being updated (its current quota is not counted as allocated).

    Raises:
        ApiError: ``EXCEEDED_DOMAIN_QUOTA_SIZE`` when the domain has no spare quota.
    """
    settings = parse_settings(domain["settings"])

    def allocated() -> int:
        total = store_domain.allocated_quota(ctx.db, domain["domain"])
        if username is not None:
            row = store_mail.get_mailbox_columns(ctx.db, username, "quota")
            total -= int(row["quota"]) if row else 0
        return total

    return clamp_quota(
        requested,
        default=int(settings.get("default_user_quota", 0)),
        max_user=int(settings.get("max_user_quota", 0)),
        total=int(domain["maxquota"] or 0),
        allocated=allocated,
    )


def existing_addresses(ctx: Ctx, raw: str | None, owner: str) -> list[str]:
    """Filter a members/forwarding list as the server does.

    Invalid addresses and same-domain addresses that do not exist are dropped; addresses in
    other domains pass unchecked.
    """
    domain = domain_of(owner)
    out = []
    for address in comma_addresses(raw):
        missing = domain_of(address) == domain and not store_domain.account_taken(ctx.db, split_extension(address))
        if address == owner or not missing:
            out.append(address)
    return out


def mailbox_folder(value: str | None, default: str = "Maildir") -> str:
    """Return a valid ``mailboxFolder`` (case kept) or the default."""
    if value is not None and _FOLDER_RE.match(value):
        return value
    return default


def maildir_columns(local: str, domain: str, path: str | None) -> dict[str, str]:
    """Return ``storagebasedirectory``/``storagenode``/``maildir`` for a new mailbox.

    Without ``path`` the default hashed layout is used
    (``example.com/j/o/h/john-2024.01.01.12.00.00/``); an absolute ``path`` is lower-cased.
    """
    if path:
        path = path.strip().lower().rstrip("/")
        prefix = f"{_BASE}/{_NODE}/"
        if path.startswith(prefix):
            return {"storagebasedirectory": _BASE, "storagenode": _NODE, "maildir": path[len(prefix) :] + "/"}
        head, _, tail = path.rpartition("/")
        return {"storagebasedirectory": head or "/", "storagenode": "", "maildir": tail + "/"}
    chars = [("_" if c in ".~" else c) for c in (local + "___")[:3]]
    stamp = _MAILDIR_STAMP()
    return {
        "storagebasedirectory": _BASE,
        "storagenode": _NODE,
        "maildir": f"{domain}/{chars[0]}/{chars[1]}/{chars[2]}/{local}-{stamp}/",
    }


def _public_row(ctx: Ctx, row: Row, *, keep_password: bool) -> dict[str, Any]:
    data = {**row, "settings": parse_settings(row["settings"])}
    if not (keep_password or ctx.state.config.expose_password_hashes):
        data.pop("password", None)
    return data


def _last_login(ctx: Ctx, value: dict[str, int]) -> Any:
    return repr(value) if ctx.quirk("last_login_repr") else value


def user_list_row(ctx: Ctx, row: Row) -> dict[str, Any]:
    """Return one row of ``GET /api/users/<domain>``."""
    data = _public_row(ctx, row, keep_password=ctx.quirk("users_list_password"))
    data["last_login"] = _last_login(ctx, store_mail.last_login(ctx.db, row["username"]))
    data["used_quota"] = store_mail.used_quota(ctx.db, row["username"])
    return data


def user_view(ctx: Ctx, row: Row) -> dict[str, Any]:
    """Return ``GET /api/user/<mail>``: the mailbox row plus forwardings, aliases, bcc, lists."""
    username = row["username"]
    data = _public_row(ctx, row, keep_password=False)
    forwardings, aliases, member_of = store_mail.user_links(ctx.db, username)
    sbcc, rbcc, quota, login = store_mail.user_details(ctx.db, username)
    data.update(
        forwardings=[] if forwardings == [username] else forwardings,
        aliases=aliases,
        sender_bcc_address=sbcc["bcc_address"] if sbcc else "",
        sbcc_active=int(sbcc["active"]) if sbcc else 0,
        recipient_bcc_address=rbcc["bcc_address"] if rbcc else "",
        rbcc_active=int(rbcc["active"]) if rbcc else 0,
        mailing_aliases=member_of,
        mailing_lists=ctx.state.subscribers.lists_of(username),
        stored_bytes=quota["bytes"],
        stored_messages=quota["messages"],
        last_login=_last_login(ctx, login),
    )
    if row["isadmin"]:
        data["managed_domains"] = store_domain.managed_domains(ctx.db, username)
    return data
