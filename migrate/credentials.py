"""The credentials file: generated passwords, readable by the admin alone.

It is the only place a generated password is ever written. The file is created with mode 0600
before anything is written to it, and each line is flushed as the account is created, so a crash
never leaves an account whose password nobody knows.
"""

from __future__ import annotations

import csv
import os
import secrets
import string
from pathlib import Path
from typing import IO

from migrate.passwords import SPECIAL_CHARACTERS, PasswordPolicy, check_password

__all__ = ["CredentialsFile", "generate_password"]

# Characters that survive copy/paste, shells and CSV: no quotes, no backslash, no comma.
_SPECIALS = "".join(sorted(set(SPECIAL_CHARACTERS) - set("'\"`,;\\")))
_ALPHABET = string.ascii_letters + string.digits + _SPECIALS


def generate_password(policy: PasswordPolicy = PasswordPolicy()) -> str:
    """Return a random password that satisfies ``policy`` (at least 16 characters)."""
    length = max(16, policy.min_length)
    if policy.max_length:
        length = min(length, policy.max_length)
    while True:
        candidate = [
            secrets.choice(string.ascii_lowercase),
            secrets.choice(string.ascii_uppercase),
            secrets.choice(string.digits),
            secrets.choice(_SPECIALS),
        ] + [secrets.choice(_ALPHABET) for _ in range(max(0, length - 4))]
        secrets.SystemRandom().shuffle(candidate)
        password = "".join(candidate)
        if not check_password(password, policy):
            return password


class CredentialsFile:
    """A CSV of ``email,password`` lines created with mode 0600.

    Args:
        path: Where to write; an existing file is appended to (a resumed run adds its accounts).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
        self._file: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        if new:
            self._writer.writerow(["email", "password"])
            self._file.flush()
        self.count = 0

    def add(self, email: str, password: str) -> None:
        """Write one account's password and flush it."""
        if self._file is None:
            raise ValueError("the credentials file is closed")
        self._writer.writerow([email, password])
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
