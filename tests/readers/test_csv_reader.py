"""The CSV reader: encodings, delimiters, quoting, located row problems, the bad-input corpus."""

from __future__ import annotations

import csv
import dataclasses
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from make_corpus import CORPUS, CORPUS_DIR, write_big_cell_csv

from migrate.errors import InputFileError
from migrate.readers import csv_detect, csv_reader
from migrate.readers.csv_detect import detect_encoding, sniff_delimiter
from migrate.readers.csv_reader import read_csv
from migrate.readers.tabular import unique_headers
from migrate.records import Problem, Provenance, Severity, TableRow

USERS = "email,name,password,quota\r\nalice@example.com,Alice,Secret-Pass-123,1024\r\n"


def write(tmp_path: Path, data: bytes | str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


def read_all(path: Path, **options: Any) -> tuple[list[TableRow], list[Problem]]:
    notes: list[Problem] = []
    rows = list(read_csv(path, report=notes.append, **options))
    return rows, notes


def fatal(path: Path, **options: Any) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_all(path, **options)
    return caught.value


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        pytest.param("utf-8", b"", id="utf-8"),
        pytest.param("utf-8", b"\xef\xbb\xbf", id="utf-8-bom"),
        pytest.param("utf-16", b"", id="utf-16-bom"),
        pytest.param("utf-16-be", b"\xfe\xff", id="utf-16-be-bom"),
        pytest.param("utf-16-le", b"", id="utf-16-le-no-bom"),
        pytest.param("cp1252", b"", id="cp1252"),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    text = "email,name\r\nrene@example.com,René Müller €\r\n"
    path = write(tmp_path, prefix + text.encode(encoding))
    rows, notes = read_all(path)
    assert [r.cells for r in rows] == [{"email": "rene@example.com", "name": "René Müller €"}]
    assert notes == []
    assert rows[0].problems == []


def test_latin1_is_the_last_resort(tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252, so only latin-1 decodes this file.
    path = write(tmp_path, b"email,name\nx@example.com,a\x81b\xe9\n")
    assert [r.cells["name"] for r in read_all(path)[0]] == ["a\x81bé"]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        pytest.param(b"plain ascii", "utf-8", id="ascii"),
        pytest.param("Jürgen".encode(), "utf-8", id="utf-8"),
        pytest.param(b"J\xfcrgen", "cp1252", id="cp1252"),
        pytest.param(b"a\x81b", "latin-1", id="latin-1"),
        pytest.param("Jürgen".encode() + b" Zo\xeb", "utf-8", id="mixed-fails-as-utf-8"),
        pytest.param("ab,cd".encode("utf-16-be"), "utf-16-be", id="utf-16-be-no-bom"),
        pytest.param(b"\xff\xfe\x00\x00a\x00\x00\x00", "utf-32", id="utf-32-bom"),
    ],
)
def test_detect_encoding(sample: bytes, expected: str) -> None:
    assert detect_encoding(sample) == expected


def test_forced_encoding_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\r\nx@example.com,Zoë\r\n", encoding="cp1252")
    assert read_all(path, encoding="latin-1")[0][0].cells["name"] == "Zoë"


def test_forced_encoding_that_does_not_fit_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\r\nx@example.com,Zoe\r\ny@example.com,Zoë\r\n", encoding="cp1252")
    error = fatal(path, encoding="utf-8", source_name="users.csv")
    assert (error.code, error.source, error.line) == ("ENCODING", "users.csv", 3)
    assert "--encoding" in error.hint


def test_unknown_encoding_is_refused(tmp_path: Path) -> None:
    error = fatal(write(tmp_path, USERS), encoding="klingon")
    assert error.code == "UNKNOWN_ENCODING"


def test_ascii_start_then_cp1252_switches_quietly(tmp_path: Path) -> None:
    # Past the 64 KB the detection looks at: the first non-UTF-8 byte switches the rest to cp1252.
    lines = ["email,name"] + [f"user{i}@example.com,Plain Name" for i in range(3000)]
    data = ("\r\n".join(lines) + "\r\nzoe@example.com,Zoë €\r\n").encode("cp1252")
    assert len(data) > 70_000
    rows, _ = read_all(write(tmp_path, data))
    assert len(rows) == 3001
    assert rows[-1].cells["name"] == "Zoë €"
    assert rows[-1].prov.line == 3002


