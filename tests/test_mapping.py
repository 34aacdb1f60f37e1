from pathlib import Path
from typing import Any

import pytest

from migrate.errors import ConfigError
from migrate.mapping import Mapper, Profile, detect_profile, list_profiles, load_profile, map_rows
from migrate.mapping_values import fill_template, parse_bytes, parse_proxies, slugify, transliterate
from migrate.model import build
from migrate.model_fields import SPECS
from migrate.normalize import ValueProblem
from migrate.records import Problem, Provenance, Record, Severity, TableRow

SHIPPED = ["default", "google-workspace", "iredadmin-pro-import", "iredmail-ldap", "microsoft-365", "modoboa"]


def row(
    cells: dict[str, str], *, line: int = 2, source: str = "in.csv", sheet: str | None = None, kind: str | None = None
) -> TableRow:
    return TableRow(Provenance(source, sheet, line, "xlsx" if sheet else "csv"), cells, kind=kind)


def positional(text: str, sep: str = ",", *, line: int = 1, source: str = "in.csv") -> TableRow:
    return row({str(i): v for i, v in enumerate(text.split(sep), 1)}, line=line, source=source)


def first_row(text: str, sep: str) -> list[str]:
    return text.split(sep)


def profile_file(tmp_path: Path, text: str, name: str = "mine.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def mapper(tmp_path: Path, text: str) -> tuple[Mapper, list[Problem]]:
    notes: list[Problem] = []
    return Mapper(load_profile(profile_file(tmp_path, text)), report=notes.append), notes


def one(m: Mapper, r: TableRow) -> Record:
    record = m.map_row(r)
    assert record is not None
    return record


# ----------------------------------------------------------------------------- loading profiles


def test_list_profiles_names_every_shipped_profile() -> None:
    assert list_profiles() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_loads_with_its_reader_options(name: str) -> None:
    profile = load_profile(name)
    assert isinstance(profile, Profile)
    assert profile.name == name
    assert profile.description
    assert profile.header is (name not in ("iredadmin-pro-import", "iredmail-ldap", "modoboa"))
    assert profile.delimiter == {"modoboa": ";", "iredmail-ldap": ",", "iredadmin-pro-import": ","}.get(name)
    assert profile.encoding is None


def test_default_profile_maps_every_model_field_by_its_own_name() -> None:
    profile = load_profile("default")
    for kind, specs in SPECS.items():
        layout = profile.layouts[kind]
        mapped = {rule.name: rule.columns for rule in layout.fields}
        assert set(mapped) == set(specs), kind
        for name, columns in mapped.items():
            assert columns[0] == name, (kind, name)


def test_load_profile_accepts_a_path(tmp_path: Path) -> None:
    path = profile_file(tmp_path, 'description = "mine"\nkind = "alias"\n[alias.fields]\nemail = "Address"\n')
    profile = load_profile(path)
    assert (profile.name, profile.kind, profile.path) == ("mine", "alias", str(Path(path).resolve()))


BAD_PROFILES = [
    pytest.param(
        'kind = "user"\nkidn = 3\n[user.fields]\nemail = "mail"\n',
        "MAPPING_UNKNOWN_KEY",
        2,
        "kidn",
        id="unknown-top-key",
    ),
    pytest.param(
        '[user.fields]\nemail = "mail"\nquota = { columns = ["q"], unti = "MB" }\n',
        "MAPPING_UNKNOWN_KEY",
        3,
        "user.fields.quota.unti",
        id="unknown-key-inline-table",
    ),
    pytest.param(
        '[user.fields]\nemail = "mail"\n\n[user.fields.quota]\ncolumns = ["q"]\n# size\ndefualt = "1 GB"\n',
        "MAPPING_UNKNOWN_KEY",
        7,
        "defualt",
        id="unknown-key-in-rule-table",
    ),
    pytest.param(
        '[read]\nheader = false\nsep = ";"\n[user.fields]\nemail = 1\n',
        "MAPPING_UNKNOWN_KEY",
        3,
        "read.sep",
        id="unknown-read-key",
    ),
    pytest.param(
        '[user.fields]\nemail = "mail"\nquota = [ "q"\n', "MAPPING_SYNTAX", 3, "Unclosed array", id="toml-syntax"
    ),
    pytest.param('name = "x\n', "MAPPING_SYNTAX", 1, "not valid TOML", id="unterminated-string"),
    pytest.param(
        '[user.fields]\nemail = "mail"\nmailbox_size = "Size"\n',
        "MAPPING_UNKNOWN_FIELD",
        3,
        "'mailbox_size' is not a user field",
        id="unknown-field",
    ),
    pytest.param(
        '[alias.fields]\nemail = "mail"\nquota = "Size"\n',
        "MAPPING_UNKNOWN_FIELD",
        3,
        "'quota' is not a alias field",
        id="field-of-another-kind",
    ),
    pytest.param(
        '[user.fields]\nemail = "mail"\nquota = { columns = "q", unit = "parsecs" }\n',
        "MAPPING_BAD_VALUE",
        3,
        "unknown unit",
        id="bad-unit",
    ),
    pytest.param(
        '[user.fields]\nemail = "mail"\nname = { columns = "n", unit = "MB" }\n',
        "MAPPING_BAD_VALUE",
        3,
        "not a size field",
        id="unit-on-text",
    ),
    pytest.param(
        '[user.fields]\nemail = "mail"\nname = { columns = "n", split = true }\n',
        "MAPPING_BAD_VALUE",
        3,
        "multi-valued",
        id="split-on-scalar",
    ),
    pytest.param(
        'kind = "mailbox"\n[user.fields]\nemail = "mail"\n', "MAPPING_BAD_VALUE", 1, "unknown kind", id="bad-kind"
    ),
    pytest.param("[user.fields]\nemail = 3\n", "MAPPING_BAD_VALUE", 2, "header names", id="position-in-header-profile"),
    pytest.param(
        '[read]\nheader = false\n[user.fields]\nemail = "mail"\n',
        "MAPPING_BAD_VALUE",
        4,
        "column positions",
        id="header-in-positional",
    ),
    pytest.param(
        '[read]\nheader = "no"\n[user.fields]\nemail = "m"\n', "MAPPING_BAD_VALUE", 2, "true/false", id="wrong-type"
    ),
    pytest.param(
        '[user.fields]\nemail = { template = "{first}.{surname}@x.example" }\n',
        "MAPPING_BAD_VALUE",
        2,
        "{surname}",
        id="template-unknown-placeholder",
    ),
    pytest.param(
        '[user.fields]\nemail = { slug = "." }\n',
        "MAPPING_BAD_VALUE",
        2,
        "no columns, default or template",
        id="rule-without-source",
    ),
    pytest.param(
        '[user.vars]\nquota = "q"\n[user.fields]\nemail = "m"\n',
        "MAPPING_BAD_VALUE",
        2,
        "variable name",
        id="var-shadows-field",
    ),
    pytest.param(
        '[types.account]\nkind = "user"\n[types.account.fields]\nemail = 2\n',
        "MAPPING_BAD_VALUE",
        1,
        "type_column",
        id="types-without-type-column",
    ),
    pytest.param('description = "nothing"\n', "MAPPING_BAD_VALUE", None, "maps no kind", id="no-layout"),
    pytest.param(
        '[detect]\nfirst_row = ["(unclosed"]\n[user.fields]\nemail = "m"\n',
        "MAPPING_BAD_VALUE",
        2,
        "regular expression",
        id="bad-regex",
    ),
]


@pytest.mark.parametrize(("text", "code", "line", "words"), BAD_PROFILES)
def test_bad_profile_is_a_config_error_naming_file_and_line(
    tmp_path: Path, text: str, code: str, line: int | None, words: str
) -> None:
    path = profile_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    error = caught.value
    assert (error.code, error.line) == (code, line)
    assert error.source == str(Path(path).resolve()) or error.source == path
    assert words in error.message
    assert error.hint or code == "MAPPING_UNKNOWN_FIELD"
    if line is not None:
        assert f"mine.toml:{line}" in str(error)


def test_unknown_key_error_lists_what_is_allowed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_profile(profile_file(tmp_path, '[user.fields]\nemail = { columns = "m", splt = true }\n'))
    assert "split" in caught.value.hint and "columns" in caught.value.hint


@pytest.mark.parametrize(
    ("name", "code"),
    [
        pytest.param("no-such-profile", "MAPPING_NOT_FOUND", id="unknown-name"),
        pytest.param("/nonexistent/dir/p.toml", "MAPPING_NOT_FOUND", id="missing-file"),
    ],
)
def test_missing_profile_names_the_shipped_ones(name: str, code: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_profile(name)
    assert caught.value.code == code
    assert "google-workspace" in caught.value.hint


def test_profile_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'description = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path))
    assert caught.value.code == "MAPPING_UNREADABLE"


def test_extends_default_adds_a_template_and_keeps_the_rest(tmp_path: Path) -> None:
    text = """
extends = "default"
description = "HR sheet without addresses"
[user.vars.domain]
default = "acme.example"
[user.fields.email]
columns = ["email"]
template = "{first}.{last}@{domain}"
"""
    m, _ = mapper(tmp_path, text)
    assert m.profile.description == "HR sheet without addresses"
    assert set(m.profile.layouts) == set(SPECS)
    record = one(m, row({"First name": "Jørn Åse", "Last name": "Müller", "Quota": "2 GB", "Aliases": ""}))
    assert record.fields == {"gn": "Jørn Åse", "sn": "Müller", "quota": "2 GB", "email": "jorn.ase.muller@acme.example"}
    assert record.columns["email"] == "First name + Last name + domain"
    assert record.columns["quota"] == "Quota"


def test_extends_loop_is_refused(tmp_path: Path) -> None:
    profile_file(tmp_path, 'extends = "b.toml"\n[user.fields]\nemail = "m"\n', "a.toml")
    profile_file(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(ConfigError) as caught:
        load_profile(str(tmp_path / "a.toml"))
    assert "extends itself" in caught.value.message


# ----------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            ["First Name [Required]", "Last Name [Required]", "Email Address [Required]"],
            "google-workspace",
            id="google-upload",
        ),
        pytest.param(["Email Address [Required]", "Status [READ ONLY]"], "google-workspace", id="google-download"),
        pytest.param(["Block credential", "Display name", "User principal name"], "microsoft-365", id="m365-export"),
        pytest.param(
            ["Username", "First name", "Last name", "Display name", "Office phone", "Alternate email address"],
            "microsoft-365",
            id="m365-bulk-add",
        ),
        pytest.param(["email", "name", "password", "quota"], "default", id="default-users"),
        pytest.param(["Domain", "Name", "Quota"], "default", id="default-domains"),
        pytest.param(
            ["domain", "name", "quota", "defaultQuota", "accountStatus"], "default", id="domain-header-is-not-modoboa"
        ),
        pytest.param(
            first_row(
                "account;bob@initech.example;{SHA512-CRYPT}$6$x$y;Bob;Porter;True;SimpleUsers;bob@initech.example;1024",
                ";",
            ),
            "modoboa",
            id="modoboa-account",
        ),
        pytest.param(
            first_row("account;admin;{SHA512-CRYPT}$6$x$y;;;True;SuperAdmins;;", ";"),
            "modoboa",
            id="modoboa-superadmin",
        ),
        pytest.param(first_row("domain;initech.example;0;1024;True", ";"), "modoboa", id="modoboa-domain"),
        pytest.param(
            first_row("alias;info@initech.example;True;a@initech.example", ";"), "modoboa", id="modoboa-alias"
        ),
        pytest.param(
            first_row("hooli.example,richard,Pi3d!Piper,Richard Hendricks,1073741824,engineering:all", ","),
            "iredmail-ldap",
            id="iredmail-ldap",
        ),
        pytest.param(
            first_row("bob@umbrella.example,{SSHA512}abc,1024,Bob,staff,U-1", ","),
            "iredadmin-pro-import",
            id="iredadmin-pro-import",
        ),
        pytest.param(["Vorname", "Nachname"], None, id="unknown"),
    ],
)
def test_detect_profile(headers: list[str], expected: str | None) -> None:
    assert detect_profile(headers) == expected


