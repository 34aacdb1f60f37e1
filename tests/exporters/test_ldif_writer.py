import base64

import ldif
import pytest

from migrate.errors import UsageError
from migrate.exporters.ldif_format import attr_line, escape_dn_value, fold, needs_base64
from migrate.exporters.ldif_writer import DEFAULT_USER_SERVICES, write_ldif
from migrate.model import Alias, Domain, MailingList, User, build, to_dict
from migrate.model import replace_fields as replace
from migrate.snapshot import Snapshot

BASE = "dc=example,dc=com"
DOM = "domainName=example.com,o=domains,dc=example,dc=com"


def parse(path):
    with open(path, "rb") as fh:
        return [(dn, dict(entry)) for dn, entry in ldif.LDIFParser(fh).parse() if dn is not None]


def entries(path):
    return dict(parse(path))


@pytest.fixture
def written(tmp_path, full_snapshot):
    path = tmp_path / "out.ldif"
    write_ldif(path, full_snapshot)
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", False),
        ("with inner space", False),
        ("", False),
        ("Jörg", True),
        (" leading", True),
        ("trailing ", True),
        (":colon", True),
        ("<less", True),
        ("in:side<ok", False),
        ("tab\tinside", True),
        ("line\nbreak", True),
        ("nul\x00", True),
        ("del\x7f", True),
        ("#hash", False),
    ],
    ids=[
        "plain", "inner-space", "empty", "non-ascii", "leading-space", "trailing-space", "leading-colon",
        "leading-lt", "inner-colon-lt", "tab", "newline", "nul", "del", "leading-hash",
    ],
)  # fmt: skip
def test_needs_base64(value, expected):
    assert needs_base64(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("john@example.com", "john@example.com"),
        ("#team@example.com", "\\#team@example.com"),
        ("a,b+c", "a\\,b\\+c"),
        ('q"uote;<>', 'q\\"uote\\;\\<\\>'),
        ("back\\slash", "back\\\\slash"),
        (" lead", "\\ lead"),
        ("trail ", "trail\\ "),
        (" ", "\\ "),
        ("a=b", "a=b"),
        ("ends\\ ", "ends\\\\\\ "),
    ],
    ids=["plain", "leading-hash", "comma-plus", "quote-semicolon-angles", "backslash", "leading-space",
         "trailing-space", "only-space", "equals-kept", "backslash-then-space"],
)  # fmt: skip
def test_escape_dn_value_rfc4514(value, expected):
    assert escape_dn_value(value) == expected


def test_fold_keeps_lines_at_76_and_unfolds_to_the_original():
    line = "description: " + "abcdefghij" * 30
    folded = fold(line)
    parts = folded.split("\n")
    assert len(parts) == 5
    assert all(len(p) <= 76 for p in parts)
    assert len(parts[0]) == 76 and all(p.startswith(" ") for p in parts[1:])
    assert parts[0] + "".join(p[1:] for p in parts[1:]) == line


def test_attr_line_base64_and_plain():
    assert attr_line("cn", "John") == "cn: John"
    assert attr_line("cn", "Jörg") == "cn:: " + base64.b64encode("Jörg".encode()).decode()


def test_header_comment_and_version(written):
    lines = written.read_text().splitlines()
    assert lines[0].startswith("# iRedMail LDIF written by iredmigrate from test at 2026-11-24T07:45:00Z")
    assert "# spam policies and throttles are not in LDAP; use the JSON snapshot" in lines[:6]
    assert "version: 1" in lines[:6]
    assert written.read_text().isascii()


def test_parents_come_before_children_and_order_is_fixed(written):
    dns = [dn for dn, _ in parse(written)]
    assert dns[:4] == [
        BASE,
        f"o=domains,{BASE}",
        f"o=domainAdmins,{BASE}",
        f"mail=helpdesk@admins.example.org,o=domainAdmins,{BASE}",
    ]
    assert dns[4] == f"mail=root@admins.example.org,o=domainAdmins,{BASE}"
    assert dns[5:10] == [DOM, f"ou=Users,{DOM}", f"ou=Groups,{DOM}", f"ou=Aliases,{DOM}", f"ou=Externals,{DOM}"]
    assert dns[10:17] == [
        f"mail=admin@example.com,ou=Users,{DOM}",
        f"mail=john@example.com,ou=Users,{DOM}",
        f"mail=jorg@example.com,ou=Users,{DOM}",
        f"mail=@example.com,ou=Users,{DOM}",
        f"mail=sales@example.com,ou=Aliases,{DOM}",
        f"mail=news@example.com,ou=Groups,{DOM}",
        f"mail=staff@example.com,ou=Groups,{DOM}",
    ]
    assert dns[17] == f"memberOfGroup=staff@example.com,ou=Externals,{DOM}"
    assert dns[18] == f"domainName=mx2.example,o=domains,{BASE}"
    assert dns[23] == f"domainName=other.org,o=domains,{BASE}"
    seen = set()
    for dn in dns:
        parent = dn.split(",", 1)[1] if dn != BASE else None
        assert parent is None or parent in seen, dn
        seen.add(dn)


