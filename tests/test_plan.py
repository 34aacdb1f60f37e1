from typing import Any

import pytest

from migrate.model import Account, Admin, Alias, Domain, MailingList, SpamPolicy, Throttle, User
from migrate.plan import Plan, PlanOptions, plan
from migrate.state import State


def desired(*objs: Account) -> list[tuple[int, Account]]:
    return list(enumerate(objs))


def calls(result: Plan) -> list[tuple[int, str, str, dict[str, Any]]]:
    return [(op.stage, c.method, c.path, c.data) for op in result.operations for c in op.calls]


def test_new_domain_and_user_in_stage_order_with_create_then_put() -> None:
    result = plan(
        desired(
            User(email="a@example.com", name="A", quota=100, password="Str0ng#Pass", employeeid="E1"),
            Domain(domain="example.com", quota=1000, minPasswordLength=10),
        ),
        State(),
    )
    assert calls(result) == [
        (0, "POST", "/domain/example.com", {"quota": 1000}),
        (0, "PUT", "/domain/example.com", {"minPasswordLength": 10}),
        (2, "POST", "/user/a@example.com", {"name": "A", "quota": 100, "password": "Str0ng#Pass"}),
        (2, "PUT", "/user/a@example.com", {"employeeid": "E1"}),
    ]
    assert [op.action for op in result.operations] == ["create", "create"]
    assert result.by_entry == {0: ["2:user:a@example.com:create"], 1: ["0:domain:example.com:create"]}


def test_unchanged_objects_make_no_operations() -> None:
    state = State(
        domains={"example.com": Domain(domain="example.com", quota=1000)},
        users={"a@example.com": User(email="a@example.com", name="A", quota=100, aliases=("b@example.com",))},
    )
    result = plan(
        desired(
            Domain(domain="example.com", quota=1000),
            User(email="a@example.com", name="A", quota=100, password="Str0ng#Pass", aliases=("b@example.com",)),
        ),
        state,
    )
    assert result.operations == []
    assert result.by_entry == {0: [], 1: []}
    assert result.writes == 0


def test_field_level_diff_on_update_and_password_left_alone() -> None:
    state = State(users={"a@example.com": User(email="a@example.com", name="Old", quota=100, language="")})
    result = plan(desired(User(email="a@example.com", name="New", quota=100, language="de_DE", password="X")), state)
    (op,) = result.operations
    assert op.action == "update"
    assert op.diff == {"name": ("Old", "New"), "language": ("", "de_DE")}
    assert op.calls[0].data == {"name": "New", "language": "de_DE"}


def test_update_passwords_sends_password_to_existing_user() -> None:
    state = State(users={"a@example.com": User(email="a@example.com")})
    result = plan(
        desired(User(email="a@example.com", password="Str0ng#Pass")), state, PlanOptions(update_passwords=True)
    )
    assert result.operations[0].calls[0].data == {"password": "Str0ng#Pass"}
    assert result.operations[0].calls[0].redacted() == {"password": "***"}


def test_hash_goes_as_password_hash_on_create_in_one_call() -> None:
    result = plan(desired(User(email="a@example.com", password_hash="{SSHA512}abc")), State())
    assert calls(result) == [(2, "POST", "/user/a@example.com", {"password_hash": "{SSHA512}abc"})]


def test_new_user_without_password_is_skipped_unless_generated() -> None:
    result = plan(desired(User(email="a@example.com")), State())
    assert result.skipped == {
        0: ("PW_EMPTY", "a new user needs a password or a password hash (or --generate-passwords)")
    }
    result = plan(
        desired(User(email="a@example.com")),
        State(),
        PlanOptions(generate_passwords=True, password_factory=lambda policy: "Gen3rated#Pass"),
    )
    (op,) = result.operations
    assert op.calls[0].data == {"password": "Gen3rated#Pass"}
    assert op.generated_password == "Gen3rated#Pass"
    assert "Gen3rated" not in repr(op)


def test_delta_parameters_by_default_and_reset_with_replace() -> None:
    state = State(
        users={"a@example.com": User(email="a@example.com", aliases=("old@example.com",))},
        aliases={"team@example.com": Alias(email="team@example.com", members=("x@example.com",))},
    )
    objs = desired(
        User(email="a@example.com", aliases=("new@example.com",)),
        Alias(email="team@example.com", members=("y@example.com",)),
    )
    merged = plan(objs, state)
    assert calls(merged) == [
        (4, "PUT", "/user/a@example.com", {"addAlias": ["new@example.com"]}),
        (4, "PUT", "/alias/team@example.com", {"addMember": ["y@example.com"]}),
    ]
    replaced = plan(objs, state, PlanOptions(replace=True))
    assert calls(replaced) == [
        (4, "PUT", "/user/a@example.com", {"aliases": ["new@example.com"]}),
        (4, "PUT", "/alias/team@example.com", {"members": ["y@example.com"]}),
    ]


def test_forwarding_to_self_only_equals_normal_delivery() -> None:
    state = State(users={"a@example.com": User(email="a@example.com", forwarding=())})
    result = plan(desired(User(email="a@example.com", forwarding=("a@example.com",))), state)
    assert result.operations == []


def test_forwarding_always_sent_whole() -> None:
    state = State(users={"a@example.com": User(email="a@example.com", forwarding=())})
    result = plan(desired(User(email="a@example.com", forwarding=("a@example.com", "b@x.org"))), state)
    assert calls(result) == [(4, "PUT", "/user/a@example.com", {"forwarding": ["a@example.com", "b@x.org"]})]


