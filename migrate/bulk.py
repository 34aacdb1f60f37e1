"""Bulk validation: a block of plain user rows checked a column at a time.

The per-row path (:func:`migrate.model.build`) costs tens of microseconds a row in CPython; on a
million-row export that is the whole run. Most rows of such a file are plain: a users sheet whose
columns map one to one onto model fields, every value fine. This module proves rows clean with
whole-column operations (a column joined into one string and checked by one regular expression,
the distinct values of a column converted once) and hands back every row it cannot prove clean,
which then takes the per-row path and is reported exactly as it always would be.

A clean row is one the per-row path would accept without any problem, not even a warning; what
the cross-row checks need of it (its key, its domain, its aliases and forwardings) goes straight
to :class:`~migrate.crosscheck.CrossCheck`. A row whose key also appears in another row goes the
per-row way, so duplicates are reported in file order. ``tests/test_bulk.py`` holds both paths to
the same report over a corpus of clean and broken rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migrate.crosscheck import CrossCheck
from migrate.model import outside_domain
from migrate.model_fields import SPECS, Context, invalid_member
from migrate.normalize import MEMBER_ADDRESS, ValueProblem, is_valid_new_address, split_multi
from migrate.passwords import SPECIAL_CHARACTERS, PasswordPolicy, check_password
from migrate.records import ErrorFields, RowBlock

if TYPE_CHECKING:
    from migrate.mapping_mapper import Mapper
    from migrate.readers.csv_reader import CsvState
    from migrate.readers.xlsx_reader import SheetState
    from migrate.split import SheetStream, Split, Stream

__all__ = ["BULK_FIELDS", "BulkChecker", "BulkCount", "BulkUsers"]

Column = Sequence[str]

_USER = SPECS["user"]
_TEXT_FIELDS = frozenset({"name", "gn", "sn", "employeeid", "transport"})
_DISTINCT_FIELDS = frozenset({"quota", "accountStatus", "language"})
_LIST_FIELDS = frozenset({"aliases", "forwarding"})

#: The user fields bulk validation checks; a file that maps any other field is read row by row.
BULK_FIELDS: frozenset[str] = frozenset({"email", "password"}) | _TEXT_FIELDS | _DISTINCT_FIELDS | _LIST_FIELDS

# An address of a new account is normalize._NEW_ADDRESS: its local part is checked for the whole
# column at once (characters, first character, one "@"), its domain part once per distinct domain.
_DOMAIN_PART = re.compile(r"@([^\n]*)")
_ADDRESS_DOMAIN = re.compile(r"(?:[a-z0-9_\-]+\.)+[a-z0-9\-]{2,25}\Z")
_TEXT_LIMIT = 255
_ADDRESS_LIMIT = 320
_SECRET_LIMIT = 4096


def _byte_table(classes: dict[bytes, bytes], other: bytes) -> bytes:
    """A ``bytes.translate`` table: each byte of a key becomes its value, every other byte ``other``."""
    table = bytearray(other * 256)
    for members, letter in classes.items():
        for byte in members:
            table[byte] = letter[0]
    return bytes(table)


def _all_bytes_but(keep: bytes) -> bytes:
    return bytes(b for b in range(256) if b not in keep)


# The bytes an address of a new account is made of once lower-cased (local part, "@", domain),
# and the line break between the elements of a joined column: deleting them must leave nothing.
_ADDRESS_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_-#.=&@\n"
# What may not start an address: these after a line break mean a bad first character.
_BAD_STARTS = (b"\n.", b"\n=", b"\n&", b"\n@")
# ASCII whitespace as str.strip() sees it.
_SPACE_BYTES = b" \t\r\x0b\x0c\x1c\x1d\x1e\x1f"
# Passwords: each character class of the default policy becomes one letter (U upper-case, D digit,
# S special, w whitespace, o anything else), so "has no upper-case letter" is "a line with no U",
# found for the whole column at once by deleting every other letter.
_CLASSES = _byte_table(
    {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZ": b"U",
        b"0123456789": b"D",
        "".join(sorted(SPECIAL_CHARACTERS)).encode("ascii"): b"S",
        _SPACE_BYTES: b"w",
        b"\n": b"\n",
    },
    b"o",
)
_ONLY = {letter: _all_bytes_but(letter + b"\n") for letter in (b"U", b"D", b"S")}
_DEFAULT_POLICY = PasswordPolicy()


@dataclass(slots=True)
class BulkCount:
    """What bulk validation found in rows of one kind it did not send back.

    Attributes:
        kind: The account kind.
        rows: How many rows.
        valid: How many of them are valid with nothing to report (the others are invalid).
        problems: The errors of the invalid ones, in row order, as plain fields (what
            :meth:`Problem.from_fields` takes, without the severity: all are errors).
    """

    kind: str
    rows: int
    valid: int
    problems: list[ErrorFields] = field(default_factory=list)


def _fails(convert: Callable[[Any], Any], value: str) -> bool:
    try:
        convert(value)
    except ValueProblem:
        return True
    return False


def _blank(value: str) -> bool:
    return not value or value.isspace()


def _joined(column: Column) -> str | None:
    """The column joined with newlines, or None when a value holds a newline itself."""
    text = "\n".join(column)
    return text if text.count("\n") == len(column) - 1 else None


def _rows_without(letters: bytes) -> set[int]:
    """The elements of a joined column (newline separated) that are empty."""
    return {index for index, part in enumerate(letters.split(b"\n")) if not part}


def _has_empty_element(letters: bytes) -> bool:
    return b"\n\n" in letters or letters[:1] == b"\n" or letters[-1:] == b"\n" or not letters


class _Block:
    """The working state of one block: its columns, the rows sent back, each row's field mask."""

    def __init__(self, block: RowBlock, columns: dict[str, int], bits: dict[str, int]) -> None:
        self.block = block
        self.cells = block.by_column()
        self.count = len(block.rows)
        self.columns = columns
        self.bits = bits
        # Rows sent back to the per-row path, and rows with exactly one problem found here.
        self.bad: set[int] = set()
        self.problems: dict[int, ErrorFields] = {}
        # The mask is every mapped field; a row with a blank cell loses that field's bit.
        self.mask = sum(bits[name] for name in columns if name in bits)
        self.unset: list[tuple[int, Iterable[int]]] = []  # (field bit, rows that leave it blank)

    def column(self, name: str) -> tuple[str, ...]:
        return self.cells[self.columns[name]]

    def blanks(self, name: str, rows: Iterable[int]) -> None:
        """Record that ``rows`` leave ``name`` blank (the field is not given there)."""
        bit = self.bits.get(name, 0)
        if bit:
            self.unset.append((bit, rows))

    def problem(self, index: int, problem: ErrorFields) -> None:
        """Record a row's one problem; a row with a second one goes the per-row way."""
        if index in self.problems:
            self.bad.add(index)
        else:
            self.problems[index] = problem


