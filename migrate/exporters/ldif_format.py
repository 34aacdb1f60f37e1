"""LDIF text primitives (RFC 2849, RFC 4514): attribute lines, base64, folding, DN escaping.

Kept apart from the DIT layout so the rules can be tested on their own. Every function returns
ASCII text: values that are not plain printable ASCII go out base64-encoded.
"""

from __future__ import annotations

import base64
import re

__all__ = ["FOLD_AT", "attr_line", "comment_line", "escape_dn_value", "fold", "needs_base64"]

#: Longest physical line; continuation lines are one space plus the next 75 characters.
FOLD_AT = 76

# RFC 4514 §2.4: these are escaped anywhere in an attribute value of a DN.
_DN_SPECIAL = re.compile(r'[\\",+;<>\x00]')
_DN_TABLE = str.maketrans(
    {'"': '\\"', "+": "\\+", ",": "\\,", ";": "\\;", "<": "\\<", ">": "\\>", "\\": "\\\\", "\x00": "\\00"}
)


def needs_base64(value: str) -> bool:
    """Tell whether ``value`` must be written as ``attr:: <base64>``.

    RFC 2849 only allows printable ASCII that does not start with a space, ``:`` or ``<``; a
    trailing space is base64-encoded too, because parsers strip it. Control characters (tab, CR,
    LF, NUL...) and anything non-ASCII also force base64.
    """
    if not value:
        return False
    return not (value.isascii() and value.isprintable()) or value[0] in " :<" or value[-1] == " "


def fold(line: str) -> str:
    """Fold a long line at :data:`FOLD_AT` columns (continuations start with one space)."""
    if len(line) <= FOLD_AT:
        return line
    step = FOLD_AT - 1
    parts = [line[:FOLD_AT]]
    parts.extend(" " + line[i : i + step] for i in range(FOLD_AT, len(line), step))
    return "\n".join(parts)


def attr_line(attr: str, value: str) -> str:
    """Return ``attr: value`` (or ``attr:: <base64>``), folded, without the final newline."""
    # needs_base64() inlined: this runs for every value of every entry.
    if value and (not (value.isascii() and value.isprintable()) or value[0] in " :<" or value[-1] == " "):
        line = f"{attr}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
    else:
        line = f"{attr}: {value}"
    return line if len(line) <= FOLD_AT else fold(line)


def escape_dn_value(value: str) -> str:
    """Escape an attribute value for use in a DN (RFC 4514 §2.4).

    Backslash, ``" , + ; < >`` and NUL are escaped anywhere, ``#`` and space at the start, and a space at
    the end. ``=`` is left alone (escaping it is allowed, not required).
    """
    escaped = value.translate(_DN_TABLE) if _DN_SPECIAL.search(value) else value
    if escaped[:1] in ("#", " "):
        escaped = "\\" + escaped
    # Only the original value's last character matters: a trailing "\\" pair is not a space.
    if value.endswith(" ") and len(value) > 1:
        escaped = escaped[:-1] + "\\ "
    return escaped


def comment_line(text: str) -> str:
    """Return ``# text`` as ASCII comment lines of at most :data:`FOLD_AT` columns.

    Other characters become Python backslash escapes; a long text is split over several comment
    lines rather than folded, as not every LDIF tool unfolds comments.
    """
    clean = "".join(c if c.isprintable() else " " for c in text)
    ascii_text = clean.encode("ascii", "backslashreplace").decode("ascii")
    width = FOLD_AT - 2
    chunks = [ascii_text[i : i + width] for i in range(0, len(ascii_text), width)] or [""]
    return "\n".join("# " + chunk for chunk in chunks)
