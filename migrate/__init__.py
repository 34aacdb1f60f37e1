"""iredmigrate: bulk import, export and migration for iRedMail via the iRedAdmin-Pro API."""

__all__ = ["__version__"]

__version__ = "0.1.0"
