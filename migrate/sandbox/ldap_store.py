"""A small directory on SQLite: the entries of the LDAP edition's DIT and their attribute values.

Two tables stand in for slapd's database::

    ldap_entries(dn, parent, dn_text)      one row per entry; ``dn``/``parent`` are normalized
    ldap_values(id, dn, attr, value,       one row per attribute value (objectClass included)
                indexed)

DNs are normalized by lower-casing them (every DN the sandbox builds escapes values the same way,
and the attribute types and values in them are case-insensitive in iRedMail's schema);
``dn_text`` keeps the spelling the entry was added with. Attribute names are stored in the
schema's spelling (the sandbox writes them itself), values as text. The ``(attr, value)`` index
plays the role of slapd's equality indexes (``mail``, ``shadowAddress``, ``memberOfGroup``...),
the ``parent`` index that of one-level searches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migrate.sandbox.storage import Db

__all__ = ["INDEXED", "LDAP_SCHEMA", "Dit", "Entry", "escape_rdn_value", "normalize_dn", "parent_dn"]

#: An entry: attribute name -> values, in the order they were written.
Entry = dict[str, list[str]]

#: Attributes :meth:`Dit.find` can search by value (addresses that other entries point at).
INDEXED: frozenset[str] = frozenset(
    {"mail", "shadowAddress", "memberOfGroup", "mailForwardingAddress", "domainAdmin", "domainAliasName",
     "listModerator", "listOwner"}
)  # fmt: skip
# Rows per multi-row INSERT: well below SQLite's limit on bound variables.
_BATCH = 500

LDAP_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS ldap_entries (
    dn TEXT NOT NULL PRIMARY KEY,
    parent TEXT NOT NULL,
    dn_text TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idx_ldap_entries_parent ON ldap_entries (parent)",
    """CREATE TABLE IF NOT EXISTS ldap_values (
    id INTEGER PRIMARY KEY,
    dn TEXT NOT NULL,
    attr TEXT NOT NULL,
    value TEXT NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS idx_ldap_values_dn ON ldap_values (dn, attr)",
    "CREATE INDEX IF NOT EXISTS idx_ldap_values_attr ON ldap_values (attr, value) WHERE indexed = 1",
)

# RFC 4514 §2.4: escaped anywhere in a DN attribute value.
_DN_SPECIAL_RE = re.compile(r'[\\"+,;<>\x00]')
_DN_SPECIAL = {"\\": "\\\\", '"': '\\"', "+": "\\+", ",": "\\,", ";": "\\;", "<": "\\<", ">": "\\>", "\x00": "\\00"}


def escape_rdn_value(value: str) -> str:
    """Escape a value for a DN (RFC 4514): specials anywhere, ``#``/space first, space last."""
    escaped = "".join(_DN_SPECIAL.get(c, c) for c in value) if _DN_SPECIAL_RE.search(value) else value
    if escaped[:1] in ("#", " "):
        escaped = "\\" + escaped
    if len(value) > 1 and value.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def normalize_dn(dn: str) -> str:
    """Return the key a DN is stored under."""
    return dn.lower()


def parent_dn(dn: str) -> str:
    """Return the DN one level up ('' for a single RDN); escaped commas do not split."""
    i = 0
    while i < len(dn):
        char = dn[i]
        if char == "\\":
            i += 2
            continue
        if char == ",":
            return dn[i + 1 :]
        i += 1
    return ""


def _unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


