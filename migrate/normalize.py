"""Value normalization shared by mapping and the model: addresses, sizes, statuses, languages.

Each parser takes the text an admin wrote and returns the one canonical value the API uses, or
raises :class:`ValueProblem` with a code and a hint. They do no I/O and know nothing of rows; the
caller attaches the location.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

__all__ = [
    "LANGUAGES",
    "MEMBER_ADDRESS",
    "ValueProblem",
    "is_valid_domain",
    "is_valid_member_address",
    "is_valid_new_address",
    "normalize_header",
    "parse_bool",
    "parse_int",
    "parse_language",
    "parse_size",
    "parse_status",
    "split_multi",
]


class ValueProblem(ValueError):
    """A value that cannot be normalized.

    Args:
        code: Machine readable code, e.g. ``INVALID_QUOTA``.
        message: What is wrong with the value.
        hint: How to write it instead.
    """

    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


# iRedAdmin's installed translations (reference §8.2).
LANGUAGES: frozenset[str] = frozenset(
    {
        "bg_BG", "cs_CZ", "da_DK", "de_DE", "en_US", "es_ES", "fi_FI", "fr_FR", "hu_HU", "it_IT", "ja_JP",
        "ko_KR", "lv_LV", "nl_NL", "pl_PL", "pt_BR", "ro_RO", "ru_RU", "sl_SI", "sv_SE", "zh_CN", "zh_TW",
    }
)  # fmt: skip
_LANG_BY_FOLDED = {code.lower(): code for code in LANGUAGES}
# A bare language code maps to a locale only when iRedAdmin has exactly one for it ("zh" does not).
_LANG_BY_PREFIX: dict[str, str] = {}
for _code in sorted(LANGUAGES):
    _prefix = _code[:2].lower()
    _LANG_BY_PREFIX[_prefix] = "" if _prefix in _LANG_BY_PREFIX else _code

_DOMAIN = re.compile(r"(?:[a-z0-9_\-]+\.)+[a-z0-9\-]{2,25}\Z")
_DOMAIN_FORBIDDEN = set("~!#$%^&*()+\\/ ")


def is_valid_domain(domain: str) -> bool:
    """Tell whether ``domain`` (already lower-cased) passes iRedAdmin's domain syntax check."""
    if not domain.isascii() or "." not in domain or _DOMAIN_FORBIDDEN & set(domain):
        return False
    return _DOMAIN.match(domain) is not None


# Pro 5.5's rule for addresses of new accounts (reference §8.2): no '+' and no '/'; members and
# forwardings follow the general rule, which also admits '+', '=', '/', '&', '#'. Each rule is one
# pattern: its character classes are ASCII and exclude the forbidden domain characters, so one
# match does the whole check (this runs once per row).
_NEW_ADDRESS = re.compile(r"[a-z0-9_\-#][a-z0-9_\-#.=&]*@(?:[a-z0-9_\-]+\.)+[a-z0-9\-]{2,25}\Z")
MEMBER_ADDRESS = _MEMBER_ADDRESS = re.compile(
    r"[a-z0-9_\-#+=/&][a-z0-9_\-#+=/&.]*@(?:[a-z0-9_\-]+\.)+[a-z0-9\-]{2,25}\Z"
)


def is_valid_new_address(address: str) -> bool:
    """Tell whether a lower-cased address may name a new account (user, alias, list, admin)."""
    return _NEW_ADDRESS.match(address) is not None


def is_valid_member_address(address: str) -> bool:
    """Tell whether a lower-cased address is acceptable as a member or forwarding target."""
    return _MEMBER_ADDRESS.match(address) is not None


