"""Compare two sets of model objects object by object, field by field (``iredmigrate diff``).

Objects are matched by kind and key. A field that is set on one side and absent (``None``) on the
other counts as a change, so a snapshot and a source file that leaves fields out do differ, unless
``only_given`` asks "does B hold everything A says" of a sparse A (an LDIF, a CSV). The renderers
never show a secret: password hashes appear as ``(hash changed)``.

List membership has two spellings: a user's ``lists`` (an LDIF's ``memberOfGroup``) and a list's
``members`` (an API export). Both sides are brought to the second one before comparing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from migrate.model import KIND_CLASSES, Account, Alias, MailingList, User, field_names, replace_fields
from migrate.records import KINDS

__all__ = ["Change", "Diff", "FieldChange", "as_json", "diff_objects", "render_text"]

FieldChange = tuple[Any, Any]
Change = dict[str, FieldChange]
ObjectId = tuple[str, str]

_KIND_OF: dict[type[Any], str] = {cls: kind for kind, cls in KIND_CLASSES.items()}
_ORDER = {kind: i for i, kind in enumerate(KINDS)}
_SECRETS = {"password_hash": "(hash changed)", "password": "(password changed)"}
_LIST_SHOWN = 20


@dataclass
class Diff:
    """The differences from state A to state B.

    Attributes:
        added: ``(kind, key)`` of objects only in B, in kind order then key order.
        removed: ``(kind, key)`` of objects only in A.
        changed: ``(kind, key)`` -> field -> ``(value in A, value in B)``; ``None`` = not set.
            Holds real values, secrets included (for programs); the renderers mask them.
    """

    added: list[ObjectId] = field(default_factory=list)
    removed: list[ObjectId] = field(default_factory=list)
    changed: dict[ObjectId, Change] = field(default_factory=dict, repr=False)

    @property
    def identical(self) -> bool:
        """True when A and B hold the same objects with the same values."""
        return not (self.added or self.removed or self.changed)


def _id(obj: Account) -> ObjectId:
    kind = _KIND_OF.get(type(obj))
    if kind is None:
        raise TypeError(f"not a model object: {type(obj).__name__}")
    return kind, obj.key


def _order(oid: ObjectId) -> tuple[int, str]:
    return _ORDER.get(oid[0], len(_ORDER)), oid[1]


def _index(objs: Iterable[Account]) -> dict[ObjectId, Account]:
    # A repeated key keeps its last object, as an import applying the rows in order would.
    return {_id(obj): obj for obj in objs}


def _value(obj: Account, name: str) -> Any:
    value = getattr(obj, name)
    return tuple(sorted(value)) if isinstance(value, tuple) else value


def _compare(a: Account, b: Account, only_given: bool) -> Change:
    out: Change = {}
    for name in field_names(a):
        left = _value(a, name)
        if only_given and left is None:
            continue
        right = _value(b, name)
        if left != right:
            out[name] = (left, right)
    return out


def _fold_memberships(index: dict[ObjectId, Account]) -> None:
    """Move users' ``lists`` into the members of those lists (in place).

    A membership naming a list that is not on this side stays on the user, so it is still seen.
    A user whose memberships all moved (or who named none) gets ``lists=None``: membership is
    then compared on the list side only.
    """
    joined: dict[str, set[str]] = {}
    for (kind, _), obj in index.items():
        if kind == "user" and isinstance(obj, User) and obj.lists is not None:
            for address in obj.lists:
                joined.setdefault(address, set()).add(obj.email)
    if not joined:
        return
    folded: set[str] = set()
    for address, users in joined.items():
        for kind in ("list", "alias"):
            target = index.get((kind, address))
            if isinstance(target, MailingList | Alias):
                members = tuple(sorted(set(target.members or ()) | users))
                index[(kind, address)] = replace_fields(target, members=members)
                folded.add(address)
                break
    for oid, obj in list(index.items()):
        if isinstance(obj, User) and obj.lists is not None:
            rest = tuple(sorted(set(obj.lists) - folded))
            index[oid] = replace_fields(obj, lists=rest or None)


def diff_objects(a: Iterable[Account], b: Iterable[Account], *, only_given: bool = False) -> Diff:
    """Compare state A with state B.

    Users' ``lists`` memberships are first folded into the ``members`` of the lists (or alias
    accounts) they name, on each side, so the two spellings of membership compare equal.

    Args:
        a: The objects of the first state (e.g. yesterday's snapshot, or a source file).
        b: The objects of the second state.
        only_given: Compare only what A says: fields A leaves unset (``None``) are not compared
            (an empty list on A's side still is), and objects only B has are not reported, so the
            diff answers "does B hold everything A says".

    Returns:
        What B adds, removes and changes relative to A (``added`` stays empty with ``only_given``).
    """
    left, right = _index(a), _index(b)
    _fold_memberships(left)
    _fold_memberships(right)
    diff = Diff(
        added=[] if only_given else sorted((oid for oid in right if oid not in left), key=_order),
        removed=sorted((oid for oid in left if oid not in right), key=_order),
    )
    for oid in sorted((oid for oid in left if oid in right), key=_order):
        change = _compare(left[oid], right[oid], only_given)
        if change:
            diff.changed[oid] = change
    return diff


def _show(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, tuple):
        if not value:
            return "(empty)"
        shown = ", ".join(value[:_LIST_SHOWN])
        more = len(value) - _LIST_SHOWN
        return f"[{shown}, ... {more} more]" if more > 0 else f"[{shown}]"
    return str(value)


def _show_change(name: str, old: Any, new: Any) -> str:
    if name in _SECRETS:
        return _SECRETS[name]
    if isinstance(old, tuple) and isinstance(new, tuple) and old and new:
        gone, came = sorted(set(old) - set(new)), sorted(set(new) - set(old))
        parts = [f"+{x}" for x in came[:_LIST_SHOWN]] + [f"-{x}" for x in gone[:_LIST_SHOWN]]
        more = max(0, len(came) - _LIST_SHOWN) + max(0, len(gone) - _LIST_SHOWN)
        return ", ".join(parts) + (f", ... {more} more" if more else "")
    return f"{_show(old)} -> {_show(new)}"


def render_text(diff: Diff) -> str:
    """Render the diff for a terminal: ``+`` added, ``-`` removed, ``~`` changed with its fields."""
    if diff.identical:
        return "no differences\n"
    lines = [f"+ {kind} {key}" for kind, key in diff.added]
    lines += [f"- {kind} {key}" for kind, key in diff.removed]
    for (kind, key), change in diff.changed.items():
        lines.append(f"~ {kind} {key}")
        lines += [f"    {name}: {_show_change(name, old, new)}" for name, (old, new) in change.items()]
    lines.append(f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed")
    return "\n".join(lines) + "\n"


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _json_field(name: str, old: Any, new: Any) -> dict[str, Any]:
    if name in _SECRETS:
        return {"a": None if old is None else "(set)", "b": None if new is None else "(set)", "masked": True}
    return {"a": _json_value(old), "b": _json_value(new)}


def as_json(diff: Diff) -> dict[str, Any]:
    """Return the diff as a JSON-ready dict (secrets masked as ``"(set)"``).

    Shape: ``{"identical", "summary": {"added", "removed", "changed"}, "added": [{"kind", "key"}],
    "removed": [...], "changed": [{"kind", "key", "fields": {name: {"a", "b"}}}]}``.
    """
    return {
        "identical": diff.identical,
        "summary": {"added": len(diff.added), "removed": len(diff.removed), "changed": len(diff.changed)},
        "added": [{"kind": kind, "key": key} for kind, key in diff.added],
        "removed": [{"kind": kind, "key": key} for kind, key in diff.removed],
        "changed": [
            {
                "kind": kind,
                "key": key,
                "fields": {name: _json_field(name, old, new) for name, (old, new) in change.items()},
            }
            for (kind, key), change in diff.changed.items()
        ],
    }
