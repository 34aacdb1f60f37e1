"""Look inside an XLSX archive before any XML parser does: refuse bombs, find formula problems.

An XLSX file is a zip of XML parts, and a hostile one can be a zip bomb (a few MB that inflate to
many GB), an XML entity bomb (a DTD whose entities expand exponentially), or both. The checks here
read the zip's central directory (declared sizes, ratios, entry count) and the first bytes of each
XML part (no DTD allowed: spreadsheets never need one) before the workbook is handed to the
spreadsheet engine. Nothing is ever expanded beyond a part's declared size: :mod:`zipfile` stops
there and fails the CRC check when a part is longer than it claims.

The same streaming pass over a sheet finds what the engine cannot tell us: a formula cell with no
cached value (written by a script, never opened in Excel) and cells holding an error (``#REF!``),
both of which the engine reads as empty.
"""

from __future__ import annotations

import codecs
import os
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field

from migrate.errors import InputFileError

__all__ = [
    "DEFAULT_LIMITS",
    "ArchiveLimits",
    "CellMark",
    "SheetScan",
    "open_archive",
    "scan_sheet",
    "sheet_parts",
]


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """How much an XLSX archive may hold before it is refused as a bomb.

    Attributes:
        max_total_size: Total declared uncompressed size of all entries (bytes).
        max_entries: Number of entries in the zip.
        max_ratio: Largest uncompressed/compressed ratio of one entry...
        ratio_min_size: ...for entries whose declared size exceeds this (small parts compress
            very well legitimately).
        prolog_bytes: How much of each XML part is inflated to look for a DTD.
        max_meta_size: Largest workbook.xml / .rels part this module parses itself.
    """

    max_total_size: int = 2 * 1024**3
    max_entries: int = 10_000
    max_ratio: float = 200.0
    ratio_min_size: int = 10 * 1024**2
    prolog_bytes: int = 64 * 1024
    max_meta_size: int = 16 * 1024**2


#: The limits used unless the caller gives others.
DEFAULT_LIMITS = ArchiveLimits()

_CHUNK = 1024 * 1024
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Markers that make a chunk of sheet XML worth parsing cell by cell: a formula or an error value
# (error values all start with "#"). Sheets written with a namespace prefix (<x:c>) need ":f" too.
# Each is looked for only in chunks holding its last byte: memchr finds one byte many times faster
# than a substring search, and with shared strings a sheet's XML has no "f" outside formulas.
_SCAN_MARKERS = (b"<f", b">#")
_PREFIXED_MARKERS = (*_SCAN_MARKERS, b":f")


def _suspect(data: bytes, markers: tuple[bytes, ...]) -> bool:
    return any(marker[-1:] in data and marker in data for marker in markers)


