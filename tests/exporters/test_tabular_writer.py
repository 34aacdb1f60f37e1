import csv
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from migrate.errors import FatalError
from migrate.exporters.tabular_writer import columns_for, csv_paths, neutralize, write_csv, write_xlsx
from migrate.model import Alias, Domain, SpamPolicy, User
from migrate.snapshot import Snapshot


def snap(objs):
    return Snapshot.from_objects(objs, source="t", exported_at="2026-11-24T07:45:00Z")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def read_sheets(path):
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
        ("+cmd", "'+cmd"),
        ("-Team-", "'-Team-"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindent", "'\tindent"),
        ("\rcr", "'\rcr"),
        ("'=already", "''=already"),
        ("''-x", "'''-x"),
        ("'quoted'", "'quoted'"),
        ("-1", "-1"),
        ("+4930123", "+4930123"),
        ("-2.5", "-2.5"),
        ("-1+2", "'-1+2"),
        ("plain", "plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
    ids=["equals", "plus", "minus-name", "at", "tab", "cr", "quote-then-equals", "quotes-then-minus",
         "quote-then-text", "negative-int", "phone-number", "negative-decimal", "minus-expression", "plain",
         "empty", "equals-inside"],
)  # fmt: skip
def test_neutralize(text, expected):
    assert neutralize(text) == expected


def test_stripping_one_quote_restores_every_neutralized_value():
    danger = set("=+-@\t\r")
    for text in ["=1", "'=1", "''@x", "-a", "'", "'x", "x"]:
        out = neutralize(text)
        back = out[1:] if out.startswith("'") and out.lstrip("'")[:1] in danger else out
        assert back == text


def test_columns_follow_the_dataclass_and_skip_password():
    users = [
        User(email="a@d.example", password="Secret#2024x", quota=1),
        User(email="b@d.example", name="B", password_hash="{PLAIN}x"),
    ]
    assert columns_for("users", users) == ["email", "name", "password_hash", "quota"]
    assert columns_for("spam_policies", []) == ["scope", "target"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("out/backup.csv", {"users": "out/backup-users.csv", "spam_policies": "out/backup-spam_policies.csv"}),
        ("out/backup", {"users": "out/backup-users.csv", "domains": "out/backup-domains.csv"}),
        ("out/dir/", {"users": "out/dir/users.csv", "throttles": "out/dir/throttles.csv"}),
    ],
    ids=["stem-with-suffix", "stem", "directory-slash"],
)
def test_csv_paths(tmp_path, given, expected):
    paths = csv_paths(str(tmp_path / given) + ("/" if given.endswith("/") else ""))
    assert len(paths) == 7
    for section, name in expected.items():
        assert paths[section] == tmp_path / name


def test_csv_paths_existing_directory(tmp_path):
    assert csv_paths(tmp_path)["aliases"] == tmp_path / "aliases.csv"


def test_csv_content(tmp_path, full_snapshot):
    write_csv(tmp_path / "b.csv", full_snapshot)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "b-admins.csv", "b-aliases.csv", "b-domains.csv", "b-lists.csv", "b-spam_policies.csv",
        "b-throttles.csv", "b-users.csv",
    ]  # fmt: skip
    users = read_csv(tmp_path / "b-users.csv")
    header = users[0]
    assert header[:6] == ["email", "name", "gn", "sn", "password_hash", "quota"]
    assert "password" not in header
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in users[1:]}
    assert list(rows) == ["admin@example.com", "amy@other.org", "john@example.com", "jorg@example.com"]
    john = rows["john@example.com"]
    assert john["quota"] == "1024"
    assert john["forwarding"] == "john.smith@gmail.com, john@example.com"
    assert john["password_hash"].startswith("{SSHA512}")
    assert john["isAdmin"] == ""
    assert rows["admin@example.com"]["isGlobalAdmin"] == "yes"
    assert rows["jorg@example.com"]["name"].startswith("Jörg")
    domains = read_csv(tmp_path / "b-domains.csv")
    assert dict(zip(domains[0], domains[1], strict=True))["numberOfAliases"] == "-1"  # a number: not neutralized
    policies = read_csv(tmp_path / "b-spam_policies.csv")
    assert policies == [
        ["scope", "target", "bypass_virus_checks", "spam_score", "banned_rulenames"],
        ["global", "", "no", "6.5", "exe, zip"],
    ]
    assert (tmp_path / "b-users.csv").read_bytes().count(b"\r\n") == 5


