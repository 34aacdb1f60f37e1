from typing import Any

from migrate.crosscheck import CrossCheck
from migrate.inputs import Entry
from migrate.model import build
from migrate.records import Provenance, Record, Severity


def entry(line: int, kind: str, source: str = "in.csv", **fields: Any) -> Entry:
    record = Record(Provenance(source, None, line, "csv"), kind, fields, {k: k.title() for k in fields})
    obj, problems = build(record)
    return Entry(record, obj, problems)


def run(*entries: Entry, existing: tuple[str, ...] = ()) -> tuple[list[Entry], list[Any]]:
    check = CrossCheck(existing_domains=existing)
    for e in entries:
        check.add(e)
    return list(entries), check.finish()


def test_duplicate_addresses_case_insensitive_across_kinds_and_files() -> None:
    entries, _ = run(
        entry(2, "domain", domain="example.com"),
        entry(3, "user", email="Sales@example.com"),
        entry(9, "alias", source="aliases.csv", email="sales@EXAMPLE.com"),
    )
    assert entries[1].valid
    (problem,) = entries[2].problems
    assert problem.code == "DUPLICATE_ADDRESS"
    assert "first at in.csv:3" in problem.message
    assert problem.source == "aliases.csv" and problem.line == 9 and problem.column == "Email"
    assert not entries[2].valid


def test_unknown_domain_reported_once_per_domain_with_count() -> None:
    _, problems = run(entry(2, "user", email="a@nowhere.org"), entry(3, "user", email="b@nowhere.org"))
    (problem,) = problems
    assert problem.code == "UNKNOWN_DOMAIN"
    assert problem.line == 2 and problem.message.startswith("2 account(s)")
    assert "--domain-exists nowhere.org" in problem.hint


def test_domain_exists_option_and_domains_defined_later() -> None:
    assert run(entry(2, "user", email="a@there.org"), existing=("there.org",))[1] == []
    assert run(entry(2, "user", email="a@later.org"), entry(3, "domain", domain="later.org"))[1] == []


def test_alias_domain_gets_a_specific_hint() -> None:
    _, problems = run(
        entry(2, "domain", domain="example.com", aliasDomains="example.net"), entry(3, "user", email="a@example.net")
    )
    assert "alias domain" in problems[0].hint


def test_members_and_forwardings_to_unknown_same_domain_addresses_warn() -> None:
    _, problems = run(
        entry(2, "domain", domain="example.com"),
        entry(3, "user", email="a@example.com", forwarding="ghost@example.com, a@example.com, x@other.org"),
        entry(4, "alias", email="team@example.com", members="a@example.com, phantom@example.com"),
    )
    found = sorted((p.code, p.line, p.severity) for p in problems)
    assert found == [
        ("MEMBER_NOT_IN_INPUT", 3, Severity.WARNING),
        ("MEMBER_NOT_IN_INPUT", 4, Severity.WARNING),
    ]
    assert any("ghost@example.com" in p.message for p in problems)


def test_per_user_alias_equal_to_another_account() -> None:
    _, problems = run(
        entry(2, "domain", domain="example.com"),
        entry(3, "user", email="a@example.com", aliases="b@example.com"),
        entry(4, "user", email="b@example.com"),
    )
    assert [(p.code, p.line, p.column) for p in problems] == [("ALIAS_IS_ACCOUNT", 3, "Aliases")]


def test_standalone_admin_in_a_hosted_domain() -> None:
    _, problems = run(
        entry(2, "domain", domain="example.com"),
        entry(3, "admin", email="boss@example.com", password="Str0ng#Pass"),
        entry(4, "admin", email="help@outside.org", password="Str0ng#Pass"),
    )
    assert [(p.code, p.line, p.key) for p in problems] == [("CAN_NOT_BE_LOCAL_DOMAIN", 3, "boss@example.com")]
