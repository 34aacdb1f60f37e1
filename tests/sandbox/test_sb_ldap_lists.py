"""LDAP edition: classic lists (``/api/maillist``, LDAP only) and mlmmj lists (``/api/ml``) in the DIT."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import pytest
from sbhelpers import HELPDESK, PASSWORD, Api, new_user, unique_domain

from migrate.sandbox import Sandbox

BASE = "dc=example,dc=com"


@pytest.fixture
def dom(api: Api) -> str:
    name = unique_domain("lists")
    api.ok("POST", f"/domain/{name}")
    return name


def domain_dn(domain: str) -> str:
    return f"domainName={domain},o=domains,{BASE}"


def list_dn(mail: str) -> str:
    return f"mail={mail},ou=Groups,{domain_dn(mail.rpartition('@')[2])}"


def externals_dn(mail: str) -> str:
    return f"memberOfGroup={mail},ou=Externals,{domain_dn(mail.rpartition('@')[2])}"


def user_dn(mail: str) -> str:
    return f"mail={mail},ou=Users,{domain_dn(mail.rpartition('@')[2])}"


def entry(ldap: Sandbox, dn: str) -> dict[str, list[str]]:
    with closing(sqlite3.connect(ldap.config.db_path)) as conn:
        rows = conn.execute("SELECT attr, value FROM ldap_values WHERE dn = ? ORDER BY id", (dn.lower(),)).fetchall()
    out: dict[str, list[str]] = {}
    for attr, value in rows:
        out.setdefault(attr, []).append(value)
    return out


def members_of(ldap: Sandbox, mail: str) -> list[str]:
    """Entries that carry ``memberOfGroup: <mail>`` (the externals entry included)."""
    with closing(sqlite3.connect(ldap.config.db_path)) as conn:
        rows = conn.execute(
            "SELECT e.dn_text FROM ldap_values v JOIN ldap_entries e ON e.dn = v.dn "
            "WHERE v.attr = 'memberOfGroup' AND v.value = ? ORDER BY e.dn",
            (mail,),
        )
        return [row[0] for row in rows]


def test_classic_list_members_live_on_the_member_entries(ldap: Sandbox, api: Api, dom: str) -> None:
    other = unique_domain("lists")
    api.ok("POST", f"/domain/{other}")
    for mail in (f"a@{dom}", f"b@{dom}", f"c@{other}"):
        new_user(api, mail)
    members = f"a@{dom},B@{dom},c@{other},partner@ext.example,ghost@{dom},not-an-address,far@ext.example"
    api.ok("POST", f"/maillist/staff@{dom}", data={"name": "Staff", "accessPolicy": "domain", "members": members})
    got = entry(ldap, list_dn(f"staff@{dom}"))
    assert got["objectClass"] == ["mailList"]
    assert (got["cn"], got["accessPolicy"], got["accountStatus"]) == (["Staff"], ["domain"], ["active"])
    assert sorted(got["enabledService"]) == ["deliver", "displayedInGlobalAddressBook", "mail"]
    assert "mailForwardingAddress" not in got and "member" not in got
    # Internal members (in any hosted domain) carry memberOfGroup; externals share one entry.
    expected = [externals_dn(f"staff@{dom}"), user_dn(f"a@{dom}"), user_dn(f"b@{dom}"), user_dn(f"c@{other}")]
    assert members_of(ldap, f"staff@{dom}") == sorted(expected, key=str.lower)
    externals = entry(ldap, externals_dn(f"staff@{dom}"))
    assert externals["objectClass"] == ["mailExternalUser"]
    assert sorted(externals["mail"]) == ["far@ext.example", "partner@ext.example"]
    assert externals["memberOfGroup"] == [f"staff@{dom}"]
    view = api.ok("GET", f"/maillist/staff@{dom}")
    assert view["members"] == sorted([f"a@{dom}", f"b@{dom}", f"c@{other}", "far@ext.example", "partner@ext.example"])
    assert (view["mail"], view["cn"], view["accessPolicy"]) == (f"staff@{dom}", "Staff", "domain")
    assert (view["address"], view["name"], view["accesspolicy"], view["active"]) == (
        f"staff@{dom}",
        "Staff",
        "domain",
        1,
    )


def test_classic_list_put_add_remove_reset_and_profile(ldap: Sandbox, api: Api, dom: str) -> None:
    for mail in (f"a@{dom}", f"b@{dom}"):
        new_user(api, mail)
    api.ok("POST", f"/maillist/l@{dom}", data={"members": f"a@{dom},x@ext.example"})
    api.ok("PUT", f"/maillist/l@{dom}", data={"addMember": f"b@{dom},y@ext.example", "removeMember": "x@ext.example"})
    assert api.ok("GET", f"/maillist/l@{dom}")["members"] == [f"a@{dom}", f"b@{dom}", "y@ext.example"]
    api.ok("PUT", f"/maillist/l@{dom}", data={"removeMember": f"a@{dom},y@ext.example"})
    assert "memberOfGroup" not in entry(ldap, user_dn(f"a@{dom}"))
    assert entry(ldap, externals_dn(f"l@{dom}")) == {}  # no external member left: no entry
    api.ok("PUT", f"/maillist/l@{dom}", data={"members": f"a@{dom},z@ext.example", "name": "Renamed",
                                              "accessPolicy": "membersonly", "accountStatus": "disabled"})  # fmt: skip
    assert api.ok("GET", f"/maillist/l@{dom}")["members"] == [f"a@{dom}", "z@ext.example"]
    assert "memberOfGroup" not in entry(ldap, user_dn(f"b@{dom}"))
    got = entry(ldap, list_dn(f"l@{dom}"))
    assert (got["cn"], got["accessPolicy"], got["accountStatus"]) == (["Renamed"], ["membersonly"], ["disabled"])


def test_classic_list_delete_clears_memberships(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"a@{dom}")
    api.ok("POST", f"/maillist/gone@{dom}", data={"members": f"a@{dom},x@ext.example"})
    api.ok("DELETE", f"/maillist/gone@{dom}", params={"archive": "no"})
    assert entry(ldap, list_dn(f"gone@{dom}")) == {}
    assert members_of(ldap, f"gone@{dom}") == []
    assert api.call("GET", f"/maillist/gone@{dom}") == {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}
    assert api.call("DELETE", f"/maillist/gone@{dom}") == {"_success": True}


@pytest.mark.parametrize(
    ("method", "path", "data", "code"),
    [("GET", "/maillist/none@{d}", None, "NO_SUCH_ACCOUNT"),
     ("PUT", "/maillist/none@{d}", {"name": "x"}, "NO_SUCH_ACCOUNT"),
     ("POST", "/maillist/u@{d}", {}, "ALREADY_EXISTS"),
     ("POST", "/maillist/bad+plus@{d}", {}, "INVALID_MAIL"),
     ("POST", "/maillist/l@missing-{d}", {}, "INVALID_DOMAIN_NAME")],
    ids=["get-missing", "put-missing", "create-over-a-user", "create-bad-address", "create-missing-domain"],
)  # fmt: skip
def test_classic_list_errors(
    api: Api, dom: str, method: str, path: str, data: dict[str, str] | None, code: str
) -> None:
    new_user(api, f"u@{dom}")
    assert api.call(method, path.format(d=dom), data=data) == {"_success": False, "_msg": code}


@pytest.mark.parametrize(("limit", "code"), [("-1", "NOT_ALLOWED"), ("1", "EXCEEDED_DOMAIN_ACCOUNT_LIMIT")],
                         ids=["not-allowed", "limit-reached"])  # fmt: skip
def test_number_of_lists_counts_both_kinds(api: Api, dom: str, limit: str, code: str) -> None:
    if limit != "-1":
        api.ok("POST", f"/ml/first@{dom}")
    api.ok("PUT", f"/domain/{dom}", data={"numberOfLists": limit})
    assert api.call("POST", f"/maillist/second@{dom}") == {"_success": False, "_msg": code}


def test_mlmmj_list_entry_and_subscribers_outside_ldap(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"owner@{dom}")
    data = {"name": "News", "accessPolicy": "membersonly", "max_message_size": "10485760",
            "owner": f"owner@{dom}", "subscribers": "s1@ext.example,s2@ext.example", "require_confirm": "no",
            "is_newsletter": "yes"}  # fmt: skip
    api.ok("POST", f"/ml/news@{dom}", data=data)
    got = entry(ldap, list_dn(f"news@{dom}"))
    assert got["objectClass"] == ["mailList"]
    assert sorted(got["enabledService"]) == ["deliver", "mail", "mlmmj"]
    assert got["mtaTransport"] == [f"mlmmj:{dom}/news"]
    assert len(got["mailingListID"][0]) == 36
    assert (got["cn"], got["accessPolicy"], got["maxMessageSize"]) == (["News"], ["membersonly"], ["10485760"])
    assert (got["listOwner"], got["listModerator"]) == ([f"owner@{dom}"], [f"postmaster@{dom}"])
    # Subscribers are mlmmj's (on disk), never LDAP members.
    assert members_of(ldap, f"news@{dom}") == []
    view = api.ok("GET", f"/ml/news@{dom}", params={"with_subscribers": ""})
    assert view["subscribers"] == ["s1@ext.example", "s2@ext.example"]
    assert (view["max_message_size"], view["is_newsletter"], view["owner"]) == (10485760, "yes", [f"owner@{dom}"])
    assert api.ok("GET", f"/mls/{dom}", params={"email_only": ""}) == [f"news@{dom}"]
    api.ok("PUT", f"/ml/news@{dom}", data={"remove_subscribers": "s1@ext.example", "accountStatus": "disabled"})
    assert api.ok("GET", f"/ml/news@{dom}", params={"with_subscribers": ""})["subscribers"] == ["s2@ext.example"]
    assert entry(ldap, list_dn(f"news@{dom}"))["accountStatus"] == ["disabled"]
    api.ok("DELETE", f"/ml/news@{dom}", params={"keep_archive": "no"})
    assert entry(ldap, list_dn(f"news@{dom}")) == {}


def test_each_list_endpoint_sees_only_its_kind(api: Api, dom: str) -> None:
    api.ok("POST", f"/ml/mlmmj@{dom}")
    api.ok("POST", f"/maillist/classic@{dom}")
    missing = {"_success": False, "_msg": "NO_SUCH_ACCOUNT"}
    assert api.call("GET", f"/maillist/mlmmj@{dom}") == missing
    assert api.call("GET", f"/ml/classic@{dom}") == missing
    assert api.ok("GET", f"/mls/{dom}", params={"email_only": ""}) == [f"mlmmj@{dom}"]
    assert api.call("POST", f"/ml/classic@{dom}") == {"_success": False, "_msg": "ALREADY_EXISTS"}


def test_normal_admin_manages_lists_of_its_domains_only(ldap: Sandbox, api: Api, dom: str) -> None:
    managed = unique_domain("lists")
    api.ok("POST", f"/domain/{managed}")
    api.ok("POST", f"/admin/{HELPDESK}", data={"password": PASSWORD})
    api.ok("PUT", f"/domain/admins/{managed}", data={"addAdmin": HELPDESK})
    desk = Api(ldap.base_url)
    try:
        assert desk.login(HELPDESK, PASSWORD) == {"_success": True}
        assert desk.call("POST", f"/maillist/l@{managed}") == {"_success": True}
        assert desk.call("POST", f"/maillist/l@{dom}") == {"_success": False, "_msg": "PERMISSION_DENIED"}
        body: dict[str, Any] = desk.call("GET", f"/maillist/l@{managed}")
        assert body["_data"]["members"] == []
    finally:
        desk.close()