class BulkUsers:
    """Bulk validation of user rows mapped one column to one field.

    Args:
        copies: ``(field, cell key, label)`` of each mapped column, as the mapper binds them.
        ctx: The run context (domains' own password policies).
        check: The cross-row checks the clean rows are added to.
        comment: Rows whose first non-blank cell starts with this are skipped (the profile's).
    """

    def __init__(
        self, copies: Sequence[tuple[str, str, str]], ctx: Context, check: CrossCheck, comment: str | None = None
    ) -> None:
        self.copies = tuple(copies)
        self.comment = comment
        self.labels = {name: label for name, _, label in copies}
        self.ctx = ctx
        self.check = check
        self._columns: dict[tuple[str, ...], dict[str, int]] = {}

    @staticmethod
    def accepts(copies: Sequence[tuple[str, str, str]]) -> bool:
        """Tell whether rows mapped by ``copies`` can be checked in bulk."""
        names = [name for name, _, _ in copies]
        return "email" in names and set(names) <= BULK_FIELDS and len(set(names)) == len(names)

    def run(self, block: RowBlock, *, strict: bool = False) -> tuple[int, list[int | BulkCount]]:
        """Check a block; add the rows it settles to the cross-checks.

        Args:
            block: The rows.
            strict: Settle only rows without any problem: a row with one goes the per-row way
                too, so every row sent back is an index (what an import needs, which builds
                each row's object and reports its problems with it).

        Returns:
            How many rows were clean, and in row order the others: the index of a row that must
            go through the per-row path, or the count of a row settled here with its problem.
        """
        headers = tuple(block.headers)
        columns = self._columns.get(headers)
        if columns is None:
            position = {key: index for index, key in enumerate(block.headers)}
            columns = self._columns[headers] = {name: position[key] for name, key, _ in self.copies}
        everything: list[int | BulkCount] = list(range(len(block.rows)))
        if any(key in block.typed and _USER[name].text_like for name, key, _ in self.copies):
            # A text column Excel stored as numbers or dates: the per-row path says so per row.
            return 0, everything
        work = _Block(block, columns, self.check.field_bits("user"))
        keys, domains, keyless = self._emails(work)
        if self.comment:
            skipped = self._comments(work, self.comment)
            keyless |= skipped
            work.bad |= skipped
        for name in columns:
            if name in _TEXT_FIELDS:
                self._text(work, name)
            elif name in _DISTINCT_FIELDS:
                self._distinct(work, name)
        if "password" in columns:
            self._passwords(work, domains)
        links = self._links(work, keys, domains)
        self._duplicates(work, keys, keyless)
        if strict:
            work.bad.update(work.problems)
        bad = work.bad
        settled: Sequence[int] = [i for i in range(work.count) if i not in bad] if bad else range(work.count)
        settled = self._index(work, settled, keys)
        self._record(work, settled, keys, domains, links)
        # Rows settled with a problem, counted together between the rows sent back (in order).
        problems = sorted((i, p) for i, p in work.problems.items() if i not in bad)
        others: list[int | BulkCount] = []
        taken = 0
        for stop in [*sorted(bad), work.count]:
            run: list[ErrorFields] = []
            while taken < len(problems) and problems[taken][0] < stop:
                run.append(problems[taken][1])
                taken += 1
            if run:
                others.append(BulkCount("user", len(run), 0, run))
            if stop < work.count:
                others.append(stop)
        return len(settled) - len(problems), others

    # ------------------------------------------------------------------ columns

    @staticmethod
    def _comments(work: _Block, comment: str) -> set[int]:
        """Rows the mapper skips as comments: their first non-blank cell starts with ``comment``."""
        first = work.cells[0]
        if "" not in first and not any(map(str.isspace, first)):
            # The first cell is never blank: look at it alone, the whole column at once.
            text = _joined(first)
            if text is not None and not re.search(rf"^[^\S\n]*{re.escape(comment)}", text, re.MULTILINE):
                return set()
            return {i for i, value in enumerate(first) if value.lstrip().startswith(comment)}
        skipped = set()
        for index, row in enumerate(work.block.rows):
            cell = next((c for c in row if c and not c.isspace()), "")
            if cell.lstrip().startswith(comment):
                skipped.add(index)
        return skipped

    def _emails(self, work: _Block) -> tuple[list[str], list[str], set[int]]:
        """Keys (lower-cased addresses), their domains, and the rows without a valid address."""
        raw = work.column("email")
        text = _joined(raw)
        if text is not None and text.isascii():
            lowered = text.lower()
            data = lowered.encode("ascii")
            # Only address characters, one "@" an element (as many as elements, and no element
            # without one: findall takes one per element), a valid first character.
            if (
                not data.translate(None, _ADDRESS_BYTES)
                and data.count(b"@") == work.count
                and data[:1] not in (b".", b"=", b"&", b"@")
                and not any(start in data for start in _BAD_STARTS)
                and max(map(len, raw)) <= _ADDRESS_LIMIT
            ):
                domains = _DOMAIN_PART.findall(lowered)
                if len(domains) == work.count:
                    keys = lowered.split("\n")
                    # The domain part in full, once per distinct domain.
                    wrong = {d for d in set(domains) if not _ADDRESS_DOMAIN.match(d)}
                    keyless = {i for i, d in enumerate(domains) if d in wrong} if wrong else set()
                    work.bad.update(keyless)
                    return keys, domains, keyless
        # Some value needs a closer look: each one as model_fields._address reads it.
        keys, domains, keyless = [], [], set()
        for index, value in enumerate(raw):
            text = value.strip()
            if "\x00" in text:
                work.bad.add(index)  # valid once the NUL is gone: the per-row path says so
                text = text.replace("\x00", "")
            key = text.lower()
            if not text or len(text) > _ADDRESS_LIMIT or not is_valid_new_address(key):
                keyless.add(index)
            keys.append(key)
            domains.append(key.rpartition("@")[2])
        work.bad.update(keyless)
        return keys, domains, keyless

    def _text(self, work: _Block, name: str) -> None:
        raw = work.column(name)
        if max(map(len, raw)) > _TEXT_LIMIT:
            work.bad.update(i for i, v in enumerate(raw) if len(v.strip().replace("\x00", "")) > _TEXT_LIMIT)
        if "" in raw or any(map(str.isspace, raw)):
            work.blanks(name, [i for i, v in enumerate(raw) if _blank(v)])

    def _distinct(self, work: _Block, name: str) -> None:
        """A column of few distinct values (quota, status, language): each converted once."""
        raw = work.column(name)
        convert = _USER[name].convert
        values = set(raw)
        wrong = {v for v in values if not _blank(v) and _fails(convert, v.strip())}
        if wrong:
            work.bad.update(i for i, v in enumerate(raw) if v in wrong)
        if any(_blank(v) for v in values):
            work.blanks(name, [i for i, v in enumerate(raw) if _blank(v)])

    def _passwords(self, work: _Block, domains: list[str]) -> None:
        """Passwords against the default policy, a whole column at once; the doubtful one by one."""
        raw = work.column("password")
        policies = self.ctx.policies
        closer: set[int] = {i for i, d in enumerate(domains) if d in policies} if policies else set()
        text = _joined(raw)
        if text is None or not text.isascii():
            closer = set(range(work.count))
        else:
            if min(map(len, raw)) < _DEFAULT_POLICY.min_length:
                closer.update(i for i, v in enumerate(raw) if len(v) < _DEFAULT_POLICY.min_length)
            if max(map(len, raw)) > _SECRET_LIMIT:
                closer.update(i for i, v in enumerate(raw) if len(v) > _SECRET_LIMIT)
            letters = text.encode("ascii").translate(_CLASSES)
            for others in _ONLY.values():
                only = letters.translate(None, others)
                if _has_empty_element(only):
                    closer |= _rows_without(only)
            if b"\nw" in letters or b"w\n" in letters or letters[:1] == b"w" or letters[-1:] == b"w":
                closer.update(i for i, v in enumerate(raw) if v != v.strip())
        for index in sorted(closer):
            value = raw[index]
            if _blank(value):
                work.blanks("password", (index,))
                continue
            value = value.strip()
            if len(value) > _SECRET_LIMIT or check_password(value, policies.get(domains[index], _DEFAULT_POLICY)):
                work.bad.add(index)

    def _links(self, work: _Block, keys: list[str], domains: list[str]) -> dict[int, tuple[tuple[str, ...], ...]]:
        """Per-user aliases and forwardings: row -> (aliases, forwarding), for rows that give any.

        A value that is not a list of addresses, or aliases outside the user's domain, is the
        row's problem, reported as :func:`migrate.model.build` words it.
        """
        links: dict[int, tuple[tuple[str, ...], ...]] = {}
        block = work.block
        for name in ("aliases", "forwarding"):
            if name not in work.columns:
                continue
            label = self.labels[name]
            column = work.column(name)
            filled = [i for i, value in enumerate(column) if value]
            if len(filled) < work.count:
                work.blanks(name, _gaps(filled, work.count))
            for index in filled:
                value = column[index]
                if value.isspace():
                    work.blanks(name, (index,))
                    continue
                items = _same_domain_list(value, domains[index]) if name == "aliases" else None
                if items is None:
                    items, found = _address_list(value)
                    if found is None and name == "aliases":
                        at = "@" + domains[index]
                        foreign = [a for a in items if not a.endswith(at)]
                        if foreign:
                            found = outside_domain(domains[index], foreign)
                            items = tuple(a for a in items if a not in foreign)
                    if found is not None:
                        work.problem(index, self._problem(block, index, label, keys, found))
                        if not items:
                            continue
                if name == "aliases" and keys[index] in items:
                    items = tuple(a for a in items if a != keys[index])
                pair = links.get(index, ((), ()))
                links[index] = (items, pair[1]) if name == "aliases" else (pair[0], items)
        return links

    @staticmethod
    def _problem(block: RowBlock, index: int, label: str, keys: list[str], found: tuple[str, str, str]) -> ErrorFields:
        code, message, hint = found
        return (code, message, hint, block.source, block.sheet, block.lines[index], label, keys[index] or None)

    def _duplicates(self, work: _Block, keys: list[str], keyless: set[int]) -> None:
        """Send back every row whose key another row of the block has, so they are reported in order.

        (A key an earlier block or file gave is found by :meth:`_index`.)
        """
        bad = work.bad
        # Rows with a valid address become objects even when something else is wrong with them.
        rows = [i for i in range(work.count) if i not in keyless] if keyless else range(work.count)
        seen = dict.fromkeys(map(keys.__getitem__, rows) if keyless else keys)
        repeated: set[str] = set()
        if len(seen) != len(rows):
            repeated = {k for k, n in Counter(keys[i] for i in rows).items() if n > 1}
        if repeated:
            bad.update(i for i in rows if keys[i] in repeated)

    # ------------------------------------------------------------------ cross-row facts

    def _index(self, work: _Block, rows: Sequence[int], keys: list[str]) -> Sequence[int]:
        """Index the settled rows' addresses; a row whose address is indexed already goes back.

        ``setdefault`` looks each address up once and keeps what an earlier block or file put
        there: such a row is sent to the per-row path, which reports the duplicate in order.
        Returns the rows that stay settled.
        """
        if not rows:
            return rows
        check = self.check
        block = work.block
        head = check.index_value("user", work.mask, 0) | check.place_base(block.source, block.sheet, block.fmt)
        values = [head | line for line in block.lines]
        for bit, blank in work.unset:
            # A row that left a field blank did not give it: its bit is not in the row's mask.
            clear = ~(check.index_value("user", bit, 0) ^ check.index_value("user", 0, 0))
            for i in blank:
                values[i] &= clear
        index = check.index_for("user")
        if len(rows) == work.count:
            mine = values
            held = list(map(index.setdefault, keys, values))
        else:
            mine = list(map(values.__getitem__, rows))
            held = list(map(index.setdefault, map(keys.__getitem__, rows), mine))
        if held == mine:  # (each value holds its row's place: an earlier row's is another value)
            return rows
        taken = {rows[j] for j, (old, new) in enumerate(zip(held, mine)) if old != new}  # noqa: B905
        work.bad |= taken
        return [i for i in rows if i not in taken]

    def _record(
        self,
        work: _Block,
        rows: Sequence[int],
        keys: list[str],
        domains: list[str],
        links: dict[int, tuple[tuple[str, ...], ...]],
    ) -> None:
        """Add the settled rows (indexed already) to the other cross-checks, as CrossCheck.add would."""
        if not rows:
            return
        check = self.check
        block = work.block
        base = check.place_base(block.source, block.sheet, block.fmt)
        lines = block.lines
        counts = Counter(domains) if len(rows) == work.count else Counter(map(domains.__getitem__, rows))
        # The first settled row of each domain: the last write of a reversed walk wins.
        firsts = dict(zip(map(domains.__getitem__, reversed(rows)), reversed(rows)))  # noqa: B905
        for domain, count in counts.items():
            first = firsts[domain]
            check.use_domain(domain, keys[first], base | lines[first], count)
        aliases_label = self.labels.get("aliases", "aliases")
        forwarding_label = self.labels.get("forwarding", "forwarding")
        claims: dict[str, tuple[int, str | None, str]] = {}  # the block's own: first row wins
        bad = work.bad
        for i, (aliases, forwarding) in links.items():
            if i in bad:
                continue
            place = base | lines[i]
            for alias in aliases:
                if alias not in claims:
                    claims[alias] = (place, aliases_label, keys[i])
            if forwarding:
                check.refer(forwarding, domains[i], place, forwarding_label, keys[i])
        check.claim_aliases(claims)


