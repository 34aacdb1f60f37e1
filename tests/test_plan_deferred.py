"""Deferred operations: the plan leaves new users' creates to be made when the apply stage runs them."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from migrate import plan_ops
from migrate.apply import apply_plan
from migrate.client import ApiClient
from migrate.inputs import Entry
from migrate.model import Account, Alias, Domain, MailingList, User
from migrate.plan import Operation, PlanOptions, plan
from migrate.plan_types import OpParts
from migrate.records import Provenance, Record
from migrate.results import ResultLog, ResultRecord
from migrate.retry import RetryPolicy
from migrate.state import State

BASE = "https://mail.test/iredadmin/api"
ADMIN = "postmaster@example.com"
PASSWORD = "S3cret-Adm1n-Passw0rd"


def corpus() -> list[tuple[int, Account]]:
    """New and existing users of every shape the user builder tells apart, with their neighbours."""
    users: list[Account] = [
        Domain(domain="example.com", quota=1000, admins=("boss@example.com",)),
        User(email="plain@example.com", password="Str0ng#Pass", name="Plain", quota=100, employeeid="E1"),
        User(email="hashed@example.com", password_hash="{SSHA512}abc", language="de_DE"),
        User(email="nopass@example.com", name="Skipped unless generated"),
        User(email="gen@example.com", name="Generated when asked", quota=5),
        User(email="svc@example.com", password="Str0ng#Pass", services=("mail", "imap", "sogo", "nosuch")),
        User(
            email="links@example.com",
            password="Str0ng#Pass",
            aliases=("alt@example.com",),
            forwarding=("links@example.com", "out@other.test"),
            senderBcc="bcc@other.test",
            lists=("team@example.com",),
        ),
        User(email="boss@example.com", password="Str0ng#Pass", isAdmin=True),
        User(email="root@example.com", password="Str0ng#Pass", isAdmin=True, isGlobalAdmin=True),
        User(email="old@example.com", password="Str0ng#Pass", name="Renamed", quota=200),
        User(email="same@example.com", password="Str0ng#Pass", name="Same"),
        Alias(email="team@example.com", members=("plain@example.com",)),
        MailingList(email="news@example.com", members=("hashed@example.com",)),
    ]
    return list(enumerate(users))


def target(edition: str) -> State:
    return State(
        edition=edition,
        users={
            "old@example.com": User(email="old@example.com", name="Old", quota=100),
            "same@example.com": User(email="same@example.com", name="Same"),
        },
    )


def counting_factory() -> Any:
    # Numbered in the order passwords are asked for: a change of that order shows.
    numbers = itertools.count(1)
    return lambda policy: f"Gen#{next(numbers):04d}Pass"


OPTIONS = {
    "merge": lambda: PlanOptions(),
    "replace": lambda: PlanOptions(replace=True),
    "generate": lambda: PlanOptions(generate_passwords=True, password_factory=counting_factory()),
    "update passwords": lambda: PlanOptions(update_passwords=True),
}


@pytest.mark.parametrize("edition", ["sql", "ldap"])
@pytest.mark.parametrize("options", sorted(OPTIONS))
def test_deferred_creates_equal_the_operations_built_at_once(
    edition: str, options: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deferred = plan(corpus(), target(edition), OPTIONS[options]())
    waiting = [op for op in deferred.operations if not op.built]
    # Every new user with a given password or hash, and nothing else, waits to be made.
    assert sorted(op.key for op in waiting) == [
        "boss@example.com", "hashed@example.com", "links@example.com", "plain@example.com",
        "root@example.com", "svc@example.com",
    ]  # fmt: skip
    assert {(op.stage, op.kind, op.action) for op in waiting} == {(2, "user", "create")}

    monkeypatch.setattr(plan_ops, "DEFER_CREATES", False)
    at_once = plan(corpus(), target(edition), OPTIONS[options]())
    assert all(op.built for op in at_once.operations)

    assert deferred.by_entry == at_once.by_entry
    assert deferred.skipped == at_once.skipped
    assert [op.id for op in deferred.operations] == [op.id for op in at_once.operations]
    assert deferred.operations == at_once.operations  # reading them makes the deferred parts
    assert [repr(op) for op in deferred.operations] == [repr(op) for op in at_once.operations]
    # Same parameters in the same order (the form body's order).
    assert [[list(c.data.items()) for c in op.calls] for op in deferred.operations] == [
        [list(c.data.items()) for c in op.calls] for op in at_once.operations
    ]
    assert [op.generated_password for op in deferred.operations] == [op.generated_password for op in at_once.operations]


def test_a_forgotten_deferred_operation_is_made_again_alike_and_others_keep_their_parts() -> None:
    (op,) = plan([(0, User(email="a@example.com", password="Str0ng#Pass", name="A"))], State()).operations
    assert not op.built
    calls = op.calls
    assert op.built and calls[0].data == {"name": "A", "password": "Str0ng#Pass"}
    op.forget()
    assert not op.built
    assert op.calls == calls and op.calls is not calls

    made: list[int] = []

    def build() -> OpParts:
        made.append(1)
        return OpParts([], {}, None)

    lazy = Operation.deferred("2:user:b@example.com:create", 2, "user", "b@example.com", "create", 0, build)
    assert made == [] and lazy.note == "" and made == [1]
    assert lazy.diff == {} and made == [1]  # made once until forgotten
    eager = Operation("0:domain:d.test:create", 0, "domain", "d.test", "create", [], {}, 0, None, note="kept")
    eager.forget()
    assert eager.built and eager.note == "kept"


class _EchoingApi:
    """Logs in; rejects user creates with a message that echoes the form, as a SQL error can."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/login"):
            reply = httpx.Response(200, json={"_success": True})
            reply.headers["set-cookie"] = "iRedAdmin-Pro-MYSQL=" + "1" * 40 + "; Path=/"
            return reply
        if request.method == "POST" and "/user/" in path:
            form = request.content.decode()
            if "Gen" in form:
                return httpx.Response(200, json={"_success": False, "_msg": f"OperationalError(1366, 'bad: {form}')"})
            self.created.append(path.rpartition("/")[2])
        if request.method == "GET" and "/user/" in path:
            mail = path.rpartition("/")[2]
            return httpx.Response(200, json={"_success": True, "_data": {"mail": mail, "name": "A"}})
        return httpx.Response(200, json={"_success": True})