def test_utf8_start_then_bad_bytes_is_located(tmp_path: Path) -> None:
    lines = ["email,name", "jurgen@example.com,Jürgen"] + [f"user{i}@example.com,Name" for i in range(4000)]
    data = "\r\n".join(lines).encode() + b"\r\nzoe@example.com,Zo\xeb\r\n"
    error = fatal(write(tmp_path, data))
    assert (error.code, error.line) == ("ENCODING", 4003)
    assert "cp1252" in error.hint


# ---------------------------------------------------------------- delimiters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a,b,c\n1,2,3\n", ",", id="comma"),
        pytest.param("a;b;c\n1;2;3\n", ";", id="semicolon"),
        pytest.param("a\tb\tc\n1\t2\t3\n", "\t", id="tab"),
        pytest.param("a|b|c\n1|2|3\n", "|", id="pipe"),
        pytest.param('"Doe, John";b\n"x, y";2\n', ";", id="commas-inside-quotes"),
        pytest.param("name;notes\nA;x, y, z\n", ";", id="steady-count-wins"),
        pytest.param("single\nvalue\n", ",", id="one-column"),
        pytest.param("", ",", id="empty"),
    ],
)
def test_sniff_delimiter(text: str, expected: str) -> None:
    assert sniff_delimiter(text) == expected


@pytest.mark.parametrize(
    ("given", "data"),
    [
        pytest.param(";", "email;name\r\nx@example.com;X\r\n", id="semicolon"),
        pytest.param("tab", "email\tname\r\nx@example.com\tX\r\n", id="tab-by-name"),
        pytest.param("\\t", "email\tname\r\nx@example.com\tX\r\n", id="tab-escaped"),
    ],
)
def test_forced_delimiter(tmp_path: Path, given: str, data: str) -> None:
    rows, _ = read_all(write(tmp_path, data), delimiter=given)
    assert rows[0].cells == {"email": "x@example.com", "name": "X"}


def test_bad_delimiter_is_refused(tmp_path: Path) -> None:
    assert fatal(write(tmp_path, USERS), delimiter=";;").code == "BAD_DELIMITER"


# ---------------------------------------------------------------- records and lines


def test_rows_carry_provenance_and_cells(tmp_path: Path) -> None:
    path = write(tmp_path, USERS + "\r\nbob@example.com,Bob,Secret-Pass-123,2048\r\n")
    rows, notes = read_all(path, source_name="staff.csv")
    assert notes == []
    assert [r.prov for r in rows] == [Provenance("staff.csv", None, 2, "csv"), Provenance("staff.csv", None, 4, "csv")]
    assert rows[1].cells == {"email": "bob@example.com", "name": "Bob", "password": "Secret-Pass-123", "quota": "2048"}
    assert (rows[1].kind, rows[1].types, rows[1].problems) == (None, {}, [])


def test_source_defaults_to_the_path_as_given(tmp_path: Path) -> None:
    path = write(tmp_path, USERS)
    assert read_all(path)[0][0].prov.source == str(path)


def test_provenance_is_the_same_frozen_object_the_constructor_builds(tmp_path: Path) -> None:
    prov = read_all(write(tmp_path, USERS), source_name="a.csv")[0][0].prov
    expected = Provenance("a.csv", None, 2, "csv")
    assert prov == expected
    assert hash(prov) == hash(expected)
    assert repr(prov) == repr(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prov.line = 3  # type: ignore[misc]


def test_multiline_cells_keep_the_starting_line(tmp_path: Path) -> None:
    data = 'email,notes\r\na@example.com,"one\r\ntwo\r\nthree"\r\nb@example.com,"x"\r\n'
    rows, _ = read_all(write(tmp_path, data))
    assert [(r.prov.line, r.cells["notes"]) for r in rows] == [(2, "one\r\ntwo\r\nthree"), (5, "x")]


def test_blank_rows_are_skipped(tmp_path: Path) -> None:
    data = "email,name\r\n\r\n,\r\na@example.com,A\r\n,,\r\n   \r\n"
    rows, notes = read_all(write(tmp_path, data))
    assert [(r.prov.line, r.cells["email"]) for r in rows] == [(4, "a@example.com")]
    assert notes == []


def test_header_after_blank_lines(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, "\r\n\r\n" + USERS))
    assert rows[0].prov.line == 4


