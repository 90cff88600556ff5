"""Small charts drawn on the server as SVG: no script, nothing for the CSP to allow.

`step_chart` turns (time, value) points into the numbers a template needs to
draw a step line (stock stays level until the next change) with a few axis
labels. The template owns the look; this module only does the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


def step_chart(points: list[tuple[datetime, int]], width: int = 720, height: int = 220) -> StepChart | None:
    """A step line of `points` (oldest first); None when there is nothing to draw."""
    if not points:
        return None
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    start, end = points[0][0], points[-1][0]
    span = max((end - start).total_seconds(), 1.0)
    top = _nice_max(max(value for _, value in points))

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
    return StepChart(width, height, path, area, x_ticks, y_ticks, len(points), summary)
