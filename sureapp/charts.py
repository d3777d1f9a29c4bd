"""The one SVG chart builder: bar geometry for counts per day, rendered by the templates as
inline SVG on the server (no JavaScript, no chart library, readable by screen readers)."""
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float
    label_x: float  # the bar's centre, for a label under it


@dataclass(frozen=True)
class BarChart:
    """Bars scaled to the tallest day inside a width × height viewBox; the plot sits between
    `top` and `baseline`, right of `left` (room for the value labels)."""

    bars: list[Bar]
    width: int
    height: int
    top: int
    baseline: int
    left: int

    @property
    def days(self) -> list[date]:
        return [bar.day for bar in self.bars]

    @property
    def counts(self) -> list[int]:
        return [bar.count for bar in self.bars]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def peak(self) -> int:
        return max(self.counts, default=0)


def bar_chart(per_day: list[tuple[date, int]], *, width: int, height: int, top: int = 0,
              bottom: int = 20, left: int = 0, fill: float = 0.9) -> BarChart:
    """One bar per (day, count); `fill` is the share of each day's slot the bar covers."""
    baseline = height - bottom
    plot_height = baseline - top
    peak = max((count for _, count in per_day), default=0)
    slot = (width - left) / max(len(per_day), 1)
    bars = []
    for i, (day, count) in enumerate(per_day):
        bar_height = round(plot_height * count / peak, 1) if peak else 0
        bars.append(Bar(day=day, count=count,
                        x=round(left + i * slot + slot * (1 - fill) / 2, 1),
                        y=round(baseline - bar_height, 1), width=round(slot * fill, 1),
                        height=bar_height, label_x=round(left + i * slot + slot / 2, 1)))
    return BarChart(bars=bars, width=width, height=height, top=top, baseline=baseline, left=left)
