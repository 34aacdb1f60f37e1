"""Pure-Python crypt(3) variants and legacy digests the server can verify.

The stdlib ``crypt`` module is deprecated (and warnings are errors in this project), so the
published algorithms are implemented here: MD5-crypt (``$1$``, Poul-Henning Kamp), SHA-crypt
(``$5$``/``$6$``, Ulrich Drepper's specification), MD4 (RFC 1320, for NTLM, which OpenSSL 3
no longer offers by default) and the HMAC-MD5 precomputed context Dovecot stores for CRAM-MD5.
"""

from __future__ import annotations

import hashlib
import math
import struct

__all__ = ["cram_md5_context", "md4", "md5_crypt", "sha_crypt"]

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _to64(value: int, count: int) -> str:
    out = []
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return "".join(out)


def _encode_groups(digest: bytes, groups: tuple[tuple[int, int, int], ...], tail: tuple[int, int, int], n: int) -> str:
    parts = [_to64((digest[a] << 16) | (digest[b] << 8) | digest[c], 4) for a, b, c in groups]
    a, b, c = tail
    high = digest[a] if a >= 0 else 0
    mid = digest[b] if b >= 0 else 0
    parts.append(_to64((high << 16) | (mid << 8) | digest[c], n))
    return "".join(parts)


def md5_crypt(password: bytes, salt: str) -> str:
    """Return the ``$1$salt$hash`` MD5-crypt string for ``password``."""
    salt = salt[:8]
    salt_b = salt.encode("ascii")
    magic = b"$1$"
    ctx = hashlib.md5(password + magic + salt_b)
    alt = hashlib.md5(password + salt_b + password).digest()
    remaining = len(password)
    while remaining > 0:
        ctx.update(alt[: min(16, remaining)])
        remaining -= 16
    bits = len(password)
    while bits:
        ctx.update(b"\0" if bits & 1 else password[:1])
        bits >>= 1
    final = ctx.digest()
    for i in range(1000):
        step = hashlib.md5()
        step.update(password if i & 1 else final)
        if i % 3:
            step.update(salt_b)
        if i % 7:
            step.update(password)
        step.update(final if i & 1 else password)
        final = step.digest()
    groups = ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    return f"$1${salt}${_encode_groups(final, groups, (-1, -1, 11), 2)}"


