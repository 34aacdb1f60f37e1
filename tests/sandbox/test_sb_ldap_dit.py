"""LDAP edition: the data really lands as entries of iRedMail's DIT in the SQLite file (reference §14)."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sbhelpers import ADMIN, PASSWORD, USER_PASSWORD, Api, make_config, new_user, unique_domain

from migrate.sandbox import Sandbox
from migrate.sandbox.ldap_store import escape_rdn_value, parent_dn

BASE = "dc=example,dc=com"
MB = 1048576
DEFAULT_SERVICES = sorted(
    "internal doveadm lib-storage indexer-worker dsync quota-status mail smtp smtpsecured smtptls pop3 "
    "pop3secured pop3tls imap imapsecured imaptls managesieve managesievesecured managesievetls sieve "
    "sievesecured sievetls deliver lda lmtp recipientbcc senderbcc forward shadowaddress "
    "displayedInGlobalAddressBook sogo sogowebmail sogocalendar sogoactivesync".split()
)


@pytest.fixture
def dom(api: Api) -> str:
    name = unique_domain("ldap")
    api.ok("POST", f"/domain/{name}", data={"name": "Test"})
    return name


def domain_dn(domain: str) -> str:
    return f"domainName={domain},o=domains,{BASE}"


def user_dn(mail: str) -> str:
    return f"mail={mail},ou=Users,{domain_dn(mail.rpartition('@')[2])}"


def entry(ldap: Sandbox, dn: str) -> dict[str, list[str]]:
    """Read one entry straight from the database file ({} when there is none)."""
    with closing(sqlite3.connect(ldap.config.db_path)) as conn:
        rows = conn.execute("SELECT attr, value FROM ldap_values WHERE dn = ? ORDER BY id", (dn.lower(),)).fetchall()
    out: dict[str, list[str]] = {}
    for attr, value in rows:
        out.setdefault(attr, []).append(value)
    return out


def children(ldap: Sandbox, parent: str) -> list[str]:
    with closing(sqlite3.connect(ldap.config.db_path)) as conn:
        rows = conn.execute("SELECT dn_text FROM ldap_entries WHERE parent = ? ORDER BY dn", (parent.lower(),))
        return [row[0] for row in rows]


def ssha512_matches(stored: str, password: str) -> bool:
    raw = base64.b64decode(stored.removeprefix("{SSHA512}"))
    return stored.startswith("{SSHA512}") and hashlib.sha512(password.encode() + raw[64:]).digest() == raw[:64]


def test_base_entries_and_the_configured_global_admin(ldap: Sandbox) -> None:
    assert entry(ldap, BASE)["objectClass"] == ["dcObject", "organization"]
    assert entry(ldap, BASE)["dc"] == ["example"]
    for dn in (f"cn=vmail,{BASE}", f"cn=vmailadmin,{BASE}", f"o=domainAdmins,{BASE}", f"o=domains,{BASE}"):
        assert entry(ldap, dn), dn
    admin = entry(ldap, f"mail={ADMIN},o=domainAdmins,{BASE}")
    assert admin["objectClass"] == ["mailAdmin"]
    assert (admin["domainGlobalAdmin"], admin["accountStatus"]) == (["yes"], ["active"])
    assert ssha512_matches(admin["userPassword"][0], PASSWORD)


def test_base_dn_is_configurable(tmp_path: Path) -> None:
    with Sandbox(make_config(tmp_path, edition="ldap", base_dn="o=acme")) as running:
        api = Api(running.base_url)
        assert api.login() == {"_success": True}
        api.ok("POST", "/domain/acme.example")
        api.close()
        assert entry(running, "o=acme")["objectClass"] == ["organization"]
        assert entry(running, "domainName=acme.example,o=domains,o=acme")["domainName"] == ["acme.example"]


def test_domain_entry_accountsetting_values_and_containers(ldap: Sandbox, api: Api) -> None:
    name = unique_domain("ldap")
    api.ok(
        "POST",
        f"/domain/{name}",
        data={"name": "Acme", "language": "de_DE", "transport": "lmtp:unix:private/dovecot-lmtp",
              "defaultQuota": "1024", "maxUserQuota": "2048", "numberOfUsers": "10", "numberOfAliases": "-1",
              "numberOfLists": "5", "quota": "4096", "senderBcc": "archive@elsewhere.org"},
    )  # fmt: skip
    got = entry(ldap, domain_dn(name))
    assert got["objectClass"] == ["mailDomain"]
    assert (got["domainName"], got["cn"], got["accountStatus"]) == ([name], ["Acme"], ["active"])
    assert got["mtaTransport"] == ["lmtp:unix:private/dovecot-lmtp"]
    assert got["preferredLanguage"] == ["de_DE"]
    assert sorted(got["enabledService"]) == ["mail", "senderbcc"]
    assert got["domainSenderBccAddress"] == ["archive@elsewhere.org"]
    assert sorted(got["accountSetting"]) == [
        "defaultQuota:1024", "domainQuota:4096", "maxUserQuota:2048", "numberOfAliases:-1", "numberOfLists:5",
        "numberOfUsers:10",
    ]  # fmt: skip
    assert children(ldap, domain_dn(name)) == [f"ou={ou},{domain_dn(name)}" for ou in ("Aliases", "Externals",
                                                                                      "Groups", "Users")]  # fmt: skip
    assert entry(ldap, f"ou=Users,{domain_dn(name)}") == {"objectClass": ["organizationalUnit", "top"], "ou": ["Users"]}


def test_domain_put_profiles_one_value_each_relay_and_backup_mx(ldap: Sandbox, api: Api, dom: str) -> None:
    params = {"disableDomainProfile": "bcc,relay,bogus", "minPasswordLength": "12",
              "outboundRelay": "smtp:[192.0.2.1]:25", "addService": "self-service"}  # fmt: skip
    api.ok("PUT", f"/domain/{dom}", data=params)
    got = entry(ldap, domain_dn(dom))
    assert sorted(got["accountSetting"]) == [
        "disabledDomainProfile:bcc", "disabledDomainProfile:relay", "minPasswordLength:12"
    ]  # fmt: skip
    assert got["senderRelayHost"] == ["smtp:[192.0.2.1]:25"]
    assert sorted(got["enabledService"]) == ["mail", "self-service"]
    params = {"enableDomainProfile": "bcc", "is_backupmx": "yes", "primarymx": "mx.example.net", "outboundRelay": ""}
    api.ok("PUT", f"/domain/{dom}", data=params)
    got = entry(ldap, domain_dn(dom))
    assert "disabledDomainProfile:bcc" not in got["accountSetting"]
    assert (got["domainBackupMX"], got["mtaTransport"]) == (["yes"], ["relay:mx.example.net"])
    assert "senderRelayHost" not in got


@pytest.mark.parametrize(
    ("params", "quota_bytes", "language"),
    [({"quota": "1024", "language": "fr_FR"}, ["1073741824"], ["fr_FR"]),
     ({"quota": "0", "language": "xx_XX"}, None, None),
     ({}, None, ["en_US"])],
    ids=["1024-mb-in-bytes", "unlimited-and-bad-language", "defaults"],
)  # fmt: skip
def test_user_entry_classes_units_services(
    ldap: Sandbox, api: Api, dom: str, params: dict[str, str], quota_bytes: list[str] | None, language: list[str] | None
) -> None:
    new_user(api, f"john@{dom}", name="John Smith", **params)
    got = entry(ldap, user_dn(f"john@{dom}"))
    assert got["objectClass"] == ["inetOrgPerson", "mailUser", "shadowAccount", "amavisAccount"]
    assert (got["mail"], got["uid"], got["sn"], got["cn"]) == ([f"john@{dom}"], ["john"], ["john"], ["John Smith"])
    assert got.get("mailQuota") == quota_bytes
    assert got.get("preferredLanguage") == language
    assert got["homeDirectory"][0].startswith(f"/var/vmail/vmail1/{dom}/j/o/h/john-")
    assert (got["accountStatus"], got["amavisLocal"]) == (["active"], ["TRUE"])
    assert sorted(got["enabledService"]) == DEFAULT_SERVICES
    assert got["shadowLastChange"][0].isdigit()
    assert ssha512_matches(got["userPassword"][0], USER_PASSWORD)
    view = api.ok("GET", f"/user/john@{dom}")
    assert view["quota"] == (1024 if quota_bytes else 0)
    assert view.get("mailQuota") == (1073741824 if quota_bytes else None)


def test_forwardings_per_user_aliases_bcc_employee_number(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"f@{dom}")
    new_user(api, f"g@{dom}")
    api.ok("PUT", f"/user/f@{dom}", data={"forwarding": f"f@{dom},out@elsewhere.org,ghost@{dom}",
                                          "aliases": f"nick@{dom},g@{dom},x@other.org", "employeeid": "E-7",
                                          "senderBcc": "sb@elsewhere.org", "recipientBcc": "rb@elsewhere.org",
                                          "gn": "Frank", "sn": "Fisher"})  # fmt: skip
    got = entry(ldap, user_dn(f"f@{dom}"))
    # The own address keeps a local copy; a same-domain address that does not exist is dropped.
    assert sorted(got["mailForwardingAddress"]) == [f"f@{dom}", "out@elsewhere.org"]
    # Only own-domain addresses that are free become per-user aliases.
    assert got["shadowAddress"] == [f"nick@{dom}"]
    assert (got["employeeNumber"], got["givenName"], got["sn"]) == (["E-7"], ["Frank"], ["Fisher"])
    assert (got["userSenderBccAddress"], got["userRecipientBccAddress"]) == (["sb@elsewhere.org"], ["rb@elsewhere.org"])
    view = api.ok("GET", f"/user/f@{dom}")
    assert (view["forwardings"], view["aliases"]) == ([f"f@{dom}", "out@elsewhere.org"], [f"nick@{dom}"])
    assert (view["employeeid"], view["first_name"], view["last_name"]) == ("E-7", "Frank", "Fisher")
    api.ok("PUT", f"/user/f@{dom}", data={"forwarding": f"f@{dom}", "senderBcc": ""})
    got = entry(ldap, user_dn(f"f@{dom}"))
    # Only the own address means normal delivery: nothing is stored.
    assert "mailForwardingAddress" not in got and "userSenderBccAddress" not in got
    api.ok("PUT", f"/user/f@{dom}", data={"addForwarding": "copy@elsewhere.org"})
    assert sorted(entry(ldap, user_dn(f"f@{dom}"))["mailForwardingAddress"]) == ["copy@elsewhere.org", f"f@{dom}"]


def test_alias_domain_gives_every_account_a_shadow_address(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"a@{dom}")
    alias_domain = unique_domain("alias")
    api.ok("PUT", f"/domain/{dom}", data={"addAliasDomain": alias_domain})
    new_user(api, f"b@{dom}")
    got = entry(ldap, domain_dn(dom))
    assert got["domainAliasName"] == [alias_domain] and "domainalias" in got["enabledService"]
    assert entry(ldap, user_dn(f"a@{dom}"))["shadowAddress"] == [f"a@{alias_domain}"]
    assert entry(ldap, user_dn(f"b@{dom}"))["shadowAddress"] == [f"b@{alias_domain}"]
    # ...which are not per-user aliases in the SQL-edition sense.
    assert api.ok("GET", f"/user/a@{dom}")["aliases"] == []
    assert api.ok("GET", f"/domain/{dom}")["alias_domains"] == [alias_domain]
    api.ok("PUT", f"/domain/{dom}", data={"removeAliasDomain": alias_domain})
    assert "shadowAddress" not in entry(ldap, user_dn(f"a@{dom}"))
    assert "domainalias" not in entry(ldap, domain_dn(dom))["enabledService"]


def test_catchall_is_an_entry_under_ou_users(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"c@{dom}")
    api.ok("PUT", f"/domain/{dom}", data={"catchall": f"c@{dom},ext@elsewhere.org,nobody@{dom}"})
    got = entry(ldap, f"mail=@{dom},ou=Users,{domain_dn(dom)}")
    assert got["objectClass"] == ["inetOrgPerson", "mailUser"]
    assert (got["mail"], got["cn"], got["sn"], got["uid"]) == ([f"@{dom}"], ["catch-all"], ["catch-all"], ["catch-all"])
    assert sorted(got["mailForwardingAddress"]) == [f"c@{dom}", "ext@elsewhere.org"]
    assert api.ok("GET", f"/domain/{dom}")["catchall"] == [f"c@{dom}", "ext@elsewhere.org"]
    # It is no user: not listed, not counted.
    assert api.ok("GET", f"/users/{dom}", params={"email_only": ""}) == [f"c@{dom}"]
    assert api.ok("GET", f"/domain/{dom}")["num_existing_users"] == 1
    api.ok("PUT", f"/domain/{dom}", data={"catchall": ""})
    assert entry(ldap, f"mail=@{dom},ou=Users,{domain_dn(dom)}") == {}
    assert api.ok("GET", f"/domain/{dom}")["catchall"] == []


def test_alias_account_members_and_no_access_policy(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"m@{dom}")
    api.ok("POST", f"/alias/team@{dom}", data={"name": "Team", "members": f"m@{dom},out@elsewhere.org,nobody@{dom}",
                                               "accessPolicy": "membersonly"})  # fmt: skip
    got = entry(ldap, f"mail=team@{dom},ou=Aliases,{domain_dn(dom)}")
    assert got["objectClass"] == ["mailAlias"]
    assert (got["cn"], got["accountStatus"], sorted(got["enabledService"])) == (
        ["Team"],
        ["active"],
        ["deliver", "mail"],
    )
    assert sorted(got["mailForwardingAddress"]) == [f"m@{dom}", "out@elsewhere.org"]
    assert "accessPolicy" not in got  # SQL-only for aliases: ignored by the LDAP edition


def test_standalone_admins_and_domain_admins(ldap: Sandbox, api: Api, dom: str) -> None:
    api.ok("POST", "/admin/boss@msp.example", data={"password": PASSWORD, "isGlobalAdmin": "yes", "name": "Boss"})
    api.ok("POST", "/admin/desk@msp.example", data={"password": PASSWORD, "maxUsers": "20", "maxQuota": "2",
                                                    "quotaUnit": "GB", "disableViewingMailLog": "yes"})  # fmt: skip
    boss = entry(ldap, f"mail=boss@msp.example,o=domainAdmins,{BASE}")
    assert (boss["objectClass"], boss["domainGlobalAdmin"], boss["cn"]) == (["mailAdmin"], ["yes"], ["Boss"])
    desk = entry(ldap, f"mail=desk@msp.example,o=domainAdmins,{BASE}")
    assert "domainGlobalAdmin" not in desk
    assert sorted(desk["accountSetting"]) == ["create_max_quota:2048", "create_max_users:20"]
    assert desk["disabledService"] == ["view_mail_log"]
    new_user(api, f"lead@{dom}")
    api.ok("PUT", f"/domain/admins/{dom}", data={"addAdmin": f"desk@msp.example,lead@{dom}"})
    assert sorted(entry(ldap, domain_dn(dom))["domainAdmin"]) == ["desk@msp.example", f"lead@{dom}"]
    assert "domainadmin" in entry(ldap, user_dn(f"lead@{dom}"))["enabledService"]
    assert api.ok("GET", "/admin/desk@msp.example")["managed_domains"] == [dom]
    api.ok("PUT", f"/domain/admins/{dom}", data={"removeAdmin": f"lead@{dom}"})
    assert "domainadmin" not in entry(ldap, user_dn(f"lead@{dom}"))["enabledService"]
    api.ok("DELETE", "/admin/desk@msp.example")
    assert entry(ldap, f"mail=desk@msp.example,o=domainAdmins,{BASE}") == {}
    assert "domainAdmin" not in entry(ldap, domain_dn(dom))


def test_disabled_domain_marks_its_entries(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"d@{dom}")
    api.ok("PUT", f"/domain/{dom}", data={"accountStatus": "disabled"})
    new_user(api, f"e@{dom}")
    assert entry(ldap, domain_dn(dom))["accountStatus"] == ["disabled"]
    for mail in (f"d@{dom}", f"e@{dom}"):
        assert entry(ldap, user_dn(mail))["domainStatus"] == ["disabled"]
    api.ok("PUT", f"/domain/{dom}", data={"accountStatus": "active"})
    assert "domainStatus" not in entry(ldap, user_dn(f"d@{dom}"))


def test_deleting_a_user_removes_what_points_at_it(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"gone@{dom}")
    new_user(api, f"stay@{dom}")
    api.ok("POST", f"/alias/grp@{dom}", data={"members": f"gone@{dom},stay@{dom}"})
    api.ok("PUT", f"/domain/{dom}", data={"catchall": f"gone@{dom}"})
    api.ok("PUT", f"/domain/admins/{dom}", data={"addAdmin": f"gone@{dom}"})
    api.ok("DELETE", f"/user/gone@{dom}/keep_mailbox_days/7")
    assert entry(ldap, user_dn(f"gone@{dom}")) == {}
    assert entry(ldap, f"mail=grp@{dom},ou=Aliases,{domain_dn(dom)}")["mailForwardingAddress"] == [f"stay@{dom}"]
    assert entry(ldap, f"mail=@{dom},ou=Users,{domain_dn(dom)}") == {}
    assert "domainAdmin" not in entry(ldap, domain_dn(dom))
    with closing(sqlite3.connect(ldap.config.db_path)) as conn:
        row = conn.execute("SELECT maildir, delete_date FROM deleted_mailboxes WHERE username = ?", (f"gone@{dom}",))
        maildir, delete_date = row.fetchone()
    assert maildir.startswith(f"/var/vmail/vmail1/{dom}/g/o/n/gone-") and delete_date is not None


def test_change_email_moves_the_entry_and_its_references(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"old@{dom}")
    api.ok("PUT", f"/user/old@{dom}", data={"forwarding": f"old@{dom},x@elsewhere.org"})
    api.ok("POST", f"/alias/all@{dom}", data={"members": f"old@{dom}"})
    api.ok("POST", f"/user/old@{dom}/change_email/new@{dom}")
    assert entry(ldap, user_dn(f"old@{dom}")) == {}
    got = entry(ldap, user_dn(f"new@{dom}"))
    assert (got["mail"], got["uid"], got["sn"]) == ([f"new@{dom}"], ["new"], ["new"])
    assert sorted(got["mailForwardingAddress"]) == [f"new@{dom}", "x@elsewhere.org"]
    assert entry(ldap, f"mail=all@{dom},ou=Aliases,{domain_dn(dom)}")["mailForwardingAddress"] == [f"new@{dom}"]


def test_deleting_a_domain_removes_its_subtree(ldap: Sandbox, api: Api, dom: str) -> None:
    new_user(api, f"u@{dom}")
    api.ok("POST", f"/maillist/l@{dom}", data={"members": "ext@elsewhere.org"})
    api.ok("DELETE", f"/domain/{dom}")
    with closing(sqlite3.connect(ldap.config.db_path)) as conn:
        left = conn.execute("SELECT COUNT(*) FROM ldap_entries WHERE dn LIKE ?", (f"%domainname={dom},%",)).fetchone()
        values = conn.execute("SELECT COUNT(*) FROM ldap_values WHERE dn LIKE ?", (f"%domainname={dom},%",)).fetchone()
    assert (left[0], values[0]) == (0, 0)
    assert entry(ldap, domain_dn(dom)) == {}


@pytest.mark.parametrize(
    ("value", "escaped"),
    [("john@example.com", "john@example.com"), ("#x@example.com", "\\#x@example.com"),
     ("a+b,c@example.com", "a\\+b\\,c@example.com"), (" lead", "\\ lead"), ("trail ", "trail\\ "),
     ('q"<>;\\', 'q\\"\\<\\>\\;\\\\')],
    ids=["plain", "leading-hash", "plus-comma", "leading-space", "trailing-space", "specials"],
)  # fmt: skip
def test_dn_values_are_escaped_per_rfc4514(value: str, escaped: str) -> None:
    assert escape_rdn_value(value) == escaped
    assert parent_dn(f"mail={escaped},ou=Users,dc=x") == "ou=Users,dc=x"


def test_addresses_with_dn_special_characters(ldap: Sandbox, api: Api, dom: str) -> None:
    for mail in (f"#hash@{dom}", f"a=b&c@{dom}"):
        path = mail.replace("#", "%23")  # a bare '#' would start the URL's fragment
        api.ok("POST", f"/user/{path}", data={"password": USER_PASSWORD})
        assert api.ok("GET", f"/user/{path}")["mail"] == mail
    assert entry(ldap, f"mail=\\#hash@{dom},ou=Users,{domain_dn(dom)}")["uid"] == ["#hash"]
    api.ok("POST", f"/maillist/l@{dom}", data={"members": f"#hash@{dom},a=b&c@{dom}"})
    assert api.ok("GET", f"/maillist/l@{dom}")["members"] == [f"#hash@{dom}", f"a=b&c@{dom}"]
    api.ok("DELETE", f"/user/%23hash@{dom}")
    assert api.ok("GET", f"/users/{dom}", params={"email_only": ""}) == [f"a=b&c@{dom}"]
