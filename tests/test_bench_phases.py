"""bench/phases.py still reaches into the client and the sandbox it times (it patches their classes)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _grab(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in:\n{text}"
    return found.group(1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the recording reads /proc (Linux)")
def test_phases_times_every_request_of_a_small_import() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "phases.py"), "--users", "60", "--domains", "3",
         "--concurrency", "4", "--latency-ms", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # 60 users x (POST, PUT, read-back GET), 3 domains x (POST, GET), the login and the first look.
    total = int(_grab(r"(\d+) requests in", out))
    assert total == 60 * 3 + 3 * 2 + 3
    # Every request matched between the two processes: none left out.
    assert "left out" not in result.stderr
    assert _grab(r"phases of (\d+) requests", out) == str(total)
    means = {m[1]: float(m[2]) for m in re.finditer(r"^  (\w+) +([\d.]+) ", out, re.MULTILINE)}
    assert set(means) >= {"up", "parse", "handler", "hold", "down", "resume", "think", "request"}
    assert means["hold"] >= 3.0  # the sandbox never releases a reply before the latency
    assert means["request"] >= means["hold"] + means["handler"]
    busy = float(_grab(r"slots busy ([\d.]+)", out))
    assert 0.0 < busy <= 1.0