def test_base_entries(written):
    got = entries(written)
    assert got[BASE] == {"objectClass": ["dcObject", "organization"], "dc": ["example"], "o": ["example"]}
    assert got[f"o=domains,{BASE}"] == {"objectClass": ["organization"], "o": ["domains"]}
    assert got[f"ou=Externals,{DOM}"] == {"objectClass": ["organizationalUnit", "top"], "ou": ["Externals"]}


def test_domain_entry(written):
    d = entries(written)[DOM]
    assert d["objectClass"] == ["mailDomain"]
    assert d["cn"] == ["Example Inc."]
    assert d["mtaTransport"] == ["dovecot"]
    assert d["enabledService"] == ["domainalias", "mail", "senderbcc"]
    assert d["domainAliasName"] == ["example.net"]
    assert d["domainAdmin"] == ["helpdesk@admins.example.org"]
    assert d["domainSenderBccAddress"] == ["archive@example.com"]
    assert d["accountSetting"] == [
        "defaultQuota:1024",
        "disabledDomainProfile:backupmx",
        "disabledDomainProfile:relay",
        "disabledUserPreference:wblist",
        "disabledUserProfile:forwarding",
        "maxPasswordLength:64",
        "maxUserQuota:4096",
        "minPasswordLength:8",
        "numberOfAliases:-1",
        "numberOfLists:0",
        "numberOfUsers:100",
    ]


def test_user_entry_units_names_and_services(written):
    john = entries(written)[f"mail=john@example.com,ou=Users,{DOM}"]
    assert john["objectClass"] == ["inetOrgPerson", "mailUser", "shadowAccount", "amavisAccount"]
    assert john["uid"] == ["john"]
    assert john["cn"] == ["John Smith"]
    assert john["sn"] == ["Smith"]
    assert john["givenName"] == ["John"]
    assert john["mailQuota"] == [str(1024 * 1048576)]
    assert john["employeeNumber"] == ["E-1001"]
    assert john["preferredLanguage"] == ["en_US"]
    assert john["userPassword"][0].startswith("{SSHA512}")
    assert john["mailForwardingAddress"] == ["john.smith@gmail.com", "john@example.com"]
    # The per-user alias, plus the address in the domain's alias domain.
    assert john["shadowAddress"] == ["j.smith@example.com", "john@example.net"]
    assert john["memberOfGroup"] == ["staff@example.com"]
    assert john["amavisLocal"] == ["TRUE"]
    assert "displayedInGlobalAddressBook" in john["enabledService"]  # camel case restored
    assert john["enabledService"] == sorted(john["enabledService"])
    assert "domainGlobalAdmin" not in john


def test_non_ascii_values_are_base64_and_long_lines_folded(written):
    text = written.read_text()
    name = "Jörg Ünal-Çelik with a name long enough to need folding in LDIF"
    b64 = base64.b64encode(name.encode()).decode()
    assert f"cn:: {b64[:71]}\n {b64[71:146]}" in text
    assert all(len(line) <= 76 for line in text.splitlines())
    jorg = entries(written)[f"mail=jorg@example.com,ou=Users,{DOM}"]
    assert jorg["cn"] == [name]
    assert jorg["sn"] == ["Ünal"]
    assert jorg["accountStatus"] == ["disabled"]
    assert jorg["userSenderBccAddress"] == ["boss@example.com"]
    assert jorg["userRecipientBccAddress"] == ["audit@example.com"]


def test_admin_user_and_standalone_admins(written):
    got = entries(written)
    admin = got[f"mail=admin@example.com,ou=Users,{DOM}"]
    assert admin["domainGlobalAdmin"] == ["yes"]
    assert "domainadmin" in admin["enabledService"]
    assert admin["mailboxFormat"] == ["mdbox"] and admin["mailboxFolder"] == ["Mail"]
    helpdesk = got[f"mail=helpdesk@admins.example.org,o=domainAdmins,{BASE}"]
    assert helpdesk == {
        "objectClass": ["mailAdmin"],
        "mail": ["helpdesk@admins.example.org"],
        "cn": ["Helpdesk"],
        "accountStatus": ["active"],
        "preferredLanguage": ["en_US"],
        "accountSetting": ["create_max_domains:3", "create_max_users:50"],
    }
    assert got[f"mail=root@admins.example.org,o=domainAdmins,{BASE}"]["domainGlobalAdmin"] == ["yes"]


