"""Password storage and verification of the sandbox (reference §9), unit and over HTTP."""

from __future__ import annotations

import base64
import hashlib

import bcrypt
import pytest
from sbhelpers import Api

from migrate.sandbox.crypt_algos import cram_md5_context, md4, md5_crypt, sha_crypt
from migrate.sandbox.passwords import STORE_SCHEMES, hash_password, is_accepted_hash, verify_password
from migrate.sandbox.policy import PasswordRules, check_password

# Published vectors: Drepper's SHA-crypt specification, RFC 1320 (MD4), the well-known NTLM of
# "password", and a CRAM-MD5 value printed by `doveadm pw` for "password".
CRYPT_VECTORS = [
    (b"Hello world!", "saltstring", 256, "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
    (b"Hello world!", "saltstring", 512,
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
    (b"Hello world!", "rounds=10000$saltstringsaltstring", 256,
     "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"),
    (b"Hello world!", "rounds=10000$saltstringsaltstring", 512,
     "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("password", "setting", "bits", "expected"), CRYPT_VECTORS, ids=["5", "6", "5-rounds", "6-rounds"]
)
def test_sha_crypt_vectors(password: bytes, setting: str, bits: int, expected: str) -> None:
    assert sha_crypt(password, setting, bits=bits) == expected


def test_md5_crypt_vector() -> None:
    # glibc crypt("Hello world!", "$1$saltstri") as printed by `openssl passwd -1 -salt saltstri`.
    assert md5_crypt(b"Hello world!", "saltstring") == "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"


@pytest.mark.parametrize(
    ("data", "digest"),
    [(b"", "31d6cfe0d16ae931b73c59d7e0c089c0"), (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
     (b"message digest", "d9130a8164549fe818874806e1c7014b"),
     ("password".encode("utf-16-le"), "8846f7eaee8fb117ad06bdd830b7586c")],
    ids=["empty", "abc", "message-digest", "ntlm-password"],
)  # fmt: skip
def test_md4_vectors(data: bytes, digest: str) -> None:
    assert md4(data).hex() == digest


def test_cram_md5_matches_doveadm() -> None:
    assert cram_md5_context(b"password") == "9186d855e11eba527a7a52ca82b313e180d62234f0acc9051b527243d41e2740"


@pytest.mark.parametrize("scheme", STORE_SCHEMES, ids=STORE_SCHEMES)
def test_every_store_scheme_round_trips(scheme: str) -> None:
    stored = hash_password("  Secr3t#pw  ", scheme)  # trimmed before hashing
    assert verify_password("Secr3t#pw", stored)
    assert not verify_password("Secr3t#pX", stored)
    assert not verify_password("", stored)


def test_stored_forms() -> None:
    ssha512 = hash_password("Secr3t#pw")
    raw = base64.b64decode(ssha512.removeprefix("{SSHA512}"))
    assert len(raw) == 64 + 8 and hashlib.sha512(b"Secr3t#pw" + raw[64:]).digest() == raw[:64]
    assert hash_password("Secr3t#pw", "PLAIN-MD5") == hashlib.md5(b"Secr3t#pw").hexdigest()  # bare hex
    assert hash_password("Secr3t#pw", "MD5").startswith("{CRYPT}$1$")
    assert hash_password("Secr3t#pw", "BCRYPT").startswith("{CRYPT}$2b$")
    assert hash_password("Secr3t#pw", "PLAIN") == "{PLAIN}Secr3t#pw"


@pytest.mark.parametrize(
    "stored",
    ["{PLAIN}pw#1", md5_crypt(b"pw#1", "abcdefgh"), "{MD5}" + md5_crypt(b"pw#1", "ab"),
     "{CRYPT}" + md5_crypt(b"pw#1", "ab"), "{SHA}" + base64.b64encode(hashlib.sha1(b"pw#1").digest()).decode(),
     "{PLAIN-MD5}" + hashlib.md5(b"pw#1").hexdigest(), hashlib.md5(b"pw#1").hexdigest(),
     "{SHA512-CRYPT}" + sha_crypt(b"pw#1", "xyz", bits=512), "{CRYPT}" + sha_crypt(b"pw#1", "xyz", bits=512),
     "{CRYPT}" + bcrypt.hashpw(b"pw#1", bcrypt.gensalt(4)).decode(),
     "{BLF-CRYPT}" + bcrypt.hashpw(b"pw#1", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$"),
     "{NTLM}" + md4("pw#1".encode("utf-16-le")).hex().upper(), "{CRAM-MD5}" + cram_md5_context(b"pw#1")],
    ids=["plain", "bare-md5-crypt", "md5-prefix", "crypt-md5", "sha", "plain-md5", "bare-hex", "sha512-crypt",
         "crypt-sha512", "crypt-bcrypt", "blf-crypt-2y", "ntlm", "cram-md5"],
)  # fmt: skip
def test_verifies_every_scheme_the_server_checks(stored: str) -> None:
    assert verify_password("pw#1", stored)
    assert not verify_password("pw#2", stored)


def test_bare_plain_text_does_not_verify_and_pass_the_hash_is_opt_in() -> None:
    assert not verify_password("plaintext", "plaintext")
    assert verify_password("plaintext", "plaintext", pass_the_hash=True)
    stored = hash_password("Secr3t#pw")
    assert not verify_password(stored, stored)
    assert verify_password(stored, stored, pass_the_hash=True)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("{ssha512}abc", True), ("{CRYPT}$6$x$y", True), ("{BCRYPT}$2b$x", True), ("{NTLM}00", True),
     ("{BLF-CRYPT}$2y$x", False), ("$1$x$y", False), ("$2b$12$x", False), ("0123456789abcdef0123456789abcdef", False),
     ("{SSHA256}x", False)],
    ids=["lowercase-prefix", "crypt", "bcrypt", "ntlm", "blf-crypt", "bare-md5", "bare-bcrypt", "bare-hex", "ssha256"],
)  # fmt: skip
def test_accepted_hash_prefixes(value: str, accepted: bool) -> None:
    assert is_accepted_hash(value) is accepted


def test_policy_rules() -> None:
    assert check_password("Good#Pass1") is None
    assert check_password("   ") == "PW_EMPTY"
    assert check_password("Go#1", PasswordRules(min_length=4)) is None
    assert check_password("nouppercase", PasswordRules(need_upper=False, need_digit=False, need_special=False)) is None
    assert check_password("Has^Caret1") == "PW_NO_SPECIAL_CHAR"  # ^ is no longer special


@pytest.mark.parametrize(
    ("stored", "password"),
    [("{SSHA}" + base64.b64encode(hashlib.sha1(b"Imp0rt#ed" + b"salt").digest() + b"salt").decode(), "Imp0rt#ed"),
     ("{CRYPT}" + md5_crypt(b"Imp0rt#ed", "saltsalt"), "Imp0rt#ed"),
     ("{SHA512-CRYPT}" + sha_crypt(b"Imp0rt#ed", "saltsalt", bits=512), "Imp0rt#ed"),
     ("{CRYPT}" + bcrypt.hashpw(b"Imp0rt#ed", bcrypt.gensalt(4)).decode(), "Imp0rt#ed"),
     ("{PLAIN}Imp0rt#ed", "Imp0rt#ed")],
    ids=["ssha", "md5-crypt", "sha512-crypt", "bcrypt", "plain"],
)  # fmt: skip
def test_password_hash_user_logs_in(admin: Api, anon: Api, domain: str, stored: str, password: str) -> None:
    assert admin.post(f"/user/h@{domain}", data={"password_hash": f"  {stored} "}) == {"_success": True}
    assert admin.post(f"/verify_password/user/h@{domain}", data={"password": password}) == {"_success": True}
    admin.ok("PUT", f"/domain/admins/{domain}", data={"addAdmin": f"h@{domain}"})
    assert anon.login(f"h@{domain}", password) == {"_success": True}
