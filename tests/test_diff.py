import orjson
import pytest

from migrate.diff import as_json, diff_objects, render_text
from migrate.model import Admin, Alias, Domain, MailingList, SpamPolicy, Throttle, User

HASH_A = "{PLAIN}first-secret-value"
HASH_B = "{PLAIN}second-secret-value"


def base():
    return [
        Domain(domain="d.example", name="D", quota=1024),
        Admin(email="boss@a.example", isGlobalAdmin=True),
        User(email="ann@d.example", name="Ann", quota=100, password_hash=HASH_A, forwarding=("x@y.example",)),
        Alias(email="all@d.example", members=("ann@d.example", "bob@d.example")),
        MailingList(email="news@d.example", kind="mlmmj"),
        SpamPolicy(scope="global", spam_score=6.5),
        Throttle(scope="global", direction="inbound", period=60, max_msgs=10),
    ]


def test_identical_states():
    diff = diff_objects(base(), list(reversed(base())))
    assert diff.identical
    assert diff.added == [] and diff.removed == [] and diff.changed == {}
    assert render_text(diff) == "no differences\n"
    assert as_json(diff)["identical"] is True


@pytest.mark.parametrize(
    ("b_side", "changed"),
    [
        (User(email="ann@d.example", name="Ann", quota=200, password_hash=HASH_A, forwarding=("x@y.example",)),
         {"quota": (100, 200)}),
        (User(email="ann@d.example", quota=100, password_hash=HASH_A, forwarding=("x@y.example",)),
         {"name": ("Ann", None)}),
        (User(email="ann@d.example", name="Ann", quota=100, password_hash=HASH_A, forwarding=()),
         {"forwarding": (("x@y.example",), ())}),
        (User(email="ann@d.example", name="Ann", quota=100, password_hash=HASH_A),
         {"forwarding": (("x@y.example",), None)}),
        (User(email="ann@d.example", name="Ann", quota=100, password_hash=HASH_B, forwarding=("x@y.example",),
              accountStatus="disabled"),
         {"password_hash": (HASH_A, HASH_B), "accountStatus": (None, "disabled")}),
    ],
    ids=["value-changed", "value-removed", "list-emptied", "list-absent-vs-set", "hash-and-status"],
)  # fmt: skip
def test_field_level_changes(b_side, changed):
    a = base()
    b = [b_side if isinstance(o, User) else o for o in a]
    diff = diff_objects(a, b)
    assert diff.added == [] and diff.removed == []
    assert diff.changed == {("user", "ann@d.example"): changed}
    assert not diff.identical


def test_added_and_removed_in_kind_order():
    a = base()
    b = [o for o in a if not isinstance(o, (Alias, Throttle))]
    b += [User(email="zed@d.example"), User(email="bob@d.example"), Domain(domain="e.example")]
    diff = diff_objects(a, b)
    assert diff.added == [("domain", "e.example"), ("user", "bob@d.example"), ("user", "zed@d.example")]
    assert diff.removed == [("alias", "all@d.example"), ("throttle", "global:global:inbound")]


def test_zero_and_false_are_not_absent():
    a = [Domain(domain="d.example", quota=0, is_backupmx=False)]
    b = [Domain(domain="d.example")]
    assert diff_objects(a, b).changed == {("domain", "d.example"): {"quota": (0, None), "is_backupmx": (False, None)}}


def test_render_text_masks_secrets_and_summarizes():
    a = base()
    b = [
        User(email="ann@d.example", name="Ann B", quota=100, password_hash=HASH_B, forwarding=("x@y.example",))
        if isinstance(o, User)
        else Alias(email="all@d.example", members=("bob@d.example", "cid@d.example"))
        if isinstance(o, Alias)
        else o
        for o in a
    ]
    b.append(User(email="new@d.example", password="Plain#Secret1"))
    text = render_text(diff_objects(a, b))
    assert text == (
        "+ user new@d.example\n"
        "~ user ann@d.example\n"
        '    name: "Ann" -> "Ann B"\n'
        "    password_hash: (hash changed)\n"
        "~ alias all@d.example\n"
        "    members: +cid@d.example, -ann@d.example\n"
        "1 added, 0 removed, 2 changed\n"
    )
    assert "secret" not in text.lower()


def test_render_text_values():
    a = [User(email="a@d.example", isAdmin=True, aliases=()), SpamPolicy(scope="global")]
    b = [User(email="a@d.example", isAdmin=False, aliases=("b@d.example",)), SpamPolicy(scope="global", spam_score=5.5)]
    text = render_text(diff_objects(a, b))
    assert "    isAdmin: yes -> no\n" in text
    assert "    aliases: (empty) -> [b@d.example]\n" in text
    assert "    spam_score: (not set) -> 5.5\n" in text


def test_render_text_shortens_long_lists():
    a = [Alias(email="a@d.example", members=None)]
    b = [Alias(email="a@d.example", members=tuple(f"m{i:03d}@x.example" for i in range(25)))]
    text = render_text(diff_objects(a, b))
    assert "m019@x.example, ... 5 more]" in text
    assert "m020@x.example" not in text


