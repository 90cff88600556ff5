"""Small charts drawn on the server as SVG: no script, nothing for the CSP to allow.

`step_chart` turns (time, value) points into the numbers a template needs to
draw a step line (stock stays level until the next change) with a few axis
labels; `rate_chart` turns counts per period into bars of a share (0-100%),
such as the share of reviews that kept the model's suggestion; `reliability_chart`
draws a model's observed accuracy per confidence bin, and `line_chart` joins
points such as each model version's accuracy against the reviews it learnt
from. The template owns the look; this module only does the arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Protocol


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


# ---------------------------------------------------------------- calibration and learning curves (models pages)


class BinLike(Protocol):
    """A confidence bin: documents whose top probability fell in [lower, upper), and the share that were right."""

    lower: float
    upper: float
    count: int
    accuracy: float | None
    confidence: float | None


@dataclass(frozen=True)
class ReliabilityBar:
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    count: int
    title: str


@dataclass(frozen=True)
class ReliabilityChart:
    width: int
    height: int
    baseline: float
    left: float
    right: float
    top: float
    bars: list[ReliabilityBar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    summary: str


def reliability_chart(bins: Sequence[BinLike], *, width: int = 360, height: int = 240) -> ReliabilityChart | None:
    """Observed accuracy per confidence bin as bars, with the number of documents above each; the template draws
    the diagonal (a perfectly calibrated model's bars reach it) from `left,baseline` to `right,top`.

    None when no bin holds a document.
    """
    counted = [item for item in bins if item.count]
    if not counted:
        return None
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT - 10  # room for the last tick's label, "100%"
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM - 12  # room above the tallest bar for its count
    top = MARGIN_TOP + 12
    baseline = top + plot_h

    def x(share: float) -> float:
        return round(MARGIN_LEFT + share * plot_w, 1)

    bars = []
    for item in counted:
        accuracy = item.accuracy or 0.0
        bar_height = max(round(accuracy * plot_h, 1), 1.0)
        left, right = x(item.lower) + 1, x(item.upper) - 1
        bars.append(
            ReliabilityBar(
                x=left,
                y=round(baseline - bar_height, 1),
                width=round(right - left, 1),
                height=bar_height,
                label_x=round((left + right) / 2, 1),
                label_y=round(baseline - bar_height - 3, 1),
                count=item.count,
                title=(
                    f"{item.lower:.0%}-{item.upper:.0%} sure: {item.count} documents, "
                    f"{accuracy:.0%} right (mean confidence {item.confidence or 0:.0%})"
                ),
            )
        )
    ticks = (0, 0.25, 0.5, 0.75, 1)
    y_ticks = [Tick(round(baseline - share * plot_h, 1), f"{share:.0%}") for share in ticks]
    x_ticks = [Tick(x(share), f"{share:.0%}") for share in (0, 0.2, 0.4, 0.6, 0.8, 1)]
    total = sum(item.count for item in counted)
    summary = f"{total} documents in {len(counted)} confidence bins: " + "; ".join(
        f"{item.lower:.0%}-{item.upper:.0%} sure, {item.count} documents, {item.accuracy or 0:.0%} right"
        for item in counted
    )
    return ReliabilityChart(width, height, baseline, MARGIN_LEFT, x(1.0), top, bars, x_ticks, y_ticks, summary)


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str  # drawn beside the dot
    title: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    baseline: float
    path: str
    dots: list[Dot]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    summary: str


def line_chart(
    points: Sequence[tuple[float, float, str, str]], *, width: int = 480, height: int = 240
) -> LineChart | None:
    """Points (x, share 0-1, label, title) joined in the order given, on an x axis from 0 to a round maximum.

    None when there are no points.
    """
    if not points:
        return None
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT - 20  # room for the last dot's label
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    baseline = MARGIN_TOP + plot_h
    top = _nice_max(int(max(value for value, _, _, _ in points)))

    def x(value: float) -> float:
        return round(MARGIN_LEFT + value / top * plot_w, 1)

    def y(share: float) -> float:
        return round(baseline - share * plot_h, 1)

    dots = [Dot(x(value), y(share), label, title) for value, share, label, title in points]
    path = " ".join(f"{'M' if i == 0 else 'L'}{dot.x},{dot.y}" for i, dot in enumerate(dots))
    y_ticks = [Tick(y(share), f"{share:.0%}") for share in (0, 0.25, 0.5, 0.75, 1)]
    x_ticks = [Tick(x(top * i / 4), f"{top * i / 4:,.0f}") for i in range(5)]
    summary = "; ".join(title for _, _, _, title in points) + "."
    return LineChart(width, height, baseline, path, dots, x_ticks, y_ticks, summary)
