"""Small charts drawn on the server as SVG: no script, nothing for the CSP to allow.

`step_chart` turns (time, value) points into the numbers a template needs to
draw a step line (stock stays level until the next change) with a few axis
labels; `rate_chart` turns counts per period into bars of a share (0-100%),
such as the share of reviews that kept the model's suggestion. The template
owns the look; this module only does the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class StepChart:
    width: int
    height: int
    path: str  # SVG path data of the step line
    area: str  # the same line closed to the baseline, for a filled area
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    points: int
    summary: str  # the same information in words, for screen readers
    threshold_y: float | None = None  # where the low-stock threshold's line goes, when there is one
    threshold: int | None = None


MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_RIGHT = 48, 24, 10, 10


def _nice_max(value: int) -> int:
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def step_chart(
    points: list[tuple[datetime, int]], width: int = 720, height: int = 220, threshold: int | None = None
) -> StepChart | None:
    """A step line of `points` (oldest first), with a threshold line if given; None when there is nothing to draw."""
    if not points:
        return None
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    start, end = points[0][0], points[-1][0]
    span = max((end - start).total_seconds(), 1.0)
    top = _nice_max(max([value for _, value in points] + [threshold or 0]))

    def x(at: datetime) -> float:
        return round(MARGIN_LEFT + (at - start).total_seconds() / span * plot_w, 1)

    def y(value: int) -> float:
        return round(MARGIN_TOP + plot_h - value / top * plot_h, 1)

    commands = [f"M{x(points[0][0])},{y(points[0][1])}"]
    for (_, previous), (at, value) in pairwise(points):
        commands.append(f"L{x(at)},{y(previous)}")
        commands.append(f"L{x(at)},{y(value)}")
    right = MARGIN_LEFT + plot_w
    commands.append(f"L{right},{y(points[-1][1])}")
    path = " ".join(commands)
    baseline = MARGIN_TOP + plot_h
    area = f"{path} L{right},{baseline} L{MARGIN_LEFT},{baseline} Z"

    y_ticks = [Tick(y(top * i // 4), str(top * i // 4)) for i in range(5)]
    label_format = "%H:%M" if span < 2 * 86400 else "%d %b"
    x_ticks = [Tick(x(start), start.strftime(label_format))]
    if span > 1:
        x_ticks.append(Tick(x(end), end.strftime(label_format)))
    low = min(value for _, value in points)
    high = max(value for _, value in points)
    summary = (
        f"On hand over {len(points)} changes from {start:%Y-%m-%d} to {end:%Y-%m-%d}: "
        f"lowest {low}, highest {high}, now {points[-1][1]}."
    )
    if threshold:
        summary += f" Low-stock threshold {threshold}."
    return StepChart(
        width,
        height,
        path,
        area,
        x_ticks,
        y_ticks,
        len(points),
        summary,
        y(threshold) if threshold else None,
        threshold,
    )


@dataclass(frozen=True)
class RateBucket:
    """One period of a rate chart: how many of `total` things were `accepted`."""

    start: date
    label: str
    accepted: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.total if self.total else None


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str  # the bar's figures in words, shown on hover and read by screen readers


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    summary: str


def rate_chart(
    buckets: list[RateBucket], *, what: str = "accepted", width: int = 720, height: int = 220
) -> BarChart | None:
    """One bar per period, as tall as its share (0-100%); periods with nothing to count have no bar.

    None when no period has anything to count.
    """
    counted = [bucket for bucket in buckets if bucket.total]
    if not counted:
        return None
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    baseline = MARGIN_TOP + plot_h
    slot = plot_w / len(buckets)
    bar_width = round(max(slot * 0.7, 1.0), 1)
    bars = []
    for i, bucket in enumerate(buckets):
        if not bucket.total:
            continue
        rate = bucket.rate or 0.0
        bar_height = max(round(rate * plot_h, 1), 1.0)  # a 0% period still shows a sliver, unlike an empty one
        bars.append(
            Bar(
                x=round(MARGIN_LEFT + i * slot + (slot - bar_width) / 2, 1),
                y=round(baseline - bar_height, 1),
                width=bar_width,
                height=bar_height,
                title=f"{bucket.label}: {bucket.accepted} of {bucket.total} {what} ({rate:.0%})",
            )
        )
    y_ticks = [Tick(round(baseline - share / 100 * plot_h, 1), f"{share}%") for share in (0, 25, 50, 75, 100)]
    every = max(1, -(-len(buckets) // 6))  # at most about six labels along the bottom
    x_ticks = [
        Tick(round(MARGIN_LEFT + i * slot + slot / 2, 1), bucket.label)
        for i, bucket in enumerate(buckets)
        if i % every == 0
    ]
    accepted = sum(bucket.accepted for bucket in counted)
    total = sum(bucket.total for bucket in counted)
    lowest = min(counted, key=lambda bucket: bucket.rate or 0.0)
    latest = counted[-1]
    summary = (
        f"{accepted} of {total} ({accepted / total:.0%}) {what} from {buckets[0].label} to {buckets[-1].label}; "
        f"lowest {lowest.rate:.0%} ({lowest.label}), latest {latest.rate:.0%} ({latest.label})."
    )
    return BarChart(width, height, baseline, bars, x_ticks, y_ticks, summary)