def test_catchall_alias_lists_and_externals(written):
    got = entries(written)
    catchall = got[f"mail=@example.com,ou=Users,{DOM}"]
    assert catchall["mail"] == ["@example.com"]
    assert catchall["uid"] == ["catch-all"]
    assert catchall["mailForwardingAddress"] == ["john@example.com"]
    sales = got[f"mail=sales@example.com,ou=Aliases,{DOM}"]
    assert sales["objectClass"] == ["mailAlias"]
    assert sales["mailForwardingAddress"] == ["john@example.com", "someone@gmail.com"]
    assert sales["listModerator"] == ["boss@example.com"]
    assert sales["accessPolicy"] == ["domain"]
    staff = got[f"mail=staff@example.com,ou=Groups,{DOM}"]
    assert staff["enabledService"] == ["deliver", "mail"]
    assert staff["listOwner"] == ["john@example.com"]
    assert "mtaTransport" not in staff
    news = got[f"mail=news@example.com,ou=Groups,{DOM}"]
    assert news["enabledService"] == ["deliver", "mail", "mlmmj"]
    assert news["mtaTransport"] == ["mlmmj:example.com/news"]
    assert news["mailingListID"] == ["3f1c2a9e-7b5d-4e8a-9c1f-0a2b3c4d5e6f"]
    assert news["maxMessageSize"] == ["10485760"]
    ext = got[f"memberOfGroup=staff@example.com,ou=Externals,{DOM}"]
    assert ext["objectClass"] == ["mailExternalUser"]
    assert ext["memberOfGroup"] == ["staff@example.com"]
    assert ext["mail"] == ["partner@external.com"]
    # Internal members are not repeated as externals: they carry memberOfGroup themselves.
    assert got[f"mail=jorg@example.com,ou=Users,{DOM}"]["memberOfGroup"] == ["staff@example.com"]


def test_policies_and_throttles_are_not_written(written):
    text = written.read_text()
    assert "spam_score" not in text and "3600" not in text


def _one(objs, tmp_path, **kw):
    path = tmp_path / "x.ldif"
    write_ldif(path, Snapshot.from_objects(objs, source="t", exported_at="x"), **kw)
    return path


def test_defaults_for_a_bare_user(tmp_path):
    path = _one([Domain(domain="d.example"), User(email="bob@d.example")], tmp_path)
    bob = entries(path)["mail=bob@d.example,ou=Users,domainName=d.example,o=domains,dc=example,dc=com"]
    assert bob["cn"] == ["bob"] and bob["sn"] == ["bob"]
    assert bob["accountStatus"] == ["active"]
    assert bob["enabledService"] == list(DEFAULT_USER_SERVICES)
    assert "mailQuota" not in bob  # unlimited
    assert "userPassword" not in bob


def test_user_lists_naming_an_alias_become_alias_members(tmp_path):
    objs = [
        Domain(domain="d.example"),
        User(email="bob@d.example", lists=("all@d.example", "news@d.example", "old@d.example")),
        Alias(email="all@d.example", members=("x@y.example",)),
        MailingList(email="news@d.example", kind="mlmmj"),
    ]
    got = entries(_one(objs, tmp_path))
    dom = "domainName=d.example,o=domains,dc=example,dc=com"
    assert got[f"mail=all@d.example,ou=Aliases,{dom}"]["mailForwardingAddress"] == ["bob@d.example", "x@y.example"]
    # mlmmj subscriptions live on disk; an unknown list stays a memberOfGroup value.
    assert got[f"mail=bob@d.example,ou=Users,{dom}"]["memberOfGroup"] == ["old@d.example"]


def test_accounts_without_their_domain_get_a_bare_parent(tmp_path):
    path = _one([User(email="bob@lost.example")], tmp_path)
    got = entries(path)
    assert got["domainName=lost.example,o=domains,dc=example,dc=com"] == {
        "objectClass": ["mailDomain"],
        "domainName": ["lost.example"],
    }
    assert "# domain not in the snapshot" in path.read_text()


def test_special_characters_in_dn_are_escaped(tmp_path):
    objs = [Domain(domain="d.example"), User(email="#ops@d.example", name="Ops")]
    path = _one(objs, tmp_path)
    assert "dn: mail=\\#ops@d.example,ou=Users,domainName=d.example,o=domains,dc=ex" in path.read_text()
    assert entries(path)["mail=\\#ops@d.example,ou=Users,domainName=d.example,o=domains,dc=example,dc=com"]["uid"] == [
        "#ops"
    ]


