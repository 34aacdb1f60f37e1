"""Leaving the process: exit handlers run, output arrives, the code holds, the heap is not torn down."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


PROGRAM = """
    import atexit, sys
    from pathlib import Path
    from migrate.leave import leave

    class Torn:
        def __del__(self):  # runs only if the interpreter tears the heap down
            Path("torn").write_text("yes")

    kept = Torn()
    atexit.register(lambda: Path("handler").write_text("ran"))
    sys.stdout.write("no newline, still buffered")
    sys.stderr.write("to stderr")
    {extra}
    leave({code})
"""


@pytest.mark.parametrize(("code", "status"), [("0", 0), ("3", 3), ("None", 0), ("258", 2)])
def test_leave_runs_the_handlers_flushes_and_skips_the_teardown(tmp_path: Path, code: str, status: int) -> None:
    done = run_python(PROGRAM.format(extra="", code=code), tmp_path)
    assert done.returncode == status, done.stderr
    assert done.stdout == "no newline, still buffered"
    assert done.stderr == "to stderr"
    assert (tmp_path / "handler").read_text() == "ran"
    assert not (tmp_path / "torn").exists()  # the heap was left as it was


def test_leave_waits_like_a_normal_exit_while_another_thread_runs(tmp_path: Path) -> None:
    extra = """
    import threading, time
    def late():
        time.sleep(0.2)
        Path("thread").write_text("finished")
    threading.Thread(target=late).start()
    """
    done = run_python(PROGRAM.format(extra=textwrap.indent(textwrap.dedent(extra), "    "), code="4"), tmp_path)
    assert done.returncode == 4, done.stderr
    assert (tmp_path / "thread").read_text() == "finished"
    assert (tmp_path / "handler").read_text() == "ran"


def test_a_text_code_is_printed_and_exits_1_as_python_does(tmp_path: Path) -> None:
    done = run_python(PROGRAM.format(extra="", code="'bye'"), tmp_path)
    assert done.returncode == 1
    assert done.stderr.endswith("bye\n")


@pytest.mark.parametrize(("argv", "status"), [(["--version"], 0), (["validate", "missing.csv"], 3), (["import"], 2)])
def test_python_m_migrate_leaves_the_same_way(tmp_path: Path, argv: list[str], status: int) -> None:
    program = f"""
    import runpy, sys
    from pathlib import Path

    class Torn:
        def __del__(self):
            Path("torn").write_text("yes")

    kept = Torn()
    sys.argv = ["iredmigrate", *{argv!r}]
    runpy.run_module("migrate", run_name="__main__")
    """
    done = run_python(program, tmp_path)
    assert done.returncode == status, done.stderr
    assert (done.stdout + done.stderr).strip()  # the command's own output arrived
    assert not (tmp_path / "torn").exists()