# Aliases written the plain way: addresses separated by commas, nothing else.
_PLAIN_LIST = re.compile(
    r"(?:[a-z0-9_\-#+=/&][a-z0-9_\-#+=/&.]*+@[a-z0-9_\-.]++,)*+[a-z0-9_\-#+=/&][a-z0-9_\-#+=/&.]*+@[a-z0-9_\-.]++"
)


def _gaps(filled: list[int], count: int) -> list[int]:
    """The indices below ``count`` that are not in the sorted list ``filled``."""
    if not filled:
        return list(range(count))
    gaps: list[int] = []
    previous = -1
    for index in filled:
        if index > previous + 1:
            gaps.extend(range(previous + 1, index))
        previous = index
    gaps.extend(range(previous + 1, count))
    return gaps


def _address_list(value: str) -> tuple[tuple[str, ...], tuple[str, str, str] | None]:
    """A list cell as model_fields._address_list reads it: its addresses, or its first bad one.

    Returns the sorted distinct addresses and ``None``, or ``()`` and the problem (code, message,
    hint) the converter raises for the first item that is not an address.
    """
    text = value.strip()
    if ";" in text or "\n" in text or "\r" in text or ":" in text:
        items = split_multi(text)
    else:
        # Only commas: what split_multi gives, without its general splitting.
        items = [item for item in map(str.strip, text.split(",")) if item]
    addresses = [item.lower() for item in items]  # (both ways give stripped items)
    if not all(map(_member_match, addresses)):
        for item, address in zip(items, addresses):  # noqa: B905 - one address per item
            if _member_match(address) is None:
                return (), invalid_member(item)
    return tuple(sorted(set(addresses))), None