def test_lists_go_to_mlmmj_on_sql_with_a_note_and_to_aliases_when_asked() -> None:
    objs = desired(MailingList(email="staff@example.com", kind="maillist", members=("a@example.com",)))
    sql = plan(objs, State(edition="sql"))
    assert calls(sql) == [
        (3, "POST", "/ml/staff@example.com", {}),
        (4, "PUT", "/ml/staff@example.com", {"add_subscribers": ["a@example.com"], "require_confirm": "no"}),
    ]
    assert "mlmmj" in sql.notes[0]
    assert "SQL edition has no classic lists" in sql.operations[0].note
    ldap = plan(objs, State(edition="ldap"))
    assert calls(ldap)[0][2] == "/maillist/staff@example.com"
    aliases = plan(objs, State(edition="sql"), PlanOptions(lists_as_aliases=True))
    assert calls(aliases) == [
        (3, "POST", "/alias/staff@example.com", {}),
        (4, "PUT", "/alias/staff@example.com", {"addMember": ["a@example.com"]}),
    ]


def test_user_lists_column_merges_into_list_members() -> None:
    objs = desired(
        User(email="a@example.com", password="P", lists=("team@example.com",)),
        Alias(email="team@example.com", members=("b@example.com",)),
        User(email="c@example.com", password="P", lists=("other@example.com",)),
    )
    result = plan(objs, State())
    members = {(op.key, op.entry): op.calls[0].data for op in result.operations if op.action == "members"}
    assert members == {
        ("team@example.com", 1): {"addMember": ["a@example.com", "b@example.com"]},
        # not an alias on the target, so on SQL it is taken for an mlmmj list
        ("other@example.com", 2): {"add_subscribers": ["c@example.com"], "require_confirm": "no"},
    }


def test_domain_admins_and_catchall_in_stage_five() -> None:
    state = State(domains={"example.com": Domain(domain="example.com", admins=("old@example.com",), catchall=())})
    result = plan(
        desired(
            Domain(domain="example.com", admins=("boss@example.com",), catchall=("a@example.com",)),
            Admin(email="help@admins.org", password="Str0ng#Pass", domains=("example.com",)),
        ),
        state,
    )
    stage5 = sorted((m, p, str(d)) for s, m, p, d in calls(result) if s == 5)
    assert stage5 == [
        ("PUT", "/domain/admins/example.com", "{'addAdmin': ['boss@example.com']}"),
        ("PUT", "/domain/admins/example.com", "{'addAdmin': ['help@admins.org']}"),
        ("PUT", "/domain/example.com", "{'catchall': ['a@example.com']}"),
    ]


def test_admin_create_sends_quota_unit() -> None:
    result = plan(desired(Admin(email="h@admins.org", password="Str0ng#Pass", maxQuota=2048)), State())
    assert calls(result) == [
        (1, "POST", "/admin/h@admins.org", {"maxQuota": 2048, "quotaUnit": "MB", "password": "Str0ng#Pass"})
    ]


def test_policies_and_throttles() -> None:
    result = plan(
        desired(
            SpamPolicy(scope="domain", target="example.com", spam_score=6.5, quarantine_spam=True),
            Throttle(scope="global", direction="inbound", period=60, max_msgs=10),
        ),
        State(),
    )
    assert calls(result) == [
        (6, "PUT", "/spampolicy/domain/example.com", {"quarantine_spam": "yes", "spam_score": 6.5}),
        (6, "POST", "/throttle/global/inbound", {"period": 60, "max_msgs": 10}),
    ]


@pytest.mark.parametrize("scope", [frozenset(), frozenset({"other.com"})], ids=["no-scope", "other-scope"])
def test_nothing_deleted_without_delete_missing_and_scope(scope: frozenset[str]) -> None:
    state = State(users={"gone@example.com": User(email="gone@example.com")})
    assert plan(desired(), state, PlanOptions(scope=scope)).operations == []
    assert plan(desired(), state, PlanOptions(scope=scope, delete_missing=True)).operations == []


def test_delete_missing_within_scope_spares_the_login_admin() -> None:
    state = State(
        users={
            "gone@example.com": User(email="gone@example.com"),
            "postmaster@example.com": User(email="postmaster@example.com"),
            "kept@example.com": User(email="kept@example.com"),
        }
    )
    result = plan(
        desired(User(email="kept@example.com")),
        state,
        PlanOptions(
            scope=frozenset({"example.com"}), delete_missing=True, protected=frozenset({"postmaster@example.com"})
        ),
    )
    assert calls(result) == [(7, "DELETE", "/user/gone@example.com", {})]


def test_domain_profiles_go_as_disable_and_enable_deltas() -> None:
    state = State(domains={"example.com": Domain(domain="example.com", disabledDomainProfiles=("bcc",))})
    want = Domain(domain="example.com", disabledDomainProfiles=("relay", "backupmx"))
    assert calls(plan(desired(want), state)) == [
        (0, "PUT", "/domain/example.com", {"disableDomainProfile": ["backupmx", "relay"]})
    ]
    assert calls(plan(desired(want), state, PlanOptions(replace=True))) == [
        (
            0,
            "PUT",
            "/domain/example.com",
            {"disableDomainProfile": ["backupmx", "relay"], "enableDomainProfile": ["bcc"]},
        )
    ]
