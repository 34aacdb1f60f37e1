"""SQL for mail users and their ``forwardings`` rows: self row, forwardings, per-user aliases, bcc."""

from __future__ import annotations

import datetime
from typing import Any

from migrate.sandbox.storage import Db, Row, now

__all__ = [
    "add_user_aliases",
    "create_mailbox",
    "delete_domain",
    "delete_mailbox",
    "get_mailbox",
    "get_mailbox_columns",
    "last_login",
    "list_mailboxes",
    "mailbox_for_update",
    "mailbox_password",
    "record_deleted_mailbox",
    "remove_user_aliases",
    "rename_account",
    "set_user_active",
    "set_user_bcc",
    "set_user_forwardings",
    "update_mailbox",
    "used_quota",
    "user_bcc",
    "user_details",
    "user_forwardings",
    "user_links",
]


def _domain_of(mail: str) -> str:
    return mail.rpartition("@")[2]


def _in_domain(account: str, domain: str) -> bool:
    return account == f"@{domain}" or account.endswith(f"@{domain}")


def get_mailbox(db: Db, username: str) -> Row | None:
    """Return the ``mailbox`` row, or ``None``."""
    return db.one("SELECT * FROM mailbox WHERE username = ?", (username,))


def get_mailbox_columns(db: Db, username: str, columns: str) -> Row | None:
    """Return some columns of the ``mailbox`` row (a list written in code), or ``None``.

    Reading a whole row of some 60 columns costs several times a short one; an update that
    reads a few of them asks for those.
    """
    return db.one(f"SELECT {columns} FROM mailbox WHERE username = ?", (username,))


def mailbox_for_update(db: Db, username: str, domain: str) -> tuple[Row | None, Row | None]:
    """Return the mailbox row (username, domain, mailboxfolder, active) and its domain's quota columns.

    One statement for the two reads an update of the user always makes (either is ``None`` when
    missing; the domain is the one named, which the caller takes from the address).
    """
    values = db.first_row(
        "SELECT m.username, m.domain, m.mailboxfolder, m.active, d.domain, d.settings, d.maxquota "
        "FROM mailbox m LEFT JOIN domain d ON d.domain = ?2 WHERE m.username = ?1",
        (username, domain),
    )
    if values is None:
        return None, None
    row = dict(zip(("username", "domain", "mailboxfolder", "active"), values[:4], strict=True))
    # domain.domain is the primary key (NOT NULL): NULL there means no such domain.
    domain_row = None if values[4] is None else dict(zip(("domain", "settings", "maxquota"), values[4:], strict=True))
    return row, domain_row


def mailbox_password(db: Db, username: str, *, admins_only: bool) -> str | None:
    """Return the stored hash of an active user in an active domain, or ``None``.

    With ``admins_only`` the user must also have admin rights (who may log in).
    """
    sql = (
        "SELECT m.password FROM mailbox m JOIN domain d ON d.domain = m.domain "
        "WHERE m.username = ? AND m.active = 1 AND d.active = 1"
    )
    if admins_only:
        sql += " AND (m.isadmin = 1 OR m.isglobaladmin = 1)"
    value = db.scalar(sql, (username,))
    return None if value is None else str(value)


def list_mailboxes(db: Db, domain: str, *, disabled_only: bool) -> list[Row]:
    """Return the mailbox rows of ``domain`` sorted by username."""
    sql = "SELECT * FROM mailbox WHERE domain = ?"
    if disabled_only:
        sql += " AND active = 0"
    return db.all(sql + " ORDER BY username", (domain,))


def create_mailbox(db: Db, values: dict[str, Any]) -> None:
    """Insert a mailbox row plus its self ``forwardings`` row (normal delivery)."""
    stamp = now()
    username = str(values["username"])
    domain = str(values["domain"])
    db.insert("mailbox", {**values, "created": stamp, "modified": stamp, "passwordlastchange": stamp})
    db.insert(
        "forwardings",
        {"address": username, "forwarding": username, "domain": domain, "dest_domain": domain, "is_forwarding": 1},
    )


def update_mailbox(db: Db, username: str, values: dict[str, Any]) -> None:
    """Update mailbox columns (``passwordlastchange`` follows a password change)."""
    if not values:
        return
    changes = {**values, "modified": now()}
    if "password" in values:
        changes["passwordlastchange"] = changes["modified"]
    db.update("mailbox", changes, "username = ?", (username,))


def set_user_active(db: Db, username: str, active: int) -> None:
    """Enable or disable a user, and its ``forwardings`` rows in both directions."""
    db.update("mailbox", {"active": active, "modified": now()}, "username = ?", (username,))
    db.run("UPDATE forwardings SET active = ? WHERE address = ? OR forwarding = ?", (active, username, username))


def user_forwardings(db: Db, username: str) -> list[str]:
    """Return the user's forwarding destinations, the self row included."""
    return db.column(
        "SELECT forwarding FROM forwardings WHERE address = ? AND is_forwarding = 1 ORDER BY forwarding", (username,)
    )


