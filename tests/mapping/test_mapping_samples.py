"""Every shipped profile over its sample in samples/, read with the stdlib csv module and calamine."""

import base64
import csv
import hashlib
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from migrate.mapping import Mapper, detect_profile, load_profile
from migrate.model import build
from migrate.passwords import check_password
from migrate.records import Problem, Provenance, Record, Severity, TableRow

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
FIXTURES = Path(__file__).resolve().parent
SHEET_KINDS = {
    "domains": "domain",
    "admins": "admin",
    "users": "user",
    "aliases": "alias",
    "lists": "list",
    "spam policies": "spam_policy",
    "throttles": "throttle",
}
CSV_SAMPLES = {
    "users.csv": "default",
    "iredmail-ldap-users.csv": "iredmail-ldap",
    "google-workspace-users.csv": "google-workspace",
    "microsoft-365-users.csv": "microsoft-365",
    "microsoft-365-bulk-add.csv": "microsoft-365",
    "modoboa-export.csv": "modoboa",
    "iredadmin-pro-import.csv": "iredadmin-pro-import",
}


def csv_rows(path: Path, *, header: bool, delimiter: str) -> Iterator[TableRow]:
    with path.open(newline="", encoding="utf-8") as fh:
        head: list[str] | None = None
        for line, cells in enumerate(csv.reader(fh, delimiter=delimiter), 1):
            if header and head is None:
                head = [h.strip() for h in cells]
                continue
            keys = head if head is not None else [str(i) for i in range(1, len(cells) + 1)]
            yield TableRow(Provenance(path.name, None, line, "csv"), dict(zip(keys, cells, strict=False)))


