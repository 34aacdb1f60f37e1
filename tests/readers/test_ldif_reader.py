import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import migrate.readers.ldif_reader as ldif_reader
from migrate.cli import main
from migrate.errors import InputFileError
from migrate.model import build
from migrate.model_fields import SPECS
from migrate.readers.ldif_reader import read_ldif
from migrate.records import Problem, Record, Severity
from migrate.validate import validate

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "iredmail-ldap.ldif"
CORPUS = Path(__file__).resolve().parent / "ldif_corpus"
BASE = "dc=example,dc=com"
DOMAIN = f"domainName=example.com,o=domains,{BASE}"


def read(path: Path) -> tuple[list[Record], list[Problem]]:
    reported: list[Problem] = []
    return list(read_ldif(path, report=reported.append)), reported


def write(tmp_path: Path, text: str, *, name: str = "in.ldif", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def user(local: str, *extra: str, domain: str = "example.com") -> str:
    return "\n".join(
        [
            f"dn: mail={local}@{domain},ou=Users,domainName={domain},o=domains,{BASE}",
            "objectClass: inetOrgPerson",
            "objectClass: mailUser",
            f"mail: {local}@{domain}",
            *extra,
        ]
    )


def domain(*extra: str, name: str = "example.com") -> str:
    return "\n".join(
        [f"dn: domainName={name},o=domains,{BASE}", "objectClass: mailDomain", f"domainName: {name}", *extra]
    )


def by_key(records: list[Record]) -> dict[tuple[str, str], Record]:
    return {(r.kind, r.fields.get("email", r.fields.get("domain", ""))): r for r in records}


def dn_lines(path: Path) -> list[int]:
    """The lines that start with dn:, counted independently of the reader."""
    return [n for n, line in enumerate(path.read_bytes().split(b"\n"), 1) if line.startswith(b"dn:")]


# -- the sample dump -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[dict[tuple[str, str], Record], list[Record], list[Problem]]:
    records, reported = read(SAMPLE)
    return by_key(records), records, reported


def test_sample_yields_accounts_only_users_first_then_domains_admins_lists(sample: Any) -> None:
    _, records, _ = sample
    kinds = [r.kind for r in records]
    assert kinds == ["user"] * 6 + ["alias", "domain", "domain", "admin", "admin", "list", "list", "list"]
    assert all(r.prov.fmt == "ldif" and r.prov.sheet is None and r.prov.source == str(SAMPLE) for r in records)


def test_sample_provenance_is_the_dn_line_of_each_entry(sample: Any) -> None:
    keyed, records, _ = sample
    lines = dn_lines(SAMPLE)
    assert all(r.prov.line in lines for r in records)
    text = SAMPLE.read_text(encoding="utf-8").split("\n")
    assert text[keyed["user", "john@example.com"].prov.line - 1].startswith("dn: mail=john@example.com,")
    assert text[keyed["list", "staff@example.com"].prov.line - 1].startswith("dn: mail=staff@example.com,")


def test_sample_user_with_forwarding_copy_alias_and_quota(sample: Any) -> None:
    john = sample[0]["user", "john@example.com"]
    f = john.fields
    assert f["quota"] == 1024
    assert f["forwarding"] == ["john@example.com", "john.smith@partner.example"]
    # john@example.net is implied by the alias domain example.net: not a per-user alias.
    assert f["aliases"] == ["j.smith@example.com"]
    assert f["lists"] == ["staff@example.com"]
    assert (f["name"], f["gn"], f["sn"], f["employeeid"], f["language"]) == (
        "John Smith",
        "John",
        "Smith",
        "E-1001",
        "en_US",
    )
    assert f["password_hash"].startswith("{SSHA512}")
    assert "forward" in f["services"] and "domainadmin" not in f["services"]
    assert "isAdmin" not in f and "isGlobalAdmin" not in f
    assert (f["mailboxFormat"], f["mailboxFolder"]) == ("maildir", "Maildir")
    assert john.columns["quota"] == "mailQuota" and john.columns["aliases"] == "shadowAddress"
    assert john.problems == []


def test_sample_forwarding_without_copy_crypt_hash_and_implied_alias_only(sample: Any) -> None:
    mary = sample[0]["user", "mary@example.com"].fields
    assert mary["forwarding"] == ["mary@example.org"]
    assert mary["password_hash"].startswith("{CRYPT}$6$q9Zr2Lx0$")
    assert mary["quota"] == 2048
    assert mary["aliases"] == []  # her only shadowAddress is implied by the alias domain


def test_sample_admin_flags_non_ascii_names_unlimited_and_plain_password(sample: Any) -> None:
    keyed = sample[0]
    postmaster = keyed["user", "postmaster@example.com"].fields
    assert postmaster["isGlobalAdmin"] is True and postmaster["isAdmin"] is True
    boss = keyed["user", "boss@example.org"].fields
    assert boss["isAdmin"] is True and "isGlobalAdmin" not in boss
    zoe = keyed["user", "zoe@example.org"].fields
    assert (zoe["name"], zoe["gn"], zoe["sn"]) == ("Zoë Müller-Ångström", "Zoë", "Müller-Ångström")
    assert zoe["quota"] == 0  # no mailQuota: unlimited
    legacy = keyed["user", "legacy@example.org"]
    assert legacy.fields["password_hash"] == "{PLAIN}Sample#Legacy2024"
    assert legacy.fields["quota"] == 2  # 1,500,000 bytes, rounded up
    [rounded] = legacy.problems
    assert (rounded.code, rounded.severity, rounded.line, rounded.column) == (
        "QUOTA_ROUNDED",
        Severity.WARNING,
        legacy.prov.line,
        "mailQuota",
    )


def test_sample_domains_settings_catchall_and_admins(sample: Any) -> None:
    keyed = sample[0]
    com = keyed["domain", "example.com"].fields
    assert com["name"] == "Example Inc." and com["transport"] == "dovecot" and com["accountStatus"] == "active"
    assert com["aliasDomains"] == ["example.net"] and com["admins"] == ["helpdesk@msp.example"]
    assert (com["defaultQuota"], com["maxUserQuota"], com["minPasswordLength"], com["maxPasswordLength"]) == (
        1024,
        10240,
        10,
        64,
    )
    assert (com["numberOfUsers"], com["numberOfAliases"], com["numberOfLists"]) == (100, 50, 10)
    assert com["disabledDomainProfiles"] == ["backupmx", "relay"]
    assert com["disabledUserProfiles"] == ["relay"] and com["disabledUserPreferences"] == ["wblist"]
    assert com["services"] == ["mail", "domainalias", "senderbcc", "recipientbcc"]
    assert "catchall" not in com
    org = keyed["domain", "example.org"].fields
    assert org["catchall"] == ["boss@example.org"]
    assert org["admins"] == ["helpdesk@msp.example", "boss@example.org"]
    assert (org["numberOfUsers"], org["numberOfLists"]) == (0, -1)
    assert ("user", "@example.org") not in keyed


def test_sample_lists_members_from_memberofgroup_externals_and_member_dns(sample: Any) -> None:
    keyed = sample[0]
    staff = keyed["list", "staff@example.com"].fields
    assert staff["kind"] == "maillist" and staff["accessPolicy"] == "domain" and staff["name"] == "All Staff"
    assert staff["members"] == [
        "consultant@agency.example",
        "john@example.com",
        "mary@example.com",
        "partner@supplier.example",
    ]
    news = keyed["list", "news@example.com"].fields
    assert news["kind"] == "mlmmj" and news["mailingListID"] == "3f1c2a9e-7b5d-4e8a-9c1f-0a2b3c4d5e6f"
    assert (news["owners"], news["moderators"], news["max_message_size"]) == (
        ["john@example.com"],
        ["mary@example.com"],
        10485760,
    )
    assert "members" not in news  # mlmmj subscribers are on disk: unknown, not empty
    board = keyed["list", "board@example.org"].fields
    assert board["members"] == ["boss@example.org", "zoe@example.org"]
    sales = keyed["alias", "sales@example.com"].fields
    assert sales["members"] == ["john@example.com", "orders@partner.example"] and sales["accessPolicy"] == "public"


def test_sample_standalone_admins_and_the_domains_they_manage(sample: Any) -> None:
    keyed = sample[0]
    helpdesk = keyed["admin", "helpdesk@msp.example"].fields
    assert helpdesk["isGlobalAdmin"] is False
    assert helpdesk["domains"] == ["example.com", "example.org"]
    assert (helpdesk["maxUsers"], helpdesk["maxAliases"], helpdesk["maxLists"], helpdesk["maxQuota"]) == (
        200,
        100,
        20,
        51200,
    )
    assert helpdesk["name"] == "MSP Helpdesk" and helpdesk["password_hash"].startswith("{SSHA512}")
    root = keyed["admin", "root@msp.example"].fields
    assert root["isGlobalAdmin"] is True and root["domains"] == []


def test_sample_skips_system_entries_and_operational_attributes(sample: Any) -> None:
    _, records, reported = sample
    for record in records:
        assert set(record.fields) <= set(SPECS[record.kind]), record.fields
        for value in record.fields.values():
            for item in value if isinstance(value, list) else [value]:
                assert "vmailadmin" not in str(item) and not re.fullmatch(r"2024\d{10}Z", str(item))
    assert not any(r.fields.get("email", "").startswith(("vmail", "cn=")) for r in records)
    [note] = reported
    assert (note.code, note.severity, note.key) == ("LDIF_IMPLIED_ALIASES", Severity.WARNING, "example.com")
    assert note.message.startswith("2 shadowAddress value(s)")


def test_sample_builds_into_valid_model_objects(sample: Any) -> None:
    _, records, _ = sample
    for record in records:
        obj, problems = build(record)
        assert obj is not None and not [p for p in problems if p.is_error], (record.fields, problems)


# -- LDIF syntax -----------------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_folded_lines_base64_comments_and_version(tmp_path: Path, newline: str) -> None:
    text = "\n".join(
        [
            "# exported by slapcat",
            "version: 1",
            "",
            domain("cn: Example"),
            "",
            "# a folded dn, a folded value, a comment inside the entry and a folded comment",
            "dn: mail=john@example.com,ou=Users,domainName=example.com,o=domai",
            " ns,dc=example,dc=com",
            "objectClass: inetOrgPerson",
            "# an inline comment that is long enough to be",
            "  folded onto a second line",
            "objectClass: mailUser",
            "mail: john@example.com",
            "cn:: SsO2cmcgTcO8bGxlcg==",
            "mailForwardingAddress: a-very-long-forwarding-address-that-needs-folding@sub.partn",
            " er.example",
            "",
            "",
            user("mary"),
            "",
        ]
    )
    path = write(tmp_path, text, newline=newline)
    records, reported = read(path)
    keyed = by_key(records)
    john = keyed["user", "john@example.com"]
    assert john.fields["name"] == "Jörg Müller"
    assert john.fields["forwarding"] == ["a-very-long-forwarding-address-that-needs-folding@sub.partner.example"]
    lines = [keyed["domain", "example.com"].prov.line, john.prov.line, keyed["user", "mary@example.com"].prov.line]
    assert lines == [4, 10, 22] == dn_lines(path)
    assert len(records) == 3 and reported == []


def test_version_line_in_the_first_entry_and_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.ldif"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n" + user("john").encode() + b"\n")
    [record], reported = read(path)
    assert record.fields["email"] == "john@example.com" and record.prov.line == 2 and reported == []


