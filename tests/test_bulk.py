"""Bulk validation gives the report the per-row path gives, only faster.

Every test validates the same files twice, ``bulk=True`` and ``bulk=False``, and compares the whole
report: each problem (code, message, hint, file, line, column, key, severity) in the order it was
emitted, and the counts per kind. Blocks are kept small so rows meet their duplicates and comments
across block edges. A spy on :class:`migrate.bulk.BulkUsers` proves the bulk path really ran.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate import bulk
from migrate.crosscheck import CrossCheck
from migrate.inputs import BulkEntries, Entry, InputOptions, load, load_entries
from migrate.readers import tabular
from migrate.records import Problem, Severity
from migrate.validate import ValidationReport, validate

HEADER = ["email", "name", "password", "quota", "language", "accountStatus", "employeeid", "aliases"]

GOOD = ["anna.berg@example.com", "Anna Berg", "Secret#Pass1", "1024", "en_US", "active", "E1", ""]

# (column, value) pairs that make a row interesting: some are fine, some are problems, some only
# look like problems. Each appears in the corpus on otherwise good rows.
ODD_VALUES: list[tuple[str, str]] = [
    ("email", "Upper.Case@Example.COM"),
    ("email", "  padded@example.com  "),
    ("email", "bad address@example.com"),
    ("email", "no-at-sign.example.com"),
    ("email", "two@@example.com"),
    ("email", "a@b@example.com"),
    ("email", ".dot-first@example.com"),
    ("email", "=eq-first@example.com"),
    ("email", "plus+tag@example.com"),
    ("email", "émilie@example.com"),
    ("email", "#hash-first@example.com"),
    ("email", "user@bad_domain"),
    ("email", "user@example.c"),
    ("email", "user@exa#mple.com"),
    ("email", ""),
    ("email", "   "),
    ("email", "x" * 330 + "@example.com"),
    ("email", "user@other.example.org"),
    ("name", ""),
    ("name", "   "),
    ("name", "N" * 256),
    ("name", "  Trimmed Name  "),
    ("name", "Zoë O'Brien, Jr."),
    ("password", ""),
    ("password", "   "),
    ("password", "short#1A"),
    ("password", "short1A"),
    ("password", "nouppercase#1"),
    ("password", "NoDigits#here"),
    ("password", "NoSpecial123"),
    ("password", "  Padded#Pass1  "),
    ("password", "Inner Space#1"),
    ("password", "Ünïcode#Pass1"),
    ("password", "Tab\tInside#1"),
    ("password", "P#1" + "a" * 5000),
    ("quota", ""),
    ("quota", "2 GB"),
    ("quota", "1,5 GB"),
    ("quota", "lots"),
    ("quota", "unlimited"),
    ("quota", " 512 "),
    ("language", "de-de"),
    ("language", "xx"),
    ("language", ""),
    ("accountStatus", "Disabled"),
    ("accountStatus", "maybe"),
    ("accountStatus", ""),
    ("employeeid", ""),
    ("employeeid", "E" * 300),
    ("aliases", "alias.one@example.com"),
    ("aliases", "Alias.Two@Example.com, alias.three@example.com"),
    ("aliases", "alias4@example.com;alias5@example.com"),
    ("aliases", "alias6@example.com\nalias7@example.com"),
    ("aliases", "élise@example.com"),
    ("aliases", "foreign@other.example.org"),
    ("aliases", "mixed@example.com,foreign2@other.example.org"),
    ("aliases", "not an address"),
    ("aliases", "   "),
    ("aliases", ",,,"),
    ("aliases", "SMTP:proxy@example.com+smtp:proxy2@example.com"),
    ("aliases", "shared.alias@example.com"),
    ("aliases", "anna.berg@example.com"),
    ("aliases", "user3@example.com"),
]


def _row(address: str, **changes: str) -> list[str]:
    row = dict(zip(HEADER, GOOD, strict=True))
    row["email"] = address
    row.update(changes)
    return [row[h] for h in HEADER]


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _report_of(paths: list[Path], *, use_bulk: bool, exists: tuple[str, ...] = ()) -> ValidationReport:
    return validate([str(p) for p in paths], existing_domains=exists, collect=True, bulk=use_bulk)


def _summary(report: ValidationReport) -> dict[str, Any]:
    return {k: (v.rows, v.valid, v.invalid, v.warnings) for k, v in report.summary.items()}


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Small blocks, and a record of how many rows bulk validation settled in each block."""
    monkeypatch.setattr(tabular, "BLOCK_ROWS", 7)
    settled: list[int] = []
    real = bulk.BulkUsers.run

    def run(self: bulk.BulkUsers, block: Any, **options: Any) -> Any:
        clean, others = real(self, block, **options)
        settled.append(len(block.rows) - sum(1 for o in others if isinstance(o, int)))
        return clean, others

    monkeypatch.setattr(bulk.BulkUsers, "run", run)
    yield settled


