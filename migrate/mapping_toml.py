"""Reading profile files: TOML parsing, unknown keys refused at their line, ``extends``.

``tomllib`` reports line numbers only for syntax errors, so :func:`locate` finds the line that
defines a key by scanning the text for table headers and ``key =`` lines. That is how an unknown
key or a wrong value is reported at its line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate.errors import ConfigError
from migrate.records import KINDS

__all__ = ["ProfileText", "Resolve", "locate", "read_raw"]

#: ``(name_or_path, relative_to) -> Path`` of the profile named by ``extends``.
Resolve = Callable[[str, Path], Path]

_TOP_KEYS = {"name", "description", "extends", "kind", "kind_from_filename", "comment", "type_column", "read",
             "detect", "types", *KINDS}  # fmt: skip
_READ_KEYS = {"header", "delimiter", "encoding"}
_DETECT_KEYS = {"headers", "first_row", "row", "min_columns", "max_columns"}
_LAYOUT_KEYS = {"fields", "vars"}
_TYPE_KEYS = {"kind", "forward_if_account", "fields", "vars"}
_RULE_KEYS = {"columns", "rest", "default", "template", "slug", "unit", "split", "proxy", "exclude", "values",
              "qualify", "detect_hash"}  # fmt: skip
_VAR_KEYS = {"columns", "rest", "default", "template", "slug", "values"}

_KEY_PART = r"""(?:[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_PART = re.compile(r"""\s*(?:([A-Za-z0-9_\-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")
_TABLE_LINE = re.compile(r"\s*\[\[?([^\[\]]+)\]\]?\s*(?:#.*)?\Z")
_KEY_LINE = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def _parts(text: str) -> tuple[str, ...]:
    return tuple(m.group(1) or m.group(2) or m.group(3) or "" for m in _PART.finditer(text) if m.group(0))


def locate(text: str, path: tuple[str, ...]) -> int | None:
    """Return the 1-based line of TOML ``text`` that defines the key ``path``, if it can be told.

    An exact ``key =`` line wins; else a table header for the path, or the line holding an inline
    table that contains the key.
    """
    if not path:
        return None
    table: tuple[str, ...] = ()
    near: int | None = None
    inline = re.compile(r"(?<![A-Za-z0-9_\-])[\"']?" + re.escape(path[-1]) + r"[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        header = _TABLE_LINE.match(line)
        if header:
            table = _parts(header.group(1))
            if near is None and table[: len(path)] == path:
                near = number  # the table itself, or the first of its sub-tables
            continue
        key = _KEY_LINE.match(line)
        if key is None:
            continue
        full = table + _parts(key.group(1))
        if full == path:
            return number
        if near is None and path[: len(full)] == full and inline.search(line[key.end() :]):
            near = number
    return near


@dataclass(slots=True)
class ProfileText:
    """A profile file's path and text, so errors can name the line of a key."""

    path: str
    text: str

    def error(self, keys: tuple[str, ...], message: str, hint: str, code: str = "MAPPING_BAD_VALUE") -> ConfigError:
        """Build a :class:`ConfigError` at the line that defines ``keys``."""
        return ConfigError(message, code=code, hint=hint, source=self.path, line=locate(self.text, keys))


def _dotted(keys: tuple[str, ...]) -> str:
    return ".".join(keys)


def check_keys(raw: Mapping[str, Any], src: ProfileText) -> None:
    """Refuse keys the schema does not know, naming the line they are on."""

    def table(value: Any, keys: tuple[str, ...], allowed: set[str] | None) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise src.error(keys, f"{_dotted(keys)!r} must be a table", "write it as [section] or { key = value }")
        unknown = [key for key in value if allowed is not None and key not in allowed]
        if unknown:
            raise src.error(
                (*keys, unknown[0]),
                f"unknown key {_dotted((*keys, unknown[0]))!r} in the mapping profile",
                "allowed here: " + ", ".join(sorted(allowed or ())) + " (see mappings/README.md)",
                "MAPPING_UNKNOWN_KEY",
            )
        return value

    def layout(value: Any, keys: tuple[str, ...], allowed: set[str]) -> None:
        body = table(value, keys, allowed)
        for section, rule_keys in (("fields", _RULE_KEYS), ("vars", _VAR_KEYS)):
            for name, rule in table(body.get(section, {}), (*keys, section), None).items():
                if isinstance(rule, dict):
                    table(rule, (*keys, section, name), rule_keys)

    table(raw, (), _TOP_KEYS)
    table(raw.get("read", {}), ("read",), _READ_KEYS)
    table(raw.get("detect", {}), ("detect",), _DETECT_KEYS)
    for kind in KINDS:
        if kind in raw:
            layout(raw[kind], (kind,), _LAYOUT_KEYS)
    for name, body in table(raw.get("types", {}), ("types",), None).items():
        layout(body, ("types", name), _TYPE_KEYS)


def _merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse(path: Path) -> tuple[dict[str, Any], ProfileText]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read the mapping profile ({exc.__class__.__name__})",
            code="MAPPING_UNREADABLE",
            hint="check the path and that the file is UTF-8 text",
            source=str(path),
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        # "at end of document" (an unclosed array or table): the last line is where it shows.
        line = int(found.group(1)) if found else max(1, len(text.splitlines()))
        raise ConfigError(
            f"the mapping profile is not valid TOML: {str(exc).split(' (at ')[0]}",
            code="MAPPING_SYNTAX",
            hint="check quotes, brackets and '=' on that line",
            source=str(path),
            line=line,
            column=f"character {found.group(2)}" if found else None,
        ) from None
    return raw, ProfileText(str(path), text)


def read_raw(path: Path, resolve: Resolve, seen: frozenset[str] = frozenset()) -> tuple[dict[str, Any], ProfileText]:
    """Read a profile file, check its keys, and merge in the profile it ``extends``.

    The child's tables are merged key by key over the base's; lists and values replace.

    Args:
        path: The profile file.
        resolve: Finds the file ``extends`` names (a shipped name, or a path relative to ``path``).
        seen: Files already on the ``extends`` chain (a loop is an error).
    """
    raw, src = _parse(path)
    check_keys(raw, src)
    base_name = raw.pop("extends", None)
    if base_name is None:
        return raw, src
    if not isinstance(base_name, str):
        raise src.error(("extends",), "extends must name a profile", 'write extends = "default"')
    base_path = resolve(base_name, path.parent)
    if str(base_path) in seen | {str(path)}:
        raise src.error(("extends",), f"profile {base_name!r} extends itself", "break the extends loop")
    base, _ = read_raw(base_path, resolve, seen | {str(path)})
    for key in ("name", "description", "detect"):
        base.pop(key, None)  # a child is a profile of its own, recognized by its own rules
    return _merge(base, raw), src
