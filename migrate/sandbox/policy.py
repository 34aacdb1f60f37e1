"""The server's password policy and its ``PW_*`` codes (reference §9.5)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SPECIAL_CHARACTERS", "PasswordRules", "check_password"]

#: Current OSS set (``^`` and ``\\`` were dropped because of iOS keyboards).
SPECIAL_CHARACTERS = frozenset("#$%&*+-,.:;!=<>'\"?@[]/(){}_`~")


@dataclass(frozen=True)
class PasswordRules:
    """The effective policy for one password.

    Attributes:
        min_length: ``min_passwd_length`` (8 unless the domain or settings override it).
        max_length: ``max_passwd_length``; 0 means no maximum.
        need_letter, need_upper, need_digit, need_special: The ``PASSWORD_HAS_*`` switches.
    """

    min_length: int = 8
    max_length: int = 0
    need_letter: bool = True
    need_upper: bool = True
    need_digit: bool = True
    need_special: bool = True


def check_password(password: str, rules: PasswordRules | None = None) -> str | None:
    """Return the ``_msg`` for a password that breaks the policy, or ``None`` when it passes.

    ``PW_EMPTY`` comes alone; every other failure is collected and joined with commas, as the
    server does (``"PW_NO_UPPERCASE,PW_NO_SPECIAL_CHAR"``).
    """
    rules = rules or PasswordRules()
    pw = password.strip()
    if not pw:
        return "PW_EMPTY"
    codes: list[str] = []
    if not pw.isascii():
        codes.append("PW_NON_ASCII")
    if len(pw) < rules.min_length:
        codes.append("PW_SHORTER_THAN_MIN_LENGTH")
    if rules.max_length > 0 and len(pw) > rules.max_length:
        codes.append("PW_GREATER_THAN_MAX_LENGTH")
    if rules.need_letter and not any(c.isascii() and c.isalpha() for c in pw):
        codes.append("PW_NO_LETTER")
    if rules.need_upper and not any("A" <= c <= "Z" for c in pw):
        codes.append("PW_NO_UPPERCASE")
    if rules.need_digit and not any("0" <= c <= "9" for c in pw):
        codes.append("PW_NO_DIGIT_NUMBER")
    if rules.need_special and not any(c in SPECIAL_CHARACTERS for c in pw):
        codes.append("PW_NO_SPECIAL_CHAR")
    return ",".join(codes) or None
