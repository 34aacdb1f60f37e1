"""The XLSX reader: sheets and kinds, header search, values, formulas, archive safety, the corpus."""

from __future__ import annotations

import datetime as dt
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
import xlsxwriter
from make_corpus import CORPUS_DIR, minimal_xlsx, patch_declared_size, rows_xml, sheet_xml, write_zip_bomb

from migrate.errors import InputFileError
from migrate.readers.xlsx_reader import read_xlsx, sheet_kind
from migrate.readers.xlsx_safety import ArchiveLimits, open_archive, scan_sheet, sheet_parts
from migrate.records import Problem, Provenance, Severity, TableRow


def read_all(path: Path, **options: Any) -> tuple[list[TableRow], list[Problem]]:
    notes: list[Problem] = []
    rows = list(read_xlsx(path, report=notes.append, **options))
    return rows, notes


def fatal(path: Path, **options: Any) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_all(path, **options)
    return caught.value


def workbook(path: Path, sheets: dict[str, list[list[Any]]], hidden: tuple[str, ...] = ()) -> Path:
    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for number, values in enumerate(rows):
            for col, value in enumerate(values):
                if value is not None:
                    sheet.write(number, col, value)
        if name in hidden:
            sheet.hide()
    book.close()
    return path


USERS = [["email", "name", "quota"], ["alice@example.com", "Alice", 1024], ["bob@example.com", "Bob", 2048]]


# ---------------------------------------------------------------- sheet kinds


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Users", "user"),
        ("user", "user"),
        ("MAILBOXES", "user"),
        ("Domains", "domain"),
        ("admins", "admin"),
        ("Domain Admins", "admin"),
        ("Aliases", "alias"),
        ("alias", "alias"),
        ("Lists", "list"),
        ("maillists", "list"),
        ("Mailing-Lists", "list"),
        ("spam policies", "spam_policy"),
        ("spam_policy", "spam_policy"),
        ("Spam-Policies", "spam_policy"),
        ("throttles", "throttle"),
        ("Throttling", "throttle"),
        ("Sheet1", None),
        ("Notes", None),
        ("", None),
    ],
    ids=lambda value: repr(value),
)
def test_sheet_kind(name: str, kind: str | None) -> None:
    assert sheet_kind(name) == kind