@pytest.mark.parametrize(
    ("base", "classes", "attr"),
    [("o=acme", ["organization"], "o"), ("ou=mail,o=acme", ["organizationalUnit"], "ou")],
    ids=["o", "ou"],
)
def test_other_base_dns(tmp_path, base, classes, attr):
    path = _one([Domain(domain="d.example")], tmp_path, base_dn=base)
    got = entries(path)
    assert got[base]["objectClass"] == classes
    assert attr in got[base]
    assert f"domainName=d.example,o=domains,{base}" in got


def test_bad_base_dn_is_a_usage_error_and_writes_nothing(tmp_path):
    with pytest.raises(UsageError) as info:
        _one([Domain(domain="d.example")], tmp_path, base_dn="cn=admin")
    assert info.value.code == "INVALID_BASE_DN"
    assert list(tmp_path.iterdir()) == []


def test_output_is_deterministic(tmp_path, full_snapshot):
    a, b = tmp_path / "a.ldif", tmp_path / "b.ldif"
    write_ldif(a, full_snapshot)
    shuffled = Snapshot(**{**full_snapshot.__dict__, "users": list(reversed(full_snapshot.users))})
    write_ldif(b, shuffled)
    assert a.read_bytes() == b.read_bytes()


def test_unlimited_and_none_quota_write_no_mailquota(tmp_path):
    objs = [Domain(domain="d.example"), User(email="a@d.example", quota=0), User(email="b@d.example", quota=3)]
    got = entries(_one(objs, tmp_path))
    dom = "domainName=d.example,o=domains,dc=example,dc=com"
    assert "mailQuota" not in got[f"mail=a@d.example,ou=Users,{dom}"]
    assert got[f"mail=b@d.example,ou=Users,{dom}"]["mailQuota"] == ["3145728"]


def test_unsafe_values_survive_the_ldif_parser(tmp_path):
    names = [" lead", "trail ", ":colon", "<lt", "tab\there", "Zoë"]
    objs = [Domain(domain="d.example")] + [
        replace(User(email=f"u{i}@d.example"), name=name) for i, name in enumerate(names)
    ]
    got = entries(_one(objs, tmp_path))
    dom = "domainName=d.example,o=domains,dc=example,dc=com"
    assert [got[f"mail=u{i}@d.example,ou=Users,{dom}"]["cn"][0] for i in range(len(names))] == names


def _read_back(path):
    from migrate.readers.ldif_reader import read_ldif

    problems = []
    objs = []
    for record in read_ldif(path, report=problems.append):
        obj, found = build(record)
        assert obj is not None, [p.render() for p in found]
        problems += [p for p in found if p.is_error]
        objs.append(obj)
    return objs, problems


def _by_key(objs):
    return sorted(objs, key=lambda o: (type(o).__name__, o.key))


def test_round_trip_through_the_ldif_reader(tmp_path, full_snapshot, ldap_objs):
    path = tmp_path / "rt.ldif"
    write_ldif(path, full_snapshot)
    back, problems = _read_back(path)
    assert [p for p in problems if p.severity == "error"] == []
    expected = _by_key(ldap_objs)
    got = _by_key(back)
    assert [(type(o).__name__, o.key) for o in got] == [(type(o).__name__, o.key) for o in expected]
    for a, b in zip(got, expected, strict=True):
        assert to_dict(a, include_secrets=True) == to_dict(b, include_secrets=True)
    assert got == expected


def test_round_trip_is_stable_bytes(tmp_path, ldap_snapshot):
    first, second = tmp_path / "a.ldif", tmp_path / "b.ldif"
    write_ldif(first, ldap_snapshot)
    back, _ = _read_back(first)
    write_ldif(second, Snapshot.from_objects(back, source="test", exported_at="2026-11-24T07:45:00Z"))
    assert second.read_bytes() == first.read_bytes()


def test_round_trip_of_unsafe_names(tmp_path):
    names = [" lead", "trail x", ":colon", "<lt", "Zoë Ærø 中文", "x" * 200]
    objs = [Domain(domain="d.example", services=("mail",))] + [
        User(email=f"u{i}@d.example", name=name, sn="s", quota=1, accountStatus="active", services=("mail",))
        for i, name in enumerate(names)
    ]
    back, _ = _read_back(_one(objs, tmp_path))
    got = {o.email: o.name for o in back if isinstance(o, User)}
    # The model trims names, so " lead" comes back as "lead"; everything else is exact.
    assert [got[f"u{i}@d.example"] for i in range(len(names))] == [n.strip() for n in names]