def test_attribute_names_and_object_classes_in_any_case(tmp_path: Path) -> None:
    text = f"dn: mail=john@example.com,ou=Users,{DOMAIN}\nobjectclass: INETORGPERSON\nobjectclass: mailuser\n"
    text += "MAIL: john@example.com\nmailquota: 1048576\nEnabledService: mail\nmemberofgroup: staff@example.com\n"
    [record], _ = read(write(tmp_path, text))
    assert record.kind == "user"
    assert (record.fields["email"], record.fields["quota"], record.fields["services"], record.fields["lists"]) == (
        "john@example.com",
        1,
        ["mail"],
        ["staff@example.com"],
    )


def test_line_numbers_stay_right_across_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks and page releases make every chunk boundary and the release path run.
    monkeypatch.setattr(ldif_reader, "_CHUNK", 333)
    monkeypatch.setattr(ldif_reader, "_RELEASE_STEP", 4096)
    monkeypatch.setattr(ldif_reader, "_RELEASE_LAG", 0)
    parts = [domain()]
    for i in range(400):
        folded = f"cn: User number {i} with a name long enough to be fo\n lded" if i % 3 == 0 else f"cn: U{i}"
        parts.append(f"# user {i}\n" * (i % 2) + user(f"u{i}", folded, "userPassword: {SSHA}abcd"))
    path = write(tmp_path, "\n\n".join(parts) + "\n")
    records, _ = read(path)
    users = [r for r in records if r.kind == "user"]
    expected = dn_lines(path)
    assert [r.prov.line for r in users] == expected[1:]
    assert users[399].fields["email"] == "u399@example.com"
    assert users[3].fields["name"] == "User number 3 with a name long enough to be folded"