# ----------------------------------------------------------------------------- mapping features


@pytest.mark.parametrize(
    ("header", "field"),
    [
        pytest.param("E-Mail", "email", id="hyphen-and-case"),
        pytest.param("  EMAIL ", "email", id="spaces"),
        pytest.param("Mailbox Quota", "quota", id="synonym"),
        pytest.param("employee_id", "employeeid", id="underscore"),
        pytest.param("Émployée ID", "employeeid", id="accents"),
        pytest.param("account-status", "accountStatus", id="camel-case-written-apart"),
    ],
)
def test_header_synonyms_fold_case_spaces_punctuation_and_accents(header: str, field: str) -> None:
    m = Mapper(load_profile("default"))
    cells = {"email": "a@acme.example", header: "x"} if field != "email" else {header: "a@acme.example"}
    record = one(m, row(cells))
    assert field in record.fields
    assert record.columns[field] == header  # as written, so messages point at the real column


def test_record_carries_provenance_raw_cells_and_reader_problems() -> None:
    reader_problem = Problem.at(
        Provenance("in.csv", None, 9, "csv"), "NUL_BYTES", "NUL bytes removed", severity=Severity.WARNING
    )
    r = row({"email": "a@acme.example", "quota": "2 GB"}, line=9)
    r.problems.append(reader_problem)
    record = one(Mapper(load_profile("default")), r)
    assert record.prov == Provenance("in.csv", None, 9, "csv")
    assert record.kind == "user"
    assert record.raw == {"email": "a@acme.example", "quota": "2 GB"}
    assert record.problems == [reader_problem]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        pytest.param({"email": "", "quota": ""}, None, id="blank"),
        pytest.param({"email": "  ", "quota": "\t"}, None, id="whitespace"),
        pytest.param({"email": "# disabled for now: x@acme.example", "quota": "1"}, None, id="comment"),
        pytest.param({"email": "", "quota": "1"}, {"quota": "1"}, id="not-blank"),
    ],
)
def test_blank_and_comment_rows_are_skipped(cells: dict[str, str], expected: dict[str, str] | None) -> None:
    record = Mapper(load_profile("default")).map_row(row(cells))
    assert (record.fields if record else None) == expected


