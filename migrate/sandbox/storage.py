"""The database handle: one SQLite connection, plain parameterized SQL, explicit transactions.

Every query in the sandbox goes through :class:`Db`; the ``store_*`` modules hold the SQL. The
connection is created and used on the server's event-loop thread only, so handlers can run a
whole write (several statements) without awaiting in between and need no locks.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from migrate.sandbox.schema import SCHEMA

__all__ = [
    "INT_SETTINGS",
    "LIST_SETTINGS",
    "Db",
    "Row",
    "format_settings",
    "now",
    "parse_settings",
]

Row = dict[str, Any]
Params = Sequence[Any]

#: Integer keys of the ``settings`` strings (non-integers are dropped on read, §13.5).
INT_SETTINGS = frozenset(
    {"default_user_quota", "max_user_quota", "min_passwd_length", "max_passwd_length", "create_max_domains",
     "create_max_users", "create_max_lists", "create_max_aliases", "create_max_quota"}
)  # fmt: skip
#: Comma-list keys of the ``settings`` strings.
LIST_SETTINGS = frozenset(
    {"enabled_services", "disabled_mail_services", "default_groups", "default_mailing_lists",
     "disabled_domain_profiles", "disabled_user_profiles", "disabled_user_preferences"}
)  # fmt: skip


def now() -> str:
    """Return the current UTC time as the DATETIME text iRedAdmin writes."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def parse_settings(text: str | None) -> dict[str, Any]:
    """Parse a ``key:value;key2:value2;`` settings string into a dict (ints and lists typed)."""
    out: dict[str, Any] = {}
    for item in (text or "").split(";"):
        key, sep, value = item.partition(":")
        key = key.strip()
        if not sep or not key or value == "":
            continue
        if key in INT_SETTINGS:
            try:
                out[key] = int(value)
            except ValueError:
                continue
        elif key in LIST_SETTINGS:
            out[key] = [v for v in value.split(",") if v]
        else:
            out[key] = value
    return out


def format_settings(settings: dict[str, Any]) -> str:
    """Render a settings dict back to the stored string; empty values are dropped."""
    parts = []
    for key, value in settings.items():
        text = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        if text != "":
            parts.append(f"{key}:{text};")
    return "".join(parts)


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


class Db:
    """A SQLite database in iRedMail's layout.

    Args:
        path: A file path, or ``:memory:``.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.row_factory = _dict_row
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a crash may lose the last commits but never corrupts the file.
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=OFF")
        self._depth = 0
        with self.tx():
            for statement in SCHEMA:
                self._conn.execute(statement)

    def close(self) -> None:
        """Close the connection (a WAL checkpoint happens on the last close)."""
        self._conn.close()

    @contextlib.contextmanager
    def tx(self) -> Iterator[None]:
        """Run the block in one transaction (nested blocks join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")
        finally:
            self._depth = 0

    def one(self, sql: str, params: Params = ()) -> Row | None:
        """Return the first row of a query, or ``None``."""
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        """Return every row of a query."""
        rows: list[Row] = self._conn.execute(sql, params).fetchall()
        return rows

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """Return the first column of the first row, or ``None``."""
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else next(iter(row.values()))

    def column(self, sql: str, params: Params = ()) -> list[Any]:
        """Return the first column of every row."""
        return [next(iter(row.values())) for row in self._conn.execute(sql, params).fetchall()]

    def run(self, sql: str, params: Params = ()) -> int:
        """Execute a write statement and return the number of rows it changed."""
        return self._conn.execute(sql, params).rowcount

    def insert(self, table: str, values: dict[str, Any]) -> None:
        """Insert one row; column names come from code, never from a request."""
        columns = ", ".join(f'"{name}"' for name in values)
        marks = ", ".join("?" for _ in values)
        self._conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))

    def update(self, table: str, values: dict[str, Any], where: str, params: Params) -> int:
        """Update columns of the rows matching ``where``; returns the row count."""
        if not values:
            return 0
        sets = ", ".join(f'"{name}" = ?' for name in values)
        cursor = self._conn.execute(f"UPDATE {table} SET {sets} WHERE {where}", (*values.values(), *params))
        return cursor.rowcount