def normalize_header(text: str) -> str:
    """Fold a column header for synonym matching: no case, accents, spaces or punctuation.

    ``"Nom d'utilisateur"``, ``"nom_dutilisateur"`` and ``"NOM D UTILISATEUR"`` all give
    ``"nomdutilisateur"``.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() and ch.isascii())


_SPLIT = re.compile(r"[,;\n\r]+")


def split_multi(text: str) -> list[str]:
    """Split a multi-valued cell on commas, semicolons and newlines, dropping empty items.

    Microsoft 365 proxy addresses (``SMTP:a@x.com+smtp:b@x.com``) are split on ``+`` before a
    ``smtp:`` prefix and the prefix removed; other ``+`` signs (address extensions) are kept.
    """
    if ":" not in text:  # the common case: no proxy addresses
        return [item for item in (chunk.strip() for chunk in _SPLIT.split(text)) if item]
    items: list[str] = []
    for chunk in _SPLIT.split(text):
        chunk = chunk.strip()
        if not chunk:
            continue
        if re.match(r"(?i)(x500|sip|smtp|spo|eum|x400):", chunk):
            for proxy in re.split(r"\+(?=(?i:x500|sip|smtp|spo|eum|x400):)", chunk):
                kind, _, value = proxy.partition(":")
                # Only SMTP proxy addresses are mail addresses; SIP/X500 ones are not ours to keep.
                if kind.lower() == "smtp" and value.strip():
                    items.append(value.strip())
        else:
            items.append(chunk)
    return items


_ACTIVE = {"active", "enable", "enabled", "yes", "y", "true", "t", "1", "on", "ok", "normal"}
_DISABLED = {
    "disabled", "disable", "inactive", "no", "n", "false", "f", "0", "off",
    "blocked", "suspended", "locked", "deactivated",
}  # fmt: skip


def parse_status(text: str) -> str:
    """Map the spellings people use for an account status to ``active`` or ``disabled``."""
    if text == "active" or text == "disabled":
        return text
    folded = text.strip().casefold()
    if folded in _ACTIVE:
        return "active"
    if folded in _DISABLED:
        return "disabled"
    raise ValueProblem(
        "INVALID_STATUS",
        f"{text!r} is not an account status",
        "write active or disabled (yes/no, true/false, 1/0 are understood too)",
    )


def parse_bool(text: str) -> bool:
    """Parse yes/no style flags (``yes``, ``true``, ``1``, ``no``...)."""
    folded = text.strip().casefold()
    if folded in {"yes", "y", "true", "t", "1", "on"}:
        return True
    if folded in {"no", "n", "false", "f", "0", "off", ""}:
        return False
    raise ValueProblem("INVALID_BOOLEAN", f"{text!r} is not yes or no", "write yes or no")


def parse_int(text: str, *, minimum: int | None = None) -> int:
    """Parse an integer, accepting Excel's ``12.0`` but not ``12.5``."""
    raw = text.strip()
    try:
        value = Fraction(raw.replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        raise ValueProblem("INVALID_NUMBER", f"{text!r} is not a whole number", "write digits only, e.g. 100") from None
    if value.denominator != 1:
        raise ValueProblem("INVALID_NUMBER", f"{text!r} is not a whole number", "write digits only, e.g. 100")
    result = int(value)
    if minimum is not None and result < minimum:
        raise ValueProblem("INVALID_NUMBER", f"{result} is below the minimum {minimum}", f"write {minimum} or more")
    return result


def parse_language(text: str) -> str:
    """Normalize a language code to iRedAdmin's spelling (``en-us`` -> ``en_US``)."""
    if text in LANGUAGES:
        return text
    folded = text.strip().replace("-", "_").lower()
    if folded in _LANG_BY_FOLDED:
        return _LANG_BY_FOLDED[folded]
    if len(folded) == 2 and _LANG_BY_PREFIX.get(folded):
        return _LANG_BY_PREFIX[folded]
    raise ValueProblem(
        "INVALID_LANGUAGE",
        f"{text!r} is not a language iRedAdmin has (the server would store it empty)",
        "use one of " + ", ".join(sorted(LANGUAGES)),
    )


_UNITS = {
    "": None, "b": 1, "byte": 1, "bytes": 1,
    "k": 1024, "kb": 1024, "kib": 1024,
    "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
    "g": 1024**3, "gb": 1024**3, "gib": 1024**3,
    "t": 1024**4, "tb": 1024**4, "tib": 1024**4,
}  # fmt: skip
_SIZE = re.compile(r"([0-9][0-9 ]*(?:[.,][0-9]+)?(?:e[+-]?[0-9]+)?)\s*([a-z]*)\Z")
_UNLIMITED = {"unlimited", "none", "no limit", "nolimit", "infinite", "∞", "-"}


def parse_size(text: str, default_unit: str = "MB") -> int:
    """Parse a size as written by people and return whole megabytes (0 = unlimited).

    Accepts ``"2 GB"``, ``"500MB"``, ``"1,5 GB"`` (decimal comma), ``"1.5G"``, ``"1.5E+3"``,
    ``"unlimited"``. A bare number is in ``default_unit`` (``MB``, ``bytes``, ``GB``...).
    Values that are not whole megabytes are rounded up, so no mailbox ends up smaller than asked.

    Raises:
        ValueProblem: when the text is not a size.
    """
    if text.isdigit() and default_unit == "MB":  # the common case: a plain number of MB
        return int(text)
    raw = text.strip().casefold()
    if raw in _UNLIMITED or raw == "0":
        return 0
    match = _SIZE.match(raw)
    unit = match.group(2) if match else ""
    if match is None or unit not in _UNITS:
        raise ValueProblem(
            "INVALID_QUOTA",
            f"{text!r} is not a size",
            "write a number of MB (2048) or a size with a unit (2 GB, 500 MB, 1.5 GB); 0 or unlimited for no limit",
        )
    number = match.group(1).replace(" ", "")
    # "1,024" is a thousands separator; "1,5" a decimal comma.
    number = number.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", number) else number.replace(",", ".")
    try:
        value = Fraction(number) if "e" not in number else Fraction(float(number))
    except ValueError:
        raise ValueProblem("INVALID_QUOTA", f"{text!r} is not a size", "write e.g. 2048 or 2 GB") from None
    factor = _UNITS[unit] or _UNITS[default_unit.strip().casefold()] or 1024**2
    mb = value * factor / 1024**2
    whole = int(mb) if mb.denominator == 1 else int(mb) + 1
    return whole
