"""End-to-end fixtures: a served sandbox on 127.0.0.1 with a real database file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import ADMIN, ADMIN_PASSWORD

from migrate.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    config = SandboxConfig(db_path=str(tmp_path / "sandbox.db"), admin_email=ADMIN, admin_password=ADMIN_PASSWORD)
    with Sandbox(config) as served:
        yield served
