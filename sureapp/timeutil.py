"""The one place that converts between stored UTC times and a workspace's timezone."""
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones


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


def format_local(dt: datetime | None, tz_name: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    local = to_local(dt, tz_name)
    return local.strftime(fmt) if local else ""


def iso_utc(dt: datetime | None) -> str | None:
    """ISO 8601 with a Z, as the API returns timestamps."""
    if dt is None:
        return None
    return dt.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def relative(dt: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago', 'in 2 days', or 'Never'."""
    if dt is None:
        return "Never"
    now = now or utcnow()
    seconds = int((now - dt).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("year", 31536000), ("month", 2592000), ("day", 86400),
                       ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "in a moment" if future else "just now"