_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_TYPE = re.compile(rb'\bt="(\w+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</")
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_ROOT_START = re.compile(rb"<[A-Za-z_]")


@dataclass(frozen=True, slots=True)
class CellMark:
    """A cell the engine reads as empty although it is not.

    Attributes:
        column: 1-based column number (A = 1).
        code: ``FORMULA_ERROR`` or ``FORMULA_NO_VALUE``.
        detail: The error value (``#REF!``), or ``""``.
        formula: Whether the cell holds a formula.
    """

    column: int
    code: str
    detail: str
    formula: bool


@dataclass(slots=True)
class SheetScan:
    """What the streaming pass found in one sheet.

    Attributes:
        marks: 1-based row number -> the marked cells of that row.
        unplaced: Marked cells without a cell reference (so without a row to report them on).
    """

    marks: dict[int, list[CellMark]] = field(default_factory=dict)
    unplaced: int = 0


def _refuse(code: str, message: str, hint: str, source: str) -> InputFileError:
    return InputFileError(message, code=code, hint=hint, source=source)


def _corrupt(part: str, exc: BaseException, source: str) -> InputFileError:
    # A part that inflates to more than it declares ends here too (zipfile stops at the declared
    # size and the CRC fails): damaged or hostile, it is not read further.
    return _refuse(
        "CORRUPT_XLSX",
        f"the part {part} is damaged or larger than it declares ({exc}); refused",
        "copy or download the file again; if Excel can open it, save it again as .xlsx",
        source,
    )


def _not_a_zip(head: bytes, source: str) -> InputFileError:
    """Say what the file looks like instead, so the admin knows what to do with it."""
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        hint = "it is an old Excel .xls workbook or a password-protected one: save it as .xlsx without a password"
    elif not head:
        hint = "the file is empty: export the workbook again"
    elif b"\0" not in head and (b"," in head or b";" in head or b"\t" in head):
        hint = "it looks like CSV text: name it .csv"
    else:
        hint = "save the workbook from Excel or LibreOffice as .xlsx"
    return _refuse("NOT_XLSX", "is not an XLSX workbook (not a zip archive)", hint, source)


def open_archive(
    path: str | os.PathLike[str], *, source: str, limits: ArchiveLimits = DEFAULT_LIMITS
) -> zipfile.ZipFile:
    """Open an XLSX file as a zip and refuse it if it is not a workbook or is a bomb.

    Args:
        path: The file.
        source: The name shown in messages.
        limits: Size, ratio and entry limits.

    Returns:
        The open archive (the caller closes it).

    Raises:
        InputFileError: ``NOT_XLSX`` (not a zip, or a zip without a workbook), ``TRUNCATED_XLSX``
            (no readable zip directory), ``CORRUPT_XLSX`` (a part fails to inflate or its CRC),
            ``ZIP_BOMB``, ``ENTITY_BOMB``, ``XLSX_ENCRYPTED``.
    """
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head.startswith(b"PK"):
        raise _not_a_zip(head, source)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise _refuse(
            "TRUNCATED_XLSX",
            f"the workbook is damaged or truncated ({exc})",
            "copy or download the file again; if Excel can open it, save it again as .xlsx",
            source,
        ) from None
    try:
        _check_directory(archive, source, limits)
        # Every part, whatever its name says: the engine follows the relationships, not suffixes.
        for info in archive.infolist():
            if info.file_size:
                _check_prolog(archive, info, source, limits)
        sheets = set(sheet_parts(archive, limits).values())
        for info in archive.infolist():
            # Worksheets are inflated in full when they are read (scan_sheet); everything else the
            # engine may parse on opening (shared strings, styles...) is inflated in full now.
            if info.file_size and info.filename not in sheets:
                _inflate(archive, info, source)
    except BaseException:
        archive.close()
        raise
    return archive


def _check_directory(archive: zipfile.ZipFile, source: str, limits: ArchiveLimits) -> None:
    infos = archive.infolist()
    bomb_hint = "this file is not a normal workbook; open it in Excel and save it again, or ask where it came from"
    if len(infos) > limits.max_entries:
        raise _refuse(
            "ZIP_BOMB", f"the archive has {len(infos)} entries (limit {limits.max_entries})", bomb_hint, source
        )
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        what = "an OpenDocument file (.ods?)" if "mimetype" in names else "a zip archive without a workbook"
        raise _refuse(
            "NOT_XLSX", f"is not an XLSX workbook: it is {what}", "save the workbook as .xlsx (Excel Workbook)", source
        )
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _refuse("XLSX_ENCRYPTED", "the workbook is encrypted", "save it again without a password", source)
        size, packed = info.file_size, info.compress_size
        total += size
        if size > limits.ratio_min_size and (packed == 0 or size / packed > limits.max_ratio):
            ratio = "unbounded" if packed == 0 else f"{size / packed:.0f}:1"
            raise _refuse(
                "ZIP_BOMB",
                f"{info.filename} would inflate to {size / 1024**2:.0f} MB (compression ratio {ratio}, "
                f"limit {limits.max_ratio:.0f}:1); refused without expanding it",
                bomb_hint,
                source,
            )
        if info.compress_type != zipfile.ZIP_STORED and packed > size + size // 100 + 1024:
            # Deflate never grows data by more than a few bytes per block: a declared size this far
            # below the compressed size is a lie meant to get past the ratio check.
            raise _refuse(
                "ZIP_BOMB",
                f"{info.filename} declares {size} bytes but holds {packed} compressed bytes; refused",
                bomb_hint,
                source,
            )
    if total > limits.max_total_size:
        raise _refuse(
            "ZIP_BOMB",
            f"the workbook would inflate to {total / 1024**3:.1f} GB (limit {limits.max_total_size / 1024**3:.1f} GB); "
            "refused without expanding it",
            bomb_hint,
            source,
        )


def _read_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int, source: str) -> bytes:
    try:
        with archive.open(info) as part:
            return part.read(size)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error) as exc:
        raise _corrupt(info.filename, exc, source) from None


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> None:
    """Inflate a part to its end: one longer than its declared size fails zipfile's size and CRC check."""
    try:
        with archive.open(info) as part:
            while part.read(_CHUNK):
                pass
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error) as exc:
        raise _corrupt(info.filename, exc, source) from None


