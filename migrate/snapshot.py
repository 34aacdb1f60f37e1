"""The JSON snapshot: the canonical, lossless picture of a target (DESIGN.md, "Snapshot").

A :class:`Snapshot` holds every object of a target grouped by kind. :func:`snapshot_bytes` renders
it deterministically (objects sorted by key, dict keys sorted, lists sorted), so two snapshots of
the same state differ only in ``exported_at``; :func:`write_snapshot` writes it atomically with a
``sha256sum``-style checksum file beside it. Snapshots carry password hashes, never plain passwords.
"""

from __future__ import annotations

import gc
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

import orjson

from migrate.model import (
    Account,
    Admin,
    Alias,
    Domain,
    MailingList,
    SpamPolicy,
    Throttle,
    User,
    field_names,
)

__all__ = [
    "FORMAT",
    "SECTIONS",
    "VERSION",
    "Snapshot",
    "atomic_output",
    "gc_paused",
    "snapshot_bytes",
    "snapshot_dict",
    "write_snapshot",
]

#: The ``format`` marker and ``version`` of the files this module writes.
FORMAT = "iredmigrate-snapshot"
VERSION = 1

#: Snapshot section -> model class, in the order an import applies them (records.KINDS order).
SECTIONS: dict[str, type[Any]] = {
    "domains": Domain,
    "admins": Admin,
    "users": User,
    "aliases": Alias,
    "lists": MailingList,
    "spam_policies": SpamPolicy,
    "throttles": Throttle,
}
_SECTION_OF: dict[type[Any], str] = {cls: name for name, cls in SECTIONS.items()}


@dataclass
class Snapshot:
    """Every object of a target, grouped by kind.

    Attributes:
        source: Where the state was read: the server URL, ``sandbox:<path>`` or the input file.
        exported_at: ISO 8601 UTC time of the export, e.g. ``2026-11-24T07:45:00Z``.
        domains: Domains.
        admins: Standalone admins.
        users: Mailboxes.
        aliases: Alias accounts.
        lists: Mailing lists (classic and mlmmj).
        spam_policies: Spam policies of every scope.
        throttles: Throttle settings of every scope and direction.
        missing_hashes: Users whose password hash the server did not expose.
    """

    source: str
    exported_at: str
    domains: list[Domain] = field(default_factory=list)
    admins: list[Admin] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
    lists: list[MailingList] = field(default_factory=list)
    spam_policies: list[SpamPolicy] = field(default_factory=list)
    throttles: list[Throttle] = field(default_factory=list)
    missing_hashes: list[str] = field(default_factory=list)

    def objects(self) -> Iterator[Account]:
        """Yield every object, kind by kind in import order (domains first, throttles last)."""
        for name in SECTIONS:
            yield from getattr(self, name)

    def section(self, name: str) -> list[Any]:
        """Return the objects of one section (``domains``, ``users``, ...)."""
        if name not in SECTIONS:
            raise KeyError(name)
        objs: list[Any] = getattr(self, name)
        return objs

    @classmethod
    def from_objects(cls, objs: Iterable[Account], *, source: str, exported_at: str) -> Snapshot:
        """Group model objects by kind, each section sorted by key.

        Args:
            objs: Model objects of any kinds, in any order.
            source: See :attr:`source`.
            exported_at: See :attr:`exported_at`.

        Raises:
            TypeError: for an object that is not a model object.
        """
        snap = cls(source=source, exported_at=exported_at)
        for obj in objs:
            name = _SECTION_OF.get(type(obj))
            if name is None:
                raise TypeError(f"not a model object: {type(obj).__name__}")
            getattr(snap, name).append(obj)
        for name in SECTIONS:
            getattr(snap, name).sort(key=_sort_key)
        return snap


def _sort_key(obj: Account) -> str:
    return obj.key


# Per class: the snapshot's field names and one C-level getter for all of them. This is
# model.to_dict(obj, include_secrets=True) minus "password", computed without dataclasses.fields()
# per object (a test checks the two agree); to_dict dominated the export time.
_GETTERS: dict[type[Any], tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}
for _cls in SECTIONS.values():
    _names = tuple(name for name in field_names(_cls) if name != "password")
    _GETTERS[_cls] = (_names, attrgetter(*_names))


def _object_dict(obj: Account) -> dict[str, Any]:
    names, getter = _GETTERS[type(obj)]
    return {
        name: sorted(value) if value.__class__ is tuple else value
        for name, value in zip(names, getter(obj), strict=True)
        if value is not None
    }


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk conversion, restoring its state after.

    Building 100,000 dicts or rows that stay alive makes the collector rescan every live object of
    the snapshot again and again (nearly half the conversion time, measured in bench/). The new
    containers hold no reference cycles, so nothing is lost by collecting later.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def snapshot_dict(s: Snapshot) -> dict[str, Any]:
    """Return the snapshot as the JSON-ready dict of the DESIGN.md format.

    Objects are sorted by key within each section and lists are sorted; plain passwords are
    left out. ``missing_password_hashes`` appears only when some hash is missing.
    """
    out: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": s.exported_at,
        "source": s.source,
    }
    with gc_paused():
        for name in SECTIONS:
            out[name] = [_object_dict(obj) for obj in sorted(s.section(name), key=_sort_key)]
    if s.missing_hashes:
        out["missing_password_hashes"] = sorted(set(s.missing_hashes))
    return out


def snapshot_bytes(s: Snapshot) -> bytes:
    """Render the snapshot deterministically: sorted keys, two-space indent, trailing newline."""
    return orjson.dumps(snapshot_dict(s), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path`` for writing; rename it over ``path`` on success.

    A reader (or the next cron run) sees either the old file or the complete new one, never a
    half-written file; on an error the temporary file is removed and ``path`` is left alone.

    Args:
        path: The final file name. Its directory must exist.

    Yields:
        A binary file object.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_snapshot(path: str | os.PathLike[str], s: Snapshot) -> None:
    """Write the snapshot to ``path`` and its checksum to ``path + ".sha256"``.

    The checksum file uses ``sha256sum`` format (``<hex>  <file name>``), so
    ``sha256sum -c backup.json.sha256`` run in the snapshot's directory verifies it.
    """
    data = snapshot_bytes(s)
    target = Path(path)
    with atomic_output(target) as fh:
        fh.write(data)
    digest = hashlib.sha256(data).hexdigest()
    with atomic_output(target.with_name(target.name + ".sha256")) as fh:
        fh.write(f"{digest}  {target.name}\n".encode())
