"""Start-up cost of the command line: modules a run does not use are not imported."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    """Run ``code`` in a fresh interpreter and return the names in its ``sys.modules``."""
    script = code + "\nimport sys\nprint('\\n'.join(name for name, mod in sys.modules.items() if mod is not None))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_cli_does_not_import_httpxs_own_command_line_client() -> None:
    loaded = _modules_after("import migrate.cli, migrate.client, httpx\nassert callable(httpx.main)")
    assert "httpx" in loaded
    assert "httpx._main" not in loaded
    assert not {name for name in loaded if name.split(".")[0] in ("rich", "pygments")}


def test_the_library_leaves_httpx_whole() -> None:
    # Only the command line's entry point drops httpx's CLI; an application using the library
    # keeps it.
    loaded = _modules_after("import migrate.client, migrate.importer")
    assert "httpx._main" in loaded


def test_closing_progress_without_a_bar_does_not_import_rich() -> None:
    code = (
        "import io\nfrom migrate.progress import Progress\n"
        "p = Progress(stream=io.StringIO())\np.update(1, 2)\np.update(2, 2)\np.close()"
    )
    loaded = _modules_after(code)
    assert "migrate.progress" in loaded
    assert "rich.progress" not in loaded
