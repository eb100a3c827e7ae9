"""A metric's usage history: bounded, decimated as it ages, segmented at resets, and packed into a few bytes.

Pure data: no clock, no I/O. The forecast core (``shared.forecast``) appends one sample per successful
check; the state store keeps ``encode()`` as a DynamoDB Binary attribute.

- **Tiers.** Recent samples are kept raw (younger than ``RAW_MINUTES``, at most ``RAW_MAX``); older ones keep
  the first sample of each clock hour (at most ``HOURLY_MAX``), then of each UTC day (at most ``DAILY_MAX``).
  So a history never holds more than ``RAW_MAX + HOURLY_MAX + DAILY_MAX`` points, whatever its age and
  whether or not the metric ever resets.
- **Segments.** A segment restarts when ``resets_at`` moves forward or ``used`` falls below half of the
  previous sample. Points before the segment stay (for the CLI's history) but no rate is estimated across it.
- **Resets.** The last observed reset is kept, so that a provider that names a period but gives no
  ``resets_at`` still yields an estimated next reset (see ``next_reset``).
- **Encoding.** Times are whole minutes, values are integers in units of ``10 ** exponent`` (about
  ``VALUE_DIGITS`` significant digits of the limit), and both are delta-encoded as zig-zag varints.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

FORMAT_VERSION = 1
RAW_MINUTES = 60  # the raw tier covers the last hour; older samples are kept hourly
RAW_MAX = 13
HOURLY_MAX = 30
DAILY_MAX = 8  # with the hourly tier: the last 9 to 10 days, enough for a sparkline of a segment
VALUE_DIGITS = 3  # quantum = 10 ** (floor(log10(limit)) - VALUE_DIGITS): 0.1 % of the limit or finer
MAX_POINTS = RAW_MAX + HOURLY_MAX + DAILY_MAX

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIXED_PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
_MONTHS = {"monthly": 1, "yearly": 12}

Point = tuple[int, int]  # (minute since the epoch, used in units of 10 ** exponent)


class HistoryFormatError(ValueError):
    """Stored history bytes that this version cannot read."""


def to_minute(moment: datetime) -> int:
    """Whole minutes since the epoch; ``moment`` must be timezone-aware."""
    if moment.tzinfo is None:
        raise ValueError("history times must be timezone-aware (UTC)")
    return int(moment.timestamp()) // 60


def from_minute(minute: int) -> datetime:
    return _EPOCH + timedelta(minutes=minute)


def _ideal_exponent(used: float, limit: float | None) -> int | None:
    scale = limit if limit else abs(used)
    if not scale:
        return None
    return math.floor(math.log10(scale)) - VALUE_DIGITS


@dataclass(frozen=True)
class History:
    exponent: int = 0
    raw: tuple[Point, ...] = ()
    hourly: tuple[Point, ...] = ()
    daily: tuple[Point, ...] = ()
    segment_start: int | None = None  # minute of the first sample of the current segment
    segment_samples: int = 0  # samples added since the segment started (not only those still kept)
    last_reset: int | None = None  # minute of the last observed reset
    dated_reset: int | None = None  # the last ``resets_at`` the provider gave, in minutes

    # --- reading ---------------------------------------------------------------------------------

    @property
    def quantum(self) -> float:
        return float(10.0**self.exponent)

    def points(self) -> tuple[Point, ...]:
        """Every kept point, oldest first."""
        return self.daily + self.hourly + self.raw

    @property
    def last(self) -> Point | None:
        return self.raw[-1] if self.raw else None

    def samples(self) -> list[tuple[datetime, float]]:
        """Every kept point as (time, used), oldest first."""
        quantum = self.quantum
        return [(from_minute(minute), value * quantum) for minute, value in self.points()]

    def segment_samples_at(self) -> list[tuple[datetime, float]]:
        """The kept points of the current segment as (time, used), oldest first: for a sparkline."""
        quantum = self.quantum
        return [(from_minute(minute), value * quantum) for minute, value in self.segment_points()]

    def segment_points(self) -> tuple[Point, ...]:
        """The kept points of the current segment, oldest first."""
        start = self.segment_start
        if start is None:
            return ()
        return tuple(point for point in self.points() if point[0] >= start)

    def segment_hourly(self) -> tuple[Point, ...]:
        """The first point of each clock hour of the segment, hours before the current one only.

        It changes once an hour, so an estimate over it can be computed once an hour.
        """
        start = self.segment_start
        if start is None or not self.raw:
            return ()
        current_hour = self.raw[-1][0] // 60
        hourly = (
            list(self.hourly)
            if not self.hourly or self.hourly[0][0] >= start
            else [point for point in self.hourly if point[0] >= start]
        )
        last_hour = hourly[-1][0] // 60 if hourly else -1
        for point in self.raw:
            hour = point[0] // 60
            if point[0] >= start and last_hour < hour < current_hour:
                hourly.append(point)
                last_hour = hour
        return tuple(hourly)

    # --- adding a sample -------------------------------------------------------------------------

    def add(self, now: datetime, used: float, limit: float | None, resets_at: datetime | None) -> tuple[History, bool]:
        """The history with one more sample, and whether that sample starts a new segment (a reset)."""
        minute = to_minute(now)
        if self.raw and minute <= self.raw[-1][0]:
            if minute < self.raw[-1][0]:
                raise ValueError("history samples must be added in time order")
            # Two checks within one minute: the later one replaces the earlier.
            history = replace(self, raw=self.raw[:-1], segment_samples=max(0, self.segment_samples - 1))
            return history.add(now, used, limit, resets_at)
        history = self._requantized(used, limit)
        value = round(used / history.quantum)
        dated = to_minute(resets_at) if resets_at is not None else None

        reset_at: int | None = None
        if dated is not None and history.dated_reset is not None and dated > history.dated_reset:
            reset_at = history.dated_reset  # the provider told us when the period ended
        elif history.raw and history.raw[-1][1] > 0 and value < history.raw[-1][1] / 2:
            reset_at = minute  # somewhere since the last check; this check is the closest we know
        starts_segment = reset_at is not None or history.segment_start is None
        raw, hourly, daily = [*history.raw, (minute, value)], list(history.hourly), list(history.daily)
        _decimate(raw, hourly, daily, minute, minute if starts_segment else history.segment_start)
        added = History(
            exponent=history.exponent,
            raw=tuple(raw),
            hourly=tuple(hourly),
            daily=tuple(daily),
            segment_start=minute if starts_segment else history.segment_start,
            segment_samples=1 if starts_segment else history.segment_samples + 1,
            last_reset=reset_at if reset_at is not None else history.last_reset,
            dated_reset=dated if dated is not None else history.dated_reset,
        )
        return added, reset_at is not None

    def _requantized(self, used: float, limit: float | None) -> History:
        ideal = _ideal_exponent(used, limit)
        if not (self.raw or self.hourly or self.daily):
            return replace(self, exponent=ideal if ideal is not None else self.exponent)
        if ideal is None or ideal - 1 <= self.exponent <= ideal:  # up to one digit finer is fine
            return self
        factor = 10.0 ** (self.exponent - ideal)

        def scaled(points: tuple[Point, ...]) -> tuple[Point, ...]:
            return tuple((minute, round(value * factor)) for minute, value in points)

        return replace(self, exponent=ideal, raw=scaled(self.raw), hourly=scaled(self.hourly), daily=scaled(self.daily))

    # --- bytes -----------------------------------------------------------------------------------

    def encode(self) -> bytes:
        out = bytearray([FORMAT_VERSION])
        points = self.points()
        flags = (
            (self.segment_start is not None) | (self.last_reset is not None) << 1 | (self.dated_reset is not None) << 2
        )
        out.append(flags)
        for number in (len(self.daily), len(self.hourly), len(self.raw)):
            _put_varint(out, number)
        _put_varint(out, _zigzag(self.exponent))
        previous_minute, previous_value = 0, 0
        # A coarse tier's points are a bucket apart: store how far off that they are (one byte, not two).
        spacings = [1440] * len(self.daily) + [60] * len(self.hourly) + [0] * len(self.raw)
        for (minute, value), spacing in zip(points, spacings, strict=True):
            _put_varint(out, _zigzag(minute - previous_minute - spacing) if spacing else minute - previous_minute)
            _put_varint(out, _zigzag(value - previous_value))
            previous_minute, previous_value = minute, value
        # Reset times are stored relative to the last point: a few bytes instead of four.
        _put_varint(out, self.segment_samples)
        for moment in (self.segment_start, self.last_reset, self.dated_reset):
            if moment is not None:
                _put_varint(out, _zigzag(previous_minute - moment))
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> History:
        if not data:
            raise HistoryFormatError("empty history bytes")
        if data[0] != FORMAT_VERSION:
            raise HistoryFormatError(f"unknown history format version {data[0]} (expected {FORMAT_VERSION})")
        reader = _Reader(data, 1)
        try:
            flags = reader.byte()
            counts = [reader.varint() for _ in range(3)]
            exponent = _unzigzag(reader.varint())
            points: list[Point] = []
            minute, value = 0, 0
            spacings = [1440] * counts[0] + [60] * counts[1] + [0] * counts[2]
            for spacing in spacings:
                minute += spacing + _unzigzag(reader.varint()) if spacing else reader.varint()
                value += _unzigzag(reader.varint())
                points.append((minute, value))
            segment_samples = reader.varint()
            moments = [minute - _unzigzag(reader.varint()) if flags >> bit & 1 else None for bit in range(3)]
        except IndexError:
            raise HistoryFormatError("truncated history bytes") from None
        if reader.position != len(data):
            raise HistoryFormatError("trailing bytes after the history")
        daily_end, hourly_end = counts[0], counts[0] + counts[1]
        return cls(
            exponent=exponent,
            daily=tuple(points[:daily_end]),
            hourly=tuple(points[daily_end:hourly_end]),
            raw=tuple(points[hourly_end:]),
            segment_start=moments[0],
            segment_samples=segment_samples,
            last_reset=moments[1],
            dated_reset=moments[2],
        )


def _decimate(
    raw: list[Point], hourly: list[Point], daily: list[Point], now_minute: int, segment_start: int | None
) -> None:
    """Age points out of the raw tier into the hourly one, and out of that into the daily one."""
    while len(raw) > RAW_MAX or (len(raw) > 1 and now_minute - raw[0][0] > RAW_MINUTES):
        _promote(raw.pop(0), hourly, 60, segment_start)
    while len(hourly) > HOURLY_MAX:
        _promote(hourly.pop(0), daily, 1440, segment_start)
    del daily[: max(0, len(daily) - DAILY_MAX)]


def _promote(point: Point, tier: list[Point], bucket_minutes: int, segment_start: int | None) -> None:
    """Keep the first point of each bucket (clock hour or UTC day) of each segment in the coarser tier."""
    if tier and tier[-1][0] // bucket_minutes == point[0] // bucket_minutes:
        starts_segment = segment_start is not None and tier[-1][0] < segment_start <= point[0]
        if not starts_segment:
            return
    tier.append(point)


def add_periods(moment: datetime, period: str, count: int) -> datetime | None:
    """``moment`` plus ``count`` periods; calendar months for monthly and yearly. None for other periods."""
    fixed = _FIXED_PERIODS.get(period)
    if fixed is not None:
        return moment + fixed * count
    months = _MONTHS.get(period)
    if months is None:
        return None
    index = moment.month - 1 + months * count
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def next_reset(
    history: History, period: str | None, resets_at: datetime | None, now: datetime
) -> tuple[datetime | None, bool]:
    """When the quota next resets, and whether that time is estimated.

    The provider's ``resets_at`` (in the future) wins. Otherwise, once a reset has been seen, the next one is
    expected one period after it (skipping periods that passed unseen). Before any reset: unknown (None).
    """
    if resets_at is not None and resets_at > now:
        return resets_at, False
    if history.last_reset is None or period is None:
        return None, False
    last = from_minute(history.last_reset)
    for count in range(1, 10_000):
        expected = add_periods(last, period.lower(), count)
        if expected is None:
            return None, False
        if expected > now:
            return expected, True
    return None, False


def _zigzag(number: int) -> int:
    return number * 2 if number >= 0 else -number * 2 - 1


def _unzigzag(number: int) -> int:
    return number >> 1 if not number & 1 else -((number + 1) >> 1)


def _put_varint(out: bytearray, number: int) -> None:
    if number < 0:
        raise ValueError("varints are unsigned; zig-zag signed numbers first")
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)


class _Reader:
    def __init__(self, data: bytes, position: int) -> None:
        self.data = data
        self.position = position

    def byte(self) -> int:
        value = self.data[self.position]
        self.position += 1
        return value

    def varint(self) -> int:
        number, shift = 0, 0
        while True:
            byte = self.byte()
            number |= (byte & 0x7F) << shift
            if byte < 0x80:
                return number
            shift += 7
            if shift > 70:
                raise HistoryFormatError("varint too long in history bytes")
