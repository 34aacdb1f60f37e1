"""The plan's building blocks: calls, operations, read-back specs, and the diff helpers.

The underscored helpers are shared by :mod:`migrate.plan_ops` and :mod:`migrate.plan` only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from migrate.model import Alias, MailingList
from migrate.plan_params import SET_FIELDS, api_value

__all__ = [
    "S_ADMINS",
    "S_ALIASES",
    "S_DOMAINS",
    "S_DOMAIN_ADMINS",
    "S_MEMBERS",
    "S_POLICIES",
    "S_USERS",
    "Call",
    "OpParts",
    "Operation",
    "Verify",
]

# Stage numbers (see migrate.plan.STAGES).
S_DOMAINS, S_ADMINS, S_USERS, S_ALIASES, S_MEMBERS, S_DOMAIN_ADMINS, S_POLICIES = range(7)

# Domain account limits; a -1 one is set after the accounts exist (see _Builder.domain).
_LIMITS = ("numberOfUsers", "numberOfAliases", "numberOfLists")

# Alias/list fields that have no API parameter on some edition or kind, and why.
_UNSENT = {
    "accessPolicy": "alias accessPolicy (SQL edition only)",
    "owners": "owners (no API parameter on a classic list)",
    "moderators": "moderators (no API parameter on an alias account or a classic list)",
    "mailingListID": "mailingListID (the server assigns a new one)",
}
# The API lists no admins: export finds standalone admins through the domains they manage.
_ADMIN_UNLISTED = "manages no domain, so an export through the API cannot find this admin (no admin list in the API)"


@dataclass(frozen=True, slots=True)
class Call:
    """One API call: method, path below the API base, form data (query string for DELETE)."""

    method: str
    path: str
    data: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Call({self.method!r}, {self.path!r}, {self.redacted()!r})"

    def redacted(self) -> dict[str, Any]:
        """Return the data with secrets masked, for ``--dry-run -v`` and logs."""
        return {k: ("***" if k in ("password", "password_hash") else v) for k, v in self.data.items()}


@dataclass(frozen=True, slots=True)
class Verify:
    """What to read back after an operation, and what the server must then hold.

    Attributes:
        kind: ``domain``, ``admin``, ``user``, ``alias``, ``mlmmj``, ``maillist``, ``spam_policy``,
            ``throttle`` or ``domain_admins``.
        key: The object to read (for policies: ``scope:target[:direction]``).
        expect: Field -> value the server must hold.
        subset: Fields where the expected items must be present, others may be too.
    """

    kind: str
    key: str
    expect: dict[str, Any]
    subset: frozenset[str] = frozenset()


class OpParts(NamedTuple):
    """What an operation sends and checks (see :class:`Operation`), as its builder makes them."""

    calls: list[Call]
    diff: dict[str, tuple[Any, Any]]
    verify: Verify | None
    generated_password: str | None = None
    note: str = ""


class Operation:
    """A unit of work for one object, made of one or more calls in order.

    An operation can be *deferred* (:meth:`deferred`): its id, stage, kind, key, action and
    entry are known, and its :class:`OpParts` are made by a function the first time one of
    them is read. The plan defers the creates of new users, which are all alike and most of an
    onboarding's plan: building 10,000 of them took 0.15-0.19 s between loading the input and
    the first request. The apply stage reads each when a worker takes it up, while the other
    workers' requests are in flight. A deferred operation equals, and prints as, the same
    operation built at once. Once run, :meth:`forget` drops the parts of a deferred operation
    (they are made again if read again): made during the run and kept, 10,000 users' parts were
    120,000 objects that the cyclic collector then walked, 0.13 s of pauses that stalled every
    worker.

    Attributes:
        id: Stable id ``stage:kind:key:action`` (the journal records it).
        stage: Stage number; every operation of a stage finishes before the next starts.
        kind: Model kind, for the result log.
        key: Object key.
        action: ``create``, ``update``, ``members``, ``admins``, ``catchall``, ``limits``, ``set``
            or ``delete``.
        calls: The API calls.
        diff: Field -> (current, desired), secrets masked.
        entry: Index of the input row it belongs to, or ``None``.
        verify: What to read back afterwards.
        generated_password: A password made for this user (``--generate-passwords``).
        note: What to tell the admin about how the object was represented.
    """

    __slots__ = ("_build", "_parts", "action", "entry", "id", "key", "kind", "stage")

    def __init__(
        self,
        id: str,
        stage: int,
        kind: str,
        key: str,
        action: str,
        calls: list[Call],
        diff: dict[str, tuple[Any, Any]],
        entry: int | None,
        verify: Verify | None,
        generated_password: str | None = None,
        note: str = "",
    ) -> None:
        self.id = id
        self.stage = stage
        self.kind = kind
        self.key = key
        self.action = action
        self.entry = entry
        self._parts: OpParts | None = OpParts(calls, diff, verify, generated_password, note)
        self._build: Callable[[], OpParts] | None = None

    @classmethod
    def deferred(
        cls, id: str, stage: int, kind: str, key: str, action: str, entry: int | None, build: Callable[[], OpParts]
    ) -> Operation:
        """Return an operation whose parts ``build`` makes when they are read.

        ``build`` must make equal parts each time it is called (it may be called again after
        :meth:`forget`).
        """
        # Not through __init__: its empty parts would be made only to be dropped, 10,000 times a plan.
        op = cls.__new__(cls)
        op.id, op.stage, op.kind, op.key, op.action, op.entry = id, stage, kind, key, action, entry
        op._parts, op._build = None, build
        return op

    @property
    def built(self) -> bool:
        """Whether the parts are made (always, unless deferred and not read since made or forgotten)."""
        return self._parts is not None

    def forget(self) -> None:
        """Drop the parts of a deferred operation until they are read again (others keep theirs)."""
        if self._build is not None:
            self._parts = None

    def _made(self) -> OpParts:
        parts = self._parts
        if parts is None:
            assert self._build is not None  # only a deferred operation is ever without parts
            parts = self._parts = self._build()
        return parts

    @property
    def calls(self) -> list[Call]:
        """The API calls."""
        return self._made().calls

    @property
    def diff(self) -> dict[str, tuple[Any, Any]]:
        """Field -> (current, desired), secrets masked."""
        return self._made().diff

    @property
    def verify(self) -> Verify | None:
        """What to read back afterwards."""
        return self._made().verify

    @property
    def generated_password(self) -> str | None:
        """A password made for this user (``--generate-passwords``)."""
        return self._made().generated_password

    @property
    def note(self) -> str:
        """What to tell the admin about how the object was represented."""
        return self._made().note

    def _key(self) -> tuple[Any, ...]:
        return (self.id, self.stage, self.kind, self.key, self.action, self.entry, self._made())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Operation):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaced

    def __repr__(self) -> str:
        # The generated password stays out, as ever.
        calls, diff, verify, _, note = self._made()
        return (
            f"Operation(id={self.id!r}, stage={self.stage!r}, kind={self.kind!r}, key={self.key!r}, "
            f"action={self.action!r}, calls={calls!r}, diff={diff!r}, entry={self.entry!r}, "
            f"verify={verify!r}, note={note!r})"
        )


@dataclass
class _Built:
    operations: list[Operation] = field(default_factory=list)
    skipped: dict[int, tuple[str, str]] = field(default_factory=dict)


def _scalars(desired: Any, current: Any, names: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    if current is None:  # a new object (most rows of an onboarding): every given field is new
        return {name: (None, want) for name in names if (want := getattr(desired, name, None)) is not None}
    diff: dict[str, tuple[Any, Any]] = {}
    for name in names:
        want = getattr(desired, name, None)
        if want is None:
            continue
        have = getattr(current, name, None)
        if have != want:
            diff[name] = (have, want)
    return diff


# List fields travel as their own add/remove/reset parameters (see _Builder.set_field).
_SET_NAMES = frozenset(name for fields in SET_FIELDS.values() for name in fields)


def _join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _unsent(obj: Alias | MailingList, current: Any, sent: Sequence[str]) -> str:
    """Name the given fields that this edition's endpoint cannot take (reported, not dropped silently)."""
    if current is not None:
        return ""  # reported when the object was created; an update says nothing new
    lost = []
    for name, what in _UNSENT.items():
        value = getattr(obj, name, None)
        if value not in (None, ()) and name not in sent:
            shown = ", ".join(value) if isinstance(value, tuple) else str(value)
            lost.append(f"{what}: {shown}")
    return "not represented on the target: " + "; ".join(lost) if lost else ""


def _params(diff: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (_, want) in diff.items():
        if name in _SET_NAMES:
            continue
        key, value = api_value(name, want)
        out[key] = value
    if "maxQuota" in out:
        out["quotaUnit"] = "MB"
    return out


def _set_change(
    name: str, want: tuple[str, ...] | None, have: tuple[str, ...] | None, replace: bool
) -> tuple[set[str], set[str], set[str]] | None:
    """Return (target, add, remove) for a list field, or None when nothing changes."""
    if want is None:
        return None
    current = set(have or ())
    target = set(want) if replace else current | set(want)
    if target == current:
        return None
    return target, target - current, current - target