def test_value_that_is_not_utf8_is_a_row_error_not_text(tmp_path: Path) -> None:
    [record], _ = read(write(tmp_path, user("john", "cn:: SvZyZw==", "sn: Smith") + "\n"))
    assert "name" not in record.fields and record.fields["sn"] == "Smith"
    [problem] = record.problems
    assert (problem.code, problem.column, problem.line, problem.severity) == ("LDIF_NOT_UTF8", "cn", 1, Severity.ERROR)


def test_unknown_object_classes_are_reported_once_per_class(tmp_path: Path) -> None:
    text = "\n\n".join(
        [
            "dn: cn=g1,ou=Groups,dc=example,dc=com\nobjectClass: posixGroup\nobjectClass: top\ncn: g1",
            "dn: cn=g2,ou=Groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: g2",
            "dn: cn=x,dc=example,dc=com\ncn: x",
            user("john"),
        ]
    )
    records, reported = read(write(tmp_path, text + "\n"))
    assert [r.kind for r in records] == ["user"]
    assert [(p.code, p.line, p.severity) for p in reported] == [
        ("LDIF_UNKNOWN_OBJECTCLASS", 1, Severity.WARNING),
        ("LDIF_UNKNOWN_OBJECTCLASS", 10, Severity.WARNING),
    ]
    assert "posixgroup" in reported[0].message and "without objectClass" in reported[1].message


