"""mlmmj list data kept outside SQL, as mlmmj keeps it on disk (reference §13.4).

Subscribers and the list's control settings (what mlmmj stores in its ``control/`` files) live
in one JSON file per list, ``<dir>/<domain>/<listname>.json``; without a directory (an
in-memory database) they live only in memory. A subscription that needs confirmation is kept
as pending: mlmmj would mail the address and wait, so it is not a subscriber yet.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ListMembers", "SubscriberStore"]


@dataclass
class ListMembers:
    """One list's disk data.

    Attributes:
        subscribers: Address -> subscription (``normal``, ``digest``, ``nomail``).
        pending: Subscriptions waiting for a confirmation that never comes.
        control: The list's mlmmj settings, by API parameter name.
    """

    subscribers: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    control: dict[str, Any] = field(default_factory=dict)


class SubscriberStore:
    """Subscribers of every mlmmj list.

    Args:
        directory: Where list files go; ``None`` keeps everything in memory.
    """

    def __init__(self, directory: str | None) -> None:
        self._dir = directory
        self._lists: dict[str, ListMembers] = {}
        self._index: dict[str, set[str]] = {}
        if directory is None or not os.path.isdir(directory):
            return
        for domain in sorted(os.listdir(directory)):
            folder = os.path.join(directory, domain)
            if domain == "archive" or not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if name.endswith(".json"):
                    self._load(f"{name[: -len('.json')]}@{domain}", os.path.join(folder, name))

    def _load(self, address: str, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            members = ListMembers(
                dict(data.get("subscribers", {})), dict(data.get("pending", {})), dict(data.get("control", {}))
            )
        except (OSError, ValueError, AttributeError):
            return
        self._lists[address] = members
        for member in members.subscribers:
            self._index.setdefault(member, set()).add(address)

    def _path(self, address: str) -> str | None:
        if self._dir is None:
            return None
        local, _, domain = address.rpartition("@")
        return os.path.join(self._dir, domain, f"{local}.json")

    def _save(self, address: str) -> None:
        path = self._path(address)
        if path is None:
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        members = self._lists.get(address, ListMembers())
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            data = {"subscribers": members.subscribers, "pending": members.pending, "control": members.control}
            json.dump(data, handle, sort_keys=True)
        os.replace(tmp, path)

    def create(self, address: str, control: dict[str, Any]) -> None:
        """Start an empty list with its settings (as mlmmjadmin creates the list directory)."""
        self._lists[address] = ListMembers(control=dict(control))
        self._save(address)

    def control(self, address: str) -> dict[str, Any]:
        """Return a list's mlmmj settings (empty for an unknown list)."""
        members = self._lists.get(address)
        return dict(members.control) if members else {}

    def set_control(self, address: str, changes: dict[str, Any]) -> None:
        """Update some of a list's mlmmj settings."""
        self._lists.setdefault(address, ListMembers()).control.update(changes)
        self._save(address)

    def subscribers(self, address: str) -> list[str]:
        """Return the confirmed subscribers of a list, sorted."""
        members = self._lists.get(address)
        return sorted(members.subscribers) if members else []

    def lists_of(self, member: str) -> list[str]:
        """Return the lists an address is subscribed to, sorted."""
        return sorted(self._index.get(member, ()))

    def add(self, address: str, people: list[str], subscription: str, *, confirmed: bool) -> None:
        """Subscribe addresses (or, unconfirmed, record them as pending)."""
        members = self._lists.setdefault(address, ListMembers())
        for person in people:
            if confirmed:
                members.pending.pop(person, None)
                members.subscribers[person] = subscription
                self._index.setdefault(person, set()).add(address)
            elif person not in members.subscribers:
                members.pending[person] = subscription
        self._save(address)

    def remove(self, address: str, people: list[str]) -> None:
        """Unsubscribe addresses (pending ones included)."""
        members = self._lists.get(address)
        if members is None:
            return
        for person in people:
            members.pending.pop(person, None)
            if members.subscribers.pop(person, None) is not None:
                self._index.get(person, set()).discard(address)
        self._save(address)

    def remove_everywhere(self, person: str) -> None:
        """Unsubscribe an address from every list (its account was deleted)."""
        for address in self.lists_of(person):
            self.remove(address, [person])

    def rename_member(self, old: str, new: str) -> None:
        """Carry an address's subscriptions over to its new address."""
        for address in self.lists_of(old):
            subscription = self._lists[address].subscribers.get(old, "normal")
            self.remove(address, [old])
            self.add(address, [new], subscription, confirmed=True)

    def drop(self, address: str, *, archive: bool) -> None:
        """Delete a list's subscribers; with ``archive`` the file moves to ``<dir>/archive``."""
        members = self._lists.pop(address, None)
        for person in members.subscribers if members else {}:
            self._index.get(person, set()).discard(address)
        path = self._path(address)
        if path is None or not os.path.exists(path):
            return
        if archive and self._dir is not None:
            target = os.path.join(self._dir, "archive", os.path.relpath(path, self._dir))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.move(path, target)
        else:
            os.remove(path)
