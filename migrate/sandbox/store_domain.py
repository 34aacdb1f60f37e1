"""SQL for domains, alias domains, domain-level bcc/relay/catch-all, and admins."""

from __future__ import annotations

from typing import Any

from migrate.sandbox.storage import Db, Row, format_settings, now, parse_settings

__all__ = [
    "account_taken",
    "add_domain_admin",
    "admin_password",
    "alias_domains",
    "allocated_quota",
    "catchall",
    "count_accounts",
    "create_admin",
    "create_domain",
    "delete_admin",
    "domain_admins",
    "domain_bcc",
    "domain_counts",
    "domain_exists",
    "domain_for_new_account",
    "domain_settings",
    "get_admin",
    "get_domain",
    "hosted_domain",
    "is_global_admin",
    "list_domains",
    "managed_domains",
    "manages",
    "relayhost",
    "remove_domain_admin",
    "set_alias_domains",
    "set_catchall",
    "set_domain_bcc",
    "set_global_admin",
    "set_relayhost",
    "update_admin",
    "update_domain",
]


def get_domain(db: Db, domain: str, columns: str = "*") -> Row | None:
    """Return the ``domain`` row (only ``columns``, a list written in code, when given), or ``None``."""
    return db.one(f"SELECT {columns} FROM domain WHERE domain = ?", (domain,))


def domain_exists(db: Db, domain: str) -> bool:
    """Tell whether ``domain`` is a primary domain."""
    return db.scalar("SELECT 1 FROM domain WHERE domain = ?", (domain,)) is not None


def hosted_domain(db: Db, domain: str) -> bool:
    """Tell whether ``domain`` is hosted, as a primary or an alias domain."""
    if domain_exists(db, domain):
        return True
    return db.scalar("SELECT 1 FROM alias_domain WHERE alias_domain = ?", (domain,)) is not None


def list_domains(db: Db, *, only: set[str] | None, disabled_only: bool) -> list[Row]:
    """Return domain rows sorted by name, optionally restricted to ``only`` and to disabled ones."""
    sql = "SELECT * FROM domain"
    if disabled_only:
        sql += " WHERE active = 0"
    rows = db.all(sql + " ORDER BY domain")
    return [row for row in rows if only is None or row["domain"] in only]


def create_domain(db: Db, values: dict[str, Any]) -> None:
    """Insert a domain row (``created``/``modified`` stamped now)."""
    stamp = now()
    db.insert("domain", {**values, "created": stamp, "modified": stamp})


def update_domain(db: Db, domain: str, values: dict[str, Any]) -> None:
    """Update columns of a domain row."""
    if values:
        db.update("domain", {**values, "modified": now()}, "domain = ?", (domain,))


def domain_settings(db: Db, domain: str) -> dict[str, Any]:
    """Return the parsed ``domain.settings`` of ``domain`` (empty when missing)."""
    return parse_settings(db.scalar("SELECT settings FROM domain WHERE domain = ?", (domain,)))


_ACCOUNT_TABLES = {"users": "mailbox", "aliases": "alias", "lists": "maillists"}


def count_accounts(db: Db, kind: str, domain: str) -> int:
    """Count a domain's ``users``, ``aliases`` or ``lists``."""
    return int(db.scalar(f"SELECT COUNT(*) FROM {_ACCOUNT_TABLES[kind]} WHERE domain = ?", (domain,)) or 0)


def allocated_quota(db: Db, domain: str) -> int:
    """Sum the quotas (MB) of a domain's users."""
    return int(db.scalar("SELECT SUM(quota) FROM mailbox WHERE domain = ?", (domain,)) or 0)


def domain_counts(db: Db, domain: str) -> dict[str, int]:
    """Count the domain's accounts and sum its allocated user quota (MB)."""
    counts = {kind: count_accounts(db, kind, domain) for kind in _ACCOUNT_TABLES}
    counts["quota"] = allocated_quota(db, domain)
    return counts


def _domain_of(mail: str) -> str:
    return mail.rpartition("@")[2]


def catchall(db: Db, domain: str) -> list[str]:
    """Return the catch-all destinations: ``forwardings`` rows whose address is the bare domain."""
    return db.column("SELECT forwarding FROM forwardings WHERE address = ? ORDER BY forwarding", (domain,))


def set_catchall(db: Db, domain: str, targets: list[str]) -> None:
    """Replace the catch-all destinations of ``domain``."""
    db.run("DELETE FROM forwardings WHERE address = ?", (domain,))
    for target in targets:
        db.insert(
            "forwardings",
            {"address": domain, "forwarding": target, "domain": domain, "dest_domain": _domain_of(target)},
        )


def alias_domains(db: Db, domain: str) -> list[str]:
    """Return the alias domains of ``domain``."""
    return db.column("SELECT alias_domain FROM alias_domain WHERE target_domain = ? ORDER BY alias_domain", (domain,))


def set_alias_domains(db: Db, domain: str, add: list[str], remove: list[str]) -> None:
    """Add and remove alias domains of ``domain`` (callers filter out taken names)."""
    for name in remove:
        db.run("DELETE FROM alias_domain WHERE alias_domain = ? AND target_domain = ?", (name, domain))
    stamp = now()
    for name in add:
        db.insert("alias_domain", {"alias_domain": name, "target_domain": domain, "created": stamp, "modified": stamp})


def domain_bcc(db: Db, domain: str, kind: str) -> str:
    """Return the per-domain ``sender``/``recipient`` bcc address ('' when none)."""
    value = db.scalar(f"SELECT bcc_address FROM {kind}_bcc_domain WHERE domain = ?", (domain,))
    return str(value or "")