SIZES = """
[user.fields]
email = "mail"
quota = { columns = ["quota"], unit = "%s" }
"""


@pytest.mark.parametrize(
    ("unit", "cell", "expected"),
    [
        pytest.param("MB", "2 GB", 2048, id="gb"),
        pytest.param("MB", "500MB", 500, id="mb-no-space"),
        pytest.param("MB", "1,5 GB", 1536, id="decimal-comma"),
        pytest.param("MB", "1.5G", 1536, id="short-unit"),
        pytest.param("MB", "unlimited", 0, id="unlimited"),
        pytest.param("MB", "750", 750, id="bare-number-in-mb"),
        pytest.param("bytes", "1073741824", 1024, id="bare-number-in-bytes"),
        pytest.param("bytes", "1500000", 2, id="bytes-rounded-up"),
        pytest.param("GB", "3", 3072, id="bare-number-in-gb"),
    ],
)
def test_sizes_convert_to_mb_with_the_fields_default_unit(tmp_path: Path, unit: str, cell: str, expected: int) -> None:
    m, _ = mapper(tmp_path, SIZES % unit)
    record = one(m, row({"mail": "a@acme.example", "quota": cell}))
    assert record.fields["quota"] == expected
    assert record.columns["quota"] == "quota"


def test_byte_fields_convert_to_bytes(tmp_path: Path) -> None:
    text = """
[throttle.fields]
scope = "scope"
msg_size = { columns = "size", unit = "KB" }
max_quota = { columns = "q", unit = "bytes" }
"""
    m, _ = mapper(tmp_path, text)
    record = one(m, row({"scope": "global", "size": "512", "q": "10 MB"}, kind="throttle"))
    assert record.fields == {"scope": "global", "msg_size": 524288, "max_quota": 10485760}