def test_bare_cr_line_endings(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, "email,name\ra@example.com,A\rb@example.com,B\r"))
    assert [(r.prov.line, r.cells["name"]) for r in rows] == [(2, "A"), (3, "B")]


def test_header_cells_are_stripped(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, " email , Name \r\na@example.com, A \r\n"))
    assert rows[0].cells == {"email": "a@example.com", "Name": " A "}


def test_without_header_cells_are_keyed_by_position(tmp_path: Path) -> None:
    data = "a@example.com,pw,100\r\nb@example.com\r\nc@example.com,pw,100,Name,x\r\n"
    rows, notes = read_all(write(tmp_path, data), header=False)
    assert [r.cells for r in rows] == [
        {"1": "a@example.com", "2": "pw", "3": "100"},
        {"1": "b@example.com"},
        {"1": "c@example.com", "2": "pw", "3": "100", "4": "Name", "5": "x"},
    ]
    assert [r.prov.line for r in rows] == [1, 2, 3]
    assert notes == [] and all(r.problems == [] for r in rows)


def test_without_header_nul_bytes_are_still_reported(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, "a@example.com,p\0w\r\n"), header=False)
    assert rows[0].cells == {"1": "a@example.com", "2": "pw"}
    assert [(p.code, p.column) for p in rows[0].problems] == [("NUL_BYTES", "2")]


# ---------------------------------------------------------------- row problems


def test_nul_bytes_are_stripped_with_a_warning(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, "email,name\r\na@example.com,A\r\nb@exa\0mple.com,B\0\r\nc@example.com,C\r\n"))
    assert [r.cells["email"] for r in rows] == ["a@example.com", "b@example.com", "c@example.com"]
    assert rows[1].cells["name"] == "B"
    (problem,) = rows[1].problems
    assert (problem.code, problem.line, problem.column, problem.severity) == ("NUL_BYTES", 3, "email", Severity.WARNING)
    assert rows[0].problems == [] and rows[2].problems == []


def test_extra_values_are_a_ragged_row_error(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, "email,name\r\na@example.com,Smith, John,x\r\n"))
    (problem,) = rows[0].problems
    assert (problem.code, problem.line, problem.severity) == ("RAGGED_ROW", 2, Severity.ERROR)
    assert "values 3, 4 (' John', 'x') have no column" in problem.message
    assert rows[0].cells == {"email": "a@example.com", "name": "Smith"}


def test_extra_empty_values_are_ignored(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, "email,name\r\na@example.com,A,,\r\n"))
    assert rows[0].problems == []
    assert rows[0].cells == {"email": "a@example.com", "name": "A"}


def test_missing_values_are_empty_with_a_warning(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, "email,name,quota\r\na@example.com\r\n"))
    assert rows[0].cells == {"email": "a@example.com", "name": "", "quota": ""}
    (problem,) = rows[0].problems
    assert (problem.code, problem.severity) == ("SHORT_ROW", Severity.WARNING)
    assert "'name', 'quota'" in problem.message


def test_malformed_quoting_is_a_row_error_and_reading_goes_on(tmp_path: Path) -> None:
    data = 'email,name\r\na@example.com,"A" B\r\nc@example.com,C\r\n'
    rows, _ = read_all(write(tmp_path, data))
    assert [r.prov.line for r in rows] == [2, 3]
    # The values are read again leniently, for the rejects file; the row stays invalid.
    assert rows[0].cells == {"email": "a@example.com", "name": "A B"}
    assert [(p.code, p.line) for p in rows[0].problems] == [("MALFORMED_ROW", 2)]
    assert rows[1].cells == {"email": "c@example.com", "name": "C"} and rows[1].problems == []


