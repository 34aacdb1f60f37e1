"""iredmigrate: bulk import, export and migration for iRedMail via the iRedAdmin-Pro API.

The library API (everything the CLI does is callable from Python)::

    from migrate import InputOptions, run_import
    from migrate.validate import validate
    report = validate(["users.xlsx"], InputOptions(mapping="google-workspace"))

Heavy parts are imported on first use, so ``import migrate`` stays cheap. ``validate`` and
``plan`` are both modules and functions: import those functions from their modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ApiClient",
    "ExportResult",
    "ImportOptions",
    "ImportResult",
    "InputOptions",
    "Plan",
    "PlanOptions",
    "Target",
    "ValidationReport",
    "__version__",
    "diff_objects",
    "load",
    "load_profile",
    "run_export",
    "run_import",
]

_WHERE = {
    "ApiClient": "migrate.client",
    "ExportResult": "migrate.exporter",
    "ImportOptions": "migrate.importer",
    "ImportResult": "migrate.importer",
    "InputOptions": "migrate.inputs",
    "Plan": "migrate.plan",
    "PlanOptions": "migrate.plan",
    "Target": "migrate.target",
    "ValidationReport": "migrate.validate",
    "diff_objects": "migrate.diff",
    "load": "migrate.inputs",
    "load_profile": "migrate.mapping",
    "run_export": "migrate.exporter",
    "run_import": "migrate.importer",
}

if TYPE_CHECKING:
    from migrate.client import ApiClient
    from migrate.diff import diff_objects
    from migrate.exporter import ExportResult, run_export
    from migrate.importer import ImportOptions, ImportResult, run_import
    from migrate.inputs import InputOptions, load
    from migrate.mapping import load_profile
    from migrate.plan import Plan, PlanOptions
    from migrate.target import Target
    from migrate.validate import ValidationReport


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'migrate' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