def test_as_json_shape_and_masking():
    a = base()
    b = [
        User(email="ann@d.example", name="Ann", quota=150, password_hash=HASH_B, forwarding=("x@y.example",))
        if isinstance(o, User)
        else o
        for o in a
        if not isinstance(o, MailingList)
    ]
    b.append(User(email="plain@d.example", password="Plain#Secret1"))
    data = as_json(diff_objects(a, b))
    raw = orjson.dumps(data)
    assert b"secret" not in raw.lower()
    assert data["identical"] is False
    assert data["summary"] == {"added": 1, "removed": 1, "changed": 1}
    assert data["added"] == [{"kind": "user", "key": "plain@d.example"}]
    assert data["removed"] == [{"kind": "list", "key": "news@d.example"}]
    assert data["changed"] == [
        {
            "kind": "user",
            "key": "ann@d.example",
            "fields": {
                "password_hash": {"a": "(set)", "b": "(set)", "masked": True},
                "quota": {"a": 100, "b": 150},
            },
        }
    ]


def test_as_json_lists_and_absent_secret():
    a = [User(email="a@d.example", forwarding=("x@y.example",))]
    b = [User(email="a@d.example", forwarding=(), password_hash=HASH_A)]
    fields = as_json(diff_objects(a, b))["changed"][0]["fields"]
    assert fields == {
        "password_hash": {"a": None, "b": "(set)", "masked": True},
        "forwarding": {"a": ["x@y.example"], "b": []},
    }


def test_repr_hides_values():
    diff = diff_objects([User(email="a@d.example", password_hash=HASH_A)], [User(email="a@d.example")])
    assert "first-secret" not in repr(diff)


def test_refuses_non_model_objects():
    with pytest.raises(TypeError):
        diff_objects([{"domain": "x"}], [])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("a_side", "b_side", "changed"),
    [
        (User(email="a@d.example", quota=100), User(email="a@d.example", quota=100, name="Ann"), {}),
        (User(email="a@d.example", quota=100), User(email="a@d.example", quota=200), {"quota": (100, 200)}),
        (User(email="a@d.example", name="Ann"), User(email="a@d.example"), {"name": ("Ann", None)}),
        (User(email="a@d.example", aliases=()), User(email="a@d.example", aliases=("b@d.example",)),
         {"aliases": ((), ("b@d.example",))}),
        (User(email="a@d.example", isAdmin=False), User(email="a@d.example"), {"isAdmin": (False, None)}),
    ],
    ids=["unset-on-a-ignored", "set-on-a-compared", "set-on-a-missing-on-b", "empty-list-compared", "false-compared"],
)  # fmt: skip
def test_only_given_compares_what_a_sets(a_side, b_side, changed):
    diff = diff_objects([a_side], [b_side], only_given=True)
    assert diff.changed == ({("user", "a@d.example"): changed} if changed else {})


def test_only_given_ignores_objects_only_b_has_but_not_those_only_a_has():
    a = [User(email="a@d.example"), Alias(email="x@d.example")]
    b = [User(email="a@d.example"), User(email="extra@d.example")]
    diff = diff_objects(a, b, only_given=True)
    assert diff.added == [] and diff.removed == [("alias", "x@d.example")]
    assert diff_objects(a, b).added == [("user", "extra@d.example")]


@pytest.mark.parametrize("only_given", [False, True], ids=["full", "only-given"])
def test_memberships_fold_from_users_into_lists_on_both_sides(only_given):
    # An LDIF says membership on the user (memberOfGroup); an API export says it on the list.
    a = [
        User(email="ann@d.example", lists=("staff@d.example",)),
        User(email="bob@d.example", lists=("staff@d.example", "gone@d.example")),
        MailingList(email="staff@d.example", kind="maillist", members=("ext@x.example",)),
    ]
    b = [
        User(email="ann@d.example"),
        User(email="bob@d.example"),
        MailingList(
            email="staff@d.example", kind="maillist", members=("ann@d.example", "bob@d.example", "ext@x.example")
        ),
    ]
    diff = diff_objects(a, b, only_given=only_given)
    # Only the membership of a list that is not there stays on the user, so it is still reported.
    assert diff.changed == {("user", "bob@d.example"): {"lists": (("gone@d.example",), None)}}
    short = [b[0], b[1], MailingList(email="staff@d.example", kind="maillist", members=("ext@x.example",))]
    change = diff_objects(a, short, only_given=only_given).changed[("list", "staff@d.example")]
    assert change == {"members": (("ann@d.example", "bob@d.example", "ext@x.example"), ("ext@x.example",))}


def test_memberships_fold_into_alias_accounts_too():
    a = [User(email="ann@d.example", lists=("all@d.example",)), Alias(email="all@d.example", members=())]
    b = [User(email="ann@d.example"), Alias(email="all@d.example", members=("ann@d.example",))]
    assert diff_objects(a, b).identical
