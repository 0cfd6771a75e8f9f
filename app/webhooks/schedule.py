"""When a failed delivery is tried again: exponential backoff with jitter, for at least the
retry window (24 hours by default), then given up.

Waits after the n-th failed attempt: 5 s x 3^(n-1), at most 4 hours, each drawn within +/-20 %
so that deliveries that failed together do not come back together: 5 s, 15 s, 45 s, 2 min 15 s,
6 min 45 s, 20 min, 1 h, 3 h, then every 4 h. A delivery owed for longer than the window when an
attempt fails is given up, so the attempts span the whole window (about 13 in 24 hours).
"""

from __future__ import annotations

import random

FIRST_WAIT_SECONDS = 5.0
GROWTH = 3.0
LONGEST_WAIT_SECONDS = 4 * 3600.0
JITTER = 0.2


def retry_wait(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first)."""
    base = min(LONGEST_WAIT_SECONDS, FIRST_WAIT_SECONDS * GROWTH ** min(attempt - 1, 32))
    return base * (rng or random).uniform(1 - JITTER, 1 + JITTER)


def after_failure(
    attempt: int, owed_for_seconds: float, window_seconds: float, rng: random.Random | None = None
) -> float | None:
    """Seconds until the next attempt, or None to give up: the delivery was owed longer than
    the retry window when attempt ``attempt`` failed."""
    if owed_for_seconds >= window_seconds:
        return None
    return retry_wait(attempt, rng)
