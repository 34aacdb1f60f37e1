"""Password hashing and verification as iRedAdmin-Pro stores and checks them (reference §9).

Storage forms follow §9.4 (``PLAIN-MD5`` is stored as bare hex, the others carry a ``{SCHEME}``
prefix); verification follows §9.3, including the bare salted MD5 and bare hex forms the server
itself writes. A bare plain-text value does not verify (the 2026 OSS fix); the pass-the-hash
quirk of Pro 5.5 is opt-in.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
import secrets

import bcrypt

from migrate.sandbox.crypt_algos import cram_md5_context, md4, md5_crypt, sha_crypt

__all__ = [
    "ACCEPTED_HASH_SCHEMES",
    "DEFAULT_SCHEME",
    "STORE_SCHEMES",
    "hash_password",
    "is_accepted_hash",
    "verify_password",
]

#: The scheme a plain password is hashed with (Linux SQL installs).
DEFAULT_SCHEME = "SSHA512"

#: ``{SCHEME}`` prefixes ``password_hash`` may carry on ``POST /api/user`` (case-insensitive, §9.2).
ACCEPTED_HASH_SCHEMES: frozenset[str] = frozenset(
    {"PLAIN", "CRYPT", "MD5", "PLAIN-MD5", "SHA", "SSHA", "SHA512", "SSHA512", "SHA512-CRYPT", "BCRYPT",
     "CRAM-MD5", "NTLM"}
)  # fmt: skip

#: Schemes :func:`hash_password` can produce.
STORE_SCHEMES: tuple[str, ...] = (
    "SSHA512", "SSHA", "SHA512", "SHA", "PLAIN", "PLAIN-MD5", "MD5", "SHA512-CRYPT", "SHA256-CRYPT",
    "BCRYPT", "CRAM-MD5", "NTLM",
)  # fmt: skip

_SCHEME_RE = re.compile(r"^\{([A-Za-z0-9._-]+)\}(.*)$", re.DOTALL)
_HEX32_RE = re.compile(r"^[0-9a-fA-F]{32}$")
_CRYPT_SALT = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGESTS = {"SHA": "sha1", "SHA256": "sha256", "SHA512": "sha512", "MD5": "md5"}
_SALTED = {"SSHA": "sha1", "SSHA256": "sha256", "SSHA512": "sha512", "SMD5": "md5"}
# The same algorithms' constructors: hashlib.new() looks the name up on every call (0.5 us of
# the 1.4 us a user's hash took).
_SALTED_NEW = {scheme: getattr(hashlib, algo) for scheme, algo in _SALTED.items()}


def _crypt_salt(length: int) -> str:
    return "".join(secrets.choice(_CRYPT_SALT) for _ in range(length))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, scheme: str = DEFAULT_SCHEME) -> str:
    """Hash a plain password the way the server stores it (after trimming).

    Args:
        password: The plain password.
        scheme: One of :data:`STORE_SCHEMES`.

    Raises:
        ValueError: For an unknown scheme.
    """
    pw = password.strip().encode("utf-8")
    scheme = scheme.upper()
    if scheme in _SALTED:
        salt = os.urandom(8)
        return f"{{{scheme}}}" + _b64(_SALTED_NEW[scheme](pw + salt).digest() + salt)
    if scheme in ("SHA", "SHA512"):
        return f"{{{scheme}}}" + _b64(hashlib.new(_DIGESTS[scheme], pw).digest())
    if scheme == "PLAIN":
        return "{PLAIN}" + password.strip()
    if scheme == "PLAIN-MD5":
        return hashlib.md5(pw).hexdigest()  # stored bare, as iRedAdmin does
    if scheme == "MD5":
        return "{CRYPT}" + md5_crypt(pw, _crypt_salt(8))
    if scheme in ("SHA512-CRYPT", "SHA256-CRYPT"):
        return f"{{{scheme}}}" + sha_crypt(pw, _crypt_salt(16), bits=512 if scheme.startswith("SHA512") else 256)
    if scheme == "BCRYPT":
        return "{CRYPT}" + bcrypt.hashpw(pw, bcrypt.gensalt()).decode("ascii")
    if scheme == "CRAM-MD5":
        return "{CRAM-MD5}" + cram_md5_context(pw)
    if scheme == "NTLM":
        return "{NTLM}" + md4(password.strip().encode("utf-16-le")).hex()
    raise ValueError(f"unknown password scheme {scheme!r}")


def is_accepted_hash(value: str) -> bool:
    """Tell whether ``password_hash`` carries a scheme prefix the server accepts on create."""
    match = _SCHEME_RE.match(value.strip())
    return bool(match) and match is not None and match.group(1).upper() in ACCEPTED_HASH_SCHEMES


def _digest_matches(pw: bytes, body: str, algo: str, salted: bool) -> bool:
    size = hashlib.new(algo).digest_size
    text = body.strip()
    candidates: list[bytes] = []
    if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) % 2 == 0:
        candidates.append(bytes.fromhex(text))
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(text, validate=True))
    for raw in candidates:
        if salted and len(raw) > size:
            digest, salt = raw[:size], raw[size:]
            if hmac.compare_digest(hashlib.new(algo, pw + salt).digest(), digest):
                return True
        elif not salted and len(raw) == size and hmac.compare_digest(hashlib.new(algo, pw).digest(), raw):
            return True
    return False


def _crypt_matches(pw: bytes, value: str) -> bool:
    try:
        if value.startswith("$1$"):
            computed = md5_crypt(pw, value[3:].split("$", 1)[0])
        elif value.startswith(("$5$", "$6$")):
            computed = sha_crypt(pw, value[3:], bits=256 if value[1] == "5" else 512)
        elif value.startswith(("$2a$", "$2b$", "$2y$")):
            return bcrypt.checkpw(pw, value.encode("ascii"))
        else:
            return False
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(computed.encode("ascii"), value.encode("ascii", "replace"))


def _verify_scheme(plain: str, scheme: str, body: str) -> bool:
    pw = plain.encode("utf-8")
    if scheme == "PLAIN":
        return hmac.compare_digest(pw, body.encode("utf-8"))
    if scheme in ("CRYPT", "MD5", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT", "BCRYPT"):
        return _crypt_matches(pw, body)
    if scheme == "PLAIN-MD5":
        return _digest_matches(pw, body, "md5", salted=False)
    if scheme in _DIGESTS:
        return _digest_matches(pw, body, _DIGESTS[scheme], salted=False)
    if scheme in _SALTED:
        return _digest_matches(pw, body, _SALTED[scheme], salted=True)
    if scheme == "CRAM-MD5":
        return hmac.compare_digest(cram_md5_context(pw), body.strip().lower())
    if scheme == "NTLM":
        return hmac.compare_digest(md4(plain.encode("utf-16-le")).hex(), body.strip().lower())
    return False


def verify_password(plain: str, stored: str | None, *, pass_the_hash: bool = False) -> bool:
    """Check a plain password against a stored value.

    Args:
        plain: What the client submitted.
        stored: The stored hash (any form the server writes or accepts).
        pass_the_hash: Reproduce the Pro 5.5 bug where the stored string itself verifies.
    """
    if not stored or not plain:
        return False
    if pass_the_hash and hmac.compare_digest(plain.encode("utf-8"), stored.encode("utf-8")):
        return True
    match = _SCHEME_RE.match(stored)
    if match:
        return _verify_scheme(plain, match.group(1).upper(), match.group(2))
    if stored.startswith("$1$"):
        return _crypt_matches(plain.encode("utf-8"), stored)
    if _HEX32_RE.match(stored):
        return hmac.compare_digest(hashlib.md5(plain.encode("utf-8")).hexdigest(), stored.lower())
    return False
