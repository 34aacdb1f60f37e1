"""Allow ``python -m migrate``."""

from migrate.cli import run

if __name__ == "__main__":
    run()