def test_rows_carry_sheet_kind_and_spreadsheet_line(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx", {"Users": USERS, "Domains": [["domain"], ["example.com"]]})
    rows, notes = read_all(path, source_name="book.xlsx")
    assert notes == []
    assert [(r.prov, r.kind) for r in rows] == [
        (Provenance("book.xlsx", "Users", 2, "xlsx"), "user"),
        (Provenance("book.xlsx", "Users", 3, "xlsx"), "user"),
        (Provenance("book.xlsx", "Domains", 2, "xlsx"), "domain"),
    ]
    assert rows[0].cells == {"email": "alice@example.com", "name": "Alice", "quota": "1024"}
    assert rows[0].types == {"quota": "number"}
    assert rows[2].cells == {"domain": "example.com"}


def test_provenance_is_the_same_frozen_object_the_constructor_builds(tmp_path: Path) -> None:
    prov = read_all(workbook(tmp_path / "b.xlsx", {"Users": USERS}), source_name="b")[0][0].prov
    assert prov == Provenance("b", "Users", 2, "xlsx")
    assert hash(prov) == hash(Provenance("b", "Users", 2, "xlsx"))


# ---------------------------------------------------------------- sheet selection


def test_hidden_sheets_are_skipped_with_a_warning(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx", {"Users": USERS, "Aliases": [["email"], ["x@example.com"]]}, ("Aliases",))
    rows, notes = read_all(path)
    assert {r.prov.sheet for r in rows} == {"Users"}
    assert [(n.code, n.sheet, n.severity) for n in notes] == [("HIDDEN_SHEET", "Aliases", Severity.WARNING)]


def test_named_sheets_are_read_even_when_hidden(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx", {"Users": USERS, "Aliases": [["email"], ["x@example.com"]]}, ("Aliases",))
    rows, notes = read_all(path, sheets=["aliases"])
    assert [(r.prov.sheet, r.kind, r.cells) for r in rows] == [("Aliases", "alias", {"email": "x@example.com"})]
    assert notes == []


def test_a_missing_named_sheet_is_refused(tmp_path: Path) -> None:
    error = fatal(workbook(tmp_path / "b.xlsx", {"Users": USERS}), sheets=["Lists"])
    assert error.code == "SHEET_NOT_FOUND"
    assert "'Users'" in error.hint


def test_unknown_sheets_are_skipped_next_to_known_ones(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx", {"Read me": [["How to fill this in", "x"]], "Users": USERS})
    rows, notes = read_all(path)
    assert {r.prov.sheet for r in rows} == {"Users"}
    assert [(n.code, n.sheet) for n in notes] == [("UNKNOWN_SHEET", "Read me")]
    assert "skipped" in notes[0].message


def test_unknown_sheets_alone_are_read_without_a_kind(tmp_path: Path) -> None:
    rows, notes = read_all(workbook(tmp_path / "b.xlsx", {"Sheet1": USERS}))
    assert [(r.kind, r.cells["email"]) for r in rows] == [(None, "alice@example.com"), (None, "bob@example.com")]
    assert [(n.code, n.severity) for n in notes] == [("UNKNOWN_SHEET", Severity.WARNING)]


def test_chart_sheets_are_ignored(tmp_path: Path) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "c.xlsx"))
    sheet = book.add_worksheet("Users")
    for number, values in enumerate(USERS):
        sheet.write_row(number, 0, values)
    chart = book.add_chart({"type": "column"})
    chart.add_series({"values": "=Users!$C$2:$C$3"})
    book.add_chartsheet("Quotas").set_chart(chart)
    book.close()
    rows, notes = read_all(tmp_path / "c.xlsx")
    assert len(rows) == 2 and notes == []


# ---------------------------------------------------------------- header search and layout


def test_header_below_title_rows_and_merged_cells(tmp_path: Path) -> None:
    rows, notes = read_all(CORPUS_DIR / "xlsx_title_rows.xlsx")
    assert notes == []
    assert [(r.prov.line, r.cells["email"], r.cells["quota"]) for r in rows] == [
        (5, "alice@example.com", "1024"),
        (6, "bob@example.com", "2048"),
    ]


def test_title_with_two_cells_is_not_taken_for_the_header(tmp_path: Path) -> None:
    data = [["Company", "ACME"], [], ["email", "name", "quota", "language"], ["a@example.com", "A", 1, "en_US"]]
    rows, _ = read_all(workbook(tmp_path / "b.xlsx", {"Users": data}))
    assert [(r.prov.line, r.cells["email"]) for r in rows] == [(4, "a@example.com")]


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def test_table_that_starts_in_column_c(tmp_path: Path) -> None:
    xml = sheet_xml(
        f'<row r="3">{inline("C3", "email")}{inline("D3", "name")}</row>'
        f'<row r="4">{inline("C4", "a@example.com")}<c r="F4"><v>7</v></c></row>'
    )
    minimal_xlsx(tmp_path / "b.xlsx", {"Users": xml})
    rows, _ = read_all(tmp_path / "b.xlsx")
    assert [(r.prov.line, r.cells) for r in rows] == [(4, {"email": "a@example.com", "name": ""})]
    assert [(p.code, p.column) for p in rows[0].problems] == [("RAGGED_ROW", "F")]
    rows, _ = read_all(tmp_path / "b.xlsx", header=False)
    assert [(r.prov.line, r.cells) for r in rows] == [
        (3, {"3": "email", "4": "name", "5": "", "6": ""}),
        (4, {"3": "a@example.com", "4": "", "5": "", "6": "7"}),
    ]
    assert rows[1].types == {"6": "number"}


def test_single_column_sheet(tmp_path: Path) -> None:
    rows, _ = read_all(workbook(tmp_path / "b.xlsx", {"Domains": [["domain"], ["example.com"], ["example.org"]]}))
    assert [r.cells for r in rows] == [{"domain": "example.com"}, {"domain": "example.org"}]


def test_blank_rows_are_skipped(tmp_path: Path) -> None:
    rows, _ = read_all(workbook(tmp_path / "b.xlsx", {"Users": [USERS[0], [], [None, ""], USERS[1]]}))
    assert [r.prov.line for r in rows] == [4]


def test_duplicate_and_empty_headers(tmp_path: Path) -> None:
    data = [["email", None, "Email", "quota"], ["a@example.com", "x", "b@example.com", 1]]
    rows, notes = read_all(workbook(tmp_path / "b.xlsx", {"Users": data}))
    assert rows[0].cells == {"email": "a@example.com", "column B": "x", "Email (2)": "b@example.com", "quota": "1"}
    assert [(n.code, n.sheet, n.line, n.severity) for n in notes] == [
        ("EMPTY_HEADER", "Users", 1, Severity.WARNING),
        ("DUPLICATE_HEADER", "Users", 1, Severity.ERROR),
    ]


def test_values_beyond_the_header_are_ragged(tmp_path: Path) -> None:
    data = [["email", "name"], ["a@example.com", "A", None, "x", 5], ["b@example.com", "B"], ["c@example.com", "C"]]
    rows, _ = read_all(workbook(tmp_path / "b.xlsx", {"Users": data}))
    assert [r.cells for r in rows[1:]] == [
        {"email": "b@example.com", "name": "B"},
        {"email": "c@example.com", "name": "C"},
    ]
    assert rows[1].problems == []
    (problem,) = rows[0].problems
    assert (problem.code, problem.line, problem.column, problem.severity) == ("RAGGED_ROW", 2, "D", Severity.ERROR)
    assert "columns D, E" in problem.message


def test_header_only_sheet_is_a_warning(tmp_path: Path) -> None:
    rows, notes = read_all(workbook(tmp_path / "b.xlsx", {"Users": [USERS[0]], "Domains": [["domain"], ["x.org"]]}))
    assert len(rows) == 1
    assert [(n.code, n.sheet, n.line) for n in notes] == [("NO_DATA_ROWS", "Users", 1)]


def test_sheet_without_header_is_an_error(tmp_path: Path) -> None:
    rows, notes = read_all(workbook(tmp_path / "b.xlsx", {"Users": [[1, 2], [3, 4]]}))
    assert rows == []
    assert [(n.code, n.sheet, n.severity) for n in notes] == [("NO_HEADER", "Users", Severity.ERROR)]


def test_empty_workbook_is_refused(tmp_path: Path) -> None:
    error = fatal(workbook(tmp_path / "b.xlsx", {"Users": []}), source_name="b.xlsx")
    assert (error.code, error.source) == ("EMPTY_FILE", "b.xlsx")


def test_workbook_with_only_hidden_sheets_is_refused(tmp_path: Path) -> None:
    xml = sheet_xml(rows_xml(USERS))
    minimal_xlsx(tmp_path / "b.xlsx", {"Users": xml, "Lists": xml}, hidden=frozenset({"Users", "Lists"}))
    notes: list[Problem] = []
    with pytest.raises(InputFileError) as caught:
        list(read_xlsx(tmp_path / "b.xlsx", report=notes.append))
    assert caught.value.code == "EMPTY_FILE"
    assert [n.code for n in notes] == ["HIDDEN_SHEET", "HIDDEN_SHEET"]


# ---------------------------------------------------------------- values


def test_values_are_rendered_as_excel_shows_them(tmp_path: Path) -> None:
    path = tmp_path / "v.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Users")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    time_format = book.add_format({"num_format": "hh:mm"})
    sheet.write_row(0, 0, ["email", "int", "frac", "neg", "flag", "day", "stamp", "midnight", "clock", "big", "span"])
    sheet.write_string(1, 0, "a@example.com")
    sheet.write_number(1, 1, 1500.0)
    sheet.write_number(1, 2, 0.25)
    sheet.write_number(1, 3, -3)
    sheet.write_boolean(1, 4, False)
    sheet.write_datetime(1, 5, dt.datetime(2024, 3, 1), date_format)
    sheet.write_datetime(1, 6, dt.datetime(2024, 3, 1, 9, 30), stamp_format)
    sheet.write_datetime(1, 7, dt.datetime(2024, 3, 1), stamp_format)
    sheet.write_datetime(1, 8, dt.time(10, 30), time_format)
    sheet.write_number(1, 9, 123456789012345.0)
    sheet.write_number(1, 10, 1.5, book.add_format({"num_format": "[h]:mm:ss"}))
    book.close()
    rows, _ = read_all(path)
    assert rows[0].cells == {
        "email": "a@example.com",
        "int": "1500",
        "frac": "0.25",
        "neg": "-3",
        "flag": "FALSE",
        "day": "2024-03-01",
        "stamp": "2024-03-01 09:30:00",
        "midnight": "2024-03-01",
        "clock": "10:30:00",
        "big": "123456789012345",
        "span": "36:00:00",
    }
    assert rows[0].types == {
        "int": "number",
        "frac": "number",
        "neg": "number",
        "flag": "bool",
        "day": "date",
        "stamp": "date",
        "midnight": "date",
        "clock": "date",
        "big": "number",
        "span": "date",
    }
    assert rows[0].problems == []


@pytest.mark.parametrize(
    ("value", "text", "flagged"),
    [
        pytest.param(1.5e15, "1500000000000000", True, id="float-past-15-digits"),
        pytest.param(999999999999999.0, "999999999999999", False, id="15-digits"),
        pytest.param("1.23457E+11", "1.23457E+11", True, id="text-from-excel-display"),
        pytest.param("1,5E+15", "1,5E+15", True, id="text-decimal-comma"),
        pytest.param("x-E+12", "x-E+12", False, id="text-not-a-number"),
    ],
)
def test_numbers_excel_mangled_are_flagged(tmp_path: Path, value: object, text: str, flagged: bool) -> None:
    rows, _ = read_all(workbook(tmp_path / "b.xlsx", {"Users": [["email", "employeeid"], ["a@example.com", value]]}))
    assert rows[0].cells["employeeid"] == text
    found = [(p.code, p.line, p.column, p.severity) for p in rows[0].problems]
    assert found == ([("EXCEL_SCIENTIFIC", 2, "employeeid", Severity.WARNING)] if flagged else [])


# ---------------------------------------------------------------- formulas


def test_formula_values_are_read_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Users")
    sheet.write_row(0, 0, ["email", "quota", "name"])
    sheet.write_string(1, 0, "a@example.com")
    sheet.write_formula(1, 1, "=512*2", None, 1024)
    sheet.write_formula(1, 2, '="Ann"&" Lee"', None, "Ann Lee")
    book.close()
    rows, notes = read_all(path)
    assert rows[0].cells == {"email": "a@example.com", "quota": "1024", "name": "Ann Lee"}
    assert rows[0].problems == [] and notes == []


def test_formulas_without_value_and_error_cells_are_row_errors(tmp_path: Path) -> None:
    quota_cells = [
        '<c r="B2"><f>1+1</f></c>',
        '<c r="B3"><f>1+1</f><v/></c>',
        '<c r="B4" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
        '<c r="B5" t="e"><v>#N/A</v></c>',
        '<c r="B6" t="str"><f>""</f><v></v></c>',
        '<c r="B7"><f t="shared" si="0"/></c>',
        '<c r="B8"><f>2*2</f><v>4</v></c>',
    ]
    head = f'<row r="1">{inline("A1", "email")}{inline("B1", "quota")}</row>'
    body = "".join(
        f'<row r="{n}">{inline(f"A{n}", f"{chr(95 + n)}@example.com")}{cell}</row>'
        for n, cell in enumerate(quota_cells, 2)
    )
    minimal_xlsx(tmp_path / "f.xlsx", {"Users": sheet_xml(head + body)})
    rows, _ = read_all(tmp_path / "f.xlsx")
    found = [(r.prov.line, p.code, p.column, p.severity) for r in rows for p in r.problems]
    assert found == [
        (2, "FORMULA_NO_VALUE", "quota", Severity.ERROR),
        (3, "FORMULA_NO_VALUE", "quota", Severity.ERROR),
        (4, "FORMULA_ERROR", "quota", Severity.ERROR),
        (5, "FORMULA_ERROR", "quota", Severity.ERROR),
        (7, "FORMULA_NO_VALUE", "quota", Severity.ERROR),
    ]
    messages = {r.prov.line: r.problems[0].message for r in rows if r.problems}
    assert "#DIV/0!" in messages[4] and "formula" in messages[4]
    assert "#N/A" in messages[5]
    assert [r.cells["quota"] for r in rows] == ["", "", "", "", "", "", "4"]


def test_formula_cells_with_a_namespace_prefix_are_found(tmp_path: Path) -> None:
    rows_xml_text = (
        '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>email</x:t></x:is></x:c>'
        '<x:c r="B1" t="inlineStr"><x:is><x:t>quota</x:t></x:is></x:c></x:row>'
        '<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>a@example.com</x:t></x:is></x:c>'
        '<x:c r="B2"><x:f>1+1</x:f></x:c></x:row>'
    )
    minimal_xlsx(tmp_path / "p.xlsx", {"Users": sheet_xml(rows_xml_text, prefix="x")})
    rows, _ = read_all(tmp_path / "p.xlsx")
    assert [(p.code, p.column) for p in rows[0].problems] == [("FORMULA_NO_VALUE", "quota")]


def test_marked_cells_are_found_across_chunk_boundaries(tmp_path: Path) -> None:
    # 30,000 rows of inline text make a sheet part of several 1 MB chunks.
    rows = [["email", "quota"]] + [[f"user{i}@example.com", "padding text " * 4] for i in range(30_000)]
    xml = rows_xml(rows).replace('<row r="25000">', '<row r="25000"><c r="C25000"><f>1+1</f></c>', 1)
    minimal_xlsx(tmp_path / "big.xlsx", {"Users": sheet_xml(xml)})
    with zipfile.ZipFile(tmp_path / "big.xlsx") as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size > 2_000_000
        scan = scan_sheet(archive, "xl/worksheets/sheet1.xml", source="big.xlsx")
    assert list(scan.marks) == [25000]
    assert scan.marks[25000][0].column == 3


def test_openpyxl_formula_file(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Users"
    sheet.append(["email", "quota"])
    sheet.append(["a@example.com", "=512*2"])
    book.save(tmp_path / "o.xlsx")
    rows, _ = read_all(tmp_path / "o.xlsx")
    assert [(p.code, p.line, p.column) for p in rows[0].problems] == [("FORMULA_NO_VALUE", 2, "quota")]


# ---------------------------------------------------------------- archive safety


def test_not_a_zip_is_refused_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_text("email,name\na@example.com,A\n")
    error = fatal(tmp_path / "t.xlsx", source_name="t.xlsx")
    assert (error.code, error.source) == ("NOT_XLSX", "t.xlsx")
    assert error.message == "is not an XLSX workbook (not a zip archive)"
    assert ".csv" in error.hint


def test_zip_bomb_is_refused_without_inflating_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.xlsx"
    write_zip_bomb(path, megabytes=64)
    assert path.stat().st_size < 1_000_000

    class Untouchable:
        @staticmethod
        def from_path(*args: object) -> None:
            raise AssertionError("the engine must not see a bomb")

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Untouchable)
    tracemalloc.start()
    try:
        error = fatal(path, source_name="bomb.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (error.code, error.source) == ("ZIP_BOMB", "bomb.xlsx")
    assert "sheet9.xml" in error.message
    assert peak < 2_000_000


@pytest.mark.parametrize(
    ("limits", "needle"),
    [
        pytest.param(ArchiveLimits(max_total_size=1000), "would inflate to", id="total-size"),
        pytest.param(ArchiveLimits(max_entries=3), "entries", id="entry-count"),
        pytest.param(ArchiveLimits(ratio_min_size=100, max_ratio=2), "compression ratio", id="ratio"),
    ],
)
def test_limits_are_configurable(tmp_path: Path, limits: ArchiveLimits, needle: str) -> None:
    path = workbook(tmp_path / "b.xlsx", {"Users": USERS * 50})
    error = fatal(path, limits=limits)
    assert error.code == "ZIP_BOMB"
    assert needle in error.message


def test_declared_size_below_the_compressed_size_is_a_lie(tmp_path: Path) -> None:
    path = tmp_path / "l.xlsx"
    minimal_xlsx(path, {"Users": sheet_xml(rows_xml([[f"user{i}@example.com"] for i in range(3000)]))})
    patch_declared_size(path, "xl/worksheets/sheet1.xml", 10)
    error = fatal(path)
    assert error.code == "ZIP_BOMB"
    assert "declares 10 bytes" in error.message


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entity_declarations_are_refused(tmp_path: Path, encoding: str) -> None:
    evil = (
        f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n'
        f'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    ).encode(encoding)
    minimal_xlsx(tmp_path / "e.xlsx", {"Users": sheet_xml(rows_xml(USERS))}, replace={"xl/styles.xml": evil})
    error = fatal(tmp_path / "e.xlsx")
    assert error.code == "ENTITY_BOMB"
    assert "xl/styles.xml" in error.message


def test_a_dtd_is_refused_whatever_the_part_is_called(tmp_path: Path) -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><sst/>'
    minimal_xlsx(tmp_path / "e.xlsx", {"Users": sheet_xml(rows_xml(USERS))}, replace={"xl/media/logo.png": evil})
    error = fatal(tmp_path / "e.xlsx")
    assert error.code == "ENTITY_BOMB"
    assert "xl/media/logo.png" in error.message


def test_shared_strings_are_read(tmp_path: Path) -> None:
    shared = (
        '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>email</t></si><si><t>a@example.com</t></si></sst>"
    )
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    minimal_xlsx(tmp_path / "s.xlsx", {"Users": sheet_xml(rows)}, shared_strings=shared)
    assert [r.cells for r in read_all(tmp_path / "s.xlsx")[0]] == [{"email": "a@example.com"}]


def test_shared_strings_longer_than_declared_are_refused_before_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strings = "".join(f"<si><t>same text {i % 10}</t></si>" for i in range(5000))
    shared = (
        f'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{strings}</sst>'
    )
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    path = tmp_path / "s.xlsx"
    minimal_xlsx(path, {"Users": sheet_xml(rows)}, shared_strings=shared)
    with zipfile.ZipFile(path) as archive:
        packed = archive.getinfo("xl/sharedStrings.xml").compress_size
    patch_declared_size(path, "xl/sharedStrings.xml", packed * 3)
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", None)  # never reached
    error = fatal(path)
    assert error.code == "CORRUPT_XLSX"
    assert "xl/sharedStrings.xml" in error.message


def _lying_sheet(path: Path, rows: list[list[str]]) -> int:
    """A workbook whose sheet declares twice its packed size and inflates to more; that size."""
    minimal_xlsx(path, {"Users": sheet_xml(rows_xml(rows))})
    with zipfile.ZipFile(path) as archive:
        declared = archive.getinfo("xl/worksheets/sheet1.xml").compress_size * 2
    patch_declared_size(path, "xl/worksheets/sheet1.xml", declared)
    return declared


_SHEET_LIES = "the part xl/worksheets/sheet1.xml is damaged or larger than it declares"


def test_a_sheet_inflating_past_its_declared_size_is_refused_before_calamine_sees_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The formula scan of a sheet runs beside calamine's loading; that is safe only because a
    # part that lies about its size never gets that far.
    path = tmp_path / "l.xlsx"
    _lying_sheet(path, [[f"user{i}@example.com", "Same"] for i in range(2000)])
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", None)  # never reached
    error = fatal(path)
    assert (error.code, error.message.startswith(_SHEET_LIES)) == ("CORRUPT_XLSX", True)


def test_a_big_sheet_inflating_past_its_declared_size_is_refused_with_the_scans_message(tmp_path: Path) -> None:
    # Declared past the 64 KB prolog check, so calamine gets to load it (and fails on it too)
    # while the scan streams it: the scan's error, which names the part, is the one reported.
    path = tmp_path / "l.xlsx"
    assert _lying_sheet(path, [[f"user{i}@example.com", f"Name {i * 7919 % 10007}"] for i in range(30000)]) > 65536
    with pytest.raises(python_calamine.CalamineError):
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Users")
    error = fatal(path)
    assert (error.code, error.message.startswith(_SHEET_LIES)) == ("CORRUPT_XLSX", True)


def test_a_prolog_without_root_in_64_kb_is_refused(tmp_path: Path) -> None:
    padded = b'<?xml version="1.0"?>' + b"<!-- pad -->" * 7000 + b"<styleSheet/>"
    minimal_xlsx(tmp_path / "p.xlsx", {"Users": sheet_xml(rows_xml(USERS))}, replace={"xl/styles.xml": padded})
    assert fatal(tmp_path / "p.xlsx").code == "ENTITY_BOMB"


def test_encrypted_entries_are_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx", {"Users": USERS})
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    data[at + 8] |= 1  # the "encrypted" flag of the first central directory entry
    path.write_bytes(bytes(data))
    assert fatal(path).code == "XLSX_ENCRYPTED"


def test_sheet_parts_follow_the_relationships(tmp_path: Path) -> None:
    path = workbook(tmp_path / "b.xlsx", {"Users": USERS, "Lists": USERS})
    with open_archive(path, source="b") as archive:
        assert sheet_parts(archive) == {"Users": "xl/worksheets/sheet1.xml", "Lists": "xl/worksheets/sheet2.xml"}


def test_engine_errors_are_translated(tmp_path: Path) -> None:
    minimal_xlsx(tmp_path / "x.xlsx", {"Users": "<worksheet><sheetData><row><c><v>1</v></row>"})
    error = fatal(tmp_path / "x.xlsx", source_name="x.xlsx")
    assert error.code == "XLSX_UNREADABLE"
    assert (error.source, error.sheet) == ("x.xlsx", "Users")


# ---------------------------------------------------------------- the corpus

# file -> list of (code, sheet, line, column, severity; None = fatal)
Expected = tuple[str, str | None, int | None, str | None, Severity | None]
CORPUS_CASES: dict[str, list[Expected]] = {
    "xlsx_not_a_zip.xlsx": [("NOT_XLSX", None, None, None, None)],
    "xlsx_old_xls.xlsx": [("NOT_XLSX", None, None, None, None)],
    "xlsx_truncated.xlsx": [("TRUNCATED_XLSX", None, None, None, None)],
    "xlsx_docx_renamed.xlsx": [("NOT_XLSX", None, None, None, None)],
    "xlsx_entity_bomb.xlsx": [("ENTITY_BOMB", None, None, None, None)],
    "xlsx_declared_bomb.xlsx": [("ZIP_BOMB", None, None, None, None)],
    "xlsx_lying_size.xlsx": [("CORRUPT_XLSX", None, None, None, None)],
    "xlsx_empty.xlsx": [("EMPTY_FILE", None, None, None, None)],
    "xlsx_formulas.xlsx": [
        ("FORMULA_NO_VALUE", "Users", 2, "quota", Severity.ERROR),
        ("FORMULA_ERROR", "Users", 3, "quota", Severity.ERROR),
    ],
    "xlsx_hidden_sheet.xlsx": [
        ("HIDDEN_SHEET", "Aliases", None, None, Severity.WARNING),
        ("RAGGED_ROW", "Users", 3, "E", Severity.ERROR),
    ],
    "xlsx_duplicate_header.xlsx": [("DUPLICATE_HEADER", "Users", 1, "Email", Severity.ERROR)],
    "xlsx_ragged.xlsx": [("RAGGED_ROW", "Users", 3, "F", Severity.ERROR)],
    "xlsx_excel_numbers.xlsx": [
        ("EXCEL_SCIENTIFIC", "Users", 2, "employeeid", Severity.WARNING),
        ("EXCEL_SCIENTIFIC", "Users", 3, "employeeid", Severity.WARNING),
    ],
    "xlsx_no_header.xlsx": [("NO_HEADER", "Users", None, None, Severity.ERROR)],
    "xlsx_header_only.xlsx": [("NO_DATA_ROWS", "Users", 1, None, Severity.WARNING)],
}


@pytest.mark.parametrize(("name", "expected"), list(CORPUS_CASES.items()), ids=list(CORPUS_CASES))
def test_corpus_bad_file(name: str, expected: list[Expected]) -> None:
    if expected[0][4] is None:
        code, sheet, line, column, _ = expected[0]
        error = fatal(CORPUS_DIR / name, source_name=name)
        assert (error.code, error.source, error.sheet, error.line, error.column) == (code, name, sheet, line, column)
        assert error.hint
        assert str(error).startswith(f"{name}: ")
        return
    rows, notes = read_all(CORPUS_DIR / name, source_name=name)
    found = [(p.code, p.sheet, p.line, p.column, p.severity) for p in notes + [p for r in rows for p in r.problems]]
    assert found == expected
    assert all(p.source == name for p in notes + [p for r in rows for p in r.problems])


def test_corpus_excel_numbers_types_let_the_model_see_a_date(tmp_path: Path) -> None:
    rows, _ = read_all(CORPUS_DIR / "xlsx_excel_numbers.xlsx")
    assert [(r.cells["employeeid"], r.types.get("employeeid")) for r in rows] == [
        ("1234567890123457024", "number"),
        ("1.23457E+11", None),
        ("2024-03-01", "date"),
    ]
