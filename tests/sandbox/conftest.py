"""Fixtures for the sandbox conformance suite: served sandboxes and plain httpx clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sbhelpers import HELPDESK, PASSWORD, Api, make_config, unique_domain

from migrate.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The shared sandbox (file database, defaults, no quirks)."""
    with Sandbox(make_config(tmp_path_factory.mktemp("sandbox"))) as running:
        yield running


@pytest.fixture(scope="session")
def admin(sandbox: Sandbox) -> Iterator[Api]:
    """A logged-in global admin on the shared sandbox."""
    api = Api(sandbox.base_url)
    assert api.login() == {"_success": True}
    yield api
    api.close()


@pytest.fixture
def anon(sandbox: Sandbox) -> Iterator[Api]:
    """A client without a session."""
    api = Api(sandbox.base_url)
    yield api
    api.close()


@pytest.fixture
def domain(admin: Api) -> str:
    """A fresh, empty domain on the shared sandbox."""
    name = unique_domain()
    admin.ok("POST", f"/domain/{name}", data={"name": "Test"})
    return name


@pytest.fixture(scope="session")
def helpdesk(sandbox: Sandbox, admin: Api) -> Iterator[tuple[Api, str]]:
    """A normal (standalone) admin, logged in, managing one domain of its own."""
    managed = unique_domain("managed")
    admin.ok("POST", f"/domain/{managed}")
    admin.ok("POST", f"/admin/{HELPDESK}", data={"password": PASSWORD, "isGlobalAdmin": "no", "name": "Helpdesk"})
    admin.ok("PUT", f"/domain/admins/{managed}", data={"addAdmin": HELPDESK})
    api = Api(sandbox.base_url)
    assert api.login(HELPDESK, PASSWORD) == {"_success": True}
    yield api, managed
    api.close()


@pytest.fixture(scope="module")
def ldap(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """An LDAP-edition sandbox per test module (each module builds its own tree)."""
    folder = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    with Sandbox(make_config(folder, edition="ldap")) as running:
        yield running


@pytest.fixture(scope="module")
def api(ldap: Sandbox) -> Iterator[Api]:
    """The LDAP sandbox's global admin, logged in."""
    client = Api(ldap.base_url)
    assert client.login() == {"_success": True}
    yield client
    client.close()