def _loaded(paths: list[Path], *, use_bulk: bool) -> tuple[list[Entry], list[dict[str, Any]], int]:
    """An import's loading: its entries and every problem, in order (reported, then cross-row)."""
    problems: list[Problem] = []
    check = CrossCheck()
    entries: list[Entry] = []
    built = 0
    names = [str(p) for p in paths]
    if use_bulk:
        for item in load_entries(names, InputOptions(), check=check, report=problems.append):
            if isinstance(item, BulkEntries):
                entries.extend(item.entries)
                built += len(item.entries)
            else:
                check.add(item)
                entries.append(item)
    else:
        for entry in load(names, InputOptions(), report=problems.append):
            check.add(entry)
            entries.append(entry)
    problems += [p for entry in entries for p in entry.problems] + list(check.finish())
    return entries, [p.as_dict() for p in problems], built


def _assert_same(paths: list[Path], spy: list[int], exists: tuple[str, ...] = ()) -> ValidationReport:
    fast = _report_of(paths, use_bulk=True, exists=exists)
    assert sum(spy) > 0, "bulk validation settled no row: the comparison would prove nothing"
    slow = _report_of(paths, use_bulk=False, exists=exists)
    assert [p.as_dict() for p in fast.problems] == [p.as_dict() for p in slow.problems]
    assert _summary(fast) == _summary(slow)
    assert (fast.errors, fast.warnings) == (slow.errors, slow.warnings)
    # An import loads the same files into the same entries (records, objects, problems), with
    # the clean rows' entries built in bulk.
    entries, problems, built = _loaded(paths, use_bulk=True)
    assert built > 0, "no entry was built in bulk: the comparison would prove nothing"
    assert (entries, problems) == _loaded(paths, use_bulk=False)[:2]
    return fast


def test_each_odd_value_is_reported_as_the_per_row_path_reports_it(tmp_path: Path, spy: list[int]) -> None:
    rows = []
    for number, (column, value) in enumerate(ODD_VALUES):
        rows.append(_row(f"user{number}@example.com"))
        rows.append(_row(f"odd{number}@example.com", **{column: value}))
    report = _assert_same([_write(tmp_path / "users.csv", rows)], spy, exists=("example.com",))
    codes = {p.code for p in report.problems}
    # The corpus does hit the problems it is meant to hit.
    assert {"INVALID_MAIL", "PW_NO_UPPERCASE", "INVALID_QUOTA", "ALIAS_OUTSIDE_DOMAIN", "VALUE_TOO_LONG"} <= codes


def test_duplicates_across_blocks_files_and_case_are_reported_in_file_order(tmp_path: Path, spy: list[int]) -> None:
    first = _write(
        tmp_path / "users.csv",
        [_row(f"u{i}@example.com") for i in range(10)]
        + [_row("U3@EXAMPLE.com"), _row("dup@example.com", password="weak")]  # second row of u3; bad row
        + [_row(f"v{i}@example.com") for i in range(10)]
        + [_row("dup@example.com"), _row(" u9@example.com ")],
    )
    second = _write(tmp_path / "more-users.csv", [_row("v2@example.com"), _row("w1@example.com")])
    report = _assert_same([first, second], spy, exists=("example.com",))
    duplicates = [(p.source, p.line) for p in report.problems if p.code == "DUPLICATE_ADDRESS"]
    assert duplicates == [(str(first), 12), (str(first), 24), (str(first), 25), (str(second), 2)]