def test_unclosed_quote_is_located_at_its_row(tmp_path: Path) -> None:
    data = 'email,name\r\na@example.com,A\r\nb@example.com,"B\r\nc@example.com,C\r\nd@example.com,D\r\n'
    rows, _ = read_all(write(tmp_path, data))
    assert [r.prov.line for r in rows] == [2, 3]
    (problem,) = rows[1].problems
    assert (problem.code, problem.line) == ("UNCLOSED_QUOTE", 3)
    assert "to line 5" in problem.message
    assert rows[1].cells == {"email": "b@example.com", "name": "B\r\nc@example.com,C\r\nd@example.com,D\r\n"}


def test_a_10_mb_cell_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_big_cell_csv(path, megabytes=10)
    rows, notes = read_all(path)
    assert len(rows[0].cells["name"]) == 10 * 1024 * 1024
    assert rows[1].cells["email"] == "next@example.com" and rows[1].prov.line == 3
    assert notes == [] and rows[0].problems == []


def test_a_cell_over_the_limit_stops_the_file_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = csv.field_size_limit(1000)
    monkeypatch.setattr(csv_reader, "FIELD_SIZE_LIMIT", 1000)
    try:
        error = fatal(write(tmp_path, 'email,name\r\na@example.com,A\r\nb@example.com,"' + "x" * 5000 + "\r\n"))
    finally:
        csv.field_size_limit(old)
    assert (error.code, error.line) == ("FIELD_TOO_LARGE", 3)


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        pytest.param("1.23457E+11", True, id="excel-display"),
        pytest.param("4,5E+14", True, id="decimal-comma"),
        pytest.param("1E+5", True, id="no-decimals"),
        pytest.param("Pass-E+12x", False, id="inside-a-password"),
        pytest.param("1.5e+15", False, id="lower-case-is-typed-not-excel"),
        pytest.param("123456789012", False, id="plain-digits"),
    ],
)
def test_scientific_numbers_are_flagged(tmp_path: Path, value: str, flagged: bool) -> None:
    rows, _ = read_all(write(tmp_path, f'email,employeeid\r\na@example.com,"{value}"\r\n'))
    codes = [(p.code, p.column, p.severity) for p in rows[0].problems]
    assert codes == ([("EXCEL_SCIENTIFIC", "employeeid", Severity.WARNING)] if flagged else [])
    assert rows[0].cells["employeeid"] == value


def test_scientific_marker_split_across_chunks_is_seen(tmp_path: Path) -> None:
    head = "email,id\r\n"
    filler = "".join(f"u{i}@example.com,1\r\n" for i in range(5000))
    prefix = head + filler + "z@example.com,1.2345"
    pad = "-" * (csv_detect.CHUNK_SIZE - len(prefix.encode()) % csv_detect.CHUNK_SIZE - 1)
    data = prefix.replace("z@example.com", "z@example.com" + pad, 1) + "E+11\r\n"
    assert data.encode().index(b"E+") % csv_detect.CHUNK_SIZE == csv_detect.CHUNK_SIZE - 1
    rows, _ = read_all(write(tmp_path, data))
    assert [p.code for p in rows[-1].problems] == ["EXCEL_SCIENTIFIC"]


# ---------------------------------------------------------------- headers and file-level notes


def test_duplicate_headers_are_kept_distinct_and_reported_once(tmp_path: Path) -> None:
    rows, notes = read_all(
        write(tmp_path, "email,name,Name,name (2)\r\na@example.com,A,B,C\r\nb@example.com,D,E,F\r\n")
    )
    assert rows[0].cells == {"email": "a@example.com", "name": "A", "Name (3)": "B", "name (2)": "C"}
    (note,) = notes
    assert (note.code, note.line, note.column, note.severity) == ("DUPLICATE_HEADER", 1, "Name", Severity.ERROR)
    assert "'Name (3)'" in note.message


