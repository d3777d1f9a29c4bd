"""timeutil: the one date format and relative times that agree with what was promised."""
from datetime import datetime, timedelta

import pytest

from sureapp.timeutil import format_datetime, relative

NOW = datetime(2026, 12, 2, 0, 30)


def test_one_format_in_the_workspace_timezone():
    moment = datetime(2026, 12, 5, 18, 8, 42)  # naive UTC
    assert format_datetime(moment, "Europe/Berlin") == "Dec 5, 2026, 19:08 CET"
    assert format_datetime(moment, "Europe/Berlin", seconds=True) == "Dec 5, 2026, 19:08:42 CET"
    assert format_datetime(moment, "Europe/Berlin", date_only=True) == "Dec 5, 2026"
    assert format_datetime(moment, "Europe/Berlin", zone=False) == "Dec 5, 2026, 19:08"
    assert format_datetime(datetime(2026, 7, 1, 23, 30), "Europe/Berlin") == "Jul 2, 2026, 01:30 CEST"
    assert format_datetime(None, "UTC") == ""


@pytest.mark.parametrize("offset, text", [
    (timedelta(days=7), "in 7 days"),
    (timedelta(days=6, hours=23, minutes=59), "in 7 days"),  # an invitation a minute old
    (timedelta(days=6, hours=11), "in 6 days"),
    (timedelta(minutes=-59, seconds=-10), "59 minutes ago"),
    (timedelta(minutes=-59, seconds=-40), "1 hour ago"),  # rounds into the next unit
    (timedelta(days=-3, hours=-1), "3 days ago"),
    (timedelta(seconds=-30), "just now"),
    (timedelta(seconds=30), "in a moment"),
    (timedelta(days=29, hours=16), "in 1 month"),
    (timedelta(days=-400), "1 year ago"),
])
def test_relative_rounds_to_the_nearest_unit(offset, text):
    assert relative(NOW + offset, NOW) == text


def test_never():
    assert relative(None, NOW) == "Never"
