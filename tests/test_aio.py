"""``migrate.aio.run``: a coroutine's result comes back as it is, and is never repr'd on the way."""

from __future__ import annotations

import signal

from migrate.aio import run


class _Costly:
    """A result whose repr records that someone asked (an import's whole plan, say)."""

    def __init__(self) -> None:
        self.reprs = 0

    def __repr__(self) -> str:
        self.reprs += 1
        return "<costly>"


def test_the_result_comes_back_unrepr_d() -> None:
    result = _Costly()

    async def work() -> _Costly:
        return result

    assert run(work()) is result
    # asyncio.Runner's SIGINT bookkeeping on the way out reprs its main task, result included.
    assert result.reprs == 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
