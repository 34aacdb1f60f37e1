"""Write the bad- and odd-input corpus of the CSV and XLSX readers (and helpers the tests share).

Run ``python tests/readers/make_corpus.py`` to (re)write the committed files in
``tests/readers/corpus/``; ``corpus/README.md`` lists each file with the code it must produce.
Files too big to commit (a 10 MB cell, a real zip bomb) are written by the tests into tmp_path
with :func:`write_big_cell_csv` and :func:`write_zip_bomb`.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import xlsxwriter

__all__ = [
    "CORPUS",
    "CORPUS_DIR",
    "build",
    "minimal_xlsx",
    "patch_declared_size",
    "sheet_xml",
    "write_big_cell_csv",
    "write_zip_bomb",
]

CORPUS_DIR = Path(__file__).parent / "corpus"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)
HEADER = "email,name,password,quota\r\n"


# ---------------------------------------------------------------- hand-made workbooks


def sheet_xml(rows: str, *, prefix: str = "") -> str:
    """Wrap ``<row>`` elements into a worksheet document (optionally with a namespace prefix)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{_MAIN}"' if prefix else f'xmlns="{_MAIN}"'
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"<{p}worksheet {xmlns}><{p}sheetData>{rows}</{p}sheetData></{p}worksheet>"
    )