def test_size_that_does_not_parse_is_a_located_problem(tmp_path: Path) -> None:
    m, _ = mapper(tmp_path, SIZES % "MB")
    record = one(m, row({"mail": "a@acme.example", "quota": "2,5 GiBs"}, line=14))
    assert "quota" not in record.fields
    (problem,) = record.problems
    assert (problem.code, problem.line, problem.column) == ("INVALID_QUOTA", 14, "quota")
    assert problem.hint
    assert problem.render().startswith("in.csv:14 column quota: '2,5 GiBs' is not a size")


@pytest.mark.parametrize(
    ("rule", "cell", "expected"),
    [
        pytest.param(
            "split = true",
            "a@x.example, b@x.example; c@x.example\nd@x.example",
            ["a@x.example", "b@x.example", "c@x.example", "d@x.example"],
            id="comma-semicolon-newline",
        ),
        pytest.param('split = ":"', "sales:support: all", ["sales", "support", "all"], id="colon"),
        pytest.param('split = " "', "sales  support", ["sales", "support"], id="space"),
        pytest.param(
            "split = true",
            "SMTP:a@x.example+smtp:b@x.example",
            ["a@x.example", "b@x.example"],
            id="proxy-join-without-proxy-rule",
        ),
    ],
)
def test_multi_value_cells_are_split(tmp_path: Path, rule: str, cell: str, expected: list[str]) -> None:
    m, _ = mapper(tmp_path, f'[alias.fields]\nemail = "mail"\nmembers = {{ columns = "to", {rule} }}\n')
    record = one(m, row({"mail": "l@x.example", "to": cell}, kind="alias"))
    assert record.fields["members"] == expected


def test_list_field_without_split_is_passed_as_text_for_the_model() -> None:
    record = one(
        Mapper(load_profile("default")), row({"email": "a@acme.example", "aliases": "b@acme.example, c@acme.example"})
    )
    assert record.fields["aliases"] == "b@acme.example, c@acme.example"


def test_m365_proxy_addresses_primary_is_not_an_alias() -> None:
    m = Mapper(load_profile("microsoft-365"))
    cell = (
        "SMTP:ana.lima@contoso.example+smtp:ana@contoso.example+SIP:ana.lima@contoso.example"
        "+smtp:a.lima@contoso.example"
    )
    record = one(m, row({"User principal name": "ana.lima@contoso.example", "Proxy addresses": cell}))
    assert record.fields["aliases"] == ["ana@contoso.example", "a.lima@contoso.example"]
    assert record.columns["aliases"] == "Proxy addresses"
    assert record.problems == []


