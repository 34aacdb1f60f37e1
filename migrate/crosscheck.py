"""Checks that look across rows and files: duplicates, unknown domains, dangling members.

:class:`CrossCheck` sees each entry once as it streams past (so duplicates are caught on the
second occurrence and that row is marked), and keeps only small maps for the checks that can only
be decided at the end (a domain may be defined after its users; a member may be defined later).
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from migrate.inputs import Entry
from migrate.model import Account, Admin, Alias, Domain, MailingList, User, field_names, replace_fields
from migrate.model_fields import SPECS
from migrate.records import Problem, Provenance, Severity

__all__ = ["CheckDelta", "CrossCheck", "merge_partials"]

# One bit per field, so "which fields did the first row with this key give" costs an int per key.
_FIELD_BITS: dict[str, dict[str, int]] = {
    kind: {name: 1 << index for index, name in enumerate(specs)} for kind, specs in SPECS.items()
}
_KEY_FIELDS = {"domain", "email"}


_MASKS: dict[tuple[str, tuple[str, ...]], int] = {}


def _mask(entry: Entry) -> int:
    # A file's rows mostly give the same fields, so the mask is looked up, not summed per row.
    ident = (entry.record.kind, tuple(entry.record.fields))
    mask = _MASKS.get(ident)
    if mask is None:
        bits = _FIELD_BITS[entry.record.kind]
        mask = sum(bits.get(name, 0) for name in ident[1] if name not in _KEY_FIELDS)
        if len(_MASKS) < 4096:
            _MASKS[ident] = mask
    return mask


# Kinds that share the address space of a mail server: no two may have the same address.
_ADDRESS_KINDS = (User, Alias, MailingList)


_KIND_INDEX = {kind: index for index, kind in enumerate(SPECS)}
_KIND_NAMES = list(SPECS)


class _Places:
    """Rows' provenance packed into ints: a million keys must not keep a million objects alive."""

    def __init__(self) -> None:
        self._index: dict[tuple[str, str | None, str], int] = {}
        self._contexts: list[tuple[str, str | None, str]] = []

    def pack(self, prov: Provenance) -> int:
        return self.base(prov.source, prov.sheet, prov.fmt) | prov.line

    def base(self, source: str, sheet: str | None, fmt: str) -> int:
        """The packed place of line 0 of a file and sheet; a line is or-ed in.

        Files and sheets are numbered as they are first seen, so packed places order rows the
        way they were read.
        """
        ident = (source, sheet, fmt)
        ctx = self._index.get(ident)
        if ctx is None:
            ctx = self._index[ident] = len(self._contexts)
            self._contexts.append(ident)
        return ctx << 32

    def since(self, count: int) -> tuple[int, list[tuple[str, str | None, str]]]:
        """The files and sheets numbered after the first ``count``: (count, them)."""
        return count, self._contexts[count:]

    def adopt(self, start: int, contexts: list[tuple[str, str | None, str]]) -> bool:
        """Number ``contexts`` from ``start`` on, as another copy did; False if that clashes."""
        if start != len(self._contexts):
            return False
        for ident in contexts:
            self.base(*ident)
        return True

    def unpack(self, place: int) -> Provenance:
        source, sheet, fmt = self._contexts[place >> 32 & 0xFFFF]
        return Provenance(source, sheet, place & 0xFFFFFFFF, fmt)


def _first(value: int) -> tuple[int, str, int]:
    """Split an index value into (place, kind, field mask)."""
    return value & (1 << 48) - 1, _KIND_NAMES[value >> 48 & 0x7], value >> 51