_SHA256_GROUPS = (
    (0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14),
    (15, 25, 5), (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29),
)  # fmt: skip
_SHA512_GROUPS = (
    (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
    (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13),
    (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41),
)  # fmt: skip

_ROUNDS_DEFAULT = 5000


def _repeat(block: bytes, length: int) -> bytes:
    return (block * (length // len(block) + 1))[:length]


def sha_crypt(password: bytes, setting: str, *, bits: int) -> str:
    """Return the SHA-crypt string (``$5$`` for ``bits=256``, ``$6$`` for 512).

    Args:
        password: The password bytes.
        setting: ``[rounds=N$]salt`` (a trailing ``$hash`` is ignored).
        bits: 256 or 512.
    """
    algo = hashlib.sha256 if bits == 256 else hashlib.sha512
    size = 32 if bits == 256 else 64
    rounds = _ROUNDS_DEFAULT
    custom = False
    if setting.startswith("rounds="):
        spec, _, setting = setting.partition("$")
        try:
            rounds = min(max(int(spec[len("rounds=") :]), 1000), 999_999_999)
            custom = True
        except ValueError:
            rounds = _ROUNDS_DEFAULT
    salt = setting.split("$", 1)[0][:16]
    salt_b = salt.encode("ascii")
    alt = algo(password + salt_b + password).digest()
    ctx = algo(password + salt_b)
    remaining = len(password)
    while remaining > size:
        ctx.update(alt)
        remaining -= size
    ctx.update(alt[:remaining])
    count = len(password)
    while count > 0:
        ctx.update(alt if count & 1 else password)
        count >>= 1
    digest_a = ctx.digest()
    p_bytes = _repeat(algo(password * len(password)).digest(), len(password))
    s_bytes = _repeat(algo(salt_b * (16 + digest_a[0])).digest(), len(salt_b))
    current = digest_a
    for i in range(rounds):
        step = algo()
        step.update(p_bytes if i & 1 else current)
        if i % 3:
            step.update(s_bytes)
        if i % 7:
            step.update(p_bytes)
        step.update(current if i & 1 else p_bytes)
        current = step.digest()
    if bits == 256:
        encoded = _encode_groups(current, _SHA256_GROUPS, (-1, 31, 30), 3)
        prefix = "$5$"
    else:
        encoded = _encode_groups(current, _SHA512_GROUPS, (-1, -1, 63), 2)
        prefix = "$6$"
    rounds_part = f"rounds={rounds}$" if custom else ""
    return f"{prefix}{rounds_part}{salt}${encoded}"


def _rotl(value: int, shift: int) -> int:
    value &= 0xFFFFFFFF
    return ((value << shift) | (value >> (32 - shift))) & 0xFFFFFFFF


def md4(data: bytes) -> bytes:
    """Return the MD4 digest of ``data`` (RFC 1320)."""
    message = data + b"\x80" + b"\0" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for offset in range(0, len(message), 64):
        x = struct.unpack("<16I", message[offset : offset + 64])
        aa, bb, cc, dd = a, b, c, d
        for i in (0, 4, 8, 12):
            a = _rotl(a + ((b & c) | (~b & d)) + x[i], 3)
            d = _rotl(d + ((a & b) | (~a & c)) + x[i + 1], 7)
            c = _rotl(c + ((d & a) | (~d & b)) + x[i + 2], 11)
            b = _rotl(b + ((c & d) | (~c & a)) + x[i + 3], 19)
        for i in (0, 1, 2, 3):
            a = _rotl(a + ((b & c) | (b & d) | (c & d)) + x[i] + 0x5A827999, 3)
            d = _rotl(d + ((a & b) | (a & c) | (b & c)) + x[i + 4] + 0x5A827999, 5)
            c = _rotl(c + ((d & a) | (d & b) | (a & b)) + x[i + 8] + 0x5A827999, 9)
            b = _rotl(b + ((c & d) | (c & a) | (d & a)) + x[i + 12] + 0x5A827999, 13)
        for i in (0, 2, 1, 3):
            a = _rotl(a + (b ^ c ^ d) + x[i] + 0x6ED9EBA1, 3)
            d = _rotl(d + (a ^ b ^ c) + x[i + 8] + 0x6ED9EBA1, 9)
            c = _rotl(c + (d ^ a ^ b) + x[i + 4] + 0x6ED9EBA1, 11)
            b = _rotl(b + (c ^ d ^ a) + x[i + 12] + 0x6ED9EBA1, 15)
        a, b, c, d = (a + aa) & 0xFFFFFFFF, (b + bb) & 0xFFFFFFFF, (c + cc) & 0xFFFFFFFF, (d + dd) & 0xFFFFFFFF
    return struct.pack("<4I", a, b, c, d)


_MD5_SHIFTS = (7, 12, 17, 22) * 4 + (5, 9, 14, 20) * 4 + (4, 11, 16, 23) * 4 + (6, 10, 15, 21) * 4
_MD5_K = tuple(int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64))


def _md5_block(state: tuple[int, int, int, int], block: bytes) -> tuple[int, int, int, int]:
    """One MD5 compression step: the intermediate state Dovecot's CRAM-MD5 format keeps."""
    x = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | (~d & 0xFFFFFFFF)), (7 * i) % 16
        f = (f + a + _MD5_K[i] + x[g]) & 0xFFFFFFFF
        a, d, c = d, c, b
        b = (b + _rotl(f, _MD5_SHIFTS[i])) & 0xFFFFFFFF
    s = state
    return ((s[0] + a) & 0xFFFFFFFF, (s[1] + b) & 0xFFFFFFFF, (s[2] + c) & 0xFFFFFFFF, (s[3] + d) & 0xFFFFFFFF)


def cram_md5_context(password: bytes) -> str:
    """Return Dovecot's CRAM-MD5 stored form: the HMAC-MD5 outer then inner states, as hex."""
    key = hashlib.md5(password).digest() if len(password) > 64 else password
    key = key.ljust(64, b"\0")
    initial = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
    inner = _md5_block(initial, bytes(k ^ 0x36 for k in key))
    outer = _md5_block(initial, bytes(k ^ 0x5C for k in key))
    return struct.pack("<8I", *outer, *inner).hex()
