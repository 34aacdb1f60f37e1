"""The database handle: one SQLite connection, plain parameterized SQL, explicit transactions.

Every query in the sandbox goes through :class:`Db`; the ``store_*`` modules hold the SQL. The
connection is created and used on the server's event-loop thread only, so handlers can run a
whole write (several statements) without awaiting in between and need no locks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from migrate.sandbox.schema import SCHEMA

__all__ = [
    "INT_SETTINGS",
    "LIST_SETTINGS",
    "Db",
    "Row",
    "SecondStamp",
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


class SecondStamp:
    """The current time in a ``strftime`` format, formatted at most once a second.

    Every write stamps its rows (``created``, ``modified``...), and formatting took about a
    microsecond each time; the text only changes when the second does.

    Args:
        fmt: The ``strftime`` format (whole seconds at most).
        convert: :func:`time.gmtime` or :func:`time.localtime`.
    """

    __slots__ = ("_convert", "_format", "_second", "_text")

    def __init__(self, fmt: str, convert: Callable[[float], time.struct_time]) -> None:
        self._format = fmt
        self._convert = convert
        self._second = -1
        self._text = ""

    def __call__(self) -> str:
        """Return the current time's text."""
        # gmtime()/localtime() without an argument take the whole seconds of time.time() too.
        second = int(time.time())
        if second != self._second:
            self._text = time.strftime(self._format, self._convert(second))
            self._second = second
        return self._text


#: The current UTC time as the DATETIME text iRedAdmin writes.
now = SecondStamp("%Y-%m-%d %H:%M:%S", time.gmtime)


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


class _Tx:
    """The context manager of :meth:`Db.tx` (a class: cheaper than a generator per request)."""

    __slots__ = ("_db",)

    def __init__(self, db: Db) -> None:
        self._db = db

    def __enter__(self) -> None:
        db = self._db
        if db._depth == 0:
            db._conn.execute("BEGIN")
        db._depth += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        db = self._db
        db._depth -= 1
        if db._depth:
            return
        db._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


class Db:
    """A SQLite database in iRedMail's layout.

    Rows come back as plain dicts keyed by column name. The column names of a query are
    read from its cursor once and kept by SQL text (the statements come from code, so there
    are few), which spares building ``cursor.description`` for every row.

    Args:
        path: A file path, or ``:memory:``.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, cached_statements=512)
        self._columns: dict[str, tuple[str, ...]] = {}
        self._inserts: dict[tuple[str, tuple[str, ...]], str] = {}
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            # WAL without syncing: the sandbox is a test server, and a checkpoint's fsync
            # stalled every request for up to 7 ms. A crash of the process loses nothing
            # committed; only an OS crash or power cut may lose or damage the latest commits.
            self._conn.execute("PRAGMA synchronous=OFF")
        # 64 MB of page cache (the default 2 MB no longer holds 10,000 mailboxes and their indexes).
        self._conn.execute("PRAGMA cache_size=-65536")
        self._conn.execute("PRAGMA foreign_keys=OFF")
        self._depth = 0
        self._tx = _Tx(self)
        with self.tx():
            for statement in SCHEMA:
                self._conn.execute(statement)

    def close(self) -> None:
        """Close the connection (a WAL checkpoint happens on the last close)."""
        self._conn.close()

    def tx(self) -> AbstractContextManager[None]:
        """Run the block in one transaction (nested blocks join the outer one)."""
        return self._tx

    def _names(self, sql: str, cursor: sqlite3.Cursor, width: int) -> tuple[str, ...]:
        names = self._columns.get(sql)
        if names is None or len(names) != width:  # a changed table (``SELECT *``) is read again
            names = tuple(col[0] for col in cursor.description)
            self._columns[sql] = names
        return names

    def one(self, sql: str, params: Params = ()) -> Row | None:
        """Return the first row of a query, or ``None``."""
        cursor = self._conn.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip(self._names(sql, cursor, len(row)), row, strict=True))

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        """Return every row of a query."""
        cursor = self._conn.execute(sql, params)
        rows = cursor.fetchall()
        if not rows:
            return []
        names = self._names(sql, cursor, len(rows[0]))
        return [dict(zip(names, row, strict=True)) for row in rows]

    def first_row(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        """Return the first row of a query as a tuple (for columns whose names repeat), or ``None``."""
        row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """Return the first column of the first row, or ``None``."""
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def column(self, sql: str, params: Params = ()) -> list[Any]:
        """Return the first column of every row."""
        return [row[0] for row in self._conn.execute(sql, params).fetchall()]

    def run(self, sql: str, params: Params = ()) -> int:
        """Execute a write statement and return the number of rows it changed."""
        return self._conn.execute(sql, params).rowcount

    def insert(self, table: str, values: dict[str, Any]) -> None:
        """Insert one row; column names come from code, never from a request."""
        key = (table, tuple(values))
        sql = self._inserts.get(key)
        if sql is None:
            columns = ", ".join(f'"{name}"' for name in values)
            marks = ", ".join("?" for _ in values)
            sql = self._inserts[key] = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        self._conn.execute(sql, tuple(values.values()))

    def update(self, table: str, values: dict[str, Any], where: str, params: Params) -> int:
        """Update columns of the rows matching ``where``; returns the row count."""
        if not values:
            return 0
        sets = ", ".join(f'"{name}" = ?' for name in values)
        cursor = self._conn.execute(f"UPDATE {table} SET {sets} WHERE {where}", (*values.values(), *params))
        return cursor.rowcount
