"""RetryPolicy and RateLimiter with a fake clock and sleep: instant and deterministic."""

from __future__ import annotations

import asyncio
import random

import pytest

from migrate.errors import RejectedByServer, ServerError, SessionExpired, TransportError
from migrate.retry import RateLimiter, RetryPolicy


class FakeTime:
    """A clock that only moves when someone sleeps (``advance=False``: never)."""

    def __init__(self, advance: bool = True) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.advance = advance

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.advance:
            self.now += seconds


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def policy(fake: FakeTime, **kwargs: object) -> RetryPolicy:
    options: dict[str, object] = {"jitter": 0.0, "sleep": fake.sleep, "clock": fake.clock}
    options.update(kwargs)
    return RetryPolicy(**options)  # type: ignore[arg-type]


class Flaky:
    """Raises the given errors in turn, then returns ``"done"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


# --- backoff arithmetic ------------------------------------------------------------------------


def test_backoff_doubles_from_initial_up_to_max_backoff() -> None:
    p = RetryPolicy(initial=0.2, max_backoff=1.0, jitter=0.0)
    assert [p.backoff(n) for n in range(1, 7)] == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


@pytest.mark.parametrize(
    ("draw", "expected"),
    [(0.0, 0.8), (0.5, 0.6), (1.0, 0.4)],
    ids=["no-reduction", "half", "full-jitter-fraction"],
)
def test_jitter_removes_up_to_its_fraction_of_the_step(draw: float, expected: float) -> None:
    p = RetryPolicy(initial=0.2, jitter=0.5, rng=FixedRandom(draw))
    assert p.backoff(3) == pytest.approx(expected)


def test_jitter_spreads_waits_within_bounds() -> None:
    p = RetryPolicy(initial=1.0, jitter=0.5, rng=random.Random(7))
    waits = [p.backoff(1) for _ in range(200)]
    assert all(0.5 <= w <= 1.0 for w in waits)
    assert len({round(w, 6) for w in waits}) > 100  # really random, not a constant


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(None, 0.4), (0.1, 0.4), (3.0, 3.0)],
    ids=["absent", "shorter-than-backoff", "longer-than-backoff"],
)
def test_retry_after_is_a_floor(retry_after: float | None, expected: float) -> None:
    p = RetryPolicy(initial=0.2, jitter=0.0)
    assert p.backoff(2, retry_after) == pytest.approx(expected)


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"jitter": 1.5}, {"jitter": -0.1}], ids=["no-attempts", "jitter>1", "jitter<0"]
)
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# --- run() -------------------------------------------------------------------------------------


def test_transient_errors_are_retried_with_exponential_sleeps() -> None:
    fake = FakeTime()
    fn = Flaky(ServerError("503", code="HTTP_503"), TransportError("reset"), ServerError("502"))
    seen: list[tuple[str, int, float]] = []
    result = run(policy(fake).run(fn, on_retry=lambda exc, n, d: seen.append((type(exc).__name__, n, d))))
    assert result == "done"
    assert fn.calls == 4
    assert fake.sleeps == pytest.approx([0.2, 0.4, 0.8])
    assert seen == [("ServerError", 1, pytest.approx(0.2)), ("TransportError", 2, 0.4), ("ServerError", 3, 0.8)]


def test_retry_after_from_the_error_is_slept() -> None:
    fake = FakeTime()
    fn = Flaky(ServerError("429", retry_after=7.0), ServerError("429", retry_after=0.01))
    assert run(policy(fake).run(fn)) == "done"
    assert fake.sleeps == pytest.approx([7.0, 0.4])


@pytest.mark.parametrize(
    "error",
    [RejectedByServer("x", code="ALREADY_EXISTS"), SessionExpired("expired"), ValueError("bug")],
    ids=["permanent", "session-expired", "programming-error"],
)
def test_non_retriable_errors_raise_at_once(error: Exception) -> None:
    fake = FakeTime()
    fn = Flaky(error)
    with pytest.raises(type(error)):
        run(policy(fake).run(fn))
    assert fn.calls == 1
    assert fake.sleeps == []


def test_attempts_are_bounded_and_the_last_error_is_reraised() -> None:
    fake = FakeTime()
    errors = [ServerError(f"fault {n}") for n in range(10)]
    fn = Flaky(*errors)
    with pytest.raises(ServerError) as info:
        run(policy(fake, max_attempts=4).run(fn))
    assert fn.calls == 4
    assert info.value is errors[3]
    assert len(fake.sleeps) == 3


def test_elapsed_time_is_bounded() -> None:
    fake = FakeTime()
    fn = Flaky(*[TransportError("down") for _ in range(20)])
    with pytest.raises(TransportError):
        run(policy(fake, max_attempts=50, max_elapsed=2.0, initial=0.4).run(fn))
    # 0.4 + 0.8 = 1.2 s slept; the next wait (1.6 s) would end at 2.8 s > 2.0 s: give up instead.
    assert fake.sleeps == pytest.approx([0.4, 0.8])
    assert fn.calls == 3
    assert fake.now - 100.0 <= 2.0


def test_elapsed_bound_counts_time_spent_in_attempts() -> None:
    fake = FakeTime()

    calls = 0

    async def slow_failure() -> str:
        nonlocal calls
        calls += 1
        fake.now += 5.0  # each attempt takes 5 s (e.g. a read timeout)
        raise TransportError("timeout")

    with pytest.raises(TransportError):
        run(policy(fake, max_elapsed=12.0).run(slow_failure))
    # 5 + 0.2 + 5 + 0.4 + 5 = 15.6 s after the third attempt: no fourth, despite 6 allowed.
    assert calls == 3
    assert fake.sleeps == pytest.approx([0.2, 0.4])


def test_retry_after_longer_than_the_budget_gives_up_without_sleeping() -> None:
    fake = FakeTime()
    fn = Flaky(ServerError("429", retry_after=3600.0))
    with pytest.raises(ServerError):
        run(policy(fake, max_elapsed=60.0).run(fn))
    assert fake.sleeps == []
    assert fn.calls == 1


def test_each_run_has_its_own_budget() -> None:
    fake = FakeTime()
    p = policy(fake, max_attempts=2)
    assert run(p.run(Flaky(ServerError("a")))) == "done"
    assert run(p.run(Flaky(ServerError("b")))) == "done"
    assert len(fake.sleeps) == 2


# --- RateLimiter -------------------------------------------------------------------------------


def test_limiter_first_acquire_is_free_then_one_token_per_interval() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10.0, clock=fake.clock, sleep=fake.sleep)

    async def five() -> None:
        for _ in range(5):
            await limiter.acquire()

    run(five())
    assert fake.sleeps == pytest.approx([0.1, 0.1, 0.1, 0.1])
    assert fake.now - 100.0 == pytest.approx(0.4)


def test_limiter_burst_allows_back_to_back_then_paces() -> None:
    fake = FakeTime()
    limiter = RateLimiter(4.0, burst=3, clock=fake.clock, sleep=fake.sleep)

    async def go() -> None:
        for _ in range(5):
            await limiter.acquire()

    run(go())
    assert fake.sleeps == pytest.approx([0.25, 0.25])


def test_limiter_refills_while_idle_but_never_beyond_burst() -> None:
    fake = FakeTime()
    limiter = RateLimiter(2.0, burst=2, clock=fake.clock, sleep=fake.sleep)

    async def go() -> None:
        await limiter.acquire()
        await limiter.acquire()
        fake.now += 60.0  # a long quiet spell refills only up to the burst
        assert limiter.tokens == pytest.approx(2.0)
        await limiter.acquire()
        await limiter.acquire()
        await limiter.acquire()

    run(go())
    assert fake.sleeps == pytest.approx([0.5])


def test_limiter_queues_concurrent_waiters_in_turn() -> None:
    fake = FakeTime(advance=False)  # every waiter computes its wait at the same instant
    limiter = RateLimiter(5.0, clock=fake.clock, sleep=fake.sleep)

    async def go() -> None:
        await asyncio.gather(*(limiter.acquire() for _ in range(4)))

    run(go())
    assert fake.sleeps == pytest.approx([0.2, 0.4, 0.6])
    assert limiter.tokens == pytest.approx(-3.0)


def test_limiter_gives_back_a_cancelled_reservation() -> None:
    async def go() -> float:
        fake = FakeTime(advance=False)
        blocker = asyncio.Event()

        async def blocking_sleep(seconds: float) -> None:
            fake.sleeps.append(seconds)
            await blocker.wait()

        limiter = RateLimiter(1.0, clock=fake.clock, sleep=blocking_sleep)
        await limiter.acquire()
        waiter = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0)
        assert limiter.tokens == pytest.approx(-1.0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return limiter.tokens

    assert run(go()) == pytest.approx(0.0)


def test_limiter_long_run_rate_matches() -> None:
    fake = FakeTime()
    limiter = RateLimiter(50.0, burst=5, clock=fake.clock, sleep=fake.sleep)

    async def go() -> None:
        for _ in range(1005):
            await limiter.acquire()

    run(go())
    # 5 free (burst) + 1000 paced at 50/s = 20 s.
    assert fake.now - 100.0 == pytest.approx(20.0)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)], ids=["zero", "negative", "no-burst"])
def test_limiter_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst)