def test_empty_header_cells_are_named_and_trailing_ones_dropped(tmp_path: Path) -> None:
    rows, notes = read_all(write(tmp_path, "email,,quota,,\r\na@example.com,A,10,,\r\n"))
    assert rows[0].cells == {"email": "a@example.com", "column 2": "A", "quota": "10"}
    assert [(n.code, n.severity) for n in notes] == [("EMPTY_HEADER", Severity.WARNING)]


def test_unique_headers_labels_positions_as_asked() -> None:
    notes: list[Problem] = []
    headers, width = unique_headers(
        ["a", "", "b"], Provenance("f", "S", 3, "xlsx"), notes.append, label=lambda p: f"col {p}"
    )
    assert (headers, width) == (["a", "col 2", "b"], 3)
    assert (notes[0].sheet, notes[0].line) == ("S", 3)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="zero-bytes"),
        pytest.param(b"\xef\xbb\xbf", id="bom-only"),
        pytest.param(b"\r\n \r\n,,\r\n", id="blank-lines"),
    ],
)
def test_empty_files_are_refused(tmp_path: Path, data: bytes) -> None:
    error = fatal(write(tmp_path, data), source_name="e.csv")
    assert (error.code, error.source) == ("EMPTY_FILE", "e.csv")


def test_empty_file_without_header_is_refused(tmp_path: Path) -> None:
    assert fatal(write(tmp_path, b"\r\n"), header=False).code == "EMPTY_FILE"


def test_header_only_file_is_an_error(tmp_path: Path) -> None:
    rows, notes = read_all(write(tmp_path, "\r\nemail,name\r\n\r\n"))
    assert rows == []
    assert [(n.code, n.line, n.severity) for n in notes] == [("NO_DATA_ROWS", 2, Severity.ERROR)]


def test_malformed_header_is_refused(tmp_path: Path) -> None:
    error = fatal(write(tmp_path, '"email" x,name\r\na,b\r\n'))
    assert (error.code, error.line) == ("MALFORMED_HEADER", 1)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        pytest.param(b"PK\x03\x04rest-of-a-zip", "zip archive", id="zip"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "xls", id="ole2"),
        pytest.param(bytes(range(256)), "binary", id="binary"),
    ],
)
def test_binary_files_are_refused(tmp_path: Path, data: bytes, needle: str) -> None:
    error = fatal(write(tmp_path, data))
    assert error.code == "NOT_TEXT"
    assert needle in error.message


# ---------------------------------------------------------------- streaming


