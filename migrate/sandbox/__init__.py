"""The sandbox: a local imitation of the iRedAdmin-Pro RESTful API (SQL and LDAP editions).

Start one in the background for tests or ``--sandbox``::

    with Sandbox(SandboxConfig(db_path="sandbox.db", admin_password="...")) as sandbox:
        httpx.post(sandbox.base_url + "/login", data={...})

or in the foreground with :func:`serve_forever` (``iredmigrate sandbox serve``).
"""

from migrate.sandbox.config import API_PREFIX, QUIRKS, SandboxConfig
from migrate.sandbox.faults import FaultConfig, Faults
from migrate.sandbox.server import Sandbox, serve_forever

__all__ = ["API_PREFIX", "QUIRKS", "FaultConfig", "Faults", "Sandbox", "SandboxConfig", "serve_forever"]