def minimal_xlsx(
    path: Path | io.BytesIO,
    sheets: Mapping[str, str],
    *,
    hidden: frozenset[str] = frozenset(),
    shared_strings: str | None = None,
    replace: Mapping[str, bytes] | None = None,
) -> None:
    """Write a workbook from hand-written XML, byte for byte what the test needs.

    Args:
        path: Where to write.
        sheets: Sheet name -> worksheet XML (see :func:`sheet_xml`).
        hidden: Sheets marked hidden.
        shared_strings: The xl/sharedStrings.xml document, if any.
        replace: Part name -> bytes written instead of the generated part.
    """
    parts: dict[str, bytes] = {}
    overrides = [
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    ]
    entries, rels = [], []
    for number, (name, xml) in enumerate(sheets.items(), 1):
        state = ' state="hidden"' if name in hidden else ""
        entries.append(f'<sheet name="{name}" sheetId="{number}"{state} r:id="rId{number}"/>')
        rels.append(
            f'<Relationship Id="rId{number}" Type="{_OFFICE_REL}/worksheet" Target="worksheets/sheet{number}.xml"/>'
        )
        overrides.append(
            f'<Override PartName="/xl/worksheets/sheet{number}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        )
        parts[f"xl/worksheets/sheet{number}.xml"] = xml.encode("utf-8")
    if shared_strings is not None:
        rels.append(f'<Relationship Id="rIdS" Type="{_OFFICE_REL}/sharedStrings" Target="sharedStrings.xml"/>')
        overrides.append(
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
        parts["xl/sharedStrings.xml"] = shared_strings.encode("utf-8")
    parts["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>' + "".join(overrides) + "</Types>"
    ).encode()
    parts["_rels/.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_OFFICE_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ).encode()
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE_REL}">'
        f"<sheets>{''.join(entries)}</sheets></workbook>"
    ).encode()
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">{"".join(rels)}</Relationships>'
    ).encode()
    parts.update(replace or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(zipfile.ZipInfo(name, _FIXED_TIME), data, zipfile.ZIP_DEFLATED)


def _cell(ref: str, value: object) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def rows_xml(rows: list[list[object]], first_row: int = 1) -> str:
    """Build ``<row>`` elements from values (str -> inline string, numbers -> numbers)."""
    out = []
    for number, values in enumerate(rows, first_row):
        cells = "".join(
            _cell(f"{chr(65 + col)}{number}", value) for col, value in enumerate(values) if value is not None
        )
        out.append(f'<row r="{number}">{cells}</row>')
    return "".join(out)


def patch_declared_size(path: Path, part: str, size: int) -> None:
    """Rewrite the uncompressed size a zip declares for ``part`` (local header and directory)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    name = part.encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + length]) == name:
            struct.pack_into("<I", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def write_zip_bomb(path: Path, megabytes: int = 64) -> None:
    """Write a workbook whose sheet inflates to ``megabytes`` MB of zeros (about 1000:1)."""
    minimal_xlsx(path, {"Users": sheet_xml(rows_xml([["email"], ["a@example.com"]]))})
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("xl/worksheets/sheet9.xml", _FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as part:
            block = bytes(1024 * 1024)
            for _ in range(megabytes):
                part.write(block)


def write_big_cell_csv(path: Path, megabytes: int = 10) -> None:
    """Write a CSV whose second row holds one quoted cell of ``megabytes`` MB."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        fh.write('big@example.com,"' + "x" * (megabytes * 1024 * 1024) + '",Secret-Pass-123,1024\r\n')
        fh.write("next@example.com,Next,Secret-Pass-123,1024\r\n")


# ---------------------------------------------------------------- corpus builders


def _text(data: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data.encode(encoding))


def _raw(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _xlsxwriter(fill: Callable[[xlsxwriter.Workbook], None]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        workbook = xlsxwriter.Workbook(str(path))
        workbook.set_properties({"created": dt.datetime(2024, 1, 1)})
        fill(workbook)
        workbook.close()

    return write


def _users(workbook: xlsxwriter.Workbook, name: str = "Users") -> Any:
    sheet = workbook.add_worksheet(name)
    sheet.write_row(0, 0, ["email", "name", "password", "quota"])
    sheet.write_row(1, 0, ["alice@example.com", "Alice", "Secret-Pass-123", 1024])
    return sheet


def _hidden_sheet(workbook: xlsxwriter.Workbook) -> None:
    _users(workbook)
    helper = workbook.add_worksheet("Aliases")
    helper.write_row(0, 0, ["email", "members"])
    helper.write_row(1, 0, ["sales@example.com", "alice@example.com"])
    helper.hide()
    sheet = workbook.get_worksheet_by_name("Users")
    sheet.write_row(2, 0, ["bob@example.com", "Bob", "Secret-Pass-123", 1024, "stray value"])


def _duplicate_header(workbook: xlsxwriter.Workbook) -> None:
    sheet = workbook.add_worksheet("Users")
    sheet.write_row(0, 0, ["email", "name", "Email", "quota"])
    sheet.write_row(1, 0, ["alice@example.com", "Alice", "alice@example.org", 1024])


def _ragged(workbook: xlsxwriter.Workbook) -> None:
    sheet = _users(workbook)
    sheet.write_row(2, 0, ["bob@example.com", "Bob", "Secret-Pass-123", 2048, None, "orphan"])


def _title_rows(workbook: xlsxwriter.Workbook) -> None:
    sheet = workbook.add_worksheet("users")
    bold = workbook.add_format({"bold": True})
    sheet.merge_range("A1:D1", "ACME staff accounts, exported 2024-01-01", bold)
    sheet.write("A2", "Do not edit the header")
    sheet.write_row(3, 0, ["email", "name", "password", "quota"], bold)
    sheet.write_row(4, 0, ["alice@example.com", "Alice", "Secret-Pass-123", 1024])
    sheet.write_row(5, 0, ["bob@example.com", "Bob", "Secret-Pass-123", 2048])


def _excel_numbers(workbook: xlsxwriter.Workbook) -> None:
    sheet = workbook.add_worksheet("Users")
    sheet.write_row(0, 0, ["email", "name", "employeeid", "quota"])
    sheet.write_row(1, 0, ["alice@example.com", "Alice", 1234567890123456789.0, 1024.0])
    sheet.write_row(2, 0, ["bob@example.com", "Bob", "1.23457E+11", 2048])
    sheet.write_string(3, 0, "carol@example.com")
    sheet.write_string(3, 1, "Carol")
    sheet.write_datetime(3, 2, dt.datetime(2024, 3, 1), workbook.add_format({"num_format": "yyyy-mm-dd"}))
    sheet.write_number(3, 3, 512)


def _empty_workbook(workbook: xlsxwriter.Workbook) -> None:
    workbook.add_worksheet("Users")


def _no_header(workbook: xlsxwriter.Workbook) -> None:
    sheet = workbook.add_worksheet("Users")
    for row in range(3):
        sheet.write_row(row, 0, [row + 1, 1024, 2048])


def _header_only(workbook: xlsxwriter.Workbook) -> None:
    workbook.add_worksheet("Users").write_row(0, 0, ["email", "name", "password", "quota"])


def _formulas(path: Path) -> None:
    # As a script writes it (openpyxl, for one): the formula is stored without a computed value.
    head = rows_xml([["email", "name", "password", "quota"]])
    alice = rows_xml([["alice@example.com", "Alice", "Secret-Pass-123"]], 2).replace(
        "</row>", '<c r="D2"><f>512*2</f></c></row>'
    )
    bob = rows_xml([["bob@example.com", "Bob", "Secret-Pass-123"]], 3).replace(
        "</row>", '<c r="D3" t="e"><v>#REF!</v></c></row>'
    )
    minimal_xlsx(path, {"Users": sheet_xml(head + alice + bob)})


def _entity_bomb(path: Path) -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE sst [<!ENTITY lol0 "lol">{lol}]>\n'
        f'<sst xmlns="{_MAIN}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    minimal_xlsx(path, {"Users": sheet_xml(rows)}, shared_strings=shared)


def _declared_bomb(path: Path) -> None:
    minimal_xlsx(path, {"Users": sheet_xml(rows_xml([["email"], ["a@example.com"]]))})
    patch_declared_size(path, "xl/worksheets/sheet1.xml", 3_000_000_000)


def _lying_size(path: Path) -> None:
    rows = rows_xml([["email", "name"]] + [[f"user{i}@example.com", "Same Name"] for i in range(2000)])
    minimal_xlsx(path, {"Users": sheet_xml(rows)})
    with zipfile.ZipFile(path) as archive:
        packed = archive.getinfo("xl/worksheets/sheet1.xml").compress_size
    patch_declared_size(path, "xl/worksheets/sheet1.xml", packed * 2)


def _truncated(path: Path) -> None:
    buffer = io.BytesIO()
    minimal_xlsx(buffer, {"Users": sheet_xml(rows_xml([["email"], ["a@example.com"]]))})
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) * 6 // 10])


def _docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("[Content_Types].xml", _FIXED_TIME), "<Types/>")
        archive.writestr(zipfile.ZipInfo("word/document.xml", _FIXED_TIME), "<document/>")


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    minimal_xlsx(buffer, {"Users": sheet_xml(rows_xml([["email"], ["a@example.com"]]))})
    return buffer.getvalue()


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
_BINARY = bytes(range(256)) * 8

#: File name -> writer. Keep in step with corpus/README.md (a test checks).
CORPUS: dict[str, Callable[[Path], None]] = {
    "csv_malformed_quote.csv": _text(HEADER + 'alice@example.com,"Alice" Smith,Secret-Pass-123,1024\r\n'),
    "csv_unclosed_quote.csv": _text(
        HEADER + "alice@example.com,Alice,Secret-Pass-123,1024\r\n"
        'bob@example.com,"Bob,Secret-Pass-123,1024\r\ncarol@example.com,Carol,Secret-Pass-123,1024\r\n'
    ),
    "csv_ragged_row.csv": _text(
        HEADER + "alice@example.com,Alice,Secret-Pass-123,1024\r\nbob@example.com,Smith, Bob,Secret-Pass-123,1024\r\n"
    ),
    "csv_short_row.csv": _text(HEADER + "alice@example.com,Alice,Secret-Pass-123,1024\r\n,Bob\r\n"),
    "csv_nul_bytes.csv": _text(
        HEADER + "ali\0ce@example.com,Alice,Secret-Pass-123,1024\r\n,Nobody,Secret-Pass-123,1\r\n"
    ),
    "csv_duplicate_header.csv": _text("email,name,Email,quota\r\nalice@example.com,Alice,alice@example.org,1024\r\n"),
    "csv_empty_header.csv": _text(
        "email,,password,quota\r\nalice@example.com,Alice,Secret-Pass-123,1024\r\n,Nobody,Secret-Pass-123,1\r\n"
    ),
    "csv_empty.csv": _raw(b""),
    "csv_blank_lines.csv": _text("\r\n\r\n  \r\n"),
    "csv_header_only.csv": _text(HEADER),
    "csv_mixed_encoding.csv": _raw(
        HEADER.encode()
        + "jurgen@example.com,Jürgen,Secret-Pass-123,1024\r\n".encode()
        + "zoe@example.com,Zoë,Secret-Pass-123,1024\r\n".encode("cp1252")
    ),
    "csv_xlsx_renamed.csv": lambda path: path.write_bytes(_zip_bytes()),
    "csv_binary.csv": _raw(_BINARY),
    "csv_excel_scientific.csv": _text("email,name,employeeid\r\nalice@example.com,Alice,1.23457E+11\r\n,Nobody,1\r\n"),
    "csv_cp1252_semicolon.csv": _text(
        "email;name;password;quota\r\nrene@example.com;René Müller;Secret-Pass-123;1024\r\n"
        "zoe@example.com;Zoë €uro;Secret-Pass-123;2048\r\n",
        "cp1252",
    ),
    "csv_utf16_tab.csv": _text(
        "email\tname\tpassword\tquota\r\nrene@example.com\tRené\tSecret-Pass-123\t1024\r\n", "utf-16"
    ),
    "csv_multiline_quoted.csv": _text(
        HEADER
        + 'alice@example.com,"Alice\r\nSmith",Secret-Pass-123,1024\r\nbob@example.com,Bob,Secret-Pass-123,1024\r\n'
    ),
    "xlsx_not_a_zip.xlsx": _text(HEADER + "alice@example.com,Alice,Secret-Pass-123,1024\r\n"),
    "xlsx_old_xls.xlsx": _raw(_OLE2),
    "xlsx_truncated.xlsx": _truncated,
    "xlsx_docx_renamed.xlsx": _docx,
    "xlsx_entity_bomb.xlsx": _entity_bomb,
    "xlsx_declared_bomb.xlsx": _declared_bomb,
    "xlsx_lying_size.xlsx": _lying_size,
    "xlsx_formulas.xlsx": _formulas,
    "xlsx_hidden_sheet.xlsx": _xlsxwriter(_hidden_sheet),
    "xlsx_duplicate_header.xlsx": _xlsxwriter(_duplicate_header),
    "xlsx_ragged.xlsx": _xlsxwriter(_ragged),
    "xlsx_excel_numbers.xlsx": _xlsxwriter(_excel_numbers),
    "xlsx_empty.xlsx": _xlsxwriter(_empty_workbook),
    "xlsx_no_header.xlsx": _xlsxwriter(_no_header),
    "xlsx_header_only.xlsx": _xlsxwriter(_header_only),
    "xlsx_title_rows.xlsx": _xlsxwriter(_title_rows),
}


def build(folder: Path = CORPUS_DIR) -> list[Path]:
    """Write every corpus file into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, write in CORPUS.items():
        path = folder / name
        write(path)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS_DIR
    for written_path in build(target):
        print(written_path)
