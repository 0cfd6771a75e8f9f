"""Ask every carrier at once; answer with whoever replied in time.

`fan_out` runs one task per adapter, waits at most `timeout` seconds, cancels whatever is still
running and returns the results it has plus one `CarrierNotice` per carrier. A carrier that
hangs, errors, answers garbage or sits behind an open circuit breaker is marked in the notices;
it never fails the whole answer nor delays it past the timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Literal, TypeVar

import msgspec
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_random_exponential

from carriers.base import CarrierAdapter, RetryableCarrierError

T = TypeVar("T")

NoticeStatus = Literal["ok", "timeout", "error", "circuit_open"]
BreakerState = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]

# Tasks cancelled at the deadline that have not finished unwinding yet. Holding a reference
# keeps the event loop from garbage-collecting them mid-cancellation; we never await them.
_abandoned: set[asyncio.Task[object]] = set()


class CarrierNotice(msgspec.Struct, kw_only=True, frozen=True):
    """How one carrier fared in a fan-out."""

    scac: str
    status: NoticeStatus
    detail: str | None
    elapsed_ms: float


class FanOutResult(msgspec.Struct, Generic[T], kw_only=True):
    """Answers by SCAC for carriers that replied in time, and a notice for every carrier."""

    results: dict[str, T]
    notices: list[CarrierNotice]

    def failed(self) -> list[CarrierNotice]:
        """Notices of carriers that gave no answer."""
        return [n for n in self.notices if n.status != "ok"]


class CircuitBreaker:
    """Stops calling a carrier after `failure_threshold` consecutive failures.

    closed -> open after N failures in a row; open -> half_open once `cool_down` seconds have
    passed (one trial call is let through); half_open -> closed on success, open on failure.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        cool_down: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cool_down < 0:
            raise ValueError("failure_threshold must be >= 1 and cool_down >= 0")
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cool_down:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May we call the carrier now? In half-open state only one trial at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._trial_running or self._failures >= self.failure_threshold:
            # A failed trial re-opens for a full cool-down.
            self._opened_at = self._clock()
        self._trial_running = False

    def record_rate_limited(self) -> None:
        """The carrier answered 429: alive, only asking for fewer calls. Neither a failure (it
        opens nothing) nor a success (an open breaker stays open); a trial may run again."""
        self._trial_running = False


class BreakerBoard:
    """One circuit breaker per SCAC, created on first use with the same settings."""

    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        cool_down: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._settings = (failure_threshold, cool_down, clock)
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_carrier(self, scac: str) -> CircuitBreaker:
        breaker = self._breakers.get(scac)
        if breaker is None:
            threshold, cool_down, clock = self._settings
            breaker = CircuitBreaker(failure_threshold=threshold, cool_down=cool_down, clock=clock)
            self._breakers[scac] = breaker
        return breaker

    def states(self) -> dict[str, BreakerState]:
        """The state of every carrier's breaker used so far, by SCAC."""
        return {scac: breaker.state for scac, breaker in self._breakers.items()}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def fan_out(
    adapters: Sequence[CarrierAdapter],
    call: Callable[[CarrierAdapter], Awaitable[T]],
    *,
    timeout: float,  # noqa: ASYNC109 -- a per-carrier budget, not a cancel scope for the caller
    breakers: BreakerBoard,
) -> FanOutResult[T]:
    """Run `call(adapter)` for every adapter concurrently and return within `timeout` seconds.

    Carriers behind an open breaker are not called. Tasks still running at the deadline are
    cancelled and left to unwind on their own: the answer does not wait for them.
    """
    started = time.perf_counter()
    notices: dict[str, CarrierNotice] = {}
    results: dict[str, T] = {}
    finished_at: dict[str, float] = {}
    tasks: dict[asyncio.Task[T], str] = {}

    async def timed(adapter: CarrierAdapter) -> T:
        try:
            return await call(adapter)
        finally:
            finished_at[adapter.scac] = time.perf_counter()

    for adapter in adapters:
        if not breakers.for_carrier(adapter.scac).allow():
            notices[adapter.scac] = CarrierNotice(
                scac=adapter.scac, status="circuit_open", detail=None, elapsed_ms=0.0
            )
            continue
        tasks[asyncio.ensure_future(timed(adapter))] = adapter.scac

    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
            _abandoned.add(task)
            task.add_done_callback(_forget)

    for task, scac in tasks.items():
        breaker = breakers.for_carrier(scac)
        elapsed_ms = (finished_at.get(scac, time.perf_counter()) - started) * 1000
        if not task.done() or task.cancelled():
            breaker.record_failure()
            notices[scac] = CarrierNotice(
                scac=scac,
                status="timeout",
                detail=f"no answer within {timeout:.3f}s",
                elapsed_ms=elapsed_ms,
            )
            continue
        exc = task.exception()
        if isinstance(exc, RetryableCarrierError) and exc.rate_limited:
            breaker.record_rate_limited()
            notices[scac] = CarrierNotice(
                scac=scac, status="error", detail=_describe(exc), elapsed_ms=elapsed_ms
            )
            continue
        if exc is not None:
            breaker.record_failure()
            notices[scac] = CarrierNotice(
                scac=scac, status="error", detail=_describe(exc), elapsed_ms=elapsed_ms
            )
            continue
        breaker.record_success()
        results[scac] = task.result()
        notices[scac] = CarrierNotice(scac=scac, status="ok", detail=None, elapsed_ms=elapsed_ms)

    ordered = [notices[a.scac] for a in adapters if a.scac in notices]
    return FanOutResult(results=results, notices=ordered)


def _forget(task: asyncio.Task[object]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # mark retrieved: a late failure is already reported as a timeout


class _BackOff:
    """Full jitter (a random wait between 0 and ``backoff`` x 2^attempt, at most ``cap``),
    unless the carrier said how long to wait (``Retry-After``): then exactly that."""

    def __init__(self, backoff: float, cap: float) -> None:
        self._jitter = wait_random_exponential(multiplier=backoff, max=cap)

    def __call__(self, state: RetryCallState) -> float:
        asked = _retry_after(state)
        return asked if asked is not None else float(self._jitter(state))


class _AskedTooLong(stop_base):
    """Stop when the carrier asks to wait longer than we are prepared to."""

    def __init__(self, cap: float) -> None:
        self._cap = cap

    def __call__(self, retry_state: RetryCallState) -> bool:
        asked = _retry_after(retry_state)
        return asked is not None and asked > self._cap


def _retry_after(state: RetryCallState) -> float | None:
    error = state.outcome.exception() if state.outcome is not None else None
    return error.retry_after if isinstance(error, RetryableCarrierError) else None


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    backoff: float = 0.2,
    cap: float = 30.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Call again on `RetryableCarrierError`, up to `attempts` times in all, with exponential
    backoff and full jitter, or after the `Retry-After` the carrier gave (a carrier asking for
    more than `cap` seconds is not retried: its error is raised). Use only for idempotent calls
    (schedules, allocation, booking_status, release_units with its release_id): a retried
    booking could be placed twice. The last error is raised as it was."""
    if attempts < 1:
        raise ValueError("attempts must be >= 1")

    retryer = AsyncRetrying(
        stop=stop_after_attempt(attempts) | _AskedTooLong(cap),
        wait=_BackOff(backoff, cap),
        retry=retry_if_exception_type(RetryableCarrierError),
        sleep=sleep,
        reraise=True,
    )

    async def attempt() -> T:  # a coroutine function, as tenacity needs to await each try
        return await call()

    return await retryer(attempt)
