"""What the demo's parts share: batch size, the demo's calendar, and time stamps drawn from it."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

BATCH = 5_000
END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # the newest demo row; a fixed date keeps runs alike
YEARS = 2

Progress = Callable[[str, int, int], None]  # (what, done, of)


def batches(rows: Iterator[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def moment(rng: random.Random) -> datetime:
    """A time in the last YEARS years, during office hours."""
    when = END - timedelta(days=rng.uniform(0, 365 * YEARS))
    return when.replace(hour=rng.choice((8, 9, 10, 11, 13, 14, 15, 16, 17)), minute=rng.randrange(60))