def set_user_forwardings(db: Db, username: str, targets: list[str], active: int) -> None:
    """Replace the forwarding rows; an empty list restores the self row (normal delivery)."""
    db.run("DELETE FROM forwardings WHERE address = ? AND is_forwarding = 1", (username,))
    domain = _domain_of(username)
    for target in targets or [username]:
        db.insert(
            "forwardings",
            {"address": username, "forwarding": target, "domain": domain, "dest_domain": _domain_of(target),
             "is_forwarding": 1, "active": active},
        )  # fmt: skip


def add_user_aliases(db: Db, username: str, addresses: list[str], active: int) -> None:
    """Add per-user alias rows (callers skip taken addresses)."""
    for address in addresses:
        db.insert(
            "forwardings",
            {"address": address, "forwarding": username, "domain": _domain_of(address),
             "dest_domain": _domain_of(username), "is_alias": 1, "active": active},
        )  # fmt: skip


def remove_user_aliases(db: Db, username: str, addresses: list[str] | None) -> None:
    """Remove the given per-user aliases (all of them with ``None``)."""
    if addresses is None:
        db.run("DELETE FROM forwardings WHERE forwarding = ? AND is_alias = 1", (username,))
        return
    for address in addresses:
        db.run("DELETE FROM forwardings WHERE address = ? AND forwarding = ? AND is_alias = 1", (address, username))


def user_links(db: Db, username: str) -> tuple[list[str], list[str], list[str]]:
    """Return (forwardings, per-user aliases, alias accounts it belongs to) in one query."""
    forwardings: list[str] = []
    aliases: list[str] = []
    member_of: list[str] = []
    rows = db.all(
        "SELECT address, forwarding, is_forwarding, is_alias, is_list FROM forwardings "
        "WHERE address = ? OR forwarding = ?",
        (username, username),
    )
    for row in rows:
        if row["address"] == username and row["is_forwarding"]:
            forwardings.append(row["forwarding"])
        elif row["forwarding"] == username and row["is_alias"]:
            aliases.append(row["address"])
        elif row["forwarding"] == username and row["is_list"]:
            member_of.append(row["address"])
    return sorted(forwardings), sorted(aliases), sorted(member_of)


def user_bcc(db: Db, username: str, kind: str) -> Row | None:
    """Return the user's ``sender``/``recipient`` bcc row, or ``None``."""
    return db.one(f"SELECT bcc_address, active FROM {kind}_bcc_user WHERE username = ?", (username,))


def set_user_bcc(db: Db, username: str, kind: str, address: str, alias_domains: list[str]) -> None:
    """Set (or with '' remove) a per-user bcc, also for the user's address in each alias domain."""
    local = username.rpartition("@")[0]
    accounts = [username] + [f"{local}@{d}" for d in alias_domains]
    stamp = now()
    for account in accounts:
        db.run(f"DELETE FROM {kind}_bcc_user WHERE username = ?", (account,))
        if address:
            db.insert(
                f"{kind}_bcc_user",
                {"username": account, "bcc_address": address, "domain": _domain_of(account), "created": stamp},
            )


# The per-user rows a user's view shows, each table keyed by username (at most one row each),
# joined onto a one-row table so that missing rows come back as NULLs.
_DETAILS_SQL = (
    "SELECT s.username, s.bcc_address, s.active, r.username, r.bcc_address, r.active, "
    "q.bytes, q.messages, l.imap, l.pop3, l.lda FROM (SELECT 1) "
    "LEFT JOIN sender_bcc_user s ON s.username = ?1 LEFT JOIN recipient_bcc_user r ON r.username = ?1 "
    "LEFT JOIN used_quota q ON q.username = ?1 LEFT JOIN last_login l ON l.username = ?1"
)


def user_details(db: Db, username: str) -> tuple[Row | None, Row | None, dict[str, int], dict[str, int]]:
    """Return what :func:`user_bcc` (sender, recipient), :func:`used_quota` and :func:`last_login` return.

    One statement instead of four: a user's view reads all of them on every ``GET``.
    """
    # The one-row table on the left makes exactly one row; the fallback only satisfies the types.
    values = db.first_row(_DETAILS_SQL, (username,)) or (None,) * 11
    sender_user, sender_address, sender_active, recipient_user, recipient_address, recipient_active = values[:6]
    quota_bytes, messages, imap, pop3, lda = values[6:]
    # The username columns are NOT NULL: NULL there means no row.
    sender = None if sender_user is None else {"bcc_address": sender_address, "active": sender_active}
    recipient = None if recipient_user is None else {"bcc_address": recipient_address, "active": recipient_active}
    quota = {"bytes": int(quota_bytes or 0), "messages": int(messages or 0)}
    login = {"imap": int(imap or 0), "pop3": int(pop3 or 0), "lda": int(lda or 0)}
    return sender, recipient, quota, login