class Dit:
    """The directory, on the sandbox's database connection (callers own the transaction).

    Args:
        db: The sandbox database; the two tables are created when missing.
    """

    def __init__(self, db: Db) -> None:
        self.db = db

    @staticmethod
    def create_tables(db: Db) -> None:
        """Create the directory's tables (idempotent)."""
        with db.tx():
            for statement in LDAP_SCHEMA:
                db.run(statement)

    # --- reading ---------------------------------------------------------------------------------

    def exists(self, dn: str) -> bool:
        """Tell whether an entry exists."""
        return self.db.scalar("SELECT 1 FROM ldap_entries WHERE dn = ?", (normalize_dn(dn),)) is not None

    def get(self, dn: str) -> Entry | None:
        """Return an entry's attributes, or ``None`` when there is no such entry."""
        rows = self.db.all("SELECT attr, value FROM ldap_values WHERE dn = ? ORDER BY id", (normalize_dn(dn),))
        if not rows:
            return {} if self.exists(dn) else None
        entry: Entry = {}
        for row in rows:
            entry.setdefault(row["attr"], []).append(row["value"])
        return entry

    def dn_text(self, dn: str) -> str | None:
        """Return the DN as the entry was added, or ``None``."""
        value = self.db.scalar("SELECT dn_text FROM ldap_entries WHERE dn = ?", (normalize_dn(dn),))
        return None if value is None else str(value)

    def values(self, dn: str, attr: str) -> list[str]:
        """Return one attribute's values (empty when absent)."""
        return self.db.column(
            "SELECT value FROM ldap_values WHERE dn = ? AND attr = ? ORDER BY id", (normalize_dn(dn), attr)
        )

    def first(self, dn: str, attr: str) -> str | None:
        """Return an attribute's first value, or ``None``."""
        values = self.values(dn, attr)
        return values[0] if values else None

    def has_value(self, dn: str, attr: str, value: str) -> bool:
        """Tell whether an entry holds ``attr: value``."""
        sql = "SELECT 1 FROM ldap_values WHERE dn = ? AND attr = ? AND value = ?"
        return self.db.scalar(sql, (normalize_dn(dn), attr, value)) is not None

    def children(self, parent: str) -> list[tuple[str, Entry]]:
        """Return ``(dn_text, entry)`` of the entries one level below ``parent``, sorted by DN."""
        rows = self.db.all(
            "SELECT e.dn AS dn, e.dn_text AS dn_text, v.attr AS attr, v.value AS value FROM ldap_entries e "
            "JOIN ldap_values v ON v.dn = e.dn WHERE e.parent = ? ORDER BY e.dn, v.id",
            (normalize_dn(parent),),
        )
        out: list[tuple[str, Entry]] = []
        current = None
        for row in rows:
            if row["dn"] != current:
                current = row["dn"]
                out.append((row["dn_text"], {}))
            out[-1][1].setdefault(row["attr"], []).append(row["value"])
        return out

    def child_dns(self, parent: str) -> list[str]:
        """Return the (normalized) DNs one level below ``parent``."""
        return self.db.column("SELECT dn FROM ldap_entries WHERE parent = ? ORDER BY dn", (normalize_dn(parent),))

    def count_children(self, parent: str) -> int:
        """Count the entries one level below ``parent``."""
        return int(self.db.scalar("SELECT COUNT(*) FROM ldap_entries WHERE parent = ?", (normalize_dn(parent),)))

    def find(self, attr: str, value: str, under: str | None = None) -> list[str]:
        """Return the (normalized) DNs holding ``attr: value``, optionally only below ``under``.

        Raises:
            ValueError: ``attr`` is not one of :data:`INDEXED`.
        """
        if attr not in INDEXED:
            raise ValueError(f"{attr} is not indexed")
        sql = "SELECT DISTINCT dn FROM ldap_values WHERE attr = ? AND value = ? AND indexed = 1"
        found = self.db.column(sql, (attr, value))
        if under is None:
            return sorted(found)
        suffix = "," + normalize_dn(under)
        return sorted(dn for dn in found if dn.endswith(suffix))

    def sum_children(self, parent: str, attr: str) -> int:
        """Sum an integer attribute over the entries one level below ``parent``."""
        sql = (
            "SELECT SUM(CAST(v.value AS INTEGER)) FROM ldap_entries e JOIN ldap_values v ON v.dn = e.dn "
            "WHERE e.parent = ? AND v.attr = ?"
        )
        return int(self.db.scalar(sql, (normalize_dn(parent), attr)) or 0)

    # --- writing ---------------------------------------------------------------------------------

    def add(self, dn: str, entry: Entry, *, suffix: bool = False) -> None:
        """Add an entry (its parent must exist, as slapd insists, unless it is the ``suffix``).

        Raises:
            KeyError: The entry exists already, or its parent does not.
        """
        key = normalize_dn(dn)
        if self.exists(key):
            raise KeyError(f"entry already exists: {dn}")
        parent = parent_dn(key)
        if parent and not suffix and not self.exists(parent):
            raise KeyError(f"parent entry missing: {parent_dn(dn)}")
        self.db.insert("ldap_entries", {"dn": key, "parent": parent, "dn_text": dn})
        self._insert_rows(key, [(attr, value) for attr, values in entry.items() for value in _unique(values)])

    def _insert(self, key: str, attr: str, values: Iterable[str]) -> None:
        self._insert_rows(key, [(attr, value) for value in values])

    def _insert_rows(self, key: str, pairs: list[tuple[str, str]]) -> None:
        # One multi-row INSERT per batch: an entry is written with one or two statements.
        for start in range(0, len(pairs), _BATCH):
            batch = pairs[start : start + _BATCH]
            marks = ", ".join("(?, ?, ?, ?)" for _ in batch)
            params = [item for attr, value in batch for item in (key, attr, value, int(attr in INDEXED))]
            self.db.run(f"INSERT INTO ldap_values (dn, attr, value, indexed) VALUES {marks}", params)

    def replace(self, dn: str, attr: str, values: Iterable[str]) -> None:
        """Replace an attribute's values; an empty list removes the attribute."""
        key = normalize_dn(dn)
        self.db.run("DELETE FROM ldap_values WHERE dn = ? AND attr = ?", (key, attr))
        self._insert(key, attr, _unique(values))

    def modify(self, dn: str, changes: dict[str, list[str]]) -> None:
        """Replace several attributes at once (empty lists remove them)."""
        for attr, values in changes.items():
            self.replace(dn, attr, values)

    def add_values(self, dn: str, attr: str, values: Iterable[str]) -> None:
        """Add values an attribute does not hold yet."""
        have = set(self.values(dn, attr))
        self._insert(normalize_dn(dn), attr, [v for v in _unique(values) if v not in have])

    def delete_values(self, dn: str, attr: str, values: Iterable[str]) -> None:
        """Remove the given values of an attribute (missing ones are ignored)."""
        key = normalize_dn(dn)
        for value in values:
            self.db.run("DELETE FROM ldap_values WHERE dn = ? AND attr = ? AND value = ?", (key, attr, value))

    def delete_value_everywhere(self, attr: str, value: str, under: str | None = None) -> list[str]:
        """Remove ``attr: value`` from every entry (below ``under``); returns the DNs touched."""
        touched = self.find(attr, value, under)
        for key in touched:
            self.db.run("DELETE FROM ldap_values WHERE dn = ? AND attr = ? AND value = ?", (key, attr, value))
        return touched

    def rename_value_everywhere(self, attr: str, old: str, new: str) -> None:
        """Change ``attr: old`` into ``attr: new`` wherever it occurs (no duplicate is created)."""
        for key in self.find(attr, old):
            self.db.run("DELETE FROM ldap_values WHERE dn = ? AND attr = ? AND value = ?", (key, attr, old))
            self.add_values(key, attr, [new])

    def delete(self, dn: str) -> bool:
        """Delete one entry (and anything below it); returns whether it existed."""
        key = normalize_dn(dn)
        existed = self.exists(key)
        subtree, pending = [], [key]
        while pending:  # walk down through the parent index rather than scanning every DN
            item = pending.pop()
            subtree.append(item)
            pending.extend(self.db.column("SELECT dn FROM ldap_entries WHERE parent = ?", (item,)))
        for item in subtree:
            self.db.run("DELETE FROM ldap_values WHERE dn = ?", (item,))
            self.db.run("DELETE FROM ldap_entries WHERE dn = ?", (item,))
        return existed

    def rename(self, old: str, new: str) -> None:
        """Move a leaf entry to a new DN (``modrdn``); its values keep their order.

        Raises:
            KeyError: The new DN is taken.
        """
        old_key, new_key = normalize_dn(old), normalize_dn(new)
        if old_key == new_key:
            self.db.update("ldap_entries", {"dn_text": new}, "dn = ?", (old_key,))
            return
        if self.exists(new_key):
            raise KeyError(f"entry already exists: {new}")
        self.db.update(
            "ldap_entries", {"dn": new_key, "parent": parent_dn(new_key), "dn_text": new}, "dn = ?", (old_key,)
        )
        self.db.update("ldap_values", {"dn": new_key}, "dn = ?", (old_key,))
