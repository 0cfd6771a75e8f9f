"""Fan-out: partial answers on time, per-carrier notices, circuit breaker, retries."""

from __future__ import annotations

import asyncio
import time

import pytest
from carrier_world import FakeMonotonic, frozen_now

from carriers.base import (
    CarrierAdapter,
    MalformedCarrierAnswer,
    PermanentCarrierError,
    RetryableCarrierError,
    ScheduleQuery,
)
from carriers.fanout import BreakerBoard, CircuitBreaker, fan_out, retrying
from carriers.simulated import SimulatedCarrier, SimulatedSettings

QUERY = ScheduleQuery()


def sim(scac: str, **knobs: object) -> SimulatedCarrier:
    settings = SimulatedSettings(seed=7, lanes=["CNSHA-USLAX"], **knobs)  # type: ignore[arg-type]
    return SimulatedCarrier(scac, settings, clock=frozen_now)


class Stubborn:
    """A carrier call that swallows cancellation and keeps going: the worst case."""

    scac = "STUB"
    kind = "simulated"

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def schedules(self, query: ScheduleQuery) -> list[object]:
        while not self.release.is_set():
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                continue
        return []


class Flaky:
    """Fails while `broken` is set; counts calls so a test can see the breaker skip it."""

    kind = "simulated"

    def __init__(self, scac: str) -> None:
        self.scac = scac
        self.broken = True
        self.calls = 0

    async def schedules(self, query: ScheduleQuery) -> list[object]:
        self.calls += 1
        if self.broken:
            raise RetryableCarrierError(self.scac, "503")
        return []


def schedules(adapter: CarrierAdapter) -> object:
    return adapter.schedules(QUERY)


async def test_hung_carrier_is_marked_timeout_and_the_others_answer_on_time() -> None:
    adapters = [sim("FAST"), sim("SLOW", latency=0.01), sim("HANG", latency=3600)]
    started = time.perf_counter()
    async with asyncio.timeout(2):
        result = await fan_out(adapters, schedules, timeout=0.1, breakers=BreakerBoard())
    elapsed = time.perf_counter() - started

    assert set(result.results) == {"FAST", "SLOW"}
    assert [n.status for n in result.notices] == ["ok", "ok", "timeout"]
    assert elapsed < 0.1 + 0.05


async def test_carrier_that_ignores_cancellation_does_not_delay_the_answer() -> None:
    stubborn = Stubborn()
    started = time.perf_counter()
    async with asyncio.timeout(2):
        result = await fan_out(
            [stubborn, sim("FAST")],  # type: ignore[list-item]
            schedules,
            timeout=0.05,
            breakers=BreakerBoard(),
        )
    assert time.perf_counter() - started < 0.05 + 0.05
    assert result.failed()[0].scac == "STUB"
    assert result.failed()[0].status == "timeout"
    stubborn.release.set()


@pytest.mark.parametrize(
    ("knobs", "error_type"),
    [
        ({"error_rate": 1.0}, "RetryableCarrierError"),
        ({"malformed_rate": 1.0}, "MalformedCarrierAnswer"),
    ],
)
async def test_broken_carrier_gives_partial_result_with_error_notice(
    knobs: dict[str, float], error_type: str
) -> None:
    result = await fan_out([sim("GOOD"), sim("BAD", **knobs)], schedules, timeout=1, breakers=BreakerBoard())
    assert list(result.results) == ["GOOD"]
    (notice,) = result.failed()
    assert notice.scac == "BAD"
    assert notice.status == "error"
    assert notice.detail is not None
    assert notice.detail.startswith(error_type)


async def test_unexpected_exception_in_one_adapter_is_contained() -> None:
    async def call(adapter: CarrierAdapter) -> object:
        if adapter.scac == "BUGS":
            raise KeyError("oops")
        return await adapter.schedules(QUERY)

    result = await fan_out([sim("BUGS"), sim("GOOD")], call, timeout=1, breakers=BreakerBoard())
    assert list(result.results) == ["GOOD"]
    assert result.failed()[0].status == "error"


async def test_breaker_opens_after_three_failures_and_skips_the_carrier(
    monotonic: FakeMonotonic,
) -> None:
    flaky = Flaky("FLKY")
    board = BreakerBoard(failure_threshold=3, cool_down=30, clock=monotonic)
    for _ in range(3):
        result = await fan_out([flaky], schedules, timeout=1, breakers=board)  # type: ignore[list-item]
        assert result.notices[0].status == "error"

    result = await fan_out([flaky], schedules, timeout=1, breakers=board)  # type: ignore[list-item]
    assert result.notices[0].status == "circuit_open"
    assert flaky.calls == 3
    assert board.for_carrier("FLKY").state == "open"


