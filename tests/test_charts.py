"""sureapp/charts.py: bar geometry for counts per day."""
from datetime import date, timedelta

from sureapp.charts import bar_chart

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(4)]


def test_bars_scale_to_the_busiest_day_and_stand_on_the_baseline():
    chart = bar_chart(list(zip(DAYS, [0, 5, 10, 1])), width=440, height=160, top=16, bottom=24,
                      left=40, fill=0.5)
    assert (chart.total, chart.peak, chart.baseline) == (16, 10, 136)
    assert [b.height for b in chart.bars] == [0, 60.0, 120.0, 12.0]
    assert all(b.y + b.height == chart.baseline for b in chart.bars)
    # Four 100-px slots right of the 40-px value axis; each bar covers the middle half of its slot.
    assert [(b.x, b.width, b.label_x) for b in chart.bars] == [
        (65.0, 50.0, 90.0), (165.0, 50.0, 190.0), (265.0, 50.0, 290.0), (365.0, 50.0, 390.0)]


def test_a_period_without_any_count_draws_no_bar():
    chart = bar_chart([(day, 0) for day in DAYS], width=400, height=100)
    assert chart.peak == 0 and chart.days == DAYS
    assert {b.height for b in chart.bars} == {0}