def entry_for(line: int, obj: User) -> Entry:
    prov = Provenance("users.csv", None, line, "csv")
    return Entry(Record(prov, "user", {"email": obj.email}), obj)


def test_apply_hides_passwords_made_for_the_run_and_forgets_deferred_parts(tmp_path: Path) -> None:
    users = [User(email="a@example.com", password="Str0ng#Pass", name="A"), User(email="b@example.com", name="A")]
    the_plan = plan(
        list(enumerate(users)),
        State(),
        PlanOptions(generate_passwords=True, password_factory=lambda policy: "Gen#Made4Run"),
    )
    entries = [entry_for(line, user) for line, user in enumerate(users, start=2)]
    api = _EchoingApi()
    log = ResultLog(tmp_path / "log.jsonl")  # told of no secret beforehand: apply must tell it

    async def main() -> None:
        retry = RetryPolicy(jitter=0.0)
        async with ApiClient(BASE, ADMIN, PASSWORD, retry=retry, transport=httpx.MockTransport(api)) as client:
            await client.login()
            await apply_plan(the_plan, entries, client, log=log, make_record=make_record)

    def make_record(*, entry: Entry | None, **fields: Any) -> ResultRecord:
        return ResultRecord(**fields)

    asyncio.run(main())
    log.close()
    assert api.created == ["a@example.com"]
    text = (tmp_path / "log.jsonl").read_text()
    records = {r["key"]: r for r in map(json.loads, text.splitlines())}
    assert records["a@example.com"]["status"] == "created"
    assert records["b@example.com"]["status"] == "failed" and "***" in records["b@example.com"]["message"]
    assert "Made4Run" not in text
    # The client masks what it sent in the server's message; the log must know the password too,
    # for any text that reaches it another way.
    assert log.redactor("echoed: Gen#Made4Run") == "echoed: ***"
    assert not the_plan.operations[0].built  # the deferred create's parts went with its run