def test_rows_that_only_add_fields_are_merged_as_per_row(tmp_path: Path, spy: list[int]) -> None:
    rows = [_row(f"u{i}@example.com") for i in range(8)]
    rows.append(["m@example.com", "", "", "", "", "", "", ""])
    rows.append(["m@example.com", "", "", "", "", "", "", "m.alias@example.com"])
    rows.append(["m@example.com", "Name Again", "", "", "", "", "", ""])
    _assert_same([_write(tmp_path / "users.csv", rows)], spy, exists=("example.com",))


def test_comments_blank_rows_and_whitespace_rows_are_skipped_as_per_row(tmp_path: Path, spy: list[int]) -> None:
    rows = [_row(f"u{i}@example.com") for i in range(5)]
    rows += [["# a comment", "", "", "", "", "", "", ""], ["  #u99@example.com", "x", "", "", "", "", "", ""]]
    rows += [
        ["", "", "", "", "", "", "", ""],
        [" ", " ", "", "", "", "", "", " "],
        ["", "# late comment", "", "", "", "", "", ""],
    ]
    rows += [_row(f"w{i}@example.com") for i in range(5)]
    _assert_same([_write(tmp_path / "users.csv", rows)], spy, exists=("example.com",))


def test_per_user_aliases_claimed_twice_or_owned_by_accounts_and_unknown_domains(
    tmp_path: Path, spy: list[int]
) -> None:
    rows = [_row(f"u{i}@example.com") for i in range(6)]
    rows += [_row("a@example.com", aliases="shared@example.com"), _row("b@example.com", aliases="shared@example.com")]
    rows += [_row("c@example.com", aliases="u1@example.com"), _row("d@nowhere.example", aliases="x@nowhere.example")]
    rows += [_row(f"e{i}@elsewhere.example") for i in range(9)]
    _assert_same([_write(tmp_path / "users.csv", rows)], spy, exists=("example.com",))


def test_a_users_own_address_among_its_aliases_is_dropped_alike(tmp_path: Path, spy: list[int]) -> None:
    rows = [_row(f"u{i}@example.com") for i in range(6)]
    rows += [
        _row("own@example.com", aliases="own@example.com, own.alias@example.com"),
        _row("Case@Example.com", aliases="CASE@example.com"),
    ]
    rows += [_row(f"w{i}@example.com") for i in range(6)]
    paths = [_write(tmp_path / "users.csv", rows)]
    _assert_same(paths, spy, exists=("example.com",))
    objects = {entry.obj.key: entry.obj for entry in _loaded(paths, use_bulk=True)[0] if entry.obj is not None}
    assert getattr(objects["own@example.com"], "aliases", None) == ("own.alias@example.com",)
    assert getattr(objects["case@example.com"], "aliases", None) == ()


def test_forwardings_and_members_not_in_the_input_are_warned_about_alike(tmp_path: Path, spy: list[int]) -> None:
    header = [*HEADER, "forwarding"]
    domains = _write(tmp_path / "domains.csv", [["example.com", "Example", "", "", "", "", "", ""]])
    rows = [[*_row(f"u{i}@example.com"), ""] for i in range(6)]
    rows += [
        [*_row("f1@example.com"), "u1@example.com,ghost@example.com"],
        [*_row("f2@example.com"), "someone@other.example.org"],
        [*_row("f3@example.com"), "not an address"],
        [*_row("f4@example.com", aliases="foreign@other.example.org"), "bad address"],
        [*_row("f5@example.com"), "u2@example.com;ghost@example.com"],
    ]
    users = _write(tmp_path / "users.csv", rows, header)
    _write(domains, [["example.com", "Example"]], ["domain", "name"])
    report = _assert_same([domains, users], spy)
    assert "MEMBER_NOT_IN_INPUT" in {p.code for p in report.problems}


