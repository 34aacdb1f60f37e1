"""SQL for alias accounts (``alias`` + ``is_list`` rows) and mlmmj lists (``maillists`` + marker)."""

from __future__ import annotations

from typing import Any

from migrate.sandbox.storage import Db, Row, now

__all__ = [
    "alias_members",
    "create_alias",
    "create_ml",
    "delete_alias",
    "delete_ml",
    "get_alias",
    "get_ml",
    "list_aliases",
    "list_mls",
    "ml_owners",
    "moderators",
    "set_alias_active",
    "set_alias_members",
    "set_ml_owners",
    "set_moderators",
    "update_alias",
    "update_ml",
]


def _domain_of(mail: str) -> str:
    return mail.rpartition("@")[2]


def get_alias(db: Db, address: str) -> Row | None:
    """Return the ``alias`` row, or ``None``."""
    return db.one("SELECT * FROM alias WHERE address = ?", (address,))


def list_aliases(db: Db, domain: str, *, disabled_only: bool) -> list[Row]:
    """Return the alias rows of ``domain`` sorted by address."""
    sql = "SELECT * FROM alias WHERE domain = ?"
    if disabled_only:
        sql += " AND active = 0"
    return db.all(sql + " ORDER BY address", (domain,))


def create_alias(db: Db, values: dict[str, Any]) -> None:
    """Insert an alias row."""
    stamp = now()
    db.insert("alias", {**values, "created": stamp, "modified": stamp})


def update_alias(db: Db, address: str, values: dict[str, Any]) -> None:
    """Update alias columns."""
    if values:
        db.update("alias", {**values, "modified": now()}, "address = ?", (address,))


def set_alias_active(db: Db, address: str, active: int) -> None:
    """Enable or disable an alias together with its member rows."""
    update_alias(db, address, {"active": active})
    db.run("UPDATE forwardings SET active = ? WHERE address = ? AND is_list = 1", (active, address))


def alias_members(db: Db, address: str) -> list[str]:
    """Return the members of an alias account, sorted."""
    return db.column(
        "SELECT forwarding FROM forwardings WHERE address = ? AND is_list = 1 ORDER BY forwarding", (address,)
    )


def set_alias_members(db: Db, address: str, add: list[str], remove: list[str] | None, active: int) -> None:
    """Remove then add member rows; ``remove=None`` clears every member first."""
    if remove is None:
        db.run("DELETE FROM forwardings WHERE address = ? AND is_list = 1", (address,))
    else:
        for member in remove:
            db.run("DELETE FROM forwardings WHERE address = ? AND forwarding = ? AND is_list = 1", (address, member))
    have = set(alias_members(db, address))
    for member in add:
        if member in have:
            continue
        db.insert(
            "forwardings",
            {"address": address, "forwarding": member, "domain": _domain_of(address),
             "dest_domain": _domain_of(member), "is_list": 1, "active": active},
        )  # fmt: skip


def moderators(db: Db, address: str) -> list[str]:
    """Return the moderators of an alias or list, sorted."""
    return db.column("SELECT moderator FROM moderators WHERE address = ? ORDER BY moderator", (address,))


def set_moderators(db: Db, address: str, people: list[str]) -> None:
    """Replace the moderators of an alias or list."""
    db.run("DELETE FROM moderators WHERE address = ?", (address,))
    for person in people:
        db.insert(
            "moderators",
            {"address": address, "moderator": person, "domain": _domain_of(address), "dest_domain": _domain_of(person)},
        )


def delete_alias(db: Db, address: str) -> bool:
    """Delete an alias account, its members and moderators; returns whether it existed."""
    existed = db.run("DELETE FROM alias WHERE address = ?", (address,)) > 0
    db.run("DELETE FROM forwardings WHERE address = ? AND is_list = 1", (address,))
    db.run("DELETE FROM forwardings WHERE forwarding = ? AND is_list = 1", (address,))
    db.run("DELETE FROM moderators WHERE address = ?", (address,))
    return existed


# --- mlmmj lists ----------------------------------------------------------------------------------


def get_ml(db: Db, address: str) -> Row | None:
    """Return the ``maillists`` row, or ``None``."""
    return db.one("SELECT * FROM maillists WHERE address = ?", (address,))


def list_mls(db: Db, domain: str) -> list[Row]:
    """Return the mlmmj lists of ``domain`` sorted by address."""
    return db.all("SELECT * FROM maillists WHERE domain = ? ORDER BY address", (domain,))


def create_ml(db: Db, values: dict[str, Any]) -> None:
    """Insert a ``maillists`` row and the ``is_maillist`` marker row."""
    stamp = now()
    address = str(values["address"])
    db.insert("maillists", {**values, "created": stamp, "modified": stamp})
    domain = _domain_of(address)
    db.insert(
        "forwardings",
        {"address": address, "forwarding": address, "domain": domain, "dest_domain": domain, "is_maillist": 1,
         "active": values.get("active", 1)},
    )  # fmt: skip


def update_ml(db: Db, address: str, values: dict[str, Any]) -> None:
    """Update ``maillists`` columns (``active`` also flips the marker row)."""
    if not values:
        return
    db.update("maillists", {**values, "modified": now()}, "address = ?", (address,))
    if "active" in values:
        db.run("UPDATE forwardings SET active = ? WHERE address = ? AND is_maillist = 1", (values["active"], address))


def ml_owners(db: Db, address: str) -> list[str]:
    """Return the owners of an mlmmj list, sorted."""
    return db.column("SELECT owner FROM maillist_owners WHERE address = ? ORDER BY owner", (address,))


def set_ml_owners(db: Db, address: str, owners: list[str]) -> None:
    """Replace the owners of an mlmmj list."""
    db.run("DELETE FROM maillist_owners WHERE address = ?", (address,))
    for owner in owners:
        db.insert(
            "maillist_owners",
            {"address": address, "owner": owner, "domain": _domain_of(address), "dest_domain": _domain_of(owner)},
        )


def delete_ml(db: Db, address: str) -> bool:
    """Delete an mlmmj list's SQL rows; returns whether it existed."""
    existed = db.run("DELETE FROM maillists WHERE address = ?", (address,)) > 0
    db.run("DELETE FROM forwardings WHERE address = ? AND is_maillist = 1", (address,))
    db.run("DELETE FROM maillist_owners WHERE address = ?", (address,))
    db.run("DELETE FROM moderators WHERE address = ?", (address,))
    return existed
