"""Server-side sessions: 40-hex ids, idle timeout, bound to the client IP (reference §3.2).

Sessions live in memory for speed and are written through to the ``sessions`` table (as
iRedAdmin keeps them in ``iredadmin.sessions``), so they survive a restart of a file-backed
sandbox. The last-access time is persisted lazily: at most once a minute per session.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from migrate.sandbox import store_extra
from migrate.sandbox.storage import Db

__all__ = ["Session", "SessionStore"]

_PERSIST_EVERY = 60.0


@dataclass
class Session:
    """One logged-in admin.

    Attributes:
        sid: The cookie value (40 hex characters).
        username: The admin's address.
        ip: The client address the session is bound to.
        atime: Last access (seconds since the epoch, per the store's clock).
        saved_atime: The last access time last written to the database.
    """

    sid: str
    username: str
    ip: str
    atime: float
    saved_atime: float = 0.0


class SessionStore:
    """Sessions by id.

    Args:
        db: Where sessions are persisted.
        timeout: Idle timeout in seconds.
        clock: Time source (replaceable in tests to move time forward).
    """

    def __init__(self, db: Db, timeout: float, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.timeout = timeout
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        for row in store_extra.load_sessions(db):
            try:
                data = json.loads(row["data"])
                session = Session(row["session_id"], str(data["username"]), str(data["ip"]), float(row["atime"]))
            except (ValueError, KeyError, TypeError):
                continue
            session.saved_atime = session.atime
            self._sessions[session.sid] = session

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, username: str, ip: str) -> Session:
        """Start a session for ``username`` bound to ``ip`` (idle sessions are purged first)."""
        now = self.clock()
        for stale in [s.sid for s in self._sessions.values() if now - s.atime > self.timeout]:
            self.drop(stale)
        session = Session(secrets.token_hex(20), username, ip, now)
        session.saved_atime = session.atime
        self._sessions[session.sid] = session
        with self._db.tx():
            store_extra.save_session(self._db, session.sid, session.atime, json.dumps({"username": username, "ip": ip}))
        return session

    def get(self, sid: str | None) -> Session | None:
        """Return a live session (``None`` when unknown or idle too long; an idle one is dropped)."""
        if not sid:
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        now = self.clock()
        if now - session.atime > self.timeout:
            self.drop(sid)
            return None
        session.atime = now
        if now - session.saved_atime > _PERSIST_EVERY:
            session.saved_atime = now
            store_extra.touch_session(self._db, sid, now)
        return session

    def drop(self, sid: str) -> None:
        """Forget one session."""
        if self._sessions.pop(sid, None) is not None:
            store_extra.delete_session(self._db, sid)

    def expire_all(self) -> int:
        """Invalidate every session; returns how many were live."""
        count = len(self._sessions)
        self._sessions.clear()
        store_extra.delete_all_sessions(self._db)
        return count