def test_m365_primary_address_that_differs_from_the_upn_is_a_warning() -> None:
    m = Mapper(load_profile("microsoft-365"))
    cell = "smtp:ana@contoso.example+SMTP:ana.lima@contoso.example"
    record = one(m, row({"User principal name": "alima@contoso.example", "Proxy addresses": cell}))
    assert record.fields["aliases"] == ["ana@contoso.example"]
    (problem,) = record.problems
    assert (problem.code, problem.severity, problem.column) == (
        "PRIMARY_ADDRESS_DIFFERS",
        Severity.WARNING,
        "Proxy addresses",
    )


def test_excluded_list_items_are_dropped_and_reported_once_per_file() -> None:
    notes: list[Problem] = []
    m = Mapper(load_profile("microsoft-365"), report=notes.append)
    for line, user in enumerate(["ana", "ben"], 2):
        cell = f"SMTP:{user}@contoso.example+smtp:{user}@contoso.onmicrosoft.com"
        record = one(m, row({"User principal name": f"{user}@contoso.example", "Proxy addresses": cell}, line=line))
        assert record.fields["aliases"] == []
    one(
        m,
        row(
            {"User principal name": "cy@contoso.example", "Proxy addresses": "smtp:c@contoso.onmicrosoft.com"},
            source="b.csv",
        ),
    )
    excluded = [(n.source, n.line) for n in notes if n.code == "EXCLUDED_VALUES"]
    assert excluded == [("in.csv", 2), ("b.csv", 2)]


DEFAULTS = """
[user.fields]
email = "mail"
quota = { columns = ["quota"], default = "1 GB", unit = "MB" }
language = { columns = ["lang"], default = "en_US" }
accountStatus = { default = "active" }
"""


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        pytest.param(
            {"mail": "a@x.example", "quota": "", "lang": ""}, {"quota": 1024, "language": "en_US"}, id="empty-cells"
        ),
        pytest.param({"mail": "a@x.example"}, {"quota": 1024, "language": "en_US"}, id="absent-columns"),
        pytest.param(
            {"mail": "a@x.example", "quota": "3 GB", "lang": "de_DE"}, {"quota": 3072, "language": "de_DE"}, id="given"
        ),
    ],
)
def test_defaults_apply_when_the_cell_is_empty_or_absent(
    tmp_path: Path, cells: dict[str, str], expected: dict[str, Any]
) -> None:
    m, _ = mapper(tmp_path, DEFAULTS)
    record = one(m, row(cells))
    assert record.fields == {"email": "a@x.example", "accountStatus": "active", **expected}


TEMPLATE = """
[user.vars]
domain = { columns = ["Domain"], default = "acme.example" }
[user.fields]
gn = "First"
sn = "Last"
email = { columns = ["Mail"], template = "{first}.{last}@{domain}" }
name = { template = "{first} {last}" }
"""


@pytest.mark.parametrize(
    ("first", "last", "email"),
    [
        pytest.param("Jørn Åse", "Müller", "jorn.ase.muller@acme.example", id="nordic-german"),
        pytest.param("Søren", "Kierkegaard", "soren.kierkegaard@acme.example", id="o-slash"),
        pytest.param("Ægir", "Straße", "aegir.strasse@acme.example", id="ae-sharp-s"),
        pytest.param("Łukasz", "Wróbel", "lukasz.wrobel@acme.example", id="polish-l"),
        pytest.param("Seán", "O'Brien", "sean.obrien@acme.example", id="apostrophe"),
        pytest.param("Anne - Marie", "Dupont", "anne-marie.dupont@acme.example", id="hyphen-with-spaces"),
        pytest.param("Zoë", "van der Berg", "zoe.van.der.berg@acme.example", id="particles"),
    ],
)
def test_address_template_transliterates_names(tmp_path: Path, first: str, last: str, email: str) -> None:
    m, _ = mapper(tmp_path, TEMPLATE)
    record = one(m, row({"First": first, "Last": last, "Mail": ""}))
    assert record.fields["email"] == email
    assert record.fields["name"] == f"{first} {last}"
    assert record.columns["email"] == "First + Last + domain"
    assert record.problems == []


def test_template_only_fills_an_empty_field(tmp_path: Path) -> None:
    m, _ = mapper(tmp_path, TEMPLATE)
    record = one(m, row({"First": "Ana", "Last": "Lima", "Mail": "boss@acme.example", "Domain": "other.example"}))
    assert record.fields["email"] == "boss@acme.example"
    assert record.columns["email"] == "Mail"


def test_template_uses_a_variable_from_a_column(tmp_path: Path) -> None:
    m, _ = mapper(tmp_path, TEMPLATE)
    record = one(m, row({"First": "Ana", "Last": "Lima", "Domain": "globex.example"}))
    assert record.fields["email"] == "ana.lima@globex.example"
    assert record.columns["email"] == "First + Last + Domain"


