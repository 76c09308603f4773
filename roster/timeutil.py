"""Time helpers: UTC-aware storage and Europe/London wall-clock conversions."""

from __future__ import annotations

import re

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc


def utcnow() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def ensure_aware(value: datetime) -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes rather than guess their zone."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; give an offset or 'Z'")
    return value.astimezone(UTC)


def parse_when(text: str, zone: ZoneInfo = LONDON) -> datetime:
    """Parse an ISO time; a time without offset is read as local wall-clock in ``zone``."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO time (e.g. 2027-03-01T09:30 or 2027-03-01T09:30+00:00)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def local_datetime(day: date, wall_clock: time, zone: ZoneInfo = LONDON) -> datetime:
    """The UTC instant of a wall-clock time on a local day (fold=0 on the autumn repeat)."""
    return datetime.combine(day, wall_clock, tzinfo=zone).astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A DateTime column that accepts only aware datetimes and always returns UTC-aware ones.

    SQLite keeps no offset, so values are stored as naive UTC and made aware on load.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = ensure_aware(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def parse_until(text: str, now: datetime, zone: ZoneInfo = LONDON) -> datetime:
    """When a status ends, as people type it: ``15:00`` (today), ``today``, ``tomorrow``,
    ``2027-03-01`` (end of that day) or ``2027-03-01 15:00``. Must be after ``now``."""
    cleaned = " ".join(re.sub(r"(\d)t(\d)", r"\1 \2", (text or "").strip().lower()).split())
    local_now = now.astimezone(zone)
    today = local_now.date()
    if cleaned in ("", "today", "end of day", "eod"):
        result = local_datetime(today + timedelta(days=1), time(0, 0), zone)
    elif cleaned == "tomorrow":
        result = local_datetime(today + timedelta(days=2), time(0, 0), zone)
    else:
        result = _parse_until_value(cleaned, text, today, zone)
    if result <= now:
        raise ValueError(f"'{text.strip()}' has already passed; give a later time or a date (e.g. 2027-03-01 15:00)")
    return result


def _parse_until_value(cleaned: str, original: str, today: date, zone: ZoneInfo) -> datetime:
    try:
        return local_datetime(today, time.fromisoformat(cleaned), zone)
    except ValueError:
        pass
    try:
        return local_datetime(date.fromisoformat(cleaned) + timedelta(days=1), time(0, 0), zone)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"'{original.strip()}' is not a time: use 15:00, today, tomorrow, 2027-03-01 or 2027-03-01 15:00"
        ) from None
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
