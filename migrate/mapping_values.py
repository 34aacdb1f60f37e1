"""Small value transforms used by mapping profiles: names to address parts, proxies, sizes.

They know nothing of rows or profiles; :mod:`migrate.mapping` calls them and attaches the
location of any :class:`~migrate.normalize.ValueProblem` they raise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from fractions import Fraction

from migrate.normalize import ValueProblem

__all__ = [
    "BYTE_UNITS",
    "fill_template",
    "fold_value",
    "looks_like_hash",
    "parse_bytes",
    "parse_proxies",
    "slugify",
    "template_names",
    "transliterate",
]

#: Unit name (folded) -> bytes. The same spellings :func:`migrate.normalize.parse_size` accepts.
BYTE_UNITS: dict[str, int] = {
    "b": 1, "byte": 1, "bytes": 1,
    "k": 1024, "kb": 1024, "kib": 1024,
    "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
    "g": 1024**3, "gb": 1024**3, "gib": 1024**3,
    "t": 1024**4, "tb": 1024**4, "tib": 1024**4,
}  # fmt: skip

# Letters NFKD does not decompose into an ASCII base letter.
_EXTRA = str.maketrans(
    {
        "ø": "o", "Ø": "O", "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH",
        "ı": "i", "ħ": "h", "Ħ": "H", "ŋ": "n", "Ŋ": "N", "ĸ": "k",
    }
)  # fmt: skip


def transliterate(text: str) -> str:
    """Return ``text`` in ASCII letters: accents dropped, ``ø``/``ß``/``æ``/``ł``... spelled out.

    Characters with no ASCII spelling are dropped.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA))
    return "".join(ch for ch in decomposed if ch.isascii())


_NOT_LOCAL = re.compile(r"[^a-z0-9._\-]+")
_SPACES = re.compile(r"\s+")


def slugify(text: str, space: str = ".") -> str:
    """Turn a name into an address part: ASCII, lower case, spaces to ``space``.

    ``"Jørn Åse"`` gives ``"jorn.ase"``; apostrophes and other punctuation are removed, so
    ``"O'Brien"`` gives ``"obrien"``.
    """
    ascii_text = transliterate(text).lower().strip()
    # "Anne - Marie" is one hyphenated name, not three words.
    ascii_text = _SPACES.sub(" ", re.sub(r"\s*-\s*", "-", ascii_text))
    parts = [_NOT_LOCAL.sub("", word) for word in ascii_text.split(" ")]
    joined = space.join(p for p in parts if p)
    if space:
        # Two separators in a row (a name like "Anne - Marie") would make an invalid local part.
        joined = re.sub(re.escape(space) + "{2,}", space, joined).strip(space)
    return joined


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_names(template: str) -> list[str]:
    """Return the placeholder names of a template, in order (``{first}.{last}`` -> first, last)."""
    return _PLACEHOLDER.findall(template)


def fill_template(template: str, values: Mapping[str, str], *, slug: str | None) -> tuple[str, list[str]]:
    """Fill ``{name}`` placeholders from ``values``.

    Args:
        template: Text with ``{name}`` placeholders.
        values: Placeholder name -> text; a missing or blank value leaves the placeholder empty.
        slug: When not ``None``, each value is passed through :func:`slugify` with this as the
            space replacement (for address templates).

    Returns:
        The filled text (surrounding and repeated spaces collapsed) and the names that had no
        value.
    """
    missing: list[str] = []

    def sub(match: re.Match[str]) -> str:
        value = (values.get(match.group(1)) or "").strip()
        if slug is not None:
            value = slugify(value, slug)
        if not value:
            missing.append(match.group(1))
        return value

    filled = _PLACEHOLDER.sub(sub, template)
    return " ".join(filled.split()), missing


def fold_value(text: str) -> str:
    """Fold a cell for value-map lookups: case and surrounding spaces ignored."""
    return text.strip().casefold()


_PROXY_SPLIT = re.compile(r"\+(?=(?i:x500|sip|smtp|spo|eum|x400):)")
_PROXY_PREFIX = re.compile(r"(?i)(x500|sip|smtp|spo|eum|x400):")


def parse_proxies(text: str) -> tuple[str | None, list[str]]:
    """Split Microsoft 365 proxy addresses into the primary address and the secondary ones.

    ``SMTP:`` (upper case) marks the primary address, ``smtp:`` a secondary one; other kinds
    (``SIP:``, ``X500:``) are not mail addresses and are left out. Items may be joined by ``+``
    (the admin center export) or by commas, semicolons and newlines.

    Returns:
        ``(primary, secondaries)``; a bare address without prefix counts as secondary.
    """
    primary: str | None = None
    secondary: list[str] = []
    for chunk in re.split(r"[,;\n\r]+", text):
        for item in _PROXY_SPLIT.split(chunk.strip()):
            item = item.strip()
            if not item:
                continue
            match = _PROXY_PREFIX.match(item)
            if match is None:
                secondary.append(item)
                continue
            value = item[match.end() :].strip()
            if match.group(1).lower() != "smtp" or not value:
                continue
            if match.group(1) == "SMTP" and primary is None:
                primary = value
            else:
                secondary.append(value)
    return primary, secondary


_NUMBER = re.compile(r"([0-9][0-9 ]*(?:[.,][0-9]+)?)\s*([a-z]*)\Z")
_UNLIMITED = {"unlimited", "none", "no limit", "nolimit", "infinite", "∞", "-", "0"}


def parse_bytes(text: str, default_unit: str = "bytes") -> int:
    """Parse a size into whole bytes; a bare number is in ``default_unit``.

    ``"10 MB"`` gives 10485760, ``"512"`` with unit ``KB`` gives 524288, ``"unlimited"`` gives 0.

    Raises:
        ValueProblem: ``INVALID_SIZE`` when the text is not a size.
    """
    raw = text.strip().casefold()
    if raw in _UNLIMITED:
        return 0
    match = _NUMBER.match(raw)
    unit = match.group(2) if match else ""
    if match is None or (unit and unit not in BYTE_UNITS):
        raise ValueProblem(
            "INVALID_SIZE",
            f"{text!r} is not a size",
            f"write a number of {default_unit} or a size with a unit (10 MB, 512 KB)",
        )
    number = match.group(1).replace(" ", "")
    number = number.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", number) else number.replace(",", ".")
    value = Fraction(number) * BYTE_UNITS[unit or default_unit.strip().casefold()]
    return int(value) if value.denominator == 1 else int(value) + 1


_HASH = re.compile(r"\{[A-Za-z0-9.\-]+\}\S|\$(?:1|2[abxy]|5|6)\$\S")


def looks_like_hash(text: str) -> bool:
    """Tell whether a password cell holds a hash (``{SCHEME}...`` or a crypt(3) string)."""
    return _HASH.match(text.strip()) is not None