def test_key_template_that_cannot_be_filled_is_a_located_problem(tmp_path: Path) -> None:
    m, _ = mapper(tmp_path, TEMPLATE)
    record = one(m, row({"First": "Ana", "Last": "", "Mail": ""}, line=5))
    assert "email" not in record.fields
    assert record.fields["name"] == "Ana"  # a display name takes what there is
    (problem,) = record.problems
    assert (problem.code, problem.line, problem.column) == ("TEMPLATE_INCOMPLETE", 5, "Last")
    assert "fill Last" in problem.hint
    obj, problems = build(record)  # the model adds no second "missing email" for the same cell
    assert obj is None
    assert [p.code for p in problems] == ["TEMPLATE_INCOMPLETE"]


def test_slug_setting_controls_spaces_in_address_parts(tmp_path: Path) -> None:
    text = TEMPLATE.replace(
        'template = "{first}.{last}@{domain}" }', 'template = "{first}{last}@{domain}", slug = "" }'
    )
    m, _ = mapper(tmp_path, text)
    assert one(m, row({"First": "Mary Ann", "Last": "Smith"})).fields["email"] == "maryannsmith@acme.example"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param("True", "disabled", id="blocked"),
        pytest.param("FALSE", "active", id="not-blocked-upper"),
        pytest.param(" false ", "active", id="spaces"),
        pytest.param("maybe", "maybe", id="unmapped-passes-for-the-model"),
    ],
)
def test_value_map_m365_block_credential(cell: str, expected: str) -> None:
    record = one(
        Mapper(load_profile("microsoft-365")),
        row({"User principal name": "a@contoso.example", "Block credential": cell}),
    )
    assert record.fields["accountStatus"] == expected
    assert record.columns["accountStatus"] == "Block credential"


def test_value_map_catch_all(tmp_path: Path) -> None:
    m, _ = mapper(
        tmp_path, '[user.fields]\nemail = "m"\nisAdmin = { columns = "role", values = { admin = "yes", "*" = "no" } }\n'
    )
    assert one(m, row({"m": "a@x.example", "role": "Admin"})).fields["isAdmin"] == "yes"
    assert one(m, row({"m": "b@x.example", "role": "staff"})).fields["isAdmin"] == "no"
    assert "isAdmin" not in one(m, row({"m": "c@x.example", "role": ""})).fields


@pytest.mark.parametrize(
    ("password", "function", "field", "function_value"),
    [
        pytest.param("Sunfl0wer!Field", "", "password", None, id="plain"),
        pytest.param(
            "544e82d09f88202b2e25fd19f937430f54e84ded", "SHA1", "password_hash", "SHA-1", id="sha1-hex-with-function"
        ),
        pytest.param("0cc175b9c0f1b6a831c399e269772661", "md5", "password_hash", "MD5", id="md5-hex-with-function"),
        pytest.param("$6$salt$abcdef", "", "password_hash", None, id="bare-crypt"),
        pytest.param("{SSHA512}abcdef==", "", "password_hash", None, id="scheme-prefix"),
    ],
)
def test_google_password_column_holds_a_hash_when_a_function_is_named(
    password: str, function: str, field: str, function_value: str | None
) -> None:
    cells = {
        "Email Address [Required]": "a@globex.example",
        "Password [Required]": password,
        "Password Hash Function [UPLOAD ONLY]": function,
    }
    record = one(Mapper(load_profile("google-workspace")), row(cells))
    assert record.fields[field] == password
    assert {"password", "password_hash"} - {field} & set(record.fields) == set()
    assert record.columns[field] == "Password [Required]"
    assert record.fields.get("password_hash_function") == function_value


def test_ignored_columns_are_reported_once_per_file_and_sheet() -> None:
    notes: list[Problem] = []
    m = Mapper(load_profile("default"), report=notes.append)
    for line in (2, 3):
        one(
            m,
            row(
                {"email": f"u{line}@acme.example", "Shoe size": "42", "Desk": "B2", "": ""},
                line=line,
                sheet="Users",
                source="a.xlsx",
                kind="user",
            ),
        )
    one(m, row({"email": "x@acme.example", "Desk": "B2"}, sheet="Admins", source="a.xlsx", kind="admin"))
    one(m, row({"email": "y@acme.example", "Desk": "C1"}, source="b.csv"))
    ignored = [
        (n.source, n.sheet, n.line, n.severity, n.message.rpartition(": ")[2])
        for n in notes
        if n.code == "IGNORED_COLUMN"
    ]
    assert ignored == [
        ("a.xlsx", "Users", None, Severity.WARNING, "Shoe size, Desk"),
        ("a.xlsx", "Admins", None, Severity.WARNING, "Desk"),
        ("b.csv", None, None, Severity.WARNING, "Desk"),
    ]
    assert "hint" not in notes[0].message and notes[0].hint