def test_backup_mx_relay_bcc_and_bad_settings(tmp_path: Path) -> None:
    text = domain(
        "domainBackupMX: yes",
        "mtaTransport: relay:[mx1.example.com]:25",
        "senderRelayHost: smtp:[192.0.2.10]:587",
        "domainSenderBccAddress: archive@example.com",
        "domainRecipientBccAddress: audit@example.com",
        "preferredLanguage: de_DE",
        "accountSetting: numberOfUsers:lots",
        "accountSetting: defaultList:a,b",
    )
    [record], _ = read(write(tmp_path, text + "\n"))
    f = record.fields
    assert f["is_backupmx"] is True and f["primarymx"] == "[mx1.example.com]:25" and "transport" not in f
    assert (f["outboundRelay"], f["senderBcc"], f["recipientBcc"], f["language"]) == (
        "smtp:[192.0.2.10]:587",
        "archive@example.com",
        "audit@example.com",
        "de_DE",
    )
    assert "numberOfUsers" not in f
    assert [(p.code, p.column, p.severity) for p in record.problems] == [
        ("LDIF_BAD_SETTING", "accountSetting", Severity.WARNING)
    ]


def test_user_bcc_transport_and_first_of_several_passwords(tmp_path: Path) -> None:
    text = user(
        "john",
        "userSenderBccAddress: out@example.com",
        "userRecipientBccAddress: in@example.com",
        "mtaTransport: smtp:[192.0.2.1]",
        "userPassword: {SSHA512}first",
        "userPassword: {NTLM}second",
    )
    [record], _ = read(write(tmp_path, text + "\n"))
    f = record.fields
    assert (f["senderBcc"], f["recipientBcc"], f["transport"], f["password_hash"]) == (
        "out@example.com",
        "in@example.com",
        "smtp:[192.0.2.1]",
        "{SSHA512}first",
    )