_member_match = MEMBER_ADDRESS.match  # what normalize.is_valid_member_address asks


def _same_domain_list(value: str, domain: str) -> tuple[str, ...] | None:
    """A plain comma list of addresses all in ``domain``, as ``_address_list`` returns it, or None.

    None means "look closer": anything else is left to the converter itself (and its messages).
    """
    low = value.strip().lower()
    if not _PLAIN_LIST.fullmatch(low):
        return None
    # One "@" per item; each must be followed by exactly the domain and the end of the item.
    if (low + ",").count("@" + domain + ",") != low.count("@"):
        return None
    return tuple(sorted(set(low.split(","))))


class BulkChecker:
    """Picks, per block, whether its rows can be checked in bulk, and checks them.

    Args:
        ctx: The run context (domains' own password policies).
        check: The cross-row checks clean rows are added to.
        processes: How many processes may check one big file (1: this one only).
        rendered: Whether the other process sends its problems as rendered text.
    """

    def __init__(
        self, ctx: Context, check: CrossCheck, processes: int = 1, *, rendered: bool = False, entries: bool = False
    ) -> None:
        self.ctx = ctx
        self.check = check
        self.processes = processes
        self.rendered = rendered
        self.entries = entries
        self._users: dict[tuple[tuple[str, str, str], ...], BulkUsers] = {}

    def split(self, path: str, block: RowBlock, mapper: Mapper, state: CsvState, stream: Stream) -> Split | None:
        """Start checking the second part of a big file in a second process (migrate.split).

        Only for a file whose rows are checked in bulk from its first block on: the fork pays
        only when most rows are. ``stream`` reads a part of the file (see :func:`start_split`).
        """
        owned = self._owned(mapper, block)
        if owned is None:
            return None
        from migrate.split import start_split

        return start_split(path, block, state, self.check, stream, owned, rendered=self.rendered)

    def split_sheet(self, block: RowBlock, mapper: Mapper, state: SheetState, stream: SheetStream) -> Split | None:
        """As :meth:`split`, for the worksheet ``block`` starts (see :func:`start_sheet_split`)."""
        owned = self._owned(mapper, block)
        if owned is None:
            return None
        from migrate.split import start_sheet_split

        return start_sheet_split(block, state, self.check, stream, owned, rendered=self.rendered)

    def _owned(self, mapper: Mapper, block: RowBlock) -> Callable[[], bool] | None:
        """None when a second process is of no use here; else what the child asks at its end.

        The child's work counts only if its mapper noted nothing new (a note the parent's part
        could give too).
        """
        if not self.processes > 1 or self._plan(mapper, block) is None:
            return None
        notes = mapper.notes_given()
        return lambda: mapper.notes_given() == notes

    def _plan(self, mapper: Mapper, block: RowBlock) -> BulkUsers | None:
        """The bulk checker for the block's rows, or None when they are mapped another way."""
        # Map as map_row would on the first row it does not skip (a row of blank cells).
        first = next((i for i, row in enumerate(block.rows) if not all(map(_blank, row))), None)
        if first is None:
            return None
        plan = mapper.plain_copies(block.row(first))
        if plan is None or plan[0] != "user" or not BulkUsers.accepts(plan[1]):
            return None
        users = self._users.get(plan[1])
        if users is None:
            users = self._users[plan[1]] = BulkUsers(plan[1], self.ctx, self.check, mapper.profile.comment)
        return users

    def run(self, mapper: Mapper, block: RowBlock) -> tuple[int, Sequence[int | BulkCount]]:
        """Check ``block``'s rows in bulk where they allow it.

        Returns:
            How many rows were clean, and the others in row order: a row index for the per-row
            path, or a row settled here with its problem (see :meth:`BulkUsers.run`).
        """
        users = self._plan(mapper, block)
        return (0, range(len(block.rows))) if users is None else users.run(block)

    def clean_rows(self, mapper: Mapper, block: RowBlock) -> tuple[tuple[tuple[str, str, str], ...], set[int]]:
        """Check ``block`` strictly (see :meth:`BulkUsers.run`) for a caller that builds entries.

        Returns:
            The mapper's ``(field, cell key, label)`` copies for the block's rows and the indices
            of the rows settled clean (added to the cross-checks); every other row is the
            per-row path's. No copies and no rows when the block is not checked in bulk.
        """
        users = self._plan(mapper, block)
        if users is None:
            return (), set()
        _, others = users.run(block, strict=True)
        return users.copies, set(range(len(block.rows))).difference(others)
