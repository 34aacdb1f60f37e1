"""Recognise what a CSV file is before reading it: encoding, delimiter, binary look-alikes.

The encoding comes from a BOM, the NUL pattern of UTF-16, or a strict UTF-8 decode of the first
64 KB, then cp1252, then latin-1. A file that starts as plain ASCII is watched while it is read:
if a later chunk is not UTF-8, the rest is read as cp1252 (:class:`ByteWatch`), so a cp1252 file
whose first accent is on line 20,000 still reads right.
"""

from __future__ import annotations

import codecs
import io
import re

from migrate.errors import InputFileError

__all__ = [
    "CHUNK_SIZE",
    "SAMPLE_SIZE",
    "ByteWatch",
    "check_codec",
    "check_delimiter",
    "detect_encoding",
    "encoding_error",
    "not_text",
    "sniff_delimiter",
]

#: Bytes looked at to detect the encoding and the delimiter.
SAMPLE_SIZE = 64 * 1024
#: Bytes read from the file at a time.
CHUNK_SIZE = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bytes text files are made of: all but the C0 control characters other than tab, LF, FF, CR.
_TEXT_BYTES = bytes([9, 10, 12, 13, *range(32, 127), *range(128, 256)])
# A multi-byte UTF-8 character; in cp1252 text these byte pairs would read as mojibake ("Ã©").
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def detect_encoding(sample: bytes) -> str:
    """Guess the encoding of a CSV file from its first bytes.

    A BOM decides; otherwise UTF-16 without a BOM is recognised by its NUL bytes, then the sample is
    tried strictly as UTF-8, then cp1252, then latin-1 (which always decodes).

    Args:
        sample: The first bytes of the file (a few KB are enough).

    Returns:
        A Python codec name.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if len(sample) >= 4 and sample.count(0) * 3 >= len(sample):
        # Text in UTF-16 without a BOM: every other byte of ASCII is NUL.
        evens, odds = sample[0::2].count(0), sample[1::2].count(0)
        if odds > evens * 4:
            return "utf-16-le"
        if evens > odds * 4:
            return "utf-16-be"
    if sample.isascii():
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        if _UTF8_SEQUENCE.search(sample):
            # Real UTF-8 next to bytes that are not: a file edited with two encodings. Reading it as
            # cp1252 would turn the UTF-8 parts into mojibake silently; as UTF-8 it fails, located.
            return "utf-8"
    else:
        return "utf-8"
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _count_outside_quotes(line: str, char: str) -> int:
    if '"' not in line:
        return line.count(char)
    # Quoted parts are every other piece when the line is split at quotes ("" pairs cancel out).
    return sum(piece.count(char) for piece in line.split('"')[0::2])


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter (comma, semicolon, tab or pipe) from the first lines of a file.

    The delimiter that appears the same, non-zero number of times outside quotes on each of the
    first lines wins (the most frequent if several do); failing that, the most frequent one on the
    first line; a file without any is read as comma separated (a single column).

    Args:
        text: The beginning of the file, decoded.

    Returns:
        The delimiter character.
    """
    lines = [line for line in text.splitlines()[:6] if line.strip()]
    if len(lines) > 1 and len(text) >= SAMPLE_SIZE:
        lines.pop()  # the sample may cut the last line short
    if not lines:
        return ","
    counts = {d: [_count_outside_quotes(line, d) for line in lines[:5]] for d in _DELIMITERS}
    steady = [d for d in _DELIMITERS if counts[d][0] > 0 and len(set(counts[d])) == 1]
    pool = steady or [d for d in _DELIMITERS if counts[d][0] > 0]
    if not pool:
        return ","
    return max(pool, key=lambda d: counts[d][0])  # max() keeps the first on ties: comma first


