"""Plan: the desired model against the target's current state, as ordered API operations.

Pure: no I/O, no clock. ``apply`` is the only place that talks to a server, which is what makes
``--dry-run`` truthful. Stages follow the dependencies the server imposes: a member or forwarding
that names a same-domain address that does not exist yet is silently dropped, so every account
is created before any membership is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrate.model import Account, Admin, Alias, Domain, MailingList, SpamPolicy, Throttle, User, replace_fields
from migrate.passwords import PasswordPolicy
from migrate.plan_ops import _Builder
from migrate.plan_types import Call, Operation, Verify, _Built
from migrate.state import State

__all__ = ["STAGES", "Call", "Operation", "Plan", "PlanOptions", "Verify", "plan"]

STAGES: tuple[str, ...] = (
    "domains",
    "standalone admins",
    "users",
    "aliases and lists",
    "memberships, forwardings, per-user aliases, bcc",
    "domain admins, catch-all",
    "spam policies and throttles",
    "deletions",
)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Choices that change the plan.

    Attributes:
        replace: Make list fields exactly as given (reset parameters) instead of adding to them.
        delete_missing: Delete accounts of ``scope`` domains that no input names.
        scope: Domains the run is limited to (``--domain``); empty = every domain in the inputs.
        lists_as_aliases: Create mailing lists as alias accounts.
        update_passwords: Also set passwords of accounts that already exist.
        generate_passwords: Give new users without a password a generated one.
        password_factory: Makes a password that satisfies a policy (injected for tests).
        protected: Addresses never deleted (the admin the run logs in as).
    """

    replace: bool = False
    delete_missing: bool = False
    scope: frozenset[str] = frozenset()
    lists_as_aliases: bool = False
    update_passwords: bool = False
    generate_passwords: bool = False
    password_factory: Callable[[PasswordPolicy], str] | None = None
    protected: frozenset[str] = frozenset()