def test_reading_is_lazy_and_memory_stays_flat(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("email,name,password,quota\r\n")
        for i in range(60_000):
            fh.write(f"user{i}@example.com,User {i},Secret-Pass-{i},1024\r\n")
    assert path.stat().st_size > 3_000_000
    rows = read_csv(path)
    first = next(rows)
    assert first.cells["email"] == "user0@example.com"
    tracemalloc.start()
    try:
        count = 1 + sum(1 for _ in rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert peak < 1_000_000


# ---------------------------------------------------------------- the corpus

# file -> (code, line, column, severity; None = fatal)
CORPUS_CASES: dict[str, tuple[str, int | None, str | None, Severity | None]] = {
    "csv_malformed_quote.csv": ("MALFORMED_ROW", 2, None, Severity.ERROR),
    "csv_unclosed_quote.csv": ("UNCLOSED_QUOTE", 3, None, Severity.ERROR),
    "csv_ragged_row.csv": ("RAGGED_ROW", 3, None, Severity.ERROR),
    "csv_short_row.csv": ("SHORT_ROW", 3, None, Severity.WARNING),
    "csv_nul_bytes.csv": ("NUL_BYTES", 2, "email", Severity.WARNING),
    "csv_duplicate_header.csv": ("DUPLICATE_HEADER", 1, "Email", Severity.ERROR),
    "csv_empty_header.csv": ("EMPTY_HEADER", 1, None, Severity.WARNING),
    "csv_empty.csv": ("EMPTY_FILE", None, None, None),
    "csv_blank_lines.csv": ("EMPTY_FILE", None, None, None),
    "csv_header_only.csv": ("NO_DATA_ROWS", 1, None, Severity.ERROR),
    "csv_mixed_encoding.csv": ("ENCODING", 3, None, None),
    "csv_xlsx_renamed.csv": ("NOT_TEXT", None, None, None),
    "csv_binary.csv": ("NOT_TEXT", None, None, None),
    "csv_excel_scientific.csv": ("EXCEL_SCIENTIFIC", 2, "employeeid", Severity.WARNING),
}
ODD_FILES = {
    "csv_cp1252_semicolon.csv": [("rene@example.com", "René Müller", 2), ("zoe@example.com", "Zoë €uro", 3)],
    "csv_utf16_tab.csv": [("rene@example.com", "René", 2)],
    "csv_multiline_quoted.csv": [("alice@example.com", "Alice\r\nSmith", 2), ("bob@example.com", "Bob", 4)],
}


@pytest.mark.parametrize(("name", "case"), list(CORPUS_CASES.items()), ids=list(CORPUS_CASES))
def test_corpus_bad_file(name: str, case: tuple[str, int | None, str | None, Severity | None]) -> None:
    code, line, column, severity = case
    if severity is None:
        error = fatal(CORPUS_DIR / name, source_name=name)
        assert (error.code, error.source, error.line) == (code, name, line)
        assert error.hint
        assert str(error).startswith(name)
        return
    rows, notes = read_all(CORPUS_DIR / name, source_name=name)
    found = [p for p in notes + [p for r in rows for p in r.problems] if p.code == code]
    assert len(found) == 1, found
    (problem,) = found
    assert (problem.source, problem.line, problem.column, problem.severity) == (name, line, column, severity)
    assert problem.render().startswith(f"{name}:{line}")


@pytest.mark.parametrize(("name", "expected"), list(ODD_FILES.items()), ids=list(ODD_FILES))
def test_corpus_odd_file(name: str, expected: list[tuple[str, str, int]]) -> None:
    rows, notes = read_all(CORPUS_DIR / name)
    assert [(r.cells["email"], r.cells["name"], r.prov.line) for r in rows] == expected
    assert notes == [] and all(r.problems == [] for r in rows)


def test_corpus_readme_lists_every_file_with_its_code() -> None:
    readme = (CORPUS_DIR / "README.md").read_text(encoding="utf-8")
    table = {
        m.group(1): m.group(2).strip()
        for m in re.finditer(r"^\| (\S+\.(?:csv|xlsx)) \|[^|]*\| ([^|]*) \|", readme, re.MULTILINE)
    }
    on_disk = {p.name for p in CORPUS_DIR.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert set(table) == on_disk == set(CORPUS)
    for name, (code, *_) in CORPUS_CASES.items():
        assert code in table[name]
    for name in ODD_FILES:
        assert table[name] == "—"


def test_broken_rows_without_header_are_keyed_by_position(tmp_path: Path) -> None:
    rows, _ = read_all(write(tmp_path, 'a@example.com,"x" y\r\n'), header=False)
    assert rows[0].cells == {"1": "a@example.com", "2": "x y"}
    assert [p.code for p in rows[0].problems] == ["MALFORMED_ROW"]


def test_broken_row_values_are_cut_and_rereads_are_bounded(tmp_path: Path) -> None:
    long_value = "y" * 500
    lines = ["email,name", f'a@example.com,"x" {long_value}'] + [f'u{i}@example.com,"x" y' for i in range(120)]
    rows, _ = read_all(write(tmp_path, "\r\n".join(lines) + "\r\n"))
    assert len(rows) == 121 and all(r.problems[0].code == "MALFORMED_ROW" for r in rows)
    assert rows[0].cells["name"] == ("x " + long_value)[:200] + "..."
    assert rows[99].cells == {"email": "u98@example.com", "name": "x y"}
    assert rows[100].cells == {"email": "", "name": ""}  # past the 100 re-reads a file gets
