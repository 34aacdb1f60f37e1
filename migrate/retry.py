"""Retry and rate policies for the API client, with injectable clock and sleep.

:class:`RetryPolicy` wraps tenacity's :class:`~tenacity.AsyncRetrying`: exponential backoff with
jitter, the server's ``Retry-After`` honoured, and two bounds per call (attempts and elapsed
time). Only :class:`~migrate.errors.RetriableError` is retried; an expired session is not a
backoff matter (the client logs in again instead), so :class:`~migrate.errors.SessionExpired`
passes straight through.

:class:`RateLimiter` is a token bucket shared by every worker of a run (``--rate``).

Both take ``clock`` and ``sleep`` so tests run instantly and deterministically.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState

from migrate.errors import RetriableError, SessionExpired

__all__ = ["RateLimiter", "RetryPolicy"]

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]
#: Called before each backoff sleep with the error, the number of the failed attempt and the delay.
OnRetry = Callable[[BaseException, int, float], None]


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, RetriableError) and not isinstance(exc, SessionExpired)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one call is retried.

    The n-th retry waits ``min(max_backoff, initial * 2**(n-1))`` scaled down by up to ``jitter``
    (a fraction: 0.5 spreads the waits over 50-100% of the step, so workers that failed together
    do not come back together). A ``Retry-After`` from the server raises the wait to at least that
    many seconds. The call gives up after ``max_attempts`` attempts, or as soon as the next wait
    would end more than ``max_elapsed`` seconds after the first attempt started; it then re-raises
    the last error.

    Args:
        max_attempts: Attempts per call, the first one included.
        max_elapsed: Seconds from the first attempt beyond which no retry is started.
        initial: Wait before the first retry, in seconds.
        max_backoff: Largest exponential step, in seconds.
        jitter: Fraction (0-1) of each step that is randomised away.
        sleep: Awaitable sleep, ``asyncio.sleep`` unless a test injects a fake.
        clock: Monotonic clock in seconds.
        rng: Random source for the jitter.
    """

    max_attempts: int = 6
    max_elapsed: float = 60.0
    initial: float = 0.2
    max_backoff: float = 10.0
    jitter: float = 0.5
    sleep: Sleep = asyncio.sleep
    clock: Clock = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, retry_number: int, retry_after: float | None = None) -> float:
        """Return the wait before retry number ``retry_number`` (1 for the first retry).

        Args:
            retry_number: 1-based number of the retry about to happen.
            retry_after: Seconds the server asked us to wait, if it said.
        """
        step = min(self.max_backoff, self.initial * 2.0 ** (retry_number - 1))
        delay = step * (1.0 - self.jitter * self.rng.random())
        if retry_after is not None and retry_after > delay:
            delay = retry_after
        return delay

    async def run(self, fn: Callable[[], Awaitable[T]], *, on_retry: OnRetry | None = None) -> T:
        """Await ``fn()`` until it succeeds, fails permanently, or the budget is spent.

        Args:
            fn: Makes one attempt; raising a ``RetriableError`` (other than ``SessionExpired``)
                asks for another.
            on_retry: Told about every retry just before its backoff sleep.

        Returns:
            What the successful attempt returned.

        Raises:
            RetriableError: the last transient error, once attempts or time ran out.
            Exception: any other error from ``fn``, at once.
        """
        start = self.clock()
        # Fast path: most calls succeed at once, and tenacity's per-call setup costs tens of
        # microseconds of CPU, a visible share of a request at high concurrency.
        try:
            return await fn()
        except Exception as exc:
            if not _retriable(exc):
                raise
            first: BaseException | None = exc

        async def replay() -> T:
            # Tenacity's attempt 1 is the failure we already have: its count, wait and the
            # elapsed time (from ``start``) come out exactly as if tenacity had made it.
            nonlocal first
            if first is not None:
                failed, first = first, None
                raise failed
            return await fn()

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, RetriableError) else None
            return self.backoff(state.attempt_number, retry_after)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            # Never start a wait that would end past the deadline: better to report now than to
            # sleep and then report anyway (this is also what caps a huge Retry-After).
            return self.clock() - start + state.upcoming_sleep > self.max_elapsed

        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None:
                exc = state.outcome.exception()
                if exc is not None:
                    on_retry(exc, state.attempt_number, state.upcoming_sleep)

        retrying = AsyncRetrying(
            sleep=self.sleep,
            stop=stop,
            wait=wait,
            retry=_failed_retriably,
            before_sleep=before_sleep,
            reraise=True,
        )
        return await retrying(replay)


def _failed_retriably(state: RetryCallState) -> bool:
    if state.outcome is None or not state.outcome.failed:
        return False
    exc = state.outcome.exception()
    return exc is not None and _retriable(exc)


class RateLimiter:
    """Token bucket: on average ``rate`` acquisitions per second, bursts up to ``burst``.

    One limiter is shared by all workers. A caller that finds the bucket empty reserves the next
    token (the count goes negative) and sleeps until it is due, so waiting callers are served in
    arrival order without a lock and the long-run rate never exceeds ``rate``.

    Args:
        rate: Tokens added per second (requests per second).
        burst: Bucket size: how many acquisitions may happen back to back after a quiet spell.
        clock: Monotonic clock in seconds.
        sleep: Awaitable sleep.
    """

    def __init__(
        self, rate: float, burst: int = 1, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate:g}, burst={self.burst})"

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while callers are queued for future tokens)."""
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock()
        if now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now

    async def acquire(self) -> None:
        """Take one token, sleeping until it is due when the bucket is empty."""
        self._refill()
        self._tokens -= 1.0
        if self._tokens >= 0.0:
            return
        try:
            await self._sleep(-self._tokens / self.rate)
        except BaseException:
            # A cancelled waiter gives its reservation back, or it would slow everyone behind it.
            self._tokens += 1.0
            raise