def last_login(db: Db, username: str) -> dict[str, int]:
    """Return ``{"imap", "pop3", "lda"}`` epochs (0 when unknown)."""
    row = db.one("SELECT imap, pop3, lda FROM last_login WHERE username = ?", (username,)) or {}
    return {key: int(row.get(key) or 0) for key in ("imap", "pop3", "lda")}


def used_quota(db: Db, username: str) -> dict[str, int]:
    """Return ``{"bytes", "messages"}`` stored for the user (0 when Dovecot never wrote any)."""
    row = db.one("SELECT bytes, messages FROM used_quota WHERE username = ?", (username,)) or {}
    return {"bytes": int(row.get("bytes") or 0), "messages": int(row.get("messages") or 0)}


def record_deleted_mailbox(db: Db, row: Row, *, admin: str, keep_days: int | None) -> None:
    """Write the ``deleted_mailboxes`` row a cron job later acts on (``NULL`` date = keep)."""
    delete_date = None
    if keep_days:
        delete_date = (datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=keep_days)).isoformat()
    quota = used_quota(db, row["username"])
    path = "/".join(p.strip("/") for p in (row["storagebasedirectory"], row["storagenode"], row["maildir"]) if p)
    db.insert(
        "deleted_mailboxes",
        {"timestamp": now(), "username": row["username"], "domain": row["domain"], "maildir": "/" + path.lower(),
         "bytes": quota["bytes"], "messages": quota["messages"], "admin": admin, "delete_date": delete_date},
    )  # fmt: skip


def _delete_policies(db: Db, accounts: list[str]) -> None:
    for account in accounts:
        policy_id = db.scalar("SELECT policy_id FROM users WHERE email = ?", (account,))
        db.run("DELETE FROM users WHERE email = ?", (account,))
        if policy_id is not None:
            db.run("DELETE FROM policy WHERE id = ?", (policy_id,))
        db.run("DELETE FROM throttle WHERE account = ?", (account,))
        db.run("DELETE FROM sender_relayhost WHERE account = ?", (account,))


def delete_mailbox(db: Db, username: str, *, admin: str, keep_days: int | None) -> bool:
    """Delete a user with everything that points at it; returns whether it existed."""
    row = get_mailbox(db, username)
    if row is None:
        return False
    record_deleted_mailbox(db, row, admin=admin, keep_days=keep_days)
    db.run("DELETE FROM mailbox WHERE username = ?", (username,))
    db.run("DELETE FROM forwardings WHERE address = ? OR forwarding = ?", (username, username))
    for table in ("sender_bcc_user", "recipient_bcc_user", "used_quota", "last_login", "domain_admins"):
        db.run(f"DELETE FROM {table} WHERE username = ?", (username,))
    db.run("DELETE FROM moderators WHERE moderator = ?", (username,))
    db.run("DELETE FROM maillist_owners WHERE owner = ?", (username,))
    _delete_policies(db, [username])
    return True


def delete_domain(db: Db, domain: str, *, admin: str, keep_days: int | None) -> None:
    """Delete a domain and everything in it; mailboxes are recorded in ``deleted_mailboxes``."""
    for row in db.all("SELECT * FROM mailbox WHERE domain = ?", (domain,)):
        record_deleted_mailbox(db, row, admin=admin, keep_days=keep_days)
    for table in (
        "mailbox", "alias", "forwardings", "moderators", "maillist_owners", "maillists",
        "sender_bcc_user", "recipient_bcc_user", "used_quota", "last_login", "domain_admins",
        "sender_bcc_domain", "recipient_bcc_domain", "domain",
    ):  # fmt: skip
        db.run(f"DELETE FROM {table} WHERE domain = ?", (domain,))
    db.run("DELETE FROM alias_domain WHERE target_domain = ?", (domain,))
    accounts = {str(a) for a in db.column("SELECT email FROM users")}
    accounts |= {str(a) for a in db.column("SELECT account FROM throttle")}
    accounts |= {str(a) for a in db.column("SELECT account FROM sender_relayhost")}
    _delete_policies(db, sorted(a for a in accounts if _in_domain(a, domain)))


def rename_account(db: Db, old: str, new: str) -> None:
    """Move every row keyed by ``old`` to ``new`` (``change_email``; the maildir path stays)."""
    stamp = now()
    db.update("mailbox", {"username": new, "modified": stamp}, "username = ?", (old,))
    db.update("alias", {"address": new, "modified": stamp}, "address = ?", (old,))
    db.update("forwardings", {"address": new}, "address = ?", (old,))
    db.update("forwardings", {"forwarding": new}, "forwarding = ?", (old,))
    for table, column in (
        ("sender_bcc_user", "username"), ("recipient_bcc_user", "username"), ("used_quota", "username"),
        ("last_login", "username"), ("domain_admins", "username"), ("moderators", "address"),
        ("moderators", "moderator"), ("maillist_owners", "owner"), ("users", "email"), ("throttle", "account"),
        ("sender_relayhost", "account"),
    ):  # fmt: skip
        db.update(table, {column: new}, f"{column} = ?", (old,))
