import pytest

from migrate.normalize import (
    ValueProblem,
    is_valid_domain,
    is_valid_member_address,
    is_valid_new_address,
    normalize_header,
    parse_bool,
    parse_int,
    parse_language,
    parse_size,
    parse_status,
    split_multi,
)


@pytest.mark.parametrize(
    ("text", "unit", "mb"),
    [
        ("2 GB", "MB", 2048),
        ("500MB", "MB", 500),
        ("1,5 GB", "MB", 1536),
        ("1.5G", "MB", 1536),
        ("1.5E+3", "MB", 1500),
        ("unlimited", "MB", 0),
        ("0", "MB", 0),
        ("1024", "MB", 1024),
        ("1073741824", "bytes", 1024),
        ("1073741825", "bytes", 1025),  # never smaller than asked
        ("1,024 MB", "MB", 1024),
        ("2 TiB", "MB", 2 * 1024 * 1024),
        ("512 KB", "MB", 1),
    ],
    ids=lambda v: str(v),
)
def test_parse_size(text: str, unit: str, mb: int) -> None:
    assert parse_size(text, unit) == mb


@pytest.mark.parametrize("text", ["2,5 GiBs", "lots", "GB", "1..5 GB", "-5"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_size(text)
    assert info.value.code == "INVALID_QUOTA"
    assert "GB" in info.value.hint


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Active", "active"),
        ("enabled", "active"),
        ("yes", "active"),
        ("TRUE", "active"),
        ("1", "active"),
        ("Disabled", "disabled"),
        ("no", "disabled"),
        ("0", "disabled"),
        ("inactive", "disabled"),
        (" Suspended ", "disabled"),
    ],
)
def test_parse_status(text: str, status: str) -> None:
    assert parse_status(text) == status


def test_parse_status_rejects_unknown_word() -> None:
    with pytest.raises(ValueProblem) as info:
        parse_status("maybe")
    assert info.value.code == "INVALID_STATUS"


@pytest.mark.parametrize(
    ("text", "code"), [("en-US", "en_US"), ("en_us", "en_US"), ("PT-br", "pt_BR"), ("de", "de_DE"), ("fr_fr", "fr_FR")]
)
def test_parse_language(text: str, code: str) -> None:
    assert parse_language(text) == code


@pytest.mark.parametrize("text", ["zh", "klingon", "en_GB"])
def test_parse_language_rejects_what_iredadmin_lacks(text: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_language(text)
    assert info.value.code == "INVALID_LANGUAGE"


@pytest.mark.parametrize(
    ("address", "new", "member"),
    [
        ("john.smith@example.com", True, True),
        ("a+tag@example.com", False, True),
        ("a/b@example.com", False, True),
        ("#team@example.com", True, True),
        (".john@example.com", False, False),
        ("jörn@example.com", False, False),
        ("john@localhost", False, False),
        ("john@example.c", False, False),
        ("a@b@example.com", False, False),
        ("john@exa mple.com", False, False),
    ],
)
def test_address_rules(address: str, new: bool, member: bool) -> None:
    assert is_valid_new_address(address) is new
    assert is_valid_member_address(address) is member


def test_domain_rule_final_label_length() -> None:
    assert is_valid_domain("example." + "a" * 25)
    assert not is_valid_domain("example." + "a" * 26)


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("a@x.com, b@x.com", ["a@x.com", "b@x.com"]),
        ("a@x.com;b@x.com\nc@x.com", ["a@x.com", "b@x.com", "c@x.com"]),
        ("SMTP:a@x.com+smtp:b@x.com+SIP:a@x.com", ["a@x.com", "b@x.com"]),
        ("a+tag@x.com", ["a+tag@x.com"]),
        (" , ;", []),
    ],
)
def test_split_multi(text: str, items: list[str]) -> None:
    assert split_multi(text) == items


def test_normalize_header_ignores_case_accents_and_punctuation() -> None:
    assert normalize_header("Nom d'Utilisateur") == normalize_header("nom_dutilisateur") == "nomdutilisateur"
    assert normalize_header("E-mail Address [Required]") == "emailaddressrequired"


def test_parse_int_and_bool() -> None:
    assert parse_int("12.0") == 12
    with pytest.raises(ValueProblem):
        parse_int("12.5")
    assert parse_bool("Yes") is True
    assert parse_bool("off") is False