def set_domain_bcc(db: Db, domain: str, kind: str, address: str) -> None:
    """Set (or with '' remove) the per-domain bcc of ``kind`` (``sender``/``recipient``)."""
    db.run(f"DELETE FROM {kind}_bcc_domain WHERE domain = ?", (domain,))
    if address:
        stamp = now()
        db.insert(f"{kind}_bcc_domain", {"domain": domain, "bcc_address": address, "created": stamp})


def relayhost(db: Db, account: str) -> str:
    """Return the ``sender_relayhost`` of ``account`` (``@domain`` or an address), '' when none."""
    return str(db.scalar("SELECT relayhost FROM sender_relayhost WHERE account = ?", (account,)) or "")


def set_relayhost(db: Db, account: str, relay: str) -> None:
    """Set or (with '') remove a sender relay host."""
    db.run("DELETE FROM sender_relayhost WHERE account = ?", (account,))
    if relay:
        db.insert("sender_relayhost", {"account": account, "relayhost": relay})


_TAKEN_SQL = (
    "SELECT 1 FROM forwardings WHERE address = ?1 UNION ALL SELECT 1 FROM alias WHERE address = ?1 "
    "UNION ALL SELECT 1 FROM mailbox WHERE username = ?1 UNION ALL SELECT 1 FROM maillists WHERE address = ?1"
)


def account_taken(db: Db, address: str) -> bool:
    """Tell whether an address is used by any account or forwarding (the server's existence check)."""
    return db.scalar(_TAKEN_SQL, (address,)) is not None


def domain_for_new_account(db: Db, domain: str, address: str, columns: str) -> tuple[Row | None, bool]:
    """Return ``columns`` of the ``domain`` row (or ``None``) and whether ``address`` is taken.

    One statement for the two reads a create always makes; whether the address is taken is
    only known (and only matters) when the domain exists.
    """
    names = tuple(name.strip() for name in columns.split(","))
    values = db.first_row(f"SELECT {columns}, EXISTS ({_TAKEN_SQL}) FROM domain WHERE domain = ?2", (address, domain))
    if values is None:
        return None, False
    return dict(zip(names, values[:-1], strict=True)), bool(values[-1])


# --- admins -------------------------------------------------------------------------------------


def get_admin(db: Db, username: str) -> Row | None:
    """Return the standalone ``admin`` row, or ``None``."""
    return db.one("SELECT * FROM admin WHERE username = ?", (username,))


def admin_password(db: Db, username: str) -> str | None:
    """Return the stored hash of an active standalone admin, or ``None``."""
    value = db.scalar("SELECT password FROM admin WHERE username = ? AND active = 1", (username,))
    return None if value is None else str(value)


def create_admin(db: Db, values: dict[str, Any], settings: dict[str, Any]) -> None:
    """Insert a standalone admin."""
    stamp = now()
    db.insert(
        "admin",
        {**values, "settings": format_settings(settings), "created": stamp, "modified": stamp,
         "passwordlastchange": stamp},
    )  # fmt: skip


def update_admin(db: Db, username: str, values: dict[str, Any], settings: dict[str, Any] | None) -> None:
    """Update a standalone admin; ``settings`` replaces the settings string when given."""
    changes = dict(values)
    if settings is not None:
        changes["settings"] = format_settings(settings)
    if "password" in changes:
        changes["passwordlastchange"] = now()
    if changes:
        db.update("admin", {**changes, "modified": now()}, "username = ?", (username,))


def delete_admin(db: Db, username: str) -> None:
    """Delete a standalone admin and its domain assignments."""
    db.run("DELETE FROM admin WHERE username = ?", (username,))
    db.run("DELETE FROM domain_admins WHERE username = ?", (username,))


def is_global_admin(db: Db, username: str) -> bool:
    """Tell whether an account is a global admin (``domain='ALL'`` or ``mailbox.isglobaladmin``)."""
    sql = (
        "SELECT 1 FROM domain_admins WHERE username = ? AND domain = 'ALL' "
        "UNION ALL SELECT 1 FROM mailbox WHERE username = ? AND isglobaladmin = 1"
    )
    return db.scalar(sql, (username, username)) is not None


def set_global_admin(db: Db, username: str, value: bool) -> None:
    """Grant or revoke global rights (the ``domain='ALL'`` row)."""
    db.run("DELETE FROM domain_admins WHERE username = ? AND domain = 'ALL'", (username,))
    if value:
        add_domain_admin(db, username, "ALL")


def managed_domains(db: Db, username: str) -> list[str]:
    """Return the domains an admin manages (without ``ALL``)."""
    return db.column(
        "SELECT domain FROM domain_admins WHERE username = ? AND domain <> 'ALL' ORDER BY domain", (username,)
    )


def manages(db: Db, username: str, domain: str) -> bool:
    """Tell whether ``username`` has a ``domain_admins`` row for ``domain``."""
    return db.scalar("SELECT 1 FROM domain_admins WHERE username = ? AND domain = ?", (username, domain)) is not None


def domain_admins(db: Db, domain: str) -> list[str]:
    """Return the normal admins of ``domain``."""
    return db.column("SELECT username FROM domain_admins WHERE domain = ? ORDER BY username", (domain,))


def add_domain_admin(db: Db, username: str, domain: str) -> None:
    """Add a ``domain_admins`` row unless it exists."""
    if not manages(db, username, domain):
        stamp = now()
        db.insert("domain_admins", {"username": username, "domain": domain, "created": stamp, "modified": stamp})


def remove_domain_admin(db: Db, username: str, domain: str) -> None:
    """Remove a ``domain_admins`` row."""
    db.run("DELETE FROM domain_admins WHERE username = ? AND domain = ?", (username, domain))
