"""Password checks done before any call: the server's default policy and hash normalization.

A plain password is checked against iRedAdmin's default policy so a row that the server would
refuse with ``PW_*`` codes is reported with the same codes before anything is sent. A password
hash is rewritten to a ``{SCHEME}`` prefix that ``POST /api/user`` accepts (reference §9.2), or
refused: an unsupported hash is never sent as is. Nothing here ever puts a password or a hash into
an error message.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from migrate.normalize import ValueProblem

__all__ = [
    "ACCEPTED_SCHEMES",
    "SPECIAL_CHARACTERS",
    "PasswordPolicy",
    "check_password",
    "normalize_hash",
]

#: ``{SCHEME}`` prefixes ``POST /api/user`` accepts in ``password_hash`` (reference §9.2).
ACCEPTED_SCHEMES: frozenset[str] = frozenset(
    {"PLAIN", "CRYPT", "MD5", "PLAIN-MD5", "SHA", "SSHA", "SHA512", "SSHA512", "SHA512-CRYPT",
     "BCRYPT", "CRAM-MD5", "NTLM"}
)  # fmt: skip

#: iRedAdmin's current ``PASSWORD_SPECIAL_CHARACTERS`` (reference §9.5).
SPECIAL_CHARACTERS: frozenset[str] = frozenset("#$%&*+-,.:;!=<>'\"?@[]/(){}_`~")


_LETTER = re.compile("[A-Za-z]").search
_UPPER = re.compile("[A-Z]").search
_DIGIT = re.compile("[0-9]").search
_SPECIAL = re.compile("[" + re.escape("".join(sorted(SPECIAL_CHARACTERS))) + "]").search


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """The password rules of a domain; defaults are iRedAdmin's.

    Attributes:
        min_length: ``min_passwd_length`` (default 8).
        max_length: ``max_passwd_length``; 0 means no maximum.
        has_letter: ``PASSWORD_HAS_LETTER``.
        has_uppercase: ``PASSWORD_HAS_UPPERCASE``.
        has_number: ``PASSWORD_HAS_NUMBER``.
        has_special: ``PASSWORD_HAS_SPECIAL_CHAR``.
    """

    min_length: int = 8
    max_length: int = 0
    has_letter: bool = True
    has_uppercase: bool = True
    has_number: bool = True
    has_special: bool = True


def check_password(password: str, policy: PasswordPolicy = PasswordPolicy()) -> list[str]:
    """Return the ``PW_*`` codes the server would answer for ``password`` (empty when it passes).

    ``PW_EMPTY`` comes alone, as on the server; the others are all reported together.
    """
    password = password.strip()  # the server trims before checking and hashing
    if not password:
        return ["PW_EMPTY"]
    codes: list[str] = []
    if not password.isascii():
        codes.append("PW_NON_ASCII")
    if len(password) < policy.min_length:
        codes.append("PW_SHORTER_THAN_MIN_LENGTH")
    if policy.max_length and len(password) > policy.max_length:
        codes.append("PW_GREATER_THAN_MAX_LENGTH")
    if policy.has_letter and not _LETTER(password):
        codes.append("PW_NO_LETTER")
    if policy.has_uppercase and not _UPPER(password):
        codes.append("PW_NO_UPPERCASE")
    if policy.has_number and not _DIGIT(password):
        codes.append("PW_NO_DIGIT_NUMBER")
    if policy.has_special and not _SPECIAL(password):
        codes.append("PW_NO_SPECIAL_CHAR")
    return codes


_SCHEME = re.compile(r"\{([A-Za-z0-9.\-]+)\}(.*)\Z", re.DOTALL)
_HEX = re.compile(r"[0-9a-fA-F]+\Z")
_CRYPT = re.compile(r"\$(1|2[abxy]|5|6)\$")
# Scheme aliases that name a crypt(3) hash the server verifies as {CRYPT} (reference §9.2, §9.3).
_CRYPT_ALIASES = {"BLF-CRYPT", "MD5-CRYPT", "SHA256-CRYPT"}
# Unsalted digests whose base64 payload has a fixed length, and salted ones with a minimum.
_DIGEST_BYTES = {"SHA": (20, False), "SSHA": (20, True), "SHA512": (64, False), "SSHA512": (64, True)}
_FUNCTIONS = {
    "md5": "MD5", "plain-md5": "MD5", "sha1": "SHA-1", "sha-1": "SHA-1", "sha": "SHA-1",
    "crypt": "crypt", "bcrypt": "crypt", "sha512-crypt": "crypt", "md5-crypt": "crypt",
}  # fmt: skip

_UNSUPPORTED_HINT = (
    "give a hash with a {SCHEME} prefix the API accepts ({SSHA512}, {SSHA}, {CRYPT}$6$..., "
    "{CRYPT}$2y$..., {PLAIN-MD5}, {SHA}...), or a plain password instead"
)


def _unsupported(message: str) -> ValueProblem:
    return ValueProblem("UNSUPPORTED_PASSWORD_HASH", message, _UNSUPPORTED_HINT)


def _check_digest(scheme: str, payload: str) -> None:
    size, salted = _DIGEST_BYTES[scheme]
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _unsupported(f"the {{{scheme}}} hash is not valid base64") from None
    if (salted and len(raw) <= size) or (not salted and len(raw) != size):
        raise _unsupported(f"the {{{scheme}}} hash has the wrong length for that scheme")


def _from_function(value: str, function: str) -> str:
    name = _FUNCTIONS.get(function.strip().lower())
    if name is None:
        raise ValueProblem(
            "UNSUPPORTED_PASSWORD_HASH",
            f"hash function {function!r} is not one iRedMail can verify",
            "use MD5, SHA-1 or crypt hashes, or plain passwords",
        )
    if name == "MD5":
        if len(value) != 32 or not _HEX.match(value):
            raise _unsupported("an MD5 hash must be 32 hex digits")
        return "{PLAIN-MD5}" + value.lower()
    if name == "SHA-1":
        if len(value) == 40 and _HEX.match(value):
            return "{SHA}" + base64.b64encode(bytes.fromhex(value)).decode("ascii")
        try:
            if len(base64.b64decode(value, validate=True)) == 20:
                return "{SHA}" + value
        except (binascii.Error, ValueError):
            pass
        raise _unsupported("a SHA-1 hash must be 40 hex digits (or 20 bytes in base64)")
    return normalize_hash(value)


def normalize_hash(value: str, function: str | None = None) -> str:
    """Rewrite a password hash to a ``{SCHEME}`` form that ``POST /api/user`` accepts.

    Args:
        value: The hash as found in the source (``{BLF-CRYPT}$2y$...``, ``$6$...``, hex...).
        function: The hash function named next to it (Google Workspace's "Password Hash
            Function" column: ``MD5``, ``SHA-1``, ``crypt``), needed for bare hex digests.

    Returns:
        The hash with an accepted, upper-case scheme prefix.

    Raises:
        ValueProblem: ``UNSUPPORTED_PASSWORD_HASH`` when the hash cannot be sent as is and cannot
            be rewritten; the message never contains the hash itself.
    """
    value = value.strip()
    if not value:
        raise _unsupported("the password hash is empty")
    if function and function.strip():
        return _from_function(value, function)
    match = _SCHEME.match(value)
    if match is None:
        if _CRYPT.match(value):
            return "{CRYPT}" + value
        if _HEX.match(value) and len(value) in (32, 40):
            raise ValueProblem(
                "AMBIGUOUS_PASSWORD_HASH",
                f"a bare {len(value)}-digit hex hash could be several functions",
                "name the hash function (MD5 or SHA-1) in the profile or a hash function column",
            )
        raise _unsupported("the password hash has no {SCHEME} prefix and is not a crypt(3) hash")
    scheme, payload = match.group(1).upper(), match.group(2)
    if scheme in _CRYPT_ALIASES:
        if not _CRYPT.match(payload):
            raise _unsupported(f"the {{{scheme}}} hash is not a crypt(3) string")
        return "{CRYPT}" + payload
    if scheme not in ACCEPTED_SCHEMES:
        raise _unsupported(f"the {{{scheme}}} scheme is not accepted by iRedAdmin-Pro")
    if scheme in _DIGEST_BYTES:
        _check_digest(scheme, payload)
    elif scheme == "PLAIN-MD5" and not (len(payload) == 32 and _HEX.match(payload)):
        raise _unsupported("a {PLAIN-MD5} hash must be 32 hex digits")
    elif scheme in {"CRYPT", "SHA512-CRYPT", "BCRYPT"} and not _CRYPT.match(payload):
        raise _unsupported(f"the {{{scheme}}} hash is not a crypt(3) string")
    elif scheme == "PLAIN" and not payload:
        raise _unsupported("the {PLAIN} password is empty")
    return "{" + scheme + "}" + payload
