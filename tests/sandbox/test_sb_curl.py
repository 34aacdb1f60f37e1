"""The documentation's own curl sequence, run with the real curl binary against the sandbox.

The docs' samples still send the pre-2.5 names ``cn``, ``mailQuota`` and ``preferredLanguage``;
the SQL edition ignores them (reference §1.3, §8.1), which the sequence shows too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sbhelpers import ADMIN, PASSWORD

from migrate.sandbox import Sandbox

CURL = shutil.which("curl") or "/usr/bin/curl"
pytestmark = pytest.mark.skipif(not Path(CURL).exists(), reason="curl is not installed")


def _curl(jar: Path, *args: str, login: bool = False) -> dict[str, Any]:
    cookie = ["-c", str(jar)] if login else ["-b", str(jar)]
    done = subprocess.run([CURL, "-sS", *cookie, *args], capture_output=True, text=True, timeout=30, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_documented_curl_sequence(sandbox: Sandbox, tmp_path: Path) -> None:
    base = sandbox.base_url
    jar = tmp_path / "cookie.txt"
    domain = "curl-sample.example.com"

    assert _curl(jar, "-X", "POST", "-d", f"username={ADMIN}&password={PASSWORD}", f"{base}/login", login=True) == {
        "_success": True
    }
    assert "iRedAdmin-Pro-MYSQL" in jar.read_text()

    assert _curl(jar, "-X", "POST", "-d", "cn=Example Inc.&quota=2048&preferredLanguage=en_US&defaultQuota=1024",
                 f"{base}/domain/{domain}") == {"_success": True}  # fmt: skip
    assert _curl(jar, "-X", "POST", "-d", "cn=My Name&password=Sample#Pass1&mailQuota=1024&preferredLanguage=de_DE",
                 f"{base}/user/user@{domain}") == {"_success": True}  # fmt: skip
    assert _curl(jar, "-X", "POST", "-d", f"name=Sales&accessPolicy=domain&members=user@{domain},ext@elsewhere.org",
                 f"{base}/alias/sales@{domain}") == {"_success": True}  # fmt: skip
    assert _curl(jar, "-X", "PUT", "--data-urlencode", "name=Jørn", "-d", "quota=512&language=en_US",
                 f"{base}/user/user@{domain}") == {"_success": True}  # fmt: skip

    domain_data = _curl(jar, f"{base}/domain/{domain}")["_data"]
    assert (domain_data["description"], domain_data["maxquota"]) == ("", 2048)  # cn= ignored
    user = _curl(jar, f"{base}/user/user@{domain}")["_data"]
    assert (user["name"], user["quota"], user["language"]) == ("Jørn", 512, "en_US")
    alias = _curl(jar, f"{base}/alias/sales@{domain}")["_data"]
    assert alias["members"] == ["ext@elsewhere.org", f"user@{domain}"]

    assert _curl(jar, "-X", "DELETE", f"{base}/alias/sales@{domain}") == {"_success": True}
    assert _curl(jar, "-X", "DELETE", f"{base}/user/user@{domain}") == {"_success": True}
    assert _curl(jar, "-X", "DELETE", f"{base}/domain/{domain}") == {"_success": True}
    assert _curl(jar, f"{base}/domain/{domain}") == {"_success": False, "_msg": "INVALID_DOMAIN_NAME"}


def test_curl_without_cookie_jar_is_login_required(sandbox: Sandbox, tmp_path: Path) -> None:
    empty = tmp_path / "none.txt"
    empty.write_text("")
    assert _curl(empty, f"{sandbox.base_url}/domains") == {"_success": False, "_msg": "LOGIN_REQUIRED"}