def _check_prolog(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, limits: ArchiveLimits) -> None:
    """Refuse a part whose XML declares a DTD (spreadsheets never need one; entity bombs do)."""
    head = _read_head(archive, info, limits.prolog_bytes, source)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    root = _ROOT_START.search(head)
    prolog = head if root is None else head[: root.start()]
    endless = root is None and len(head) >= limits.prolog_bytes and info.filename.lower().endswith(_XML_SUFFIXES)
    if endless or any(marker in prolog for marker in _DTD_MARKERS):
        raise _refuse(
            "ENTITY_BOMB",
            f"the part {info.filename} declares a DTD (<!DOCTYPE or <!ENTITY) or has an over-long prolog; "
            "refused: spreadsheets never need one and XML entity bombs do",
            "this file is not a normal workbook; open it in Excel and save it again, or ask where it came from",
            source,
        )


def _read_meta(archive: zipfile.ZipFile, name: str, limits: ArchiveLimits) -> ET.Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limits.max_meta_size:
        return None
    try:
        # The prolog check already refused any DTD, so the parser has no entity to expand.
        return ET.fromstring(archive.read(info))
    except (ET.ParseError, zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error):
        return None


def sheet_parts(archive: zipfile.ZipFile, limits: ArchiveLimits = DEFAULT_LIMITS) -> dict[str, str]:
    """Map each sheet name to its XML part inside the archive.

    Args:
        archive: An archive returned by :func:`open_archive`.
        limits: Size limit for the parts read here.

    Returns:
        Sheet name -> part name (``xl/worksheets/sheet1.xml``); sheets that cannot be located are
        left out (the engine reports a workbook it cannot read).
    """
    workbook_part = "xl/workbook.xml"
    root_rels = _read_meta(archive, "_rels/.rels", limits)
    if root_rels is not None:
        for rel in root_rels.iter(f"{{{_PKG_REL_NS}}}Relationship"):
            if rel.get("Type", "").endswith("/officeDocument"):
                workbook_part = rel.get("Target", workbook_part).lstrip("/")
    workbook = _read_meta(archive, workbook_part, limits)
    folder, base = posixpath.split(workbook_part)
    rels = _read_meta(archive, posixpath.join(folder, "_rels", base + ".rels"), limits)
    if workbook is None or rels is None:
        return {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{{{_PKG_REL_NS}}}Relationship")}
    parts: dict[str, str] = {}
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{_REL_NS}}}id"))
        name = sheet.get("name")
        if not target or name is None:
            continue
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        parts[name] = part
    return parts


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _mark(attrs: bytes, body: bytes | None) -> tuple[CellMark, int] | None:
    """Return the mark and row of one cell's XML, or None when the engine reads it right."""
    if body is None:
        return None
    kind = _TYPE.search(attrs)
    cell_type = kind.group(1) if kind else b"n"
    formula = _FORMULA.search(body) is not None
    value = _VALUE.search(body)
    ref = _REF.search(attrs)
    column, row = (_column_number(ref.group(1)), int(ref.group(2))) if ref else (0, 0)
    if cell_type == b"e":
        detail = value.group(1).decode("utf-8", errors="replace") if value else ""
        return CellMark(column, "FORMULA_ERROR", detail, formula), row
    if formula and (value is None or (not value.group(1) and cell_type != b"str")):
        return CellMark(column, "FORMULA_NO_VALUE", "", True), row
    return None


def scan_sheet(archive: zipfile.ZipFile, part: str, *, source: str) -> SheetScan:
    """Stream one sheet's XML to its end: check its size, and find the cells the engine misreads.

    Args:
        archive: An archive returned by :func:`open_archive`.
        part: The sheet's part name (from :func:`sheet_parts`).
        source: The name shown in messages.

    Returns:
        Formula cells without a cached value and cells holding an error value, by row.

    Raises:
        InputFileError: ``CORRUPT_XLSX`` when the part does not inflate to its declared size and CRC.
    """
    scan = SheetScan()
    tail = b""
    markers: tuple[bytes, ...] = ()
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(_CHUNK):
                if not markers:
                    markers = _PREFIXED_MARKERS if b":worksheet" in chunk[:4096] else _SCAN_MARKERS
                data = tail + chunk if tail else chunk
                # Cells never straddle a row end: look at complete rows, carry the rest over.
                cut = data.rfind(b"</row>")
                if cut < 0:
                    ends = list(_ROW_END.finditer(data))
                    cut = ends[-1].start() if ends else -1
                if cut < 0:
                    tail = data
                    continue
                head, tail = data[:cut], data[cut:]
                if _suspect(head, markers):
                    _collect(head, scan)
            if _suspect(tail, markers):
                _collect(tail, scan)
    except KeyError:
        return scan
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error) as exc:
        raise _corrupt(part, exc, source) from None
    return scan


def _collect(region: bytes, scan: SheetScan) -> None:
    for match in _CELL.finditer(region):
        found = _mark(match.group(1), match.group(2))
        if found is None:
            continue
        mark, row = found
        if row == 0:
            scan.unplaced += 1
        else:
            scan.marks.setdefault(row, []).append(mark)
