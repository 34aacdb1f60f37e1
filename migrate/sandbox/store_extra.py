"""SQL for amavisd spam policies, iRedAPD throttles, iredadmin settings and sessions."""

from __future__ import annotations

from typing import Any

from migrate.sandbox.storage import Db, Row

__all__ = [
    "SPAM_FLAGS",
    "delete_all_sessions",
    "delete_session",
    "delete_spam_policy",
    "get_setting",
    "get_settings",
    "get_spam_policy",
    "get_throttle",
    "load_sessions",
    "put_spam_policy",
    "save_session",
    "set_setting",
    "set_throttle",
    "touch_session",
]

_BYPASS = ("bypass_spam_checks", "bypass_virus_checks", "bypass_banned_checks", "bypass_header_checks")
_QUARANTINE = {
    "quarantine_spam": ("spam_quarantine_to", "spam-quarantine"),
    "quarantine_virus": ("virus_quarantine_to", "virus-quarantine"),
    "quarantine_banned": ("banned_quarantine_to", "banned-quarantine"),
    "quarantine_bad_header": ("bad_header_quarantine_to", "bad-header-quarantine"),
}
#: The yes/no parameters of a spam policy, in documentation order.
SPAM_FLAGS: tuple[str, ...] = (*_BYPASS, *_QUARANTINE, "prefix_spam_in_subject", "always_insert_x_spam_headers")
_DEFAULTS: dict[str, Any] = {name: name == "quarantine_virus" for name in SPAM_FLAGS}
# amavisd ``users.priority``: the most specific account wins.
_PRIORITY = {"global": 0, "domain": 5, "user": 10}
_ALWAYS_TAG_LEVEL = -999.0


def _to_api(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _BYPASS:
        out[name] = "yes" if row[name] == "Y" else "no"
    for name, (column, _value) in _QUARANTINE.items():
        out[name] = "yes" if row[column] else "no"
    out["prefix_spam_in_subject"] = "yes" if row["spam_modifies_subj"] == "Y" else "no"
    out["always_insert_x_spam_headers"] = "yes" if row["spam_tag_level"] is not None else "no"
    if row["spam_tag2_level"] is not None:
        out["spam_score"] = float(row["spam_tag2_level"])
    if row["banned_rulenames"]:
        out["banned_rulenames"] = row["banned_rulenames"]
    return out


def _from_api(values: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name in _BYPASS:
        if name in values:
            columns[name] = "Y" if values[name] else "N"
    for name, (column, target) in _QUARANTINE.items():
        if name in values:
            columns[column] = target if values[name] else None
    if "prefix_spam_in_subject" in values:
        on = bool(values["prefix_spam_in_subject"])
        columns["spam_modifies_subj"] = "Y" if on else "N"
        columns["spam_subject_tag2"] = "[SPAM] " if on else None
    if "always_insert_x_spam_headers" in values:
        columns["spam_tag_level"] = _ALWAYS_TAG_LEVEL if values["always_insert_x_spam_headers"] else None
    if "spam_score" in values:
        columns["spam_tag2_level"] = columns["spam_kill_level"] = values["spam_score"]
    if "banned_rulenames" in values:
        columns["banned_rulenames"] = values["banned_rulenames"] or None
    return columns


def get_spam_policy(db: Db, account: str) -> dict[str, Any] | None:
    """Return the policy of an account (``@.``, ``@domain`` or an address) in API terms."""
    row = db.one("SELECT p.* FROM policy p JOIN users u ON u.policy_id = p.id WHERE u.email = ?", (account,))
    return None if row is None else _to_api(row)


def put_spam_policy(db: Db, account: str, scope: str, values: dict[str, Any]) -> None:
    """Create or update an account's policy; a new policy starts from the documented defaults."""
    policy_id = db.scalar("SELECT policy_id FROM users WHERE email = ?", (account,))
    if policy_id is None:
        db.insert("policy", {"policy_name": account, **_from_api({**_DEFAULTS, **values})})
        policy_id = db.scalar("SELECT id FROM policy WHERE policy_name = ?", (account,))
        db.insert("users", {"email": account, "policy_id": policy_id, "priority": _PRIORITY[scope]})
    else:
        db.update("policy", _from_api(values), "id = ?", (policy_id,))


def delete_spam_policy(db: Db, account: str) -> None:
    """Delete an account's policy (nothing happens when there is none)."""
    policy_id = db.scalar("SELECT policy_id FROM users WHERE email = ?", (account,))
    db.run("DELETE FROM users WHERE email = ?", (account,))
    if policy_id is not None:
        db.run("DELETE FROM policy WHERE id = ?", (policy_id,))


def get_throttle(db: Db, account: str, kind: str) -> Row | None:
    """Return the iRedAPD throttle row of an account and direction, or ``None``."""
    return db.one("SELECT * FROM throttle WHERE account = ? AND kind = ?", (account, kind))


def set_throttle(db: Db, account: str, kind: str, priority: int, values: dict[str, int]) -> None:
    """Replace the throttle setting of an account and direction (unset limits become -1)."""
    db.run("DELETE FROM throttle WHERE account = ? AND kind = ?", (account, kind))
    row = {"msg_size": -1, "max_msgs": -1, "max_quota": -1, "max_rcpts": -1, **values}
    db.insert("throttle", {"account": account, "kind": kind, "priority": priority, **row})


def get_setting(db: Db, key: str, account: str = "global") -> str | None:
    """Return a value of the ``iredadmin.settings`` table, or ``None``."""
    value = db.scalar("SELECT v FROM settings WHERE account = ? AND k = ?", (account, key))
    return None if value is None else str(value)


def get_settings(db: Db, keys: tuple[str, ...], account: str = "global") -> dict[str, str]:
    """Return the values of several ``iredadmin.settings`` keys in one statement (absent keys left out)."""
    # A scalar subquery per key: cheaper than ``k IN (...)``, whose list SQLite builds into a
    # temporary index on every run.
    lookups = ", ".join(f"(SELECT v FROM settings WHERE account = ?1 AND k = ?{n})" for n in range(2, len(keys) + 2))
    values = db.first_row(f"SELECT {lookups}", (account, *keys)) or (None,) * len(keys)  # always one row
    return {key: str(value) for key, value in zip(keys, values, strict=True) if value is not None}


def set_setting(db: Db, key: str, value: str | None, account: str = "global") -> None:
    """Set (or with ``None`` remove) a settings value."""
    db.run("DELETE FROM settings WHERE account = ? AND k = ?", (account, key))
    if value is not None:
        db.insert("settings", {"account": account, "k": key, "v": value})


def load_sessions(db: Db) -> list[Row]:
    """Return every stored session row."""
    return db.all("SELECT session_id, atime, data FROM sessions")


def save_session(db: Db, session_id: str, atime: float, data: str) -> None:
    """Store a new session."""
    db.run("DELETE FROM sessions WHERE session_id = ?", (session_id,))
    db.insert("sessions", {"session_id": session_id, "atime": atime, "data": data})


def touch_session(db: Db, session_id: str, atime: float) -> None:
    """Record a session's last access time."""
    db.run("UPDATE sessions SET atime = ? WHERE session_id = ?", (atime, session_id))


def delete_session(db: Db, session_id: str) -> None:
    """Forget one session."""
    db.run("DELETE FROM sessions WHERE session_id = ?", (session_id,))


def delete_all_sessions(db: Db) -> int:
    """Forget every session; returns how many there were."""
    return db.run("DELETE FROM sessions")