def test_catchall_without_its_domain_and_disabled_catchall(tmp_path: Path) -> None:
    catchall = (
        f"dn: mail=@example.org,ou=Users,domainName=example.org,o=domains,{BASE}\nobjectClass: mailUser\n"
        "mail: @example.org\nmailForwardingAddress: boss@example.org\n"
    )
    disabled = (
        "dn: mail=@example.com,ou=Users,{DOMAIN}\nobjectClass: mailUser\nmail: @example.com\n"
        "accountStatus: disabled\nmailForwardingAddress: x@example.com\n"
    ).replace("{DOMAIN}", DOMAIN)
    records, reported = read(write(tmp_path, domain() + "\n\n" + catchall + "\n" + disabled))
    keyed = by_key(records)
    assert keyed["domain", "example.org"].fields == {"domain": "example.org", "catchall": ["boss@example.org"]}
    assert keyed["domain", "example.org"].prov.line == 5
    assert "catchall" not in keyed["domain", "example.com"].fields
    assert [(p.code, p.line) for p in reported] == [("LDIF_CATCHALL_DISABLED", 10)]


def test_list_member_dns_that_name_no_address_are_reported(tmp_path: Path) -> None:
    text = (
        f"dn: mail=staff@example.com,ou=Groups,{DOMAIN}\nobjectClass: mailList\nmail: staff@example.com\n"
        f"member: mail=a\\2Cb@example.com,ou=Users,{DOMAIN}\nmember: uid=john,ou=People,{BASE}\n"
    )
    [record], _ = read(write(tmp_path, text))
    assert record.fields["members"] == ["a,b@example.com"]
    assert [(p.code, p.column) for p in record.problems] == [("LDIF_MEMBER_DN", "member")]


def test_file_ending_without_newline_marks_the_last_entry(tmp_path: Path) -> None:
    records, _ = read(write(tmp_path, domain() + "\n\n" + user("john", "cn: Jo")))
    john = by_key(records)["user", "john@example.com"]
    assert [(p.code, p.line) for p in john.problems] == [("LDIF_TRUNCATED", 9)]
    assert by_key(records)["domain", "example.com"].problems == []
    closing_comment, _ = read(write(tmp_path, user("john") + "\n\n# end of dump", name="c.ldif"))
    assert closing_comment[0].problems == []


def test_error_after_many_entries_names_the_exact_line(tmp_path: Path) -> None:
    parts = [user(f"u{i}", "cn: folded na\n me") for i in range(300)]
    parts.append(user("bad", "cn:: Sm9obiBTbWl0aA", "sn: x"))
    path = write(tmp_path, "\n\n".join(parts) + "\n")
    with pytest.raises(InputFileError) as caught:
        read(path)
    exc = caught.value
    assert (exc.code, exc.column, exc.source) == ("LDIF_SYNTAX", "cn", str(path))
    assert exc.line == dn_lines(path)[-1] + 4


def test_source_name_is_used_for_provenance_and_errors(tmp_path: Path) -> None:
    [record] = list(read_ldif(write(tmp_path, user("john") + "\n"), source_name="backup.ldif"))
    assert record.prov.source == "backup.ldif"
    with pytest.raises(InputFileError) as caught:
        list(read_ldif(tmp_path / "missing.ldif", source_name="gone.ldif"))
    assert (caught.value.code, caught.value.source) == ("UNREADABLE_FILE", "gone.ldif")


# -- the bad-input corpus --------------------------------------------------------------------------


def corpus() -> list[tuple[str, str, int | None]]:
    rows = []
    for line in (CORPUS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].endswith(".ldif"):
            rows.append((cells[0], cells[2], None if cells[3] == "-" else int(cells[3])))
    return rows


