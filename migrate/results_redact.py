"""Secret redaction for every text the toolkit writes: result logs, rejects, error messages.

Two layers:

- **Known secrets** (passwords, hashes, session cookies, generated passwords) learned during the
  run are replaced with ``***`` wherever they appear, also in their URL-encoded, JSON-escaped and
  HTML-escaped spellings (a server's error page may echo a form body). Only values of at least
  four characters are taken, so a one-letter "password" does not erase every ``a`` of a message.
- **Patterns** that look like secrets even when nobody told us about them: ``{SCHEME}`` password
  hashes (the scheme is kept, it helps and is not secret), ``$2y$``/``$6$``/``$1$``/argon2 crypt
  strings, ``password=...`` form fields, ``"password": "..."`` JSON members, LDIF
  ``userPassword:`` lines and ``iRedAdmin-Pro-*=`` session cookie values.

Known secrets are matched through an index keyed by their first four characters rather than one
big alternation regex: Python's regex engine tries the branches of an alternation one by one
(about 20 ms per message with 20,000 secrets), and a prefix-trie regex of that size takes seconds
to compile again each time a secret is learned mid-run. The index costs one dict lookup per
character of the text and nothing to extend, so learning a secret never stalls a running import.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor"]

#: What a secret is replaced with.
MASK = "***"
#: Shorter values are not treated as secrets (they would mangle ordinary words).
MIN_SECRET_LENGTH = 4

_PREFIX = MIN_SECRET_LENGTH
# Characters that end a hash or cookie value in running text (quotes, separators, markup).
_VALUE = r"[^\s\"'<>,;&]"

# Each pattern keeps group 1 (the harmless prefix) and masks the rest.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # {SSHA512}base64..., {CRYPT}$2y$..., {PLAIN}text, {BLF-CRYPT}...: Dovecot/LDAP hash syntax.
    re.compile(r"(\{[A-Za-z][A-Za-z0-9._-]{1,31}\})" + _VALUE + r"{4,}"),
    # Modular crypt format: $1$ md5, $2a/b/x/y$ bcrypt, $5$/$6$ sha-crypt, $y$ yescrypt, argon2.
    re.compile(
        r"(?<![\w$])()\$(?:1|2[abxy]?|5|6|y|gy|7|argon2(?:id|i|d)|pbkdf2(?:-sha\d+)?)\$"
        r"[./A-Za-z0-9$=,+-]{4,}"
    ),
    # password=... in form bodies and query strings (value up to the next & or blank).
    re.compile(r"(?i)((?<![\w-])(?:password|password_hash|passwd|userpassword|newpw|oldpw|confirmpw)=)[^&\s\"']+"),
    # "password": "..." in JSON text (escaped quotes inside the value included).
    re.compile(r'(?i)("(?:password|password_hash|passwd|userpassword)"\s*:\s*")(?:[^"\\]|\\.)+(?=")'),
    # LDIF userPassword: / userPassword:: lines.
    re.compile(r"(?im)(^userPassword::?[ \t]*)\S.*$"),
    # iRedAdmin-Pro-SQL=<40 hex> session cookies, in Cookie/Set-Cookie headers or anywhere else.
    re.compile(r"((?<![\w-])iRedAdmin-Pro-[A-Za-z0-9_-]*=\"?)[^;\s,\"']+"),
)


def _spellings(value: str) -> set[str]:
    """The ways a secret can show up in text we are handed."""
    # Computed once per secret before the first request (10,000 passwords: 0.1 s), so the
    # spellings that cannot differ are not computed twice: quote_plus() is quote() unless the
    # value has a space, and ensure_ascii changes nothing in ASCII text.
    quoted = quote(value, safe="")
    escaped = json.dumps(value)[1:-1]
    found = {
        value,
        value.strip(),
        quoted if " " not in value else quote_plus(value),
        quoted,
        html.escape(value),
        escaped,
        escaped if value.isascii() else json.dumps(value, ensure_ascii=False)[1:-1],
    }
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces known secrets and secret-looking patterns in text with ``***``.

    Thread-safe: secrets may be added while other threads redact.

    Args:
        secrets: Initial values to hide; ``None`` and values shorter than four characters are
            ignored.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        # First four characters -> the secrets starting with them.
        self._index: dict[str, _Bucket] = {}
        self._known: set[str] = set()
        # Secrets are indexed when the first text needs them, not when they are handed over: an
        # import hands over every password of its input before its first request (10,000: 50 ms
        # of spellings), and the records of a run without errors carry no text to redact.
        self._pending: list[str] = [v for v in secrets if v and len(v.strip()) >= MIN_SECRET_LENGTH]

    def __len__(self) -> int:
        """Return how many distinct spellings of secrets are known."""
        self._learn_pending()
        return len(self._known)

    def add(self, value: str | None) -> None:
        """Learn one more secret (a ``None`` or too-short value is ignored)."""
        if not value or len(value.strip()) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._pending.append(value)

    def _learn_pending(self) -> None:
        if not self._pending:
            return
        with self._lock:
            for value in self._pending:
                for spelling in _spellings(value):
                    if spelling in self._known:
                        continue
                    self._known.add(spelling)
                    bucket = self._index.get(spelling[:_PREFIX])
                    if bucket is None:
                        bucket = self._index[spelling[:_PREFIX]] = _Bucket()
                    bucket.add(spelling)
            # Emptied only now: a thread that finds nothing pending must find every secret indexed.
            self._pending = []

    def __call__(self, text: str) -> str:
        """Return ``text`` with every known secret and secret-looking value masked."""
        if not text:
            return text
        self._learn_pending()
        text = self._mask_known(text)
        for pattern in _PATTERNS:
            text = pattern.sub(_keep_prefix, text)
        return text

    def _mask_known(self, text: str) -> str:
        index = self._index
        if not index or len(text) < _PREFIX:
            return text
        parts: list[str] = []
        start = i = 0
        end = len(text) - _PREFIX + 1
        while i < end:
            bucket = index.get(text[i : i + _PREFIX])
            size = 0 if bucket is None else bucket.match(text, i)
            if size:
                parts.append(text[start:i])
                parts.append(MASK)
                i += size
                start = i
            else:
                i += 1
        if not parts:
            return text
        parts.append(text[start:])
        return "".join(parts)


class _Bucket:
    """The secrets sharing their first four characters, grouped by length.

    Thousands of hashes share a prefix like ``{SSHA512}``; grouping by length keeps both adding
    (no re-sorting of a long list) and matching (one set lookup per distinct length) cheap.
    """

    __slots__ = ("by_length", "lengths")

    def __init__(self) -> None:
        self.by_length: dict[int, set[str]] = {}
        self.lengths: tuple[int, ...] = ()

    def add(self, secret: str) -> None:
        group = self.by_length.get(len(secret))
        if group is None:
            self.by_length[len(secret)] = {secret}
            # Longest first: "Secret1234" must win over its prefix "Secret123". A new tuple, so
            # a concurrent scan always sees a consistent one.
            self.lengths = tuple(sorted(self.by_length, reverse=True))
        else:
            group.add(secret)

    def match(self, text: str, at: int) -> int:
        """Return the length of the longest secret at ``text[at:]``, or 0."""
        for length in self.lengths:
            if text[at : at + length] in self.by_length[length]:
                return length
        return 0


def _keep_prefix(match: re.Match[str]) -> str:
    return match.group(1) + MASK