def test_positional_extra_columns_are_reported_once_when_first_filled() -> None:
    notes: list[Problem] = []
    m = Mapper(load_profile("iredmail-ldap"), report=notes.append)
    one(m, positional("hooli.example,a,Pw#12345a,A,0,", line=1))
    one(m, positional("hooli.example,b,Pw#12345b,B,0,,note", line=2))
    one(m, positional("hooli.example,c,Pw#12345c,C,0,,again", line=3))
    assert [(n.code, n.line, n.message.rpartition(": ")[2]) for n in notes] == [("IGNORED_COLUMN", 2, "column 7")]


def test_positional_columns_are_named_by_position() -> None:
    record = one(
        Mapper(load_profile("iredmail-ldap")),
        positional("hooli.example,Richard,Pi3d!Piper,Richard Hendricks,1073741824,engineering:all"),
    )
    assert record.fields == {
        "email": "Richard@hooli.example",
        "password": "Pi3d!Piper",
        "name": "Richard Hendricks",
        "quota": 1024,
        "lists": ["engineering@hooli.example", "all@hooli.example"],
    }
    # Problems render these as "column 5"; the address is built from columns 2 and 1.
    assert record.columns == {"email": "2 + 1", "password": "3", "name": "4", "quota": "5", "lists": "6"}


@pytest.mark.parametrize(
    ("kind", "source", "profile", "expected"),
    [
        pytest.param("alias", "book.xlsx", "default", "alias", id="sheet-kind"),
        pytest.param(None, "aliases.csv", "default", "alias", id="file-name"),
        pytest.param(None, "acme-spam-policies.csv", "default", "user", id="file-name-two-words-unknown"),
        pytest.param(None, "people.csv", "default", "user", id="profile-kind"),
        pytest.param(None, "aliases.csv", "google-workspace", "user", id="fixed-kind-ignores-file-name"),
    ],
)
def test_kind_of_a_row(kind: str | None, source: str, profile: str, expected: str) -> None:
    cells = {"email": "a@acme.example", "Email Address [Required]": "a@acme.example"}
    record = one(Mapper(load_profile(profile)), row(cells, source=source, kind=kind))
    assert record.kind == expected


def test_kind_the_profile_does_not_map_is_reported_once_and_skipped() -> None:
    notes: list[Problem] = []
    m = Mapper(load_profile("google-workspace"), report=notes.append)
    rows = [row({"email": f"l{i}@globex.example"}, sheet="Lists", source="g.xlsx", kind="list", line=i) for i in (2, 3)]
    assert list(map(m.map_row, rows)) == [None, None]
    assert [(n.code, n.sheet, n.severity) for n in notes] == [("KIND_NOT_MAPPED", "Lists", Severity.ERROR)]


def test_record_type_column_picks_the_layout() -> None:
    m = Mapper(load_profile("modoboa"))
    records = [
        one(m, positional("domain;initech.example;10240;1024;True", ";")),
        one(m, positional("domainalias;initrode.example;initech.example;True", ";")),
        one(m, positional("alias;info@initech.example;False;a@initech.example;b@initech.example", ";")),
    ]
    assert [(r.kind, r.fields) for r in records] == [
        ("domain", {"domain": "initech.example", "accountStatus": "True", "quota": 10240, "defaultQuota": 1024}),
        ("domain", {"domain": "initech.example", "aliasDomains": "initrode.example"}),
        (
            "alias",
            {
                "email": "info@initech.example",
                "accountStatus": "False",
                "members": ["a@initech.example", "b@initech.example"],
            },
        ),
    ]
    assert records[2].columns == {"email": "2", "accountStatus": "3", "members": "4+"}


def test_unknown_record_type_is_reported_and_skipped() -> None:
    notes: list[Problem] = []
    m = Mapper(load_profile("modoboa"), report=notes.append)
    assert m.map_row(positional("relaydomain;relay.example;mx.example;25;relay;True;False", ";", line=4)) is None
    (note,) = notes
    assert (note.code, note.line, note.column, note.severity) == ("UNKNOWN_RECORD_TYPE", 4, "1", Severity.WARNING)
    assert "account" in note.hint


def test_modoboa_account_roles_and_login_name_fallback() -> None:
    m = Mapper(load_profile("modoboa"))
    admin = one(
        m, positional("account;peter@initech.example;{SHA512-CRYPT}$6$a$b;Peter;Gibbons;True;DomainAdmins;;2048", ";")
    )
    assert admin.fields == {
        "email": "peter@initech.example",
        "password_hash": "{SHA512-CRYPT}$6$a$b",
        "gn": "Peter",
        "sn": "Gibbons",
        "name": "Peter Gibbons",
        "accountStatus": "True",
        "quota": 2048,
        "isAdmin": "yes",
        "isGlobalAdmin": "no",
    }
    assert admin.columns["email"] == "2"  # column 8 empty: the login name
    boss = one(m, positional("account;root@initech.example;Plain#Pass1;;;True;SuperAdmins;root@initech.example;0", ";"))
    assert (boss.fields["isGlobalAdmin"], boss.fields["isAdmin"], boss.fields["password"]) == (
        "yes",
        "no",
        "Plain#Pass1",
    )
    assert "name" not in boss.fields