def test_csv_neutralizes_formulas(tmp_path):
    write_csv(tmp_path / "x", snap([User(email="-ops@d.example", name="=cmd|' /C calc'!A0", employeeid="-1")]))
    rows = read_csv(tmp_path / "x-users.csv")
    assert rows[1] == ["'-ops@d.example", "'=cmd|' /C calc'!A0", "-1"]


def test_csv_removes_files_of_kinds_that_became_empty(tmp_path):
    write_csv(tmp_path / "b", snap([Domain(domain="d.example"), Alias(email="a@d.example")]))
    assert (tmp_path / "b-aliases.csv").exists()
    (tmp_path / "b-unrelated.csv").write_text("keep me")
    write_csv(tmp_path / "b", snap([Domain(domain="d.example")]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b-domains.csv", "b-unrelated.csv"]


def test_xlsx_sheets_types_and_neutralization(tmp_path, full_snapshot):
    path = tmp_path / "b.xlsx"
    write_xlsx(path, full_snapshot)
    sheets = read_sheets(path)
    assert list(sheets) == ["Domains", "Admins", "Users", "Aliases", "Lists", "Spam Policies", "Throttles"]
    users = sheets["Users"]
    rows = {r[0]: dict(zip(users[0], r, strict=True)) for r in users[1:]}
    assert rows["john@example.com"]["quota"] == 1024  # numeric cell
    assert rows["john@example.com"]["employeeid"] == "E-1001"  # text stays text
    assert rows["admin@example.com"]["isAdmin"] == "yes"
    assert rows["john@example.com"]["lists"] == "staff@example.com"
    throttle = dict(zip(sheets["Throttles"][0], sheets["Throttles"][1], strict=True))
    assert throttle["max_msgs"] == 100
    domain = dict(zip(sheets["Domains"][0], sheets["Domains"][1], strict=True))
    assert domain["numberOfAliases"] == -1  # a negative number is a number, not a neutralized text
    assert isinstance(domain["numberOfAliases"], (int, float))
    assert dict(zip(sheets["Spam Policies"][0], sheets["Spam Policies"][1], strict=True))["spam_score"] == 6.5


def test_xlsx_text_never_becomes_a_formula_or_link(tmp_path):
    objs = [User(email="a@d.example", name="=1+1", employeeid="{=SUM(A1)}", transport="http://evil.example/")]
    path = tmp_path / "x.xlsx"
    write_xlsx(path, snap(objs))
    row = read_sheets(path)["Users"][1]
    assert row == ["a@d.example", "'=1+1", "{=SUM(A1)}", "http://evil.example/"]
    with zipfile.ZipFile(path) as z:
        sheet_xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
        assert "<f>" not in sheet_xml and "<f " not in sheet_xml
        assert not any("hyperlink" in n.lower() or "_rels/sheet" in n for n in z.namelist())


def test_xlsx_empty_snapshot_has_a_domains_header(tmp_path):
    path = tmp_path / "e.xlsx"
    write_xlsx(path, snap([]))
    assert read_sheets(path) == {"Domains": [["domain"]]}


def test_xlsx_skips_empty_kinds(tmp_path):
    path = tmp_path / "e.xlsx"
    write_xlsx(path, snap([Domain(domain="d.example"), SpamPolicy(scope="global", spam_score=5.0)]))
    assert list(read_sheets(path)) == ["Domains", "Spam Policies"]


def test_xlsx_refuses_a_cell_excel_cannot_hold(tmp_path):
    members = tuple(f"member{i:05d}@partner.example" for i in range(1200))
    path = tmp_path / "big.xlsx"
    with pytest.raises(FatalError) as info:
        write_xlsx(path, snap([Alias(email="all@d.example", members=members)]))
    assert info.value.code == "XLSX_CELL_TOO_LONG"
    assert info.value.key == "all@d.example" and info.value.column == "members"
    assert list(tmp_path.iterdir()) == []
    write_csv(tmp_path / "big", snap([Alias(email="all@d.example", members=members)]))
    assert read_csv(tmp_path / "big-aliases.csv")[1][1].count("@") == 1200
