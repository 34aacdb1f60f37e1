from datetime import UTC, datetime, timedelta, timezone

import pytest

from migrate.exporters import EXPORTERS, expand_output_name
from migrate.exporters.ldif_format import comment_line

NOW = datetime(2026, 11, 24, 7, 45, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pattern", "now", "expected"),
    [
        ("backups/{date}.json", NOW, "backups/2026-11-24.json"),
        ("b-{datetime}.ldif", NOW, "b-2026-11-24T074503Z.ldif"),
        ("{date}/{datetime}.csv", NOW, "2026-11-24/2026-11-24T074503Z.csv"),
        ("fixed.json", NOW, "fixed.json"),
        ("odd{name}.json", NOW, "odd{name}.json"),
        ("{date}.json", datetime(2026, 11, 24, 1, 0, tzinfo=timezone(timedelta(hours=2))), "2026-11-23.json"),
        ("{date}.json", datetime(2026, 11, 24, 23, 59), "2026-11-24.json"),
    ],
    ids=["date", "datetime", "both", "none", "other-braces", "converted-to-utc", "naive-is-utc"],
)
def test_expand_output_name(pattern, now, expected):
    assert expand_output_name(pattern, now) == expected


def test_registry_has_the_four_formats(tmp_path, full_snapshot):
    assert sorted(EXPORTERS) == ["csv", "json", "ldif", "xlsx"]
    for fmt, writer in EXPORTERS.items():
        writer(tmp_path / f"out.{fmt}", full_snapshot)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert {"out.json", "out.json.sha256", "out.ldif", "out.xlsx", "out-users.csv"} <= set(names)


def test_comment_lines_are_split_not_folded():
    text = comment_line("source " + "x" * 200 + " é\n")
    lines = text.split("\n")
    assert all(line.startswith("# ") and len(line) <= 76 for line in lines)
    assert "".join(line[2:] for line in lines) == "source " + "x" * 200 + " \\xe9 "