@dataclass(slots=True)
class CheckDelta:
    """What a CrossCheck learnt since a :meth:`CrossCheck.mark`, to merge into another copy.

    Addresses and per-user aliases travel as newline-joined strings, unpickled at C speed where
    a dict of half a million entries takes a third of a second. What goes with each (its index
    value; a claim's place, column and owner) is needed only when something looks closer (a
    later input, a clash): it travels pickled on its own and is unpickled then.
    """

    addresses: str
    values: bytes  # the pickled index value of each address, in order
    aliases: str  # per-user aliases, newline-joined
    claims_of: bytes  # the pickled (place, column, owner) of each, in order
    refs: dict[str, tuple[int, str | None, str]]
    domains: dict[str, tuple[int, str, int]]  # domain -> (first place, its key, added count)
    # Files and sheets the other copy numbered (a workbook's later sheets): (first number, them).
    contexts: tuple[int, list[tuple[str, str | None, str]]]

    def claims(self) -> dict[str, tuple[int, str | None, str]]:
        """The per-user aliases as :meth:`CrossCheck.claim_aliases` takes them."""
        if not self.aliases:
            return {}
        return dict(zip(self.aliases.split("\n"), self.claim_list()))  # noqa: B905 - one claim each

    def claim_list(self) -> list[tuple[int, str | None, str]]:
        """Each per-user alias's (place, column, owner), in order."""
        claims: list[tuple[int, str | None, str]] = pickle.loads(self.claims_of)
        return claims


@dataclass(slots=True)
class _Shard:
    """Facts another process found, kept apart from the index until something needs them.

    Moving half a million keys into the index costs more than the rest of the join; the checks
    at the end only ask whether an address is there, which this set answers as well. Its
    per-user aliases stay columns too: the checks at the end look at few of them.
    """

    keys: list[str]  # in the other process's order
    members: set[str]
    delta: CheckDelta


@dataclass(slots=True)
class _DomainUse:
    first: int  # packed place of the first row read in the domain
    key: str
    count: int = 0