async def test_breaker_half_opens_after_cool_down_and_closes_on_success(
    monotonic: FakeMonotonic,
) -> None:
    flaky = Flaky("FLKY")
    board = BreakerBoard(failure_threshold=2, cool_down=30, clock=monotonic)
    for _ in range(2):
        await fan_out([flaky], schedules, timeout=1, breakers=board)  # type: ignore[list-item]
    monotonic.advance(29.9)
    assert board.for_carrier("FLKY").state == "open"
    monotonic.advance(0.2)
    assert board.for_carrier("FLKY").state == "half_open"

    flaky.broken = False
    result = await fan_out([flaky], schedules, timeout=1, breakers=board)  # type: ignore[list-item]
    assert result.notices[0].status == "ok"
    assert board.for_carrier("FLKY").state == "closed"


async def test_failed_trial_reopens_the_breaker_for_a_full_cool_down(
    monotonic: FakeMonotonic,
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cool_down=10, clock=monotonic)
    breaker.record_failure()
    monotonic.advance(10)
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert breaker.state == "open"
    monotonic.advance(9)
    assert not breaker.allow()


async def test_timeouts_count_as_failures_for_the_breaker(monotonic: FakeMonotonic) -> None:
    board = BreakerBoard(failure_threshold=2, cool_down=30, clock=monotonic)
    hang = sim("HANG", latency=3600)
    for _ in range(2):
        await fan_out([hang], schedules, timeout=0.01, breakers=board)
    result = await fan_out([hang], schedules, timeout=0.01, breakers=board)
    assert result.notices[0].status == "circuit_open"


async def test_retrying_retries_only_retryable_errors_with_exponential_backoff_and_full_jitter() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    attempts = 0

    async def call() -> str:
        nonlocal attempts
        attempts += 1
        if attempts % 4:
            raise RetryableCarrierError("ABCD", "timeout")
        return "ok"

    for _ in range(50):
        assert await retrying(call, attempts=4, backoff=0.1, sleep=sleep) == "ok"
    # Full jitter: the n-th wait is anywhere in [0, 0.1 x 2^n], not a fixed step.
    first, second, third = waits[0::3], waits[1::3], waits[2::3]
    assert all(0 <= w <= 0.1 for w in first)
    assert all(0 <= w <= 0.2 for w in second)
    assert all(0 <= w <= 0.4 for w in third)
    assert max(third) > 0.2  # the ceiling doubles
    assert len(set(waits)) > 100  # and the waits are spread, so clients never retry in step
    waits.clear()

    async def permanent() -> str:
        raise MalformedCarrierAnswer("ABCD", "bad json")

    with pytest.raises(PermanentCarrierError):
        await retrying(permanent, attempts=5, sleep=sleep)
    assert waits == []  # a permanent error is not retried


async def test_retrying_gives_up_after_the_last_attempt() -> None:
    async def sleep(seconds: float) -> None:
        return None

    async def call() -> str:
        raise RetryableCarrierError("ABCD", "503")

    with pytest.raises(RetryableCarrierError):
        await retrying(call, attempts=2, sleep=sleep)


async def test_retrying_waits_what_the_carrier_asks_in_retry_after() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryableCarrierError("ABCD", "429", status=429, retry_after=7.0)
        return "ok"

    assert await retrying(call, attempts=3, backoff=0.1, sleep=sleep) == "ok"
    assert waits == [7.0]


async def test_retrying_gives_up_when_the_carrier_asks_to_wait_too_long() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def call() -> str:
        raise RetryableCarrierError("ABCD", "503", status=503, retry_after=600.0)

    with pytest.raises(RetryableCarrierError):
        await retrying(call, attempts=5, cap=30, sleep=sleep)
    assert waits == []


class RateLimited:
    """A carrier that answers 429 to every call."""

    def __init__(self, scac: str) -> None:
        self.scac = scac
        self.kind = "scripted"

    async def schedules(self, query: ScheduleQuery) -> object:
        raise RetryableCarrierError(self.scac, "429 Too Many Requests", status=429, retry_after=1)


async def test_a_rate_limited_carrier_does_not_open_its_breaker(monotonic: FakeMonotonic) -> None:
    board = BreakerBoard(failure_threshold=2, cool_down=30, clock=monotonic)
    limited = RateLimited("RATE")
    for _ in range(5):
        result = await fan_out([limited], schedules, timeout=1, breakers=board)  # type: ignore[list-item]
        assert result.notices[0].status == "error"
    assert board.for_carrier("RATE").state == "closed"

    # Control: the same number of 503s opens it.
    failing = sim("FAIL", error_rate=1.0)
    for _ in range(5):
        await fan_out([failing], schedules, timeout=1, breakers=board)
    assert board.for_carrier("FAIL").state == "open"
