"""The import pauses the cyclic collector only while it builds its long-lived data."""

from __future__ import annotations

import gc

import pytest

from migrate.importer import _building


@pytest.mark.parametrize("enabled", [True, False])
def test_building_pauses_the_collector_freezes_and_restores_it(enabled: bool) -> None:
    was = gc.isenabled()
    gc.enable() if enabled else gc.disable()
    frozen = gc.get_freeze_count()
    try:
        with _building():
            assert not gc.isenabled()
            built = [[i] for i in range(100)]
        assert gc.isenabled() is enabled  # as the caller had it
        assert gc.get_freeze_count() >= frozen + len(built)
        with pytest.raises(ValueError), _building():
            raise ValueError("an input file cannot be read")
        assert gc.isenabled() is enabled
    finally:
        gc.unfreeze()
        gc.enable() if was else gc.disable()