@dataclass
class CrossCheck:
    """Accumulate cross-row facts and report what is wrong with them.

    Args:
        existing_domains: Domains the target already has (``--domain-exists``).
    """

    existing_domains: Iterable[str] = ()
    _addresses: dict[str, int] = field(default_factory=dict)
    _admins: dict[str, int] = field(default_factory=dict)
    _domains: dict[str, int] = field(default_factory=dict)
    _alias_domains: set[str] = field(default_factory=set)
    _domain_uses: dict[str, _DomainUse] = field(default_factory=dict)
    _refs: dict[str, tuple[int, str | None, str]] = field(default_factory=dict)
    _per_user_aliases: dict[str, tuple[int, str | None, str]] = field(default_factory=dict)
    _shard: _Shard | None = None

    def __post_init__(self) -> None:
        self._known = {d.lower() for d in self.existing_domains}
        self._places = _Places()

    def _settle(self) -> None:
        """Move a merged shard's addresses into the index (before anything adds to it)."""
        shard, self._shard = self._shard, None
        if shard is not None:
            delta = shard.delta
            self._addresses.update(zip(shard.keys, pickle.loads(delta.values)))  # noqa: B905 - one value each
            self.claim_aliases(delta.claims())

    # What bulk validation (migrate.bulk) uses to add rows it found clean. Facts that keep "the
    # first row" keep the lowest packed place, so rows added in bulk before the rows of the same
    # block that took the per-row path still report the row that comes first in the file.

    def index_for(self, kind: str) -> dict[str, int]:
        """The key index of ``kind`` (users, aliases and lists share one: one address space)."""
        if kind == "domain":
            return self._domains
        if kind == "admin":
            return self._admins
        self._settle()
        return self._addresses

    @staticmethod
    def field_bits(kind: str) -> dict[str, int]:
        """Field -> its bit in the mask of given fields (key fields have none)."""
        return {name: bit for name, bit in _FIELD_BITS[kind].items() if name not in _KEY_FIELDS}

    @staticmethod
    def index_value(kind: str, mask: int, place: int) -> int:
        """What the key index holds for a row: its kind, the fields it gave, where it is."""
        return (mask << 3 | _KIND_INDEX[kind]) << 48 | place

    def place_base(self, source: str, sheet: str | None, fmt: str) -> int:
        """The packed place of line 0 of a file and sheet (or-ed with a line number)."""
        return self._places.base(source, sheet, fmt)

    def use_domain(self, domain: str, key: str, place: int, count: int) -> None:
        """Count ``count`` accounts in ``domain``, the one at ``place`` with address ``key``."""
        use = self._domain_uses.get(domain)
        if use is None:
            use = self._domain_uses[domain] = _DomainUse(place, key)
        elif place < use.first:
            use.first, use.key = place, key
        use.count += count

    def claim_alias(self, alias: str, place: int, column: str | None, owner: str) -> None:
        """Record that the user ``owner`` (at ``place``) has the per-user alias ``alias``."""
        held = self._per_user_aliases.get(alias)
        if held is None or place < held[0]:
            self._per_user_aliases[alias] = (place, column, owner)

    def mark(self) -> tuple[int, ...]:
        """Where the facts stand now, for :meth:`since` (in a forked copy, see migrate.split)."""
        self._settle()
        counts = tuple(use.count for use in self._domain_uses.values())
        sizes = (len(self._addresses), len(self._per_user_aliases), len(self._refs), len(self._domain_uses))
        others = (len(self._admins), len(self._domains), len(self._alias_domains), len(self._places._contexts))
        return (*sizes, *others, *counts)

    def since(self, mark: tuple[int, ...]) -> CheckDelta | None:
        """The facts added after ``mark``; None when some could not be merged elsewhere.

        Dicts keep insertion order and no key is ever removed, so what came after the mark is
        the tail of each. Only facts of mail accounts are carried: a delta that saw domains or
        admins is refused.
        """
        self._settle()
        addresses, aliases, refs, domains, admins, domain_keys, alias_domains, contexts = mark[:8]
        if (len(self._admins), len(self._domains), len(self._alias_domains)) != (admins, domain_keys, alias_domains):
            return None
        before = dict(zip(itertools.islice(self._domain_uses, domains), mark[8:]))  # noqa: B905 - one count each
        values = list(itertools.islice(self._addresses.values(), addresses, None))
        claims = list(itertools.islice(self._per_user_aliases.values(), aliases, None))
        return CheckDelta(
            "\n".join(itertools.islice(self._addresses, addresses, None)),  # addresses hold no newline
            pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL),
            "\n".join(itertools.islice(self._per_user_aliases, aliases, None)),
            pickle.dumps(claims, protocol=pickle.HIGHEST_PROTOCOL),
            dict(itertools.islice(self._refs.items(), refs, None)),
            {
                domain: (use.first, use.key, use.count - before.get(domain, 0))
                for domain, use in self._domain_uses.items()
                if use.count != before.get(domain, 0)
            },
            self._places.since(contexts),
        )

    def merge(self, delta: CheckDelta | None) -> bool:
        """Add another copy's facts (learnt from rows after all of ours); False if they clash.

        They clash when an address is indexed here and there (a duplicate whose report depends
        on which row comes first); nothing is merged then.
        """
        if delta is None:
            return False
        self._settle()
        keys = delta.addresses.split("\n") if delta.addresses else []
        members = set(keys)
        if len(members) != len(keys) or not self._addresses.keys().isdisjoint(members):
            return False
        if not self._places.adopt(*delta.contexts):
            return False
        # Its per-user aliases all come after ours, so where both claim one, ours is kept: they
        # are added when the shard is settled, or looked at in finish().
        self._shard = _Shard(keys, members, delta)
        refs = self._refs
        for target, held in delta.refs.items():
            mine = refs.get(target)
            if mine is None or held[0] < mine[0]:
                refs[target] = held
        for domain, (place, key, count) in delta.domains.items():
            self.use_domain(domain, key, place, count)
        return True

    def claim_aliases(self, claims: dict[str, tuple[int, str | None, str]]) -> None:
        """:meth:`claim_alias` for many aliases: alias -> (place, column, owner)."""
        held = self._per_user_aliases
        if held.keys().isdisjoint(claims.keys()):
            held.update(claims)
            return
        for alias, (place, column, owner) in claims.items():
            self.claim_alias(alias, place, column, owner)

    def refer(self, targets: Iterable[str] | None, domain: str, place: int, column: str | None, key: str) -> None:
        """Record the same-domain members or forwardings of ``key`` (checked at the end)."""
        refs = self._refs
        for target in targets or ():
            if target != key and target.rpartition("@")[2] == domain:
                held = refs.get(target)
                if held is None or place < held[0]:
                    refs[target] = (place, column, key)

    def add(self, entry: Entry) -> None:
        """Check one entry against what came before; duplicate problems are added to it."""
        obj = entry.obj
        if obj is None:
            return
        self._settle()
        if isinstance(obj, Domain):
            self._seen(self._domains, obj.domain, entry, "domain")
            self._alias_domains.update(obj.aliasDomains or ())
            return
        if isinstance(obj, Admin):
            self._seen(self._admins, obj.email, entry, "email")
            return
        if not isinstance(obj, _ADDRESS_KINDS):
            return
        place = self._seen(self._addresses, obj.email, entry, "email")
        domain = obj.email.rpartition("@")[2]
        self.use_domain(domain, obj.email, place, 1)
        columns = entry.record.columns
        if not (getattr(obj, "aliases", None) or getattr(obj, "forwarding", None) or getattr(obj, "members", None)):
            return
        if isinstance(obj, User):
            for alias in obj.aliases or ():
                self.claim_alias(alias, place, columns.get("aliases", "aliases"), obj.email)
            self.refer(obj.forwarding, domain, place, columns.get("forwarding", "forwarding"), obj.email)
        else:
            self.refer(obj.members, domain, place, columns.get("members", "members"), obj.email)

    def _seen(self, index: dict[str, int], key: str, entry: Entry, column: str) -> int:
        """Index the entry's key, or report it as a duplicate (or a merge); returns its place."""
        mask = _mask(entry)
        kind_index = _KIND_INDEX[entry.record.kind]
        here = self._places.pack(entry.prov)
        value = index.get(key)
        if value is None:
            index[key] = (mask << 3 | kind_index) << 48 | here
            return here
        place, kind, given = _first(value)
        prov = self._places.unpack(place)
        where = ":".join(str(p) for p in (prov.source, prov.sheet, prov.line) if p)
        if prov.source == entry.prov.source and kind == entry.record.kind and not given & mask:
            # A second row of the same file that only adds fields the first did not give (Modoboa's
            # domainalias and forward records): one object described in two places, not a clash.
            index[key] = ((given | mask) << 3 | kind_index) << 48 | place
            entry.problems.append(
                Problem.at(
                    entry.prov,
                    "MERGED",
                    f"{key} is also defined at {where}; this row's fields are added to it",
                    column=entry.record.columns.get(column, column),
                    key=key,
                    severity=Severity.WARNING,
                )
            )
            return here
        entry.problems.append(
            Problem.at(
                entry.prov,
                "DUPLICATE_ADDRESS" if column == "email" else "DUPLICATE_DOMAIN",
                f"{key} is defined twice; first at {where}",
                hint="keep one row per address (addresses are compared without case)",
                column=entry.record.columns.get(column, column),
                key=key,
            )
        )
        return here

    def finish(self) -> list[Problem]:
        """Return the problems that needed every input: call once after the last entry."""
        problems: list[Problem] = []
        known = self._known | set(self._domains)
        for domain, use in sorted(self._domain_uses.items()):
            if domain in known:
                continue
            hint = f"add {domain} to the domains, or pass --domain-exists {domain} if the server already has it"
            if domain in self._alias_domains:
                hint = f"{domain} is an alias domain: create the account in its target domain"
            problems.append(
                Problem.at(
                    self._places.unpack(use.first),
                    "UNKNOWN_DOMAIN",
                    f"{use.count} account(s) are in domain {domain}, which is neither in the inputs nor "
                    "known to exist on the server (first one here)",
                    hint=hint,
                    key=use.key,
                )
            )
        for admin, value in sorted(self._admins.items()):
            domain = admin.rpartition("@")[2]
            if domain in known:
                problems.append(
                    Problem.at(
                        self._places.unpack(_first(value)[0]),
                        "CAN_NOT_BE_LOCAL_DOMAIN",
                        f"the standalone admin {admin} is in {domain}, a domain of this server; "
                        "iRedAdmin-Pro refuses that",
                        hint="give the admin an address outside the hosted domains, or make it a mail user "
                        "with isAdmin",
                        key=admin,
                    )
                )
        # Only the hits are sorted (for a stable report): a big input has many aliases, few clashes.
        addresses = self._addresses
        shard = self._shard.members if self._shard is not None else frozenset()
        claimed = self._per_user_aliases
        clashes = [(alias, held) for alias, held in claimed.items() if alias in addresses or alias in shard]
        late_claims: frozenset[str] | set[str] = frozenset()
        if self._shard is not None and self._shard.delta.aliases:
            delta = self._shard.delta
            late = delta.aliases.split("\n")
            hits = [
                i for i, alias in enumerate(late) if (alias in addresses or alias in shard) and alias not in claimed
            ]
            if hits:
                held = delta.claim_list()
                clashes += [(late[i], held[i]) for i in hits]
            if self._refs:
                late_claims = set(late)
        for alias, (place, column, owner) in sorted(clashes):
            problems.append(
                Problem.at(
                    self._places.unpack(place),
                    "ALIAS_IS_ACCOUNT",
                    f"the per-user alias {alias} of {owner} is also an account of its own",
                    hint="remove it from the aliases column or delete the other account",
                    column=column,
                    key=owner,
                )
            )
        for target, (place, column, owner) in sorted(self._refs.items()):
            if target in addresses or target in shard or target in claimed or target in late_claims:
                continue
            if target.rpartition("@")[2] not in self._domains:
                continue  # the domain exists elsewhere; we cannot know its accounts
            problems.append(
                Problem.at(
                    self._places.unpack(place),
                    "MEMBER_NOT_IN_INPUT",
                    f"{target} (member or forwarding of {owner}) is in the same domain but in no input; "
                    "the server would drop it",
                    hint=f"add a user or alias {target}, or remove it",
                    column=column,
                    key=owner,
                    severity=Severity.WARNING,
                )
            )
        return problems


def merge_partials(entries: Sequence[Entry]) -> dict[int, int]:
    """Fold rows marked ``MERGED`` into the first row with the same key.

    Returns:
        Merged row index -> the index of the row that now carries its fields. The first row's
        object gains the merged row's fields; the merged row keeps its own object for reporting.
    """
    first: dict[tuple[str, str], int] = {}
    merged: dict[int, int] = {}
    objects: dict[int, Account] = {}
    for index, entry in enumerate(entries):
        if not entry.valid or entry.obj is None:
            continue
        ident = (entry.record.kind, entry.obj.key)
        if any(p.code == "MERGED" for p in entry.problems) and ident in first:
            target = first[ident]
            base = objects[target]
            extra = {name: getattr(entry.obj, name) for name in field_names(entry.obj) if name not in _KEY_FIELDS}
            objects[target] = replace_fields(base, **{k: v for k, v in extra.items() if v is not None})
            merged[index] = target
        else:
            first.setdefault(ident, index)
            objects[index] = entry.obj
    for index, obj in objects.items():
        entries[index].obj = obj
    return merged
