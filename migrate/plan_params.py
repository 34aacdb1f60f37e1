"""How model objects become API form parameters, and which fields can be compared on the server.

Each kind has three lists: what ``POST`` (create) accepts, what only ``PUT`` sets, and the
"set-like" fields whose values are lists and go through delta parameters
(``addAlias``/``removeAlias``...) unless the run asks to replace them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CREATE_FIELDS",
    "SET_FIELDS",
    "UPDATE_FIELDS",
    "SetField",
    "api_value",
]


@dataclass(frozen=True, slots=True)
class SetField:
    """A list-valued field and its API parameters.

    Attributes:
        reset: Parameter that replaces the whole list (``aliases``), used with ``--replace``;
            empty when the API has none (the delta then goes both ways).
        add: Parameter that adds items (``addAlias``).
        remove: Parameter that removes items (``removeAlias``), used with ``--replace``.
    """

    reset: str
    add: str
    remove: str


# Fields POST accepts for a new object (reference §6.1, §6.4, §6.5, §6.8).
CREATE_FIELDS: dict[str, tuple[str, ...]] = {
    "domain": (
        "name", "quota", "language", "transport", "defaultQuota", "maxUserQuota", "numberOfUsers",
        "numberOfAliases", "numberOfLists", "senderBcc", "recipientBcc",
    ),
    "admin": (
        "name", "accountStatus", "language", "isGlobalAdmin", "maxDomains", "maxQuota", "maxUsers",
        "maxAliases", "maxLists",
    ),
    "user": ("name", "language", "quota", "mailboxFormat", "mailboxFolder"),
    "alias": ("name", "accessPolicy"),
    "mlmmj": ("name", "accountStatus", "accessPolicy", "owners", "moderators", "max_message_size"),
    "maillist": ("name", "accessPolicy"),
}  # fmt: skip

# Scalar fields only PUT sets (sent right after the create, in the same operation).
UPDATE_FIELDS: dict[str, tuple[str, ...]] = {
    "domain": (
        "name", "accountStatus", "quota", "language", "transport", "defaultQuota", "maxUserQuota",
        "numberOfUsers", "numberOfAliases", "numberOfLists", "minPasswordLength", "maxPasswordLength",
        "senderBcc", "recipientBcc", "is_backupmx", "primarymx", "outboundRelay",
    ),
    "admin": CREATE_FIELDS["admin"],
    "user": (
        "name", "gn", "sn", "quota", "accountStatus", "language", "employeeid", "transport",
        "isGlobalAdmin", "mailboxFormat", "mailboxFolder",
    ),
    "alias": ("name", "accountStatus", "accessPolicy"),
    "mlmmj": CREATE_FIELDS["mlmmj"],
    "maillist": ("name", "accessPolicy", "accountStatus"),
}  # fmt: skip

# List-valued fields, their API parameters, and the stage they belong to.
SET_FIELDS: dict[str, dict[str, SetField]] = {
    "domain": {
        "aliasDomains": SetField("aliasDomains", "addAliasDomain", "removeAliasDomain"),
        "services": SetField("services", "addService", "removeService"),
        # No reset parameter exists for these: --replace sends the delta both ways.
        "disabledDomainProfiles": SetField("", "disableDomainProfile", "enableDomainProfile"),
        "disabledUserProfiles": SetField("", "disableUserProfile", "enableUserProfile"),
        "disabledUserPreferences": SetField("", "disableUserPreference", "enableUserPreference"),
    },
    "user": {
        "services": SetField("services", "addService", "removeService"),
        "forwarding": SetField("forwarding", "addForwarding", "removeForwarding"),
        "aliases": SetField("aliases", "addAlias", "removeAlias"),
    },
    "alias": {"members": SetField("members", "addMember", "removeMember")},
    "maillist": {"members": SetField("members", "addMember", "removeMember")},
    "mlmmj": {"members": SetField("subscribers", "add_subscribers", "remove_subscribers")},
}

# Model field -> API parameter, where they differ.
_PARAM_NAMES = {"owners": "owner"}


def api_value(name: str, value: Any) -> tuple[str, Any]:
    """Return the API parameter name and value for a model field.

    Admin ``maxQuota`` is in MB in the model; the API wants a number plus ``quotaUnit``, which
    the caller adds.
    """
    if isinstance(value, tuple):
        value = list(value)
    return _PARAM_NAMES.get(name, name), value
