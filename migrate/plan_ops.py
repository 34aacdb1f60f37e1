"""Per-object operations: field-level diffs turned into API calls, stage by stage."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from migrate.model import (
    Admin,
    Alias,
    Domain,
    MailingList,
    SpamPolicy,
    Throttle,
    User,
    field_names,
)
from migrate.passwords import PasswordPolicy
from migrate.plan_params import CREATE_FIELDS, SET_FIELDS, UPDATE_FIELDS
from migrate.state import USER_SERVICES, State

if TYPE_CHECKING:
    from migrate.plan import PlanOptions
from migrate.plan_types import (
    _ADMIN_UNLISTED,
    _LIMITS,
    S_ADMINS,
    S_ALIASES,
    S_DOMAIN_ADMINS,
    S_DOMAINS,
    S_MEMBERS,
    S_POLICIES,
    S_USERS,
    Call,
    Operation,
    OpParts,
    Verify,
    _Built,
    _join_notes,
    _params,
    _scalars,
    _set_change,
    _unsent,
)

__all__ = ["Call", "Operation", "Verify"]

#: Whether new users with a given password or hash get deferred operations (tests turn it off to
#: compare with operations built at once).
DEFER_CREATES = True

# Without --replace, the server may hold services beyond those asked for.
_SERVICES_SUBSET = frozenset({"services"})


class _Builder:
    def __init__(self, state: State, options: PlanOptions, list_kind: str) -> None:
        self.state = state
        self.options = options
        self.list_kind = list_kind
        self.out = _Built()

    def add(
        self,
        stage: int,
        kind: str,
        key: str,
        action: str,
        calls: list[Call],
        diff: dict[str, Any],
        entry: int | None,
        verify: Verify | None,
        **extra: Any,
    ) -> None:
        if calls:
            op_id = self.op_id(stage, kind, key, action, calls[0].path)
            self.out.operations.append(Operation(op_id, stage, kind, key, action, calls, diff, entry, verify, **extra))

    @staticmethod
    def op_id(stage: int, kind: str, key: str, action: str, path: str) -> str:
        """Return an operation's id; ``path`` is its first call's (it only matters for ``admins``)."""
        # An admin row can touch several domains' admin lists: the path keeps the ids unique.
        return f"{stage}:{kind}:{key}:{action}" if action != "admins" else f"{stage}:{kind}:{key}:{path}"

    def set_field(self, api_kind: str, name: str, want: Any, have: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return (params, diff) for one list field, honouring --replace."""
        change = _set_change(name, want, have, self.options.replace)
        if change is None:
            return {}, {}
        target, add, remove = change
        spec = SET_FIELDS[api_kind][name]
        diff = {name: (sorted(have or ()), sorted(target))}
        # Forwarding has no unambiguous delta form (a list without the user's own address means
        # "no local copy"), so it always goes as the full list.
        if (self.options.replace and spec.reset) or name == "forwarding":
            return {spec.reset: sorted(target)}, diff
        params: dict[str, Any] = {}
        if add:
            params[spec.add] = sorted(add)
        if remove:
            params[spec.remove] = sorted(remove)
        return params, diff

    # -- per kind ---------------------------------------------------------------------------

    def domain(self, entry: int, obj: Domain) -> None:
        cur = self.state.domains.get(obj.domain)
        path = f"/domain/{obj.domain}"
        diff = _scalars(obj, cur, UPDATE_FIELDS["domain"])
        # A -1 limit ("may not create any") goes last (domain_followups): a source server can hold
        # accounts created before the limit was set (a list in a domain with numberOfLists -1),
        # and the server enforces limits on creation. Positive limits stay enforced on the input.
        limits = {k: diff.pop(k) for k in _LIMITS if k in diff and diff[k][1] == -1}
        if cur is None:
            create = {k: v for k, v in diff.items() if k in CREATE_FIELDS["domain"]}
            rest = {k: v for k, v in diff.items() if k not in create}
            calls = [Call("POST", path, _params(create))]
            action = "create"
        else:
            rest = dict(diff)
            calls, action = [], "update"
        extra: dict[str, Any] = {}
        services, note = obj.services, ""
        if services is not None and self.state.edition == "sql":
            # SQL domains have one service, self-service; mail/domainalias/bcc are LDAP names.
            dropped = sorted(set(services) - {"self-service"})
            services = tuple(sorted(set(services) & {"self-service"}))
            if dropped:
                note = "not represented on the SQL edition: domain services " + ", ".join(dropped)
        profiles = ("disabledDomainProfiles", "disabledUserProfiles", "disabledUserPreferences")
        wanted = [("aliasDomains", obj.aliasDomains), ("services", services)]
        wanted += [(name, getattr(obj, name)) for name in profiles]
        for name, want in wanted:
            params, sdiff = self.set_field("domain", name, want, getattr(cur, name, None))
            extra.update(params)
            diff.update(sdiff)
        if rest or extra:
            calls.append(Call("PUT", path, {**_params(rest), **extra}))
        expect = {k: v[1] for k, v in diff.items() if k not in ("aliasDomains", "services", *profiles)}
        for name in ("aliasDomains", *profiles):
            if getattr(obj, name) is not None:
                expect[name] = getattr(obj, name)
        self.add(
            S_DOMAINS,
            "domain",
            obj.domain,
            action,
            calls,
            diff,
            entry,
            Verify(
                "domain",
                obj.domain,
                expect,
                frozenset({"aliasDomains", *profiles}) if not self.options.replace else frozenset(),
            ),
            note=note,
        )
        self.domain_followups(entry, obj, cur, limits)

    def domain_followups(self, entry: int, obj: Domain, cur: Domain | None, limits: dict[str, tuple[Any, Any]]) -> None:
        if limits:
            self.add(
                S_DOMAIN_ADMINS,
                "domain",
                obj.domain,
                "limits",
                [Call("PUT", f"/domain/{obj.domain}", _params(limits))],
                dict(limits),
                entry,
                Verify("domain", obj.domain, {k: v[1] for k, v in limits.items()}),
            )
        if obj.catchall is not None:
            change = _set_change("catchall", obj.catchall, cur.catchall if cur else None, self.options.replace)
            if change is not None:
                target = sorted(change[0])
                self.add(
                    S_DOMAIN_ADMINS,
                    "domain",
                    obj.domain,
                    "catchall",
                    [Call("PUT", f"/domain/{obj.domain}", {"catchall": target})],
                    {"catchall": (sorted(cur.catchall or ()) if cur else [], target)},
                    entry,
                    Verify("domain", obj.domain, {"catchall": tuple(target)}),
                )

    def admins_of_domain(self, domain: str, want: set[str], entry: int | None, kind: str, key: str) -> None:
        cur = self.state.domains.get(domain)
        have = set(cur.admins or ()) if cur is not None else set()
        add = want - have
        remove = (have - want) if (self.options.replace and kind == "domain") else set()
        if not add and not remove:
            return
        data: dict[str, Any] = {}
        if add:
            data["addAdmin"] = sorted(add)
        if remove:
            data["removeAdmin"] = sorted(remove)
        self.add(
            S_DOMAIN_ADMINS,
            kind,
            key,
            "admins",
            [Call("PUT", f"/domain/admins/{domain}", data)],
            {f"admins of {domain}": (sorted(have), sorted(have | add - remove))},
            entry,
            Verify("domain_admins", domain, {"admins": tuple(sorted(want))}, frozenset({"admins"})),
        )

    def admin(self, entry: int, obj: Admin) -> None:
        cur = self.state.admins.get(obj.email)
        path = f"/admin/{obj.email}"
        diff = _scalars(obj, cur, UPDATE_FIELDS["admin"])
        data = _params(diff)
        secret = self.password_for(obj.email, obj.password, None, cur is None)
        if cur is None:
            if secret is None:
                self.out.skipped[entry] = ("PW_EMPTY", "a new admin needs a password (or --generate-passwords)")
                return
            data["password"] = secret
            calls = [Call("POST", path, data)]
        else:
            if secret is not None and self.options.update_passwords:
                data["password"] = secret
            calls = [Call("PUT", path, data)] if data else []
        generated = secret if (secret and not obj.password) else None
        self.add(
            S_ADMINS,
            "admin",
            obj.email,
            "create" if cur is None else "update",
            calls,
            diff,
            entry,
            Verify("admin", obj.email, {k: v[1] for k, v in diff.items()}),
            generated_password=generated,
            note=_ADMIN_UNLISTED if obj.domains == () else "",
        )
        for domain in obj.domains or ():
            self.admins_of_domain(domain, {obj.email}, entry, "admin", obj.email)

    def password_for(self, email: str, plain: str | None, hashed: str | None, new: bool) -> str | None:
        if plain:
            return plain
        if hashed or not new or not self.options.generate_passwords or self.options.password_factory is None:
            return None
        domain = self.state.domains.get(email.rpartition("@")[2])
        policy = PasswordPolicy(
            min_length=max(8, (domain.minPasswordLength or 0) if domain else 0),
            max_length=(domain.maxPasswordLength or 0) if domain else 0,
        )
        return self.options.password_factory(policy)

    def user(self, entry: int, obj: User) -> None:
        cur = self.state.users.get(obj.email)
        if cur is None and not obj.password and not obj.password_hash and not self.generates():
            self.out.skipped[entry] = (
                "PW_EMPTY",
                "a new user needs a password or a password hash (or --generate-passwords)",
            )
            return
        if cur is None and DEFER_CREATES and (obj.password or obj.password_hash):
            # Made when the apply stage takes it up (see Operation): a given password or hash,
            # so no generated one, which the run must know before anything is sent.
            op_id = self.op_id(S_USERS, "user", obj.email, "create", "")
            build = functools.partial(self.user_parts, obj, None)
            self.out.operations.append(Operation.deferred(op_id, S_USERS, "user", obj.email, "create", entry, build))
        else:
            calls, diff, verify, generated, note = self.user_parts(obj, cur)
            action = "create" if cur is None else "update"
            self.add(
                S_USERS, "user", obj.email, action, calls, diff, entry, verify, generated_password=generated, note=note
            )
        self.user_links(entry, obj, cur)
        if obj.isAdmin and not obj.isGlobalAdmin:
            # A global admin already manages every domain (an LDAP postmaster carries both
            # domainadmin and domainGlobalAdmin): listing it as a normal admin would add a row.
            self.admins_of_domain(obj.domain, {obj.email}, entry, "user", obj.email)

    def generates(self) -> bool:
        """Whether new accounts without a password get a generated one."""
        return self.options.generate_passwords and self.options.password_factory is not None

    def user_parts(self, obj: User, cur: User | None) -> OpParts:
        """The calls, diff and read-back of a user's create (``cur`` is ``None``) or update.

        A new user has a password, a hash or a generated password (:meth:`user` skips it otherwise).
        """
        path = f"/user/{obj.email}"
        diff = _scalars(obj, cur, UPDATE_FIELDS["user"])
        extra: dict[str, Any] = {}
        services, note = obj.services, ""
        if services is not None and self.state.edition == "sql":
            # The SQL edition stores services as mailbox.enable<service> columns and ignores any
            # other name (reference §6.6): say which LDAP services have no place there.
            dropped = sorted(set(services) - set(USER_SERVICES))
            services = tuple(sorted(set(services) & set(USER_SERVICES)))
            if dropped:
                note = "not represented on the SQL edition: services " + ", ".join(dropped)
        params, sdiff = self.set_field("user", "services", services, cur.services if cur else None)
        extra.update(params)
        diff.update(sdiff)
        secret = self.password_for(obj.email, obj.password, obj.password_hash, cur is None)
        calls: list[Call] = []
        if cur is None:
            create = {k: v for k, v in diff.items() if k in CREATE_FIELDS["user"]}
            rest = {k: v for k, v in diff.items() if k not in create}
            data = _params(create)
            if secret is not None:
                data["password"] = secret
            else:
                data["password_hash"] = obj.password_hash
            diff["password"] = (None, "***")
            calls.append(Call("POST", path, data))
            put = {**_params(rest), **extra}
        else:
            put = {**_params(diff), **extra}
            if self.options.update_passwords and (secret or obj.password_hash):
                put["password" if secret else "password_hash"] = secret or obj.password_hash
                diff["password"] = ("***", "***")
        if put:
            calls.append(Call("PUT", path, put))
        expect = {k: v[1] for k, v in diff.items() if k not in ("password", "services")}
        if services is not None:
            expect["services"] = services
        generated = secret if (secret and not obj.password) else None
        verify = Verify("user", obj.email, expect, frozenset() if self.options.replace else _SERVICES_SUBSET)
        return OpParts(calls, diff, verify, generated, note)

    def user_links(self, entry: int, obj: User, cur: User | None) -> None:
        """Stage 5 for a user: forwardings, per-user aliases, bcc."""
        if obj.forwarding is None and obj.aliases is None and obj.senderBcc is None and obj.recipientBcc is None:
            return  # nothing of stage 5 given (most rows): no operation
        data: dict[str, Any] = {}
        diff: dict[str, Any] = {}
        expect: dict[str, Any] = {}
        forwarding = obj.forwarding
        if forwarding is not None and set(forwarding) == {obj.email}:
            forwarding = ()  # "only to myself" is normal delivery, which the server reports as []
        for name, want in (("forwarding", forwarding), ("aliases", obj.aliases)):
            have = getattr(cur, name) if cur is not None else None
            params, sdiff = self.set_field("user", name, want, have)
            data.update(params)
            diff.update(sdiff)
            if sdiff:
                expect[name] = tuple(sdiff[name][1])
        bcc = _scalars(obj, cur, ("senderBcc", "recipientBcc"))
        data.update(_params(bcc))
        diff.update(bcc)
        expect.update({k: v[1] for k, v in bcc.items()})
        if data:
            self.add(
                S_MEMBERS,
                "user",
                obj.email,
                "links",
                [Call("PUT", f"/user/{obj.email}", data)],
                diff,
                entry,
                Verify("user", obj.email, expect),
            )

    def alias(self, entry: int, obj: Alias | MailingList) -> None:
        """An alias account, or a mailing list the target keeps as an alias (--lists-as-aliases)."""
        cur = self.state.aliases.get(obj.email)
        path = f"/alias/{obj.email}"
        fields = UPDATE_FIELDS["alias"] if self.state.edition == "sql" else ("name", "accountStatus")
        diff = _scalars(obj, cur, fields)
        calls: list[Call] = []
        kind = "alias" if isinstance(obj, Alias) else "list"
        if cur is None:
            create = {k: v for k, v in diff.items() if k in CREATE_FIELDS["alias"] and k in fields}
            calls.append(Call("POST", path, _params(create)))
            rest = {k: v for k, v in diff.items() if k not in create}
        else:
            rest = diff
        if rest:
            calls.append(Call("PUT", path, _params(rest)))
        self.add(
            S_ALIASES,
            kind,
            obj.email,
            "create" if cur is None else "update",
            calls,
            diff,
            entry,
            Verify("alias", obj.email, {k: v[1] for k, v in diff.items()}),
            note=_join_notes("kept as an alias account" if kind == "list" else "", _unsent(obj, cur, fields)),
        )
        self.members("alias", kind, entry, obj.email, obj.members, cur.members if cur else None)

    def members(self, api_kind: str, kind: str, entry: int | None, key: str, want: Any, have: Any) -> None:
        params, diff = self.set_field(api_kind, "members", want, have)
        if not params:
            return
        if api_kind == "mlmmj":
            params["require_confirm"] = "no"  # an import must not mail every subscriber a confirmation
        prefix = {"alias": "/alias/", "mlmmj": "/ml/", "maillist": "/maillist/"}[api_kind]
        target = tuple(diff["members"][1])
        self.add(
            S_MEMBERS,
            kind,
            key,
            "members",
            [Call("PUT", prefix + key, params)],
            diff,
            entry,
            Verify(api_kind, key, {"members": target}, frozenset() if self.options.replace else frozenset({"members"})),
        )

    def mailing_list(self, entry: int, obj: MailingList) -> None:
        api_kind = self.list_kind if obj.kind != "mlmmj" else ("mlmmj" if self.list_kind != "alias" else "alias")
        if api_kind == "alias":
            self.alias(entry, obj)
            return
        cur = self.state.lists.get(obj.email)
        path = ("/ml/" if api_kind == "mlmmj" else "/maillist/") + obj.email
        diff = _scalars(obj, cur, UPDATE_FIELDS[api_kind])
        for name in ("owners", "moderators"):
            if api_kind == "mlmmj" and name in UPDATE_FIELDS["mlmmj"]:
                change = _set_change(name, getattr(obj, name), getattr(cur, name, None), True)
                if change is None:
                    diff.pop(name, None)
        calls: list[Call] = []
        if cur is None:
            create = {k: v for k, v in diff.items() if k in CREATE_FIELDS[api_kind]}
            calls.append(Call("POST", path, _params(create)))
            rest = {k: v for k, v in diff.items() if k not in create}
        else:
            rest = diff
        if rest:
            calls.append(Call("PUT", path, _params(rest)))
        note = ""
        if obj.kind == "maillist" and api_kind == "mlmmj":
            note = "classic list created as an mlmmj list (the SQL edition has no classic lists)"
        note = _join_notes(note, _unsent(obj, cur, UPDATE_FIELDS[api_kind]))
        self.add(
            S_ALIASES,
            "list",
            obj.email,
            "create" if cur is None else "update",
            calls,
            diff,
            entry,
            Verify(api_kind, obj.email, {k: v[1] for k, v in diff.items()}),
            note=note,
        )
        self.members(api_kind, "list", entry, obj.email, obj.members, cur.members if cur else None)

    def spam_policy(self, entry: int, obj: SpamPolicy) -> None:
        cur = self.state.spam_policies.get(obj.key)
        names = [f for f in field_names(SpamPolicy) if f not in ("scope", "target")]
        diff = _scalars(obj, cur, names)
        if not diff:
            return
        path = "/spampolicy/global" if obj.scope == "global" else f"/spampolicy/{obj.scope}/{obj.target}"
        data = {k: ("yes" if v[1] is True else "no" if v[1] is False else v[1]) for k, v in diff.items()}
        self.add(
            S_POLICIES,
            "spam_policy",
            obj.key,
            "create" if cur is None else "update",
            [Call("PUT", path, data)],
            diff,
            entry,
            Verify("spam_policy", obj.key, {k: v[1] for k, v in diff.items()}),
        )

    def throttle(self, entry: int, obj: Throttle) -> None:
        cur = self.state.throttles.get(obj.key)
        diff = _scalars(obj, cur, ("period", "msg_size", "max_msgs", "max_quota"))
        if not diff:
            return
        # The throttle POST replaces the whole setting: send every field we know, not only changes.
        data = {
            k: getattr(obj, k) for k in ("period", "msg_size", "max_msgs", "max_quota") if getattr(obj, k) is not None
        }
        target = "global" if obj.scope == "global" else obj.target
        self.add(
            S_POLICIES,
            "throttle",
            obj.key,
            "create" if cur is None else "update",
            [Call("POST", f"/throttle/{target}/{obj.direction}", data)],
            diff,
            entry,
            Verify("throttle", obj.key, dict(data)),
        )