class ByteWatch(io.RawIOBase):
    """The raw bytes under the text decoder: flags suspect chunks, rescues legacy encodings.

    ``suspect`` turns on as soon as a chunk holds a NUL byte or ``E+``; rows read after that get
    the per-cell checks. When the encoding was only guessed as UTF-8 because the start of the file
    is plain ASCII, the first chunk that is not valid UTF-8 switches the rest of the file to
    cp1252 (or latin-1), re-encoded as UTF-8 for the decoder above: the ASCII before it reads the
    same in both.
    """

    def __init__(self, raw: io.BufferedReader, *, watch: bool, ascii_guess: bool) -> None:
        super().__init__()
        self._raw = raw
        self._watch = watch
        self._ascii_guess = ascii_guess
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.legacy: str | None = None
        self.suspect = not watch
        self._last = b""
        self.consumed = 0  # bytes taken from the file so far (before any re-encoding)

    def readable(self) -> bool:
        """Say the stream can be read (the text wrapper asks)."""
        return True

    def read1(self, size: int = -1) -> bytes:
        """Return the next chunk of the file, watched and (after a switch) re-encoded as UTF-8."""
        data = self._raw.read1(size if size > 0 else CHUNK_SIZE)
        self.consumed += len(data)
        if self._watch and not self.suspect and data:
            # The byte before the chunk catches an "E+" cut in two.
            edge = self._last + data[:1]
            # What makes a chunk worth the per-cell checks: a NUL, or Excel's exponent ("E+"; the
            # one-byte test for "+" first, memchr being many times faster than a substring search).
            self.suspect = b"\0" in data or (b"+" in data and b"E+" in data) or b"E+" in edge
            self._last = data[-1:]
        if self._ascii_guess and not data.isascii():
            self._ascii_guess = False
            try:
                self._utf8.decode(data, final=False)
            except UnicodeDecodeError:
                self.legacy = _legacy_codec(data)
        if self.legacy is not None:
            try:
                data = data.decode(self.legacy).encode("utf-8")
            except UnicodeDecodeError:
                data = data.decode("latin-1").encode("utf-8")
        return data

    def read(self, size: int = -1) -> bytes:
        """Return the next chunk (one read, as :meth:`read1`)."""
        return self.read1(size)

    def close(self) -> None:
        """Close the file underneath."""
        self._raw.close()
        super().close()


def _legacy_codec(data: bytes) -> str:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def check_codec(encoding: str, source: str) -> str:
    """Return the canonical name of a codec given with ``--encoding``.

    Raises:
        InputFileError: ``UNKNOWN_ENCODING`` for a name Python does not know.
    """
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputFileError(
            f"unknown encoding {encoding!r}",
            code="UNKNOWN_ENCODING",
            hint="use a Python codec name such as utf-8, utf-16, cp1252 or latin-1",
            source=source,
        ) from None


def check_delimiter(delimiter: str, source: str) -> str:
    """Return the delimiter given with ``--delimiter`` (one character, or ``tab``, ``semicolon``...).

    Raises:
        InputFileError: ``BAD_DELIMITER`` for anything else.
    """
    chosen = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    if len(chosen) != 1 or chosen in '"\r\n':
        raise InputFileError(
            f"{delimiter!r} cannot be a delimiter",
            code="BAD_DELIMITER",
            hint="give one character: ',', ';', 'tab' or '|'",
            source=source,
        )
    return chosen


def not_text(sample: bytes, source: str) -> InputFileError | None:
    """Return a ``NOT_TEXT`` error for the binary files people rename to .csv by mistake, else None."""
    if sample.startswith(b"PK\x03\x04"):
        what, hint = "a zip archive (an XLSX workbook?)", "if it is a workbook, name it .xlsx"
    elif sample.startswith(b"\xd0\xcf\x11\xe0"):
        what, hint = "an old Excel .xls workbook", "save it as CSV UTF-8 or as .xlsx"
    elif (control := len(sample.translate(None, _TEXT_BYTES))) >= 4 and control * 10 > len(sample):
        what, hint = "a binary file", "export the data as CSV"
    else:
        return None
    return InputFileError(f"is not a CSV text file: it looks like {what}", code="NOT_TEXT", hint=hint, source=source)


def _locate_bad_bytes(path: str, encoding: str) -> int | None:
    """Find the line of the first bytes ``encoding`` cannot decode (only after a decode error)."""
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        return None
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return None


def encoding_error(path: str, source: str, encoding: str, forced: bool) -> InputFileError:
    """Build the located ``ENCODING`` error for bytes ``encoding`` cannot decode."""
    line = _locate_bad_bytes(path, encoding)
    if forced:
        message = f"the file is not valid {encoding}"
        hint = "check --encoding, or leave it out: UTF-8, UTF-16, cp1252 and latin-1 are detected"
    else:
        message = f"the file is not valid {encoding} (detected from its start; tried utf-8, cp1252, latin-1)"
        hint = "save the file as UTF-8, or pass --encoding (e.g. --encoding cp1252 or --encoding latin-1)"
    return InputFileError(message, code="ENCODING", hint=hint, source=source, line=line)