@dataclass
class Plan:
    """The ordered operations, and what each input row will see.

    Attributes:
        operations: Every operation, in stage order.
        by_entry: Input row index -> ids of its operations (empty list = unchanged).
        skipped: Input row index -> (code, message) for rows the target cannot represent.
        notes: Row-independent remarks (the list kind chosen for the target...).
        list_kind: What mailing lists become on this target: ``mlmmj``, ``maillist`` or ``alias``.
    """

    operations: list[Operation] = field(default_factory=list)
    by_entry: dict[int, list[str]] = field(default_factory=dict)
    skipped: dict[int, tuple[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    list_kind: str = "mlmmj"

    def stage(self, number: int) -> list[Operation]:
        """Return the operations of one stage."""
        return [op for op in self.operations if op.stage == number]

    @property
    def writes(self) -> int:
        """Number of write calls the plan would send."""
        return sum(len(op.calls) for op in self.operations)

    def counts(self) -> list[tuple[str, dict[str, int]]]:
        """Return (stage name, action -> count) for every stage with operations."""
        out: list[tuple[str, dict[str, int]]] = []
        for number, name in enumerate(STAGES):
            actions: dict[str, int] = {}
            for op in self.stage(number):
                actions[op.action] = actions.get(op.action, 0) + 1
            if actions:
                out.append((name, actions))
        return out


def _list_kind(state: State, options: PlanOptions, lists: Iterable[MailingList]) -> tuple[str, list[str]]:
    notes: list[str] = []
    if options.lists_as_aliases:
        return "alias", ["mailing lists are created as alias accounts (--lists-as-aliases)"]
    kind = "maillist" if state.edition == "ldap" else "mlmmj"
    classic = [lst.email for lst in lists if lst.kind == "maillist"]
    if classic and kind == "mlmmj":
        notes.append(
            f"{len(classic)} classic mailing list(s) become mlmmj (subscribable) lists: the SQL edition has no "
            "classic lists; use --lists-as-aliases to make them alias accounts instead"
        )
    return kind, notes


def plan(desired: Sequence[tuple[int, Account]], state: State, options: PlanOptions = PlanOptions()) -> Plan:
    """Compute the operations that bring ``state`` to ``desired``.

    Args:
        desired: (input row index, valid model object) pairs, in input order.
        state: What the target has now, as read by :func:`migrate.state.read_state`.
        options: Merge or replace, deletions, list handling, passwords.

    Returns:
        The plan; rows without operations are unchanged.
    """
    result = Plan()
    lists = [obj for _, obj in desired if isinstance(obj, MailingList)]
    result.list_kind, result.notes = _list_kind(state, options, lists)
    ops = build_ops(desired, state, options, result.list_kind)
    for index, _ in desired:
        result.by_entry.setdefault(index, [])
    for op in ops.operations:
        result.operations.append(op)
        if op.entry is not None:
            result.by_entry.setdefault(op.entry, []).append(op.id)
    result.skipped.update(ops.skipped)
    result.operations.sort(key=lambda op: op.stage)
    if options.delete_missing:
        result.operations.extend(_deletions(desired, state, options))
    return result


def _deletions(desired: Sequence[tuple[int, Account]], state: State, options: PlanOptions) -> list[Operation]:
    wanted = {obj.key for _, obj in desired}
    wanted |= {
        member for _, obj in desired if isinstance(obj, User) for member in (obj.aliases or ())
    }  # per-user aliases are part of their user, not accounts of their own
    out: list[Operation] = []
    tables: list[tuple[str, dict[str, Any], str]] = [
        ("user", state.users, "/user/"),
        ("alias", state.aliases, "/alias/"),
        ("list", state.lists, "/ml/" if state.edition == "sql" else "/maillist/"),
    ]
    for kind, table, prefix in tables:
        for key in sorted(table):
            domain = key.rpartition("@")[2]
            if domain not in options.scope or key in wanted or key in options.protected:
                continue
            path = prefix + key
            if kind == "list" and state.edition == "ldap" and table[key].kind == "mlmmj":
                path = "/ml/" + key
            out.append(
                Operation(
                    id=f"7:{kind}:{key}:delete",
                    stage=7,
                    kind=kind,
                    key=key,
                    action="delete",
                    calls=[Call("DELETE", path)],
                    diff={"exists": (True, False)},
                    entry=None,
                    verify=None,
                )
            )
    return out


def build_ops(desired: Sequence[tuple[int, Account]], state: State, options: PlanOptions, list_kind: str) -> _Built:
    """Return the operations for every desired object (unsorted), and the rows skipped."""
    builder = _Builder(state, options, list_kind)
    domain_admins: dict[str, set[str]] = {}
    list_members: dict[str, list[tuple[int, str]]] = {}
    desired = _merge_memberships(desired)
    for entry, obj in desired:
        if isinstance(obj, Domain):
            builder.domain(entry, obj)
            if obj.admins is not None:
                domain_admins[obj.domain] = set(obj.admins)
                builder.admins_of_domain(obj.domain, set(obj.admins), entry, "domain", obj.domain)
        elif isinstance(obj, Admin):
            builder.admin(entry, obj)
        elif isinstance(obj, User):
            builder.user(entry, obj)
            for lst in obj.lists or ():
                list_members.setdefault(lst, []).append((entry, obj.email))
        elif isinstance(obj, Alias):
            builder.alias(entry, obj)
        elif isinstance(obj, MailingList):
            builder.mailing_list(entry, obj)
        elif isinstance(obj, SpamPolicy):
            builder.spam_policy(entry, obj)
        elif isinstance(obj, Throttle):
            builder.throttle(entry, obj)
    _memberships_from_users(builder, desired, list_members)
    return builder.out


def _merge_memberships(desired: Sequence[tuple[int, Account]]) -> list[tuple[int, Account]]:
    """Fold users' ``lists`` columns into the members of list/alias rows that give members."""
    wanted: dict[str, set[str]] = {}
    for _, obj in desired:
        if isinstance(obj, User):
            for address in obj.lists or ():
                wanted.setdefault(address, set()).add(obj.email)
    out: list[tuple[int, Account]] = []
    for entry, obj in desired:
        if isinstance(obj, (Alias, MailingList)) and obj.members is not None and obj.email in wanted:
            obj = replace_fields(obj, members=tuple(sorted(set(obj.members) | wanted[obj.email])))
        out.append((entry, obj))
    return out


def _memberships_from_users(
    builder: _Builder, desired: Sequence[tuple[int, Account]], list_members: dict[str, list[tuple[int, str]]]
) -> None:
    """A user row's ``lists`` column adds the user to lists that no list row already covers."""
    covered = {obj.email: obj for _, obj in desired if isinstance(obj, (Alias, MailingList))}
    for address, members in sorted(list_members.items()):
        owner = covered.get(address)
        if owner is not None and owner.members is not None:
            continue  # merged into that row's members by the caller (see merge_memberships)
        state = builder.state
        have: Alias | MailingList | None
        if address in state.aliases or (builder.list_kind == "alias" and address not in state.lists):
            api_kind, have = "alias", state.aliases.get(address)
        else:
            current = state.lists.get(address)
            api_kind = "mlmmj" if (current and current.kind == "mlmmj") or builder.list_kind == "mlmmj" else "maillist"
            have = current
        for entry, email in members:
            builder.members(api_kind, "user", entry, address, (email,), have.members if have else ())
