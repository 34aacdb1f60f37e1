"""LDAP edition: ``/api/ldif/{domain,catchall}/<domain>`` and ``/api/ldif/{admin,user,maillist,alias}/<mail>``.

Each endpoint answers one entry of the DIT as LDIF text (RFC 2849) **inside ``_data``**: the
reference does not record whether the real server sends it raw or in the envelope, and the
envelope keeps every reply of the API JSON. The text is the stored entry exactly: its ``dn:``
line, then one line per attribute value, sorted by attribute name (case-insensitively) and value;
values that are not safe printable ASCII (non-ASCII, a leading space, ``:`` or ``<``, a trailing
space) are base64-encoded as ``attr:: ...``; lines longer than 76 columns are folded (continuation
lines start with one space). ``userPassword`` follows ``API_HIDDEN_USER_PROFILES``: it is left out
unless the sandbox exposes hashes. ``/api/ldif/domain`` gives the domain's own entry only.
"""

from __future__ import annotations

import base64

from migrate.sandbox.context import ApiError, Ctx, Reply, ok
from migrate.sandbox.ldap_common import dit, domain_ref, tree
from migrate.sandbox.ldap_store import Entry
from migrate.sandbox.shared_checks import target_mail, valid_mail

__all__ = [
    "FOLD_AT",
    "entry_ldif",
    "ldif_admin",
    "ldif_alias",
    "ldif_catchall",
    "ldif_domain",
    "ldif_line",
    "ldif_maillist",
    "ldif_user",
]

#: Longest physical line; continuation lines carry one space plus 75 characters.
FOLD_AT = 76


def _safe(value: str) -> bool:
    if not value:
        return True
    return value.isascii() and value.isprintable() and value[0] not in " :<" and value[-1] != " "


def ldif_line(attr: str, value: str) -> str:
    """Return ``attr: value`` (or ``attr:: <base64>``), folded at :data:`FOLD_AT` columns."""
    sep, text = (": ", value) if _safe(value) else (":: ", base64.b64encode(value.encode("utf-8")).decode("ascii"))
    line = attr + sep + text
    if len(line) <= FOLD_AT:
        return line
    step = FOLD_AT - 1
    parts = [line[:FOLD_AT]] + [" " + line[i : i + step] for i in range(FOLD_AT, len(line), step)]
    return "\n".join(parts)


def entry_ldif(dn: str, entry: Entry, *, with_password: bool) -> str:
    """Render one entry as LDIF text (ending with a newline)."""
    pairs = [
        (attr, value) for attr, values in entry.items() if with_password or attr != "userPassword" for value in values
    ]
    pairs.sort(key=lambda pair: (pair[0].lower(), pair[1]))
    lines = [ldif_line("dn", dn), *(ldif_line(attr, value) for attr, value in pairs)]
    return "\n".join(lines) + "\n"


def _reply(ctx: Ctx, dn: str) -> Reply:
    d = dit(ctx)
    entry = d.get(dn)
    if entry is None:
        raise ApiError("NO_SUCH_ACCOUNT")
    text = entry_ldif(d.dn_text(dn) or dn, entry, with_password=ctx.state.config.expose_password_hashes)
    return ok(text)


def ldif_domain(ctx: Ctx) -> Reply:
    """``GET /api/ldif/domain/<domain>``: the ``mailDomain`` entry."""
    return _reply(ctx, domain_ref(ctx, ctx.match["domain"]).dn)


def ldif_catchall(ctx: Ctx) -> Reply:
    """``GET /api/ldif/catchall/<domain>``: the ``mail=@<domain>`` entry (``NO_SUCH_ACCOUNT`` without one)."""
    ref = domain_ref(ctx, ctx.match["domain"])
    return _reply(ctx, tree(ctx).catchall(ref.name))


def ldif_admin(ctx: Ctx) -> Reply:
    """``GET /api/ldif/admin/<mail>`` (global admins only): a standalone admin."""
    return _reply(ctx, tree(ctx).admin(valid_mail(ctx)))


def ldif_user(ctx: Ctx) -> Reply:
    """``GET /api/ldif/user/<mail>``: a mail user."""
    return _reply(ctx, tree(ctx).user(target_mail(ctx)))


def ldif_maillist(ctx: Ctx) -> Reply:
    """``GET /api/ldif/maillist/<mail>``: a ``mailList`` entry (classic or mlmmj)."""
    return _reply(ctx, tree(ctx).group(target_mail(ctx)))


def ldif_alias(ctx: Ctx) -> Reply:
    """``GET /api/ldif/alias/<mail>``: a ``mailAlias`` entry."""
    return _reply(ctx, tree(ctx).alias(target_mail(ctx)))