def test_a_domains_own_password_policy_is_applied_in_bulk_too(tmp_path: Path, spy: list[int]) -> None:
    domains = _write(
        tmp_path / "domains.csv", [["strict.example", "12"], ["example.com", ""]], ["domain", "minPasswordLength"]
    )
    rows = [_row(f"u{i}@example.com") for i in range(5)]
    rows += [_row(f"s{i}@strict.example") for i in range(5)]  # Secret#Pass1 is 12 characters: fine
    rows += [_row("short@strict.example", password="Secret#Pas1"), _row("ok@example.com", password="Secret#Pa1")]
    report = _assert_same([domains, _write(tmp_path / "users.csv", rows)], spy)
    assert [p.line for p in report.problems if p.code.startswith("PW_")] == [12]


@pytest.mark.parametrize("seed", range(12))
def test_random_mixes_of_good_and_odd_rows_give_the_same_report(tmp_path: Path, spy: list[int], seed: int) -> None:
    pick = random.Random(seed)
    emails = [f"user{i}@example.com" for i in range(40)] + ["Other@Example.com", "x@other.example.org"]
    rows = []
    for _ in range(pick.randint(20, 120)):
        row = _row(pick.choice(emails) if pick.random() < 0.3 else f"r{pick.getrandbits(32)}@example.com")
        for _ in range(pick.choice((0, 0, 0, 1, 2))):
            column, value = pick.choice(ODD_VALUES)
            row[HEADER.index(column)] = value
        rows.append(row)
    files = [_write(tmp_path / "users.csv", rows)]
    if seed % 3 == 0:
        files.append(_write(tmp_path / "users-2.csv", rows[: len(rows) // 3]))
    _assert_same(files, spy, exists=("example.com",) if seed % 2 else ())


def test_a_quick_problem_equals_the_constructed_one() -> None:
    made = Problem("INVALID_MAIL", "m", "h", source="f.csv", sheet=None, line=3, column="aliases", key="k@x.com")
    assert Problem.quick("INVALID_MAIL", "m", "h", "f.csv", None, 3, "aliases", "k@x.com") == made
    assert Problem.quick("X", "m", "h", "f.csv", None, 3, None, "").key is None
    assert made.severity is Severity.ERROR


def _workbook(path: Path, rows: list[list[Any]], header: list[str] = HEADER, *, title: bool = False) -> Path:
    """A workbook with a Users sheet; numbers, dates and booleans are written as such."""
    import datetime as dt

    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Users")
    first = 0
    if title:
        sheet.write_string(0, 0, "Staff list, December")
        first = 2
    sheet.write_row(first, 0, header)
    for number, row in enumerate(rows, first + 1):
        for column, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                sheet.write_boolean(number, column, value)
            elif isinstance(value, (int, float)):
                sheet.write_number(number, column, value)
            elif isinstance(value, dt.date):
                sheet.write_datetime(
                    number, column, dt.datetime.combine(value, dt.time()), book.add_format({"num_format": "yyyy-mm-dd"})
                )
            elif isinstance(value, str) and value.startswith("="):
                sheet.write_formula(number, column, value, None, "42")
            else:
                sheet.write_string(number, column, value)
    book.close()
    return path


def test_workbook_rows_give_the_same_report(tmp_path: Path, spy: list[int]) -> None:
    import datetime as dt

    def typed(address: str, **changes: Any) -> list[Any]:
        row: list[Any] = _row(address)
        row[HEADER.index("quota")] = 1024
        for column, value in changes.items():
            row[HEADER.index(column)] = value
        return row

    odd: list[list[Any]] = [
        typed("num-id@example.com", employeeid=12345),  # Excel kept an ID as a number: a warning
        typed("date-name@example.com", name=dt.date(2024, 3, 1)),
        typed("float-quota@example.com", quota=1.5),
        typed("huge-quota@example.com", quota=1e20),  # past the exact range: digits may be lost
        typed("text-quota@example.com", quota="2 GB"),
        typed("bool-status@example.com", accountStatus=True),
        typed("sci@example.com", employeeid="1.23457E+11"),
        typed("formula@example.com", name="=1+41"),
        [None] * len(HEADER),  # a blank row in the middle
        typed("odd@example.com", aliases="foreign@other.example.org"),
        typed("u3@example.com"),  # a duplicate
        [*typed("ragged@example.com"), "beyond the header"],
    ]
    # Each odd row among plain ones, so the blocks around it are checked by column.
    rows: list[list[Any]] = [typed(f"u{i}@example.com") for i in range(30)]
    for number, row in enumerate(odd):
        rows.append(row)
        rows += [typed(f"p{number}.{i}@example.com") for i in range(8)]
    rows += [typed(f"w{i}@example.com", aliases=f"a{i}@example.com") for i in range(30)]
    _assert_same([_workbook(tmp_path / "staff.xlsx", rows, title=True)], spy, exists=("example.com",))


def test_workbook_of_text_only_rows_with_blank_lines_gives_the_same_report(tmp_path: Path, spy: list[int]) -> None:
    rows: list[list[Any]] = []
    for i in range(40):
        rows.append(_row(f"u{i}@example.com"))
        if i % 9 == 0:
            rows.append([None] * len(HEADER))
    rows.append(_row("Bad Address@example.com"))
    _assert_same([_workbook(tmp_path / "staff.xlsx", rows)], spy, exists=("example.com",))


# ---------------------------------------------------------------- two processes for one big file


@pytest.fixture
def split_spy(monkeypatch: pytest.MonkeyPatch, spy: list[int]) -> Iterator[list[str]]:
    """Any file is big enough to split; record whether each join merged the child's part."""
    from migrate import split

    monkeypatch.setattr(split, "MIN_SPLIT_BYTES", 0)
    monkeypatch.setattr(split, "MIN_SPLIT_ROWS", 0)
    # Two cores, and no thread but this one (whatever threads other tests left).
    monkeypatch.setattr(split, "can_fork", lambda: True)
    joins: list[str] = []
    real = split.Split.join

    def join(self: split.Split) -> Any:
        merged = real(self)
        joins.append("merged" if merged is not None else "read here")
        return merged

    monkeypatch.setattr(split.Split, "join", join)
    cancel = split.Split.cancel

    def cancelled(self: split.Split) -> None:
        if not self._done:
            joins.append("cancelled")
        cancel(self)

    monkeypatch.setattr(split.Split, "cancel", cancelled)
    yield joins


def _same_with_two_processes(paths: list[Path], exists: tuple[str, ...] = ()) -> ValidationReport:
    args = {"existing_domains": exists, "collect": True}
    two = validate([str(p) for p in paths], processes=2, **args)  # type: ignore[arg-type]
    one = validate([str(p) for p in paths], processes=1, **args)  # type: ignore[arg-type]
    slow = validate([str(p) for p in paths], bulk=False, **args)  # type: ignore[arg-type]
    for other in (one, slow):
        assert [p.as_dict() for p in two.problems] == [p.as_dict() for p in other.problems]
        assert _summary(two) == _summary(other)
    return two


def _big_users(count: int, *, odd_every: int = 7) -> list[list[str]]:
    rows = []
    for i in range(count):
        column, value = ODD_VALUES[i % len(ODD_VALUES)]
        if i % odd_every == 3 and (column != "email" or i < len(ODD_VALUES)):
            # Odd addresses once only: a repeated one would be a duplicate across the split.
            rows.append(_row(f"odd{i}@example.com", **{column: value}))
        else:
            rows.append(_row(f"user{i}@example.com", aliases=f"alias{i}@example.com" if i % 5 == 0 else ""))
    return rows


def test_a_second_process_checks_the_second_part_with_the_same_report(tmp_path: Path, split_spy: list[str]) -> None:
    domains = _write(tmp_path / "domains.csv", [["example.com", "12"]], ["domain", "minPasswordLength"])
    users = _write(tmp_path / "users.csv", _big_users(400))
    report = _same_with_two_processes([domains, users])
    assert split_spy == ["merged"]
    assert report.summary["user"].rows == 399  # one odd row starts with "#": a comment, skipped


def test_a_duplicate_across_the_split_makes_the_parent_read_on_itself(tmp_path: Path, split_spy: list[str]) -> None:
    rows = _big_users(400)
    rows[390] = _row("user1@example.com")  # a copy of an early row, late in the file
    report = _same_with_two_processes([_write(tmp_path / "users.csv", rows)], exists=("example.com",))
    assert split_spy == ["read here"]
    # Line 392 of the rows, a few more of the file: some values above it span two lines.
    assert [(p.key, p.line) for p in report.problems if p.code == "DUPLICATE_ADDRESS"] == [("user1@example.com", 398)]


def test_per_user_aliases_and_forwardings_across_the_split_are_merged(tmp_path: Path, split_spy: list[str]) -> None:
    header = [*HEADER, "forwarding"]
    rows = [[*row, ""] for row in _big_users(300)]
    rows[5] = [*_row("owner1@example.com", aliases="claimed@example.com"), "ghost@example.com"]
    rows[280] = [*_row("owner2@example.com", aliases="claimed@example.com"), "ghost@example.com,user7@example.com"]
    rows[290] = [*_row("claimed@example.com"), ""]  # the alias is an account of its own
    # Facts only the second part has: an alias that is an account, a member in no input.
    rows[285] = [*_row("owner3@example.com", aliases="late@example.com"), "ghost2@example.com"]
    rows[295] = [*_row("late@example.com"), ""]
    # A forwarding of the first part to a per-user alias only the second part claims: no warning.
    rows[7] = [*_row("owner4@example.com"), "latealias@example.com"]
    rows[287] = [*_row("owner5@example.com", aliases="latealias@example.com"), ""]
    # Accounts of a domain in no input, in both parts: one report, counting them all.
    for index in (10, 20, 270, 299):
        rows[index] = [*_row(f"far{index}@elsewhere.example"), ""]
    domains = _write(tmp_path / "domains.csv", [["example.com"]], ["domain"])
    report = _same_with_two_processes([domains, _write(tmp_path / "users.csv", rows, header)])
    assert split_spy == ["merged"]
    found = {(p.code, p.key) for p in report.problems}
    assert {("ALIAS_IS_ACCOUNT", "owner1@example.com"), ("ALIAS_IS_ACCOUNT", "owner3@example.com")} <= found
    assert ("MEMBER_NOT_IN_INPUT", "owner3@example.com") in found
    assert ("MEMBER_NOT_IN_INPUT", "owner4@example.com") not in found
    unknown = [p.message for p in report.problems if p.code == "UNKNOWN_DOMAIN" and "elsewhere" in p.message]
    assert len(unknown) == 1 and unknown[0].startswith("4 account(s)")


def test_broken_quoting_before_the_split_makes_the_parent_read_on_itself(tmp_path: Path, split_spy: list[str]) -> None:
    path = _write(tmp_path / "users.csv", _big_users(300))
    lines = path.read_text(encoding="utf-8").split("\n")
    # Text after a closing quote: csv refuses the record; an even number of quotes, so the split
    # is tried, and the parent reads on itself once it has seen a record it could not read.
    lines[40] = 'broken@example.com,"Name" Berg,Secret#Pass1,1024,en_US,active,E1,'
    path.write_text("\n".join(lines), encoding="utf-8")
    report = _same_with_two_processes([path], exists=("example.com",))
    assert split_spy == ["cancelled"]
    assert "MALFORMED_ROW" in {p.code for p in report.problems}


def test_a_quote_opened_in_the_first_part_keeps_the_second_part_here(tmp_path: Path, split_spy: list[str]) -> None:
    path = _write(tmp_path / "users.csv", _big_users(300))
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[40] = 'open@example.com,"Name opened and never closed,Secret#Pass1,1024,en_US,active,E1,'
    path.write_text("\n".join(lines), encoding="utf-8")
    report = _same_with_two_processes([path], exists=("example.com",))
    # Either no boundary can be trusted (no split), or the parent finds its reading broken: the
    # child's part is never taken.
    assert "merged" not in split_spy
    assert {"MALFORMED_ROW", "UNCLOSED_QUOTE"} & {p.code for p in report.problems if p.line == 41}


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_line_endings_are_counted_alike_by_both_processes(tmp_path: Path, split_spy: list[str], newline: str) -> None:
    path = tmp_path / "users.csv"
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(HEADER)
        writer.writerows(_row(f"user{i}@example.com", name="Zoë Berg" if i % 3 else "Ann") for i in range(300))
        writer.writerow(_row("late error@example.com"))
    report = _same_with_two_processes([path], exists=("example.com",))
    assert [p.line for p in report.problems] == [302]


def test_a_later_file_repeating_an_address_of_the_second_part_is_a_duplicate(
    tmp_path: Path, split_spy: list[str]
) -> None:
    # The child's addresses are kept apart after the join; the next file must still see them.
    first = _write(tmp_path / "users.csv", _big_users(400))
    later = _write(tmp_path / "more.csv", [_row("user390@example.com"), _row("user2@example.com")])
    report = _same_with_two_processes([first, later], exists=("example.com",))
    assert split_spy[0] == "merged"  # (any file splits here, even the two-row one)
    duplicates = [(p.source, p.line, p.message) for p in report.problems if p.code == "DUPLICATE_ADDRESS"]
    assert [(source, line) for source, line, _ in duplicates] == [(str(later), 2), (str(later), 3)]
    assert duplicates[0][2].endswith(f"first at {first}:{_line_of(first, 'user390@example.com')}")


def test_two_big_files_each_split_see_each_others_addresses(tmp_path: Path, split_spy: list[str]) -> None:
    rows = _big_users(400)
    second = [_row(f"second{i}@example.com") for i in range(300)]
    second[280] = _row("user395@example.com")  # in the first file's second part
    paths = [_write(tmp_path / "a.csv", rows), _write(tmp_path / "b.csv", second)]
    report = _same_with_two_processes(paths, exists=("example.com",))
    assert split_spy == ["merged", "merged"]
    assert [(p.key, p.source) for p in report.problems if p.code == "DUPLICATE_ADDRESS"] == [
        ("user395@example.com", str(paths[1]))
    ]


def test_problems_of_the_second_part_can_come_rendered(tmp_path: Path, split_spy: list[str]) -> None:
    domains = _write(tmp_path / "domains.csv", [["example.com", "12"]], ["domain", "minPasswordLength"])
    paths = [str(domains), str(_write(tmp_path / "users.csv", _big_users(400)))]

    rendered: list[str] = []

    def text_of(processes: int) -> tuple[str, ValidationReport]:
        out: list[str] = []

        def text(chunk: str) -> None:
            rendered.append(chunk)
            out.append(chunk)

        report = validate(
            paths, processes=processes, on_problem=lambda p: out.append(p.render() + "\n"), on_rendered=text
        )
        return "".join(out), report

    two, report_two = text_of(2)
    assert split_spy == ["merged"] and len(rendered) == 1 and rendered[0].count("\n    hint: ") > 3
    one, report_one = text_of(1)
    assert two == one and two.count("\n    hint: ") > 10
    # Each problem rendered from its object, row by row: the same text.
    objects: list[str] = []
    validate(paths, bulk=False, on_problem=lambda p: objects.append(p.render() + "\n"))
    assert "".join(objects) == two
    assert (report_two.errors, report_two.warnings) == (report_one.errors, report_one.warnings)
    assert _summary(report_two) == _summary(report_one)


def _line_of(path: Path, text: str) -> int:
    """The line (1-based) on which ``text`` first appears in ``path``."""
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_validation_collects_young_garbage_less_often_and_restores_the_setting(tmp_path: Path) -> None:
    import gc

    seen: list[tuple[int, int, int]] = []
    before = gc.get_threshold()
    users = _write(tmp_path / "users.csv", [_row("bad address@example.com")])
    validate([str(users)], existing_domains=("example.com",), on_problem=lambda _: seen.append(gc.get_threshold()))
    assert seen and seen[0][0] >= 20_000 and seen[0][1:] == before[1:]
    assert gc.get_threshold() == before


# ---------------------------------------------------------------- two processes for one big worksheet


def _book(path: Path, sheets: dict[str, tuple[list[str], list[list[Any]]]]) -> Path:
    """A workbook with these sheets; a value starting "=" is a formula (``=1/0``: an error)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    for name, (header, rows) in sheets.items():
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, header)
        for number, row in enumerate(rows, 1):
            for column, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, str) and value.startswith("="):
                    sheet.write_formula(number, column, value, None, "#DIV/0!" if "/0" in value else "")
                else:
                    sheet.write(number, column, value)
    book.close()
    return path


def test_a_second_process_checks_the_second_half_of_a_sheet_with_the_same_report(
    tmp_path: Path, split_spy: list[str]
) -> None:
    rows = _big_users(400)
    rows[300][HEADER.index("name")] = "=1/0"  # formula cells in the child's part: found by the scan
    rows[350][HEADER.index("name")] = "=A1"
    path = _book(tmp_path / "staff.xlsx", {"Users": (HEADER, rows)})
    report = _same_with_two_processes([path], exists=("example.com",))
    assert split_spy == ["merged"]
    codes = [(p.code, p.line) for p in report.problems]
    assert ("FORMULA_ERROR", 302) in codes and ("FORMULA_NO_VALUE", 352) in codes


def test_the_child_goes_on_to_the_sheets_after_the_split_one(tmp_path: Path, split_spy: list[str]) -> None:
    users = _big_users(300)
    users[250] = _row("user10@example.com")  # in the child's part, repeating an address of the first part
    aliases = [
        ["sales@example.com", "user1@example.com,ghost@example.com"],
        ["user20@example.com", "user2@example.com"],
    ]
    path = _book(
        tmp_path / "staff.xlsx",
        {"Users": (HEADER, users), "Aliases": (["email", "members", "members"], aliases)},
    )
    domains = _write(tmp_path / "domains.csv", [["example.com"]], ["domain"])
    report = _same_with_two_processes([domains, path])
    # The duplicate of a first-part address makes the parent read on itself; the rest as ever.
    assert split_spy == ["read here"]
    found = {(p.code, p.sheet) for p in report.problems}
    assert {("DUPLICATE_HEADER", "Aliases"), ("DUPLICATE_ADDRESS", "Aliases")} <= found


def test_a_sheet_split_with_later_sheets_and_no_clash_is_merged(tmp_path: Path, split_spy: list[str]) -> None:
    users = _big_users(300) + [[None] * len(HEADER)] * 200  # blank rows past the split line
    aliases = [
        ["sales@example.com", "user1@example.com,ghost@example.com"],
        ["late@example.com", "user290@example.com"],
    ]
    path = _book(
        tmp_path / "staff.xlsx",
        {
            "Users": (HEADER, users),
            "Aliases": (["email", "members"], aliases),
            "Lists": (["email", "members"], []),  # a header and no rows: the child's reader says so
        },
    )
    domains = _write(tmp_path / "domains.csv", [["example.com"]], ["domain"])
    report = _same_with_two_processes([domains, path])
    assert split_spy == ["merged"]
    assert any(p.code == "MEMBER_NOT_IN_INPUT" and p.key == "sales@example.com" for p in report.problems)
    assert [p.sheet for p in report.problems if p.code == "NO_DATA_ROWS"] == ["Lists"]


def test_the_parent_reads_on_while_the_child_looks_for_its_boundary(
    tmp_path: Path, split_spy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from migrate import split

    # Many 64 KB chunks: most of the parent's blocks are settled before it knows the child's line.
    rows = _big_users(6000, odd_every=97)
    users = _write(tmp_path / "users.csv", rows)
    assert users.stat().st_size > 6 * 64 * 1024
    early: list[bool] = []
    real = split.Split.cut

    def cut(self: split.Split, item: Any) -> Any:
        early.append(self.part is None)
        return real(self, item)

    monkeypatch.setattr(split.Split, "cut", cut)
    report = _same_with_two_processes([users], exists=("example.com",))
    assert split_spy == ["merged"]
    assert early.count(True) > 100  # (blocks of 7 rows: spy)
    assert report.summary["user"].rows == len(rows)


def test_no_record_boundary_near_the_middle_keeps_the_whole_file_here(tmp_path: Path, split_spy: list[str]) -> None:
    rows = _big_users(400)
    # A quoted value of thousands of lines across the middle: no line start near it is sure to
    # begin a record, so the child finds no part and the parent reads it all.
    rows[200][HEADER.index("name")] = "\n".join(f"line {n}" for n in range(3000))
    report = _same_with_two_processes([_write(tmp_path / "users.csv", rows)], exists=("example.com",))
    assert split_spy == ["cancelled"]
    assert report.summary["user"].rows == 399