def test_modoboa_alias_on_a_mailbox_address_becomes_its_forwarding() -> None:
    notes: list[Problem] = []
    m = Mapper(load_profile("modoboa"), report=notes.append)
    one(
        m,
        positional(
            "account;bob@initech.example;{BLF-CRYPT}$2y$10$x;Bob;Porter;True;SimpleUsers;bob@initech.example;0", ";"
        ),
    )
    forward = one(m, positional("alias;bob@initech.example;True;bob@initech.example;bob@home.example", ";", line=2))
    assert (forward.kind, forward.fields) == (
        "user",
        {"email": "bob@initech.example", "forwarding": ["bob@initech.example", "bob@home.example"]},
    )
    assert forward.columns == {"email": "2", "forwarding": "4+"}
    # The same address in another file is not known to be a mailbox there.
    other = one(m, positional("alias;bob@initech.example;True;x@initech.example", ";", source="other.csv"))
    assert other.kind == "alias"
    assert m.map_row(positional("dlist;bob@initech.example;False;x@home.example", ";", line=3)) is None
    assert [(n.code, n.line) for n in notes] == [("FORWARD_DISABLED", 3)]


def test_map_rows_skips_what_map_row_skips() -> None:
    rows = [
        row({"email": "a@acme.example"}),
        row({"email": ""}),
        row({"email": "#note"}),
        row({"email": "b@acme.example"}),
    ]
    assert [r.fields["email"] for r in map_rows(rows, load_profile("default"))] == ["a@acme.example", "b@acme.example"]


# ----------------------------------------------------------------------------- value helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jørn Åse Müller", "Jorn Ase Muller"),
        ("Straße", "Strasse"),
        ("Æsir œuvre", "AEsir oeuvre"),
        ("Łódź", "Lodz"),
        ("Þór Ðan", "THor Dan"),
        ("北京", ""),
    ],
    ids=["nordic", "sharp-s", "ligatures", "polish", "icelandic", "no-ascii-spelling"],
)
def test_transliterate(text: str, expected: str) -> None:
    assert transliterate(text) == expected


@pytest.mark.parametrize(
    ("text", "space", "expected"),
    [
        ("Jørn Åse Müller", ".", "jorn.ase.muller"),
        ("Jørn Åse", "", "jornase"),
        ("  D'Arcy  Smith ", "_", "darcy_smith"),
        ("a . b", ".", "a.b"),
    ],
    ids=["dots", "removed", "apostrophe-underscore", "no-double-dot"],
)
def test_slugify(text: str, space: str, expected: str) -> None:
    assert slugify(text, space) == expected


def test_fill_template_reports_missing_names() -> None:
    assert fill_template("{a} {b}", {"a": "x"}, slug=None) == ("x", ["b"])
    assert fill_template("{a}@{b}", {"a": "Zoë Ann", "b": "x.example"}, slug=".") == ("zoe.ann@x.example", [])


def test_parse_proxies() -> None:
    assert parse_proxies("smtp:b@x.example+SMTP:a@x.example+X500:/o=Org;smtp:c@x.example") == (
        "a@x.example",
        ["b@x.example", "c@x.example"],
    )
    assert parse_proxies("b@x.example") == (None, ["b@x.example"])


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("10 MB", "bytes", 10485760),
        ("512", "KB", 524288),
        ("1,5 KB", "bytes", 1536),
        ("unlimited", "bytes", 0),
        ("1.1", "bytes", 2),
    ],
    ids=["mb", "kb-default", "decimal-comma", "unlimited", "rounded-up"],
)
def test_parse_bytes(text: str, unit: str, expected: int) -> None:
    assert parse_bytes(text, unit) == expected


def test_parse_bytes_refuses_what_is_no_size() -> None:
    with pytest.raises(ValueProblem) as caught:
        parse_bytes("ten megs")
    assert caught.value.code == "INVALID_SIZE"


def test_readme_documents_every_profile_key() -> None:
    from migrate import mapping_toml

    readme = (Path(__file__).resolve().parent.parent / "mappings" / "README.md").read_text(encoding="utf-8")
    keys = set().union(
        mapping_toml._TOP_KEYS,
        mapping_toml._READ_KEYS,
        mapping_toml._DETECT_KEYS,
        mapping_toml._TYPE_KEYS,
        mapping_toml._RULE_KEYS,
    )
    undocumented = sorted(k for k in keys if not any(form in readme for form in (f"`{k}`", f"[{k}]", f"[{k}.")))
    assert undocumented == []
