"""The one place that converts between stored UTC times and a workspace's timezone, including
"how many per local calendar day" (charts, the dashboard, the reports API)."""
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import case, func, select

from .extensions import db


def utcnow() -> datetime:
    """Naive UTC now: every stored timestamp is naive UTC, on SQLite and PostgreSQL alike."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """All IANA timezone names, sorted, for pickers and validation."""
    return tuple(sorted(n for n in available_timezones() if "/" in n or n == "UTC"))


def is_valid_timezone(name: str) -> bool:
    return name in set(timezone_names())


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def to_local(dt: datetime | None, tz_name: str) -> datetime | None:
    """Stored naive UTC → aware datetime in the workspace timezone."""
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc).astimezone(zone(tz_name))


def from_local(dt: datetime, tz_name: str) -> datetime:
    """A naive wall-clock time entered in the workspace timezone → naive UTC for storage."""
    return dt.replace(tzinfo=zone(tz_name)).astimezone(timezone.utc).replace(tzinfo=None)


def local_today(tz_name: str, now: datetime | None = None) -> date:
    """Today's calendar date in the timezone (`now` is naive UTC, default the current time)."""
    return to_local(now or utcnow(), tz_name).date()


def local_midnight_utc(day: date, tz_name: str) -> datetime:
    """The naive UTC instant at which `day` begins in the timezone (DST-aware)."""
    return from_local(datetime.combine(day, time.min), tz_name)


def last_local_days(tz_name: str, days: int, now: datetime | None = None) -> list[date]:
    """The last `days` calendar days in the timezone, oldest first, ending today."""
    today = local_today(tz_name, now)
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def counts_per_local_day(timestamp, conditions, tz_name: str, days: int,
                         now: datetime | None = None) -> list[tuple[date, int]]:
    """Rows per local calendar day over the last `days` days, oldest first, zeros included.

    `timestamp` is a naive-UTC column and `conditions` the rows' WHERE clauses (e.g. the key or
    workspace). Local midnights are converted to UTC here, so one portable GROUP BY over a CASE
    of UTC ranges buckets correctly across DST changes on SQLite and PostgreSQL alike, and an
    index on (owner, timestamp) bounds the scan."""
    day_list = last_local_days(tz_name, days, now)
    bounds = [local_midnight_utc(d, tz_name) for d in day_list]
    bounds.append(local_midnight_utc(day_list[-1] + timedelta(days=1), tz_name))
    bucket = case(*[(timestamp < bounds[i + 1], i) for i in range(days)])
    rows = db.session.execute(
        select(bucket.label("bucket"), func.count())
        .where(*conditions, timestamp >= bounds[0], timestamp < bounds[-1])
        .group_by(bucket))
    counts = {index: count for index, count in rows if index is not None}
    return [(day, counts.get(i, 0)) for i, day in enumerate(day_list)]


def format_datetime(dt: datetime | None, tz_name: str, *, date_only: bool = False,
                    seconds: bool = False, zone: bool = True) -> str:
    """The one way the UI writes a moment: "Dec 5, 2026, 19:08 CET" in the workspace timezone
    ("Dec 5, 2026" with `date_only`; seconds only where they matter, e.g. request logs; no
    zone where the surrounding table names it once)."""
    local = to_local(dt, tz_name)
    if local is None:
        return ""
    day = f"{local:%b} {local.day}, {local.year}"
    if date_only:
        return day
    text = f"{day}, {local:%H:%M:%S}" if seconds else f"{day}, {local:%H:%M}"
    return f"{text} {local:%Z}" if zone else text


def iso_utc(dt: datetime | None) -> str | None:
    """ISO 8601 with a Z, as the API returns timestamps: to the microsecond the database holds
    (whole seconds print without a fraction), so a client polling with `updated_after` set to
    the latest `updated_at` it saw is never handed the same change again."""
    if dt is None:
        return None
    return dt.replace(tzinfo=None).isoformat() + "Z"


_UNITS = (("year", 31536000), ("month", 2592000), ("day", 86400), ("hour", 3600),
          ("minute", 60))


def relative(dt: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago', 'in 7 days', or 'Never'. Rounded to the nearest unit (6 days 23 hours
    ahead is "in 7 days", as the invitation that says "expires in 7 days" promised)."""
    if dt is None:
        return "Never"
    now = now or utcnow()
    seconds = (now - dt).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "in a moment" if future else "just now"
    # The largest unit that fits, rounded half up; a round-up to the next unit moves to it.
    index = next(i for i, (_, size) in enumerate(_UNITS) if seconds >= size)
    unit, size = _UNITS[index]
    n = int(seconds / size + 0.5)
    if index > 0 and n * size >= _UNITS[index - 1][1]:
        unit, size = _UNITS[index - 1]
        n = int(seconds / size + 0.5)
    text = f"{n} {unit}{'s' if n != 1 else ''}"
    return f"in {text}" if future else f"{text} ago"
