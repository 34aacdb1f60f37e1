"""Checks that look across rows and files: duplicates, unknown domains, dangling members.

:class:`CrossCheck` sees each entry once as it streams past (so duplicates are caught on the
second occurrence and that row is marked), and keeps only small maps for the checks that can only
be decided at the end (a domain may be defined after its users; a member may be defined later).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from migrate.inputs import Entry
from migrate.model import Admin, Alias, Domain, MailingList, User
from migrate.records import Problem, Provenance, Severity

__all__ = ["CrossCheck"]

# Kinds that share the address space of a mail server: no two may have the same address.
_ADDRESS_KINDS = (User, Alias, MailingList)


@dataclass(slots=True)
class _DomainUse:
    first: Provenance
    key: str
    count: int = 0


@dataclass
class CrossCheck:
    """Accumulate cross-row facts and report what is wrong with them.

    Args:
        existing_domains: Domains the target already has (``--domain-exists``).
    """

    existing_domains: Iterable[str] = ()
    _addresses: dict[str, Provenance] = field(default_factory=dict)
    _admins: dict[str, Provenance] = field(default_factory=dict)
    _domains: dict[str, Provenance] = field(default_factory=dict)
    _alias_domains: set[str] = field(default_factory=set)
    _domain_uses: dict[str, _DomainUse] = field(default_factory=dict)
    _refs: dict[str, tuple[Provenance, str | None, str]] = field(default_factory=dict)
    _per_user_aliases: dict[str, tuple[Provenance, str | None, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._known = {d.lower() for d in self.existing_domains}

    def add(self, entry: Entry) -> None:
        """Check one entry against what came before; duplicate problems are added to it."""
        obj = entry.obj
        if obj is None:
            return
        prov = entry.prov
        if isinstance(obj, Domain):
            self._seen(self._domains, obj.domain, entry, "domain")
            self._alias_domains.update(obj.aliasDomains or ())
            return
        if isinstance(obj, Admin):
            self._seen(self._admins, obj.email, entry, "email")
            return
        if not isinstance(obj, _ADDRESS_KINDS):
            return
        self._seen(self._addresses, obj.email, entry, "email")
        domain = obj.email.rpartition("@")[2]
        use = self._domain_uses.get(domain)
        if use is None:
            use = self._domain_uses[domain] = _DomainUse(prov, obj.email)
        use.count += 1
        columns = entry.record.columns
        if isinstance(obj, User):
            for alias in obj.aliases or ():
                self._per_user_aliases.setdefault(alias, (prov, columns.get("aliases", "aliases"), obj.email))
            self._refer(obj.forwarding, domain, prov, columns.get("forwarding", "forwarding"), obj.email)
        else:
            self._refer(obj.members, domain, prov, columns.get("members", "members"), obj.email)

    def _seen(self, index: dict[str, Provenance], key: str, entry: Entry, column: str) -> None:
        first = index.get(key)
        if first is None:
            index[key] = entry.prov
            return
        where = ":".join(str(p) for p in (first.source, first.sheet, first.line) if p)
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

    def _refer(self, targets: Iterable[str] | None, domain: str, prov: Provenance, column: str, key: str) -> None:
        for target in targets or ():
            if target != key and target.rpartition("@")[2] == domain:
                self._refs.setdefault(target, (prov, column, key))

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
                    use.first,
                    "UNKNOWN_DOMAIN",
                    f"{use.count} account(s) are in domain {domain}, which is neither in the inputs nor "
                    "known to exist on the server (first one here)",
                    hint=hint,
                    key=use.key,
                )
            )
        for alias, (prov, column, owner) in sorted(self._per_user_aliases.items()):
            if alias in self._addresses:
                problems.append(
                    Problem.at(
                        prov,
                        "ALIAS_IS_ACCOUNT",
                        f"the per-user alias {alias} of {owner} is also an account of its own",
                        hint="remove it from the aliases column or delete the other account",
                        column=column,
                        key=owner,
                    )
                )
        for target, (prov, column, owner) in sorted(self._refs.items()):
            if target in self._addresses or target in self._per_user_aliases:
                continue
            if target.rpartition("@")[2] not in self._domains:
                continue  # the domain exists elsewhere; we cannot know its accounts
            problems.append(
                Problem.at(
                    prov,
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
