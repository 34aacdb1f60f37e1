import base64
import hashlib

import pytest

from migrate.normalize import ValueProblem
from migrate.passwords import PasswordPolicy, check_password, normalize_hash


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Str0ng#Pass", []),
        ("", ["PW_EMPTY"]),
        ("   ", ["PW_EMPTY"]),
        ("short1A#", []),
        ("Sh0rt#", ["PW_SHORTER_THAN_MIN_LENGTH"]),
        ("alllowercase1#", ["PW_NO_UPPERCASE"]),
        ("NoDigitsHere#", ["PW_NO_DIGIT_NUMBER"]),
        ("NoSpecial123", ["PW_NO_SPECIAL_CHAR"]),
        ("12345678#", ["PW_NO_LETTER", "PW_NO_UPPERCASE"]),
        ("Pässwort12#", ["PW_NON_ASCII"]),
        ("weak", ["PW_SHORTER_THAN_MIN_LENGTH", "PW_NO_UPPERCASE", "PW_NO_DIGIT_NUMBER", "PW_NO_SPECIAL_CHAR"]),
        ("Caret^Only12", ["PW_NO_SPECIAL_CHAR"]),  # ^ was removed from the special set
    ],
)
def test_check_password_reports_server_codes(password: str, codes: list[str]) -> None:
    assert check_password(password) == codes


def test_domain_policy_lengths() -> None:
    policy = PasswordPolicy(min_length=12, max_length=14)
    assert check_password("Sh0rt#Pass1", policy) == ["PW_SHORTER_THAN_MIN_LENGTH"]
    assert check_password("Much#Too#Long#Pass1", policy) == ["PW_GREATER_THAN_MAX_LENGTH"]


SHA1_HEX = hashlib.sha1(b"secret").hexdigest()
MD5_HEX = hashlib.md5(b"secret").hexdigest()
SSHA512 = "{SSHA512}" + base64.b64encode(hashlib.sha512(b"pwsalt123").digest() + b"salt1234").decode()
BCRYPT = "$2y$10$" + "a" * 53


@pytest.mark.parametrize(
    ("value", "function", "expected"),
    [
        ("{BLF-CRYPT}" + BCRYPT, None, "{CRYPT}" + BCRYPT),
        (BCRYPT, None, "{CRYPT}" + BCRYPT),
        ("$2b$12$" + "b" * 53, None, "{CRYPT}$2b$12$" + "b" * 53),
        ("$1$salt$hash", None, "{CRYPT}$1$salt$hash"),
        ("$5$salt$hash", None, "{CRYPT}$5$salt$hash"),
        ("$6$salt$hash", None, "{CRYPT}$6$salt$hash"),
        ("{SHA512-CRYPT}$6$salt$hash", None, "{SHA512-CRYPT}$6$salt$hash"),
        ("{sha512-crypt}$6$salt$hash", None, "{SHA512-CRYPT}$6$salt$hash"),
        (SSHA512, None, SSHA512),
        (MD5_HEX, "MD5", "{PLAIN-MD5}" + MD5_HEX),
        (MD5_HEX.upper(), "md5", "{PLAIN-MD5}" + MD5_HEX),
        (SHA1_HEX, "SHA-1", "{SHA}" + base64.b64encode(bytes.fromhex(SHA1_HEX)).decode()),
        ("$6$salt$hash", "crypt", "{CRYPT}$6$salt$hash"),
        ("{PLAIN}Secret#1", None, "{PLAIN}Secret#1"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_normalize_hash(value: str, function: str | None, expected: str) -> None:
    assert normalize_hash(value, function) == expected


@pytest.mark.parametrize(
    ("value", "function", "code"),
    [
        ("{SHA256}abc", None, "UNSUPPORTED_PASSWORD_HASH"),
        ("{ARGON2ID}$argon2id$v=19$x", None, "UNSUPPORTED_PASSWORD_HASH"),
        ("{SSHA512}not*base64", None, "UNSUPPORTED_PASSWORD_HASH"),
        ("{SHA}" + base64.b64encode(b"short").decode(), None, "UNSUPPORTED_PASSWORD_HASH"),
        (MD5_HEX, None, "AMBIGUOUS_PASSWORD_HASH"),
        ("plaintextpassword", None, "UNSUPPORTED_PASSWORD_HASH"),
        ("abc", "MD5", "UNSUPPORTED_PASSWORD_HASH"),
        (SHA1_HEX, "whirlpool", "UNSUPPORTED_PASSWORD_HASH"),
        ("{BLF-CRYPT}nope", None, "UNSUPPORTED_PASSWORD_HASH"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_normalize_hash_refuses_what_the_api_would_not_take(value: str, function: str | None, code: str) -> None:
    with pytest.raises(ValueProblem) as info:
        normalize_hash(value, function)
    assert info.value.code == code
    # The hash itself never appears in what we tell the user.
    assert value not in info.value.message and value not in info.value.hint