def first_line(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8").splitlines()[0]
    delimiter = ";" if text.count(";") > text.count(",") else ","
    return next(csv.reader([text], delimiter=delimiter))


def xlsx_rows(path: Path) -> Iterator[TableRow]:
    book = CalamineWorkbook.from_path(str(path))
    for meta in book.sheets_metadata:
        if meta.visible != SheetVisibleEnum.Visible:
            continue
        data = book.get_sheet_by_name(meta.name).to_python()
        top = next(i for i, r in enumerate(data) if sum(1 for c in r if isinstance(c, str) and c) >= 2)
        head = [str(c).strip() for c in data[top]]
        for number, values in enumerate(data[top + 1 :], top + 2):
            cells = {
                k: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                for k, v in zip(head, values, strict=False)
            }
            yield TableRow(Provenance(path.name, meta.name, number, "xlsx"), cells, kind=SHEET_KINDS[meta.name.lower()])


def map_sample(name: str) -> tuple[list[Record], list[Problem]]:
    notes: list[Problem] = []
    path = SAMPLES / name
    if name.endswith(".xlsx"):
        rows: Iterator[TableRow] = xlsx_rows(path)
        profile = load_profile("default")
    else:
        profile = load_profile(CSV_SAMPLES[name])
        rows = csv_rows(path, header=profile.header, delimiter=profile.delimiter or ",")
    mapper = Mapper(profile, report=notes.append)
    return [r for r in map(mapper.map_row, rows) if r is not None], notes


def by_key(records: list[Record]) -> dict[str, Record]:
    return {str(r.fields.get("email") or r.fields.get("domain") or r.fields.get("target")): r for r in records}


def public(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.fields.items() if k not in ("password", "password_hash")}


@pytest.mark.parametrize("name", sorted(CSV_SAMPLES))
def test_sample_is_recognized_as_its_profile(name: str) -> None:
    assert detect_profile(first_line(SAMPLES / name)) == CSV_SAMPLES[name]


def test_default_workbook_one_sheet_per_kind() -> None:
    records, notes = map_sample("onboarding.xlsx")
    assert notes == []
    kinds = [(r.prov.sheet, r.kind) for r in records]
    assert {sheet: kinds.count((sheet, kind)) for sheet, kind in set(kinds)} == {
        "Domains": 6,
        "Admins": 2,
        "Users": 10,
        "Aliases": 3,
        "Lists": 6,
        "Spam Policies": 2,
        "Throttles": 2,
    }
    book = CalamineWorkbook.from_path(str(SAMPLES / "onboarding.xlsx"))
    hidden = [m.name for m in book.sheets_metadata if m.visible != SheetVisibleEnum.Visible]
    assert hidden == ["Notes"]
    users = [r for r in records if r.kind == "user"]
    assert users[0].prov == Provenance("onboarding.xlsx", "Users", 4, "xlsx")  # below the title row
    jorn = by_key(users)["jorn.muller@acme.example"]
    assert public(jorn) == {
        "email": "jorn.muller@acme.example",
        "name": "Jørn Åse Müller",
        "gn": "Jørn Åse",
        "sn": "Müller",
        "quota": "500MB",
        "accountStatus": "active",
        "language": "de-DE",
        "employeeid": "E1002",
        "lists": "all-staff@acme.example",
    }
    assert jorn.columns["quota"] == "quota"
    assert jorn.raw is not None and jorn.raw["password"] == "Fj0rd!Blue"
    policies = by_key([r for r in records if r.kind == "spam_policy"])
    assert policies["acme.example"].fields == {
        "scope": "domain",
        "target": "acme.example",
        "spam_score": "6.5",
        "quarantine_spam": "yes",
        "prefix_spam_in_subject": "yes",
        "bypass_virus_checks": "no",
    }
    throttle = next(r for r in records if r.kind == "throttle")
    assert throttle.fields == {
        "scope": "domain",
        "target": "acme.example",
        "direction": "outbound",
        "period": "3600",
        "max_msgs": "500",
        "msg_size": "25 MB",
    }


def test_default_csv_users() -> None:
    records, notes = map_sample("users.csv")
    assert notes == []
    assert [r.kind for r in records] == ["user"] * 6
    assert public(records[1]) == {
        "email": "tom.oconnor@acme.example",
        "name": "Tom O'Connor",
        "quota": "2 GB",
        "language": "en_US",
        "accountStatus": "active",
        "employeeid": "E1011",
    }
    assert records[1].prov == Provenance("users.csv", None, 3, "csv")


def test_iredmail_ldap_sample() -> None:
    records, notes = map_sample("iredmail-ldap-users.csv")
    assert notes == []
    richard, *_, gavin = records
    assert richard.fields == {
        "email": "richard@hooli.example",
        "password": "Pi3d!Piper",
        "name": "Richard Hendricks",
        "quota": 1024,
        "lists": ["engineering@hooli.example", "all@hooli.example"],
    }
    assert richard.columns["quota"] == "5"
    assert public(gavin) == {"email": "gavin@hooli.example", "name": "Gavin Belson", "quota": 0}


def test_google_workspace_sample() -> None:
    records, notes = map_sample("google-workspace-users.csv")
    (note,) = notes
    assert (note.code, note.severity, note.source, note.line) == (
        "IGNORED_COLUMN",
        Severity.WARNING,
        "google-workspace-users.csv",
        None,
    )
    assert "Org Unit Path [Required]" in note.message and "Recovery Email" in note.message
    assert "Employee ID" not in note.message and "Password [Required]" not in note.message
    users = by_key(records)
    assert users["maria.garcia@globex.example"].fields["password"] == "Sunfl0wer!Field"
    hank = users["hank.scorpio@globex.example"]
    assert public(hank) == {
        "email": "hank.scorpio@globex.example",
        "gn": "Hank",
        "sn": "Scorpio",
        "name": "Hank Scorpio",
        "password_hash_function": "SHA-1",
        "accountStatus": "Active",
        "employeeid": "G-2002",
    }
    assert re.fullmatch(r"[0-9a-f]{40}", hank.fields["password_hash"])
    assert hank.columns["password_hash"] == "Password [Required]"
    frank = users["frank.grimes@globex.example"]
    assert (frank.fields["accountStatus"], frank.fields["password_hash_function"]) == ("Suspended", "MD5")
    assert users["kenji.tanaka@globex.example"].fields["password_hash"].startswith("$6$")
    assert users["arthur.leigh@globex.example"].fields["password_hash_function"] == "SHA-1"  # "SHA1" in the file


def test_microsoft_365_export_sample() -> None:
    records, notes = map_sample("microsoft-365-users.csv")
    assert [n.code for n in notes] == ["IGNORED_COLUMN", "EXCLUDED_VALUES"]
    assert all("password" not in r.fields and "password_hash" not in r.fields for r in records)
    users = by_key(records)
    assert users["adele.vance@contoso.example"].fields == {
        "email": "adele.vance@contoso.example",
        "name": "Adele Vance",
        "gn": "Adele",
        "sn": "Vance",
        "accountStatus": "active",
        "language": "en-US",
        "aliases": ["adele@contoso.example"],
    }
    assert users["megan.bowen@contoso.example"].fields["accountStatus"] == "disabled"
    assert users["nestor.wilke@contoso.example"].fields["aliases"] == [
        "nestor@contoso.example",
        "n.wilke@contoso.example",
    ]
    assert "aliases" not in users["isaiah.langer@contoso.example"].fields


def test_microsoft_365_bulk_add_sample() -> None:
    records, notes = map_sample("microsoft-365-bulk-add.csv")
    assert [n.code for n in notes] == ["IGNORED_COLUMN"]
    johanna = by_key(records)["johanna.lorenz@contoso.example"]
    assert johanna.fields == {
        "email": "johanna.lorenz@contoso.example",
        "gn": "Johanna",
        "sn": "Lorenz",
        "name": "Johanna Lorenz",
    }
    assert johanna.columns["name"] == "First name + Last name"


def test_modoboa_export_sample() -> None:
    records, notes = map_sample("modoboa-export.csv")
    assert [(n.code, n.line, n.message.rpartition(": ")[2]) for n in notes] == [("IGNORED_COLUMN", 1, "column 10")]
    accounts = by_key(records)
    peter = accounts["peter.gibbons@initech.example"]
    assert public(peter) == {
        "email": "peter.gibbons@initech.example",
        "gn": "Peter",
        "sn": "Gibbons",
        "name": "Peter Gibbons",
        "accountStatus": "True",
        "quota": 2048,
        "isAdmin": "yes",
        "isGlobalAdmin": "no",
    }
    assert peter.fields["password_hash"].startswith("{SHA512-CRYPT}$6$")
    assert accounts["michael.bolton@initech.example"].fields["password_hash"].startswith("{BLF-CRYPT}$2y$")
    assert accounts["milton.waddams@initech.example"].fields["accountStatus"] == "False"
    tps = accounts["tps-reports@initech.example"]
    assert tps.kind == "alias"
    assert tps.fields["members"] == [
        "bill.lumbergh@initech.example",
        "peter.gibbons@initech.example",
        "samir.nagheenanajar@initech.example",
        "michael.bolton@initech.example",
    ]


def test_modoboa_1x_file_with_every_record_type() -> None:
    notes: list[Problem] = []
    mapper = Mapper(load_profile("modoboa"), report=notes.append)
    rows = csv_rows(FIXTURES / "modoboa-1x.csv", header=False, delimiter=";")
    records = [r for r in map(mapper.map_row, rows) if r is not None]
    assert [(r.prov.line, r.kind, public(r)) for r in records if r.kind != "user" or "forwarding" in r.fields] == [
        (1, "domain", {"domain": "initech.example", "quota": 51200, "defaultQuota": 1024, "accountStatus": "True"}),
        (2, "domain", {"domain": "initech.example", "aliasDomains": "initrode.example"}),
        (
            6,
            "user",
            {
                "email": "tom.smykowski@initech.example",
                "forwarding": ["tom.smykowski@initech.example", "tom@jumptoconclusions.example"],
            },
        ),
        (
            7,
            "alias",
            {
                "email": "consultants@initech.example",
                "accountStatus": "True",
                "members": ["bob.slydell@initech.example", "bob.porter@bobs.example"],
            },
        ),
        (8, "user", {"email": "bob.slydell@initech.example", "forwarding": ["bob.porter@bobs.example"]}),
    ]
    assert [(n.code, n.line) for n in notes] == [
        ("IGNORED_COLUMN", 2),  # a domain alias's enabled flag
        ("UNKNOWN_RECORD_TYPE", 3),
        ("IGNORED_COLUMN", 6),  # a forward's enabled flag
    ]


def test_iredadmin_pro_import_sample() -> None:
    records, notes = map_sample("iredadmin-pro-import.csv")
    assert notes == []
    users = by_key(records)
    albert = users["albert.wesker@umbrella.example"]
    assert public(albert) == {
        "email": "albert.wesker@umbrella.example",
        "quota": 2048,
        "name": "Albert Wesker",
        "lists": ["staff@umbrella.example", "security@umbrella.example"],
        "employeeid": "U-0001",
    }
    assert albert.fields["password_hash"].startswith("{SSHA512}")
    assert albert.columns["password_hash"] == "2"
    assert users["jill.valentine@umbrella.example"].fields["password"] == "St@rs2024!"
    assert users["leon.kennedy@umbrella.example"].fields["lists"] == [
        "staff@umbrella.example",
        "security@umbrella.example",
    ]


def all_records() -> list[Record]:
    names = ["onboarding.xlsx", *sorted(CSV_SAMPLES)]
    return [record for name in names for record in map_sample(name)[0]]


def test_all_samples_build_without_errors_and_fit_one_server() -> None:
    records = all_records()
    objects = []
    for record in records:
        obj, problems = build(record)
        assert [p.render() for p in problems if p.is_error] == [], record.prov
        objects.append(obj)
    keys = [f"{r.kind}:{o.key}" for r, o in zip(records, objects, strict=True) if r.kind != "admin"]
    assert len(keys) == len(set(keys))
    addresses = [o.key for r, o in zip(records, objects, strict=True) if r.kind in ("user", "alias", "list")]
    assert len(addresses) == len(set(addresses))
    domains = {o.key for r, o in zip(records, objects, strict=True) if r.kind == "domain"}
    assert {a.rpartition("@")[2] for a in addresses} == domains
    lists = {o.key for r, o in zip(records, objects, strict=True) if r.kind == "list"}
    memberships = {m for r, o in zip(records, objects, strict=True) if r.kind == "user" for m in o.lists or ()}
    assert memberships <= lists


def password_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in (SAMPLES / "PASSWORDS.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        # Rows for other samples (the LDIF one has its own helper) are not this test's business.
        mine = cells[0].split(" ")[0] in {"onboarding.xlsx", *CSV_SAMPLES}
        if len(cells) == 4 and cells[2].startswith("`") and mine:
            table[cells[1]] = cells[2].strip("`")
    return table


def verify(stored: str, plain: str, function: str | None) -> bool:
    if function == "SHA-1":
        return hashlib.sha1(plain.encode()).hexdigest() == stored
    if function == "MD5":
        return hashlib.md5(plain.encode()).hexdigest() == stored
    scheme, _, payload = stored.partition("}") if stored.startswith("{") else ("", "", stored)
    if scheme == "{SSHA512":
        raw = base64.b64decode(payload)
        return hashlib.sha512(plain.encode() + raw[64:]).digest() == raw[:64]
    if payload.startswith("$2y$"):
        return bcrypt.checkpw(plain.encode(), ("$2b$" + payload[4:]).encode())
    if payload.startswith("$6$"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                import crypt  # the stdlib module, gone in Python 3.13
            except ImportError:
                pytest.skip("no crypt module to check $6$ hashes")
        return bool(crypt.crypt(plain, payload) == payload)
    raise AssertionError(f"unexpected hash format {stored[:8]}...")


def test_passwords_md_has_the_plaintext_of_every_sample_account() -> None:
    table = password_table()
    accounts = [r for r in all_records() if r.kind in ("user", "admin")]
    # Microsoft 365 exports carry no passwords: those users are imported with generated ones.
    accounts = [r for r in accounts if {"password", "password_hash"} & set(r.fields)]
    assert len(accounts) == 43
    assert sorted(table) == sorted(str(r.fields["email"]).lower() for r in accounts)
    for record in accounts:
        plain = table[str(record.fields["email"]).lower()]
        assert check_password(plain) == [], record.fields["email"]  # every known plaintext meets the policy
        if "password" in record.fields:
            assert record.fields["password"] == plain
        else:
            function = record.fields.get("password_hash_function")
            assert verify(record.fields["password_hash"], plain, function), record.fields["email"]