def test_corpus_table_lists_every_file() -> None:
    assert sorted(name for name, _, _ in corpus()) == sorted(p.name for p in CORPUS.glob("*.ldif"))
    assert len(corpus()) >= 15


@pytest.mark.parametrize(("name", "code", "line"), corpus(), ids=[row[0] for row in corpus()])
def test_corpus_file_gives_its_located_problem(name: str, code: str, line: int | None) -> None:
    path = CORPUS / name
    report = validate([path], collect=True)
    assert not report.ok
    found = [(p.code, p.line, p.source) for p in report.problems if p.is_error]
    assert (code, line, str(path)) in found, report.problems


@pytest.mark.parametrize(("name", "code", "line"), corpus(), ids=[row[0] for row in corpus()])
def test_corpus_file_through_the_cli_exits_3_without_traceback(name: str, code: str, line: int | None) -> None:
    path = str(CORPUS / name)
    result = CliRunner().invoke(main, ["validate", path])
    assert result.exit_code == 3, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    where = path if line is None else f"{path}:{line}"
    assert any(row.startswith(where) and f"({code})" in row for row in result.output.splitlines()), result.output


def test_memberships_do_not_depend_on_entry_order_and_duplicate_domains_are_kept(tmp_path: Path) -> None:
    external = (
        f"dn: memberOfGroup=staff@example.com,ou=Externals,{DOMAIN}\nobjectClass: mailExternalUser\n"
        "memberOfGroup: staff@example.com\nmail: Partner@Supplier.example"
    )
    staff = f"dn: mail=staff@example.com,ou=Groups,{DOMAIN}\nobjectClass: mailList\nmail: staff@example.com"
    admin = f"dn: mail=it@msp.example,o=domainAdmins,{BASE}\nobjectClass: mailAdmin\nmail: it@msp.example"
    text = "\n\n".join(
        [
            admin,
            external,
            user("john", "memberOfGroup: STAFF@example.com"),
            staff,
            domain("domainAdmin: it@msp.example"),
            domain("cn: again", "domainAdmin: IT@msp.example"),
        ]
    )
    records, _ = read(write(tmp_path, text + "\n"))
    assert [r.kind for r in records] == ["user", "domain", "domain", "admin", "list"]
    assert records[4].fields["members"] == ["john@example.com", "partner@supplier.example"]
    assert records[3].fields["domains"] == ["example.com"]
    assert [r.fields.get("name") for r in records[1:3]] == [None, "again"]


def test_users_stream_out_before_the_rest_of_the_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, user("john") + "\n\n" + user("mary") + "\n\nthis line is broken\n")
    records = read_ldif(path)
    assert next(records).fields["email"] == "john@example.com"
    assert next(records).fields["email"] == "mary@example.com"
    with pytest.raises(InputFileError) as caught:
        next(records)
    assert (caught.value.code, caught.value.line) == ("LDIF_SYNTAX", 11)


def test_syntax_error_on_the_first_line_after_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.ldif"
    path.write_bytes(b"\xef\xbb\xbfobjectClass: mailUser\nmail: john@example.com\n")
    with pytest.raises(InputFileError) as caught:
        read(path)
    assert (caught.value.code, caught.value.line, caught.value.column) == ("LDIF_SYNTAX", 1, "objectClass")


def test_admin_quota_limit_with_a_unit_is_left_to_the_model(tmp_path: Path) -> None:
    text = (
        f"dn: mail=it@msp.example,o=domainAdmins,{BASE}\nobjectClass: mailAdmin\nmail: it@msp.example\n"
        "accountSetting: create_max_quota:10GB\naccountSetting: create_max_domains:3\ndomainGlobalAdmin: no\n"
    )
    [record], _ = read(write(tmp_path, text))
    assert record.fields["maxQuota"] == "10GB" and record.fields["maxDomains"] == 3
    obj, problems = build(record)
    assert obj is not None and problems == []
    assert (obj.maxQuota, obj.isGlobalAdmin, obj.domains) == (10240, False, ())
