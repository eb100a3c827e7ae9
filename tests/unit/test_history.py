"""The usage history: bounded tiers, segments at resets, reset estimates and the byte format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.history import (
    DAILY_MAX,
    FORMAT_VERSION,
    HOURLY_MAX,
    MAX_POINTS,
    RAW_MAX,
    History,
    HistoryFormatError,
    add_periods,
    next_reset,
    to_minute,
)

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)


def fill(history: History, start: datetime, values: list[float], limit: float | None = 1000.0) -> History:
    for index, used in enumerate(values):
        history, _ = history.add(start + EVERY * index, used, limit, None)
    return history


def test_tiers_are_bounded_and_decimated_by_age() -> None:
    history = fill(History(), T0, [float(index % 100) + 100 for index in range(20 * 288)])  # 20 days
    assert len(history.raw) <= RAW_MAX
    assert len(history.hourly) == HOURLY_MAX
    assert len(history.daily) == DAILY_MAX
    assert len(history.points()) <= MAX_POINTS
    minutes = [minute for minute, _ in history.points()]
    assert minutes == sorted(minutes)
    assert all(b - a == 60 for (a, _), (b, _) in zip(history.hourly, history.hourly[1:], strict=False))
    assert all(b - a == 1440 for (a, _), (b, _) in zip(history.daily, history.daily[1:], strict=False))
    assert history.raw[-1][0] - history.raw[0][0] <= 60


def test_size_stays_fixed_for_a_metric_that_never_resets() -> None:
    history, sizes = History(), []
    for day in range(30):
        history = fill(history, T0 + timedelta(days=day), [100 + day * 20 + index / 10 for index in range(288)])
        sizes.append(len(history.encode()))
    assert history.last_reset is None and history.segment_samples == 30 * 288
    assert max(sizes[15:]) - min(sizes[15:]) <= 4  # the count is fixed; only varint widths move
    assert max(sizes) < 150


def test_segment_restarts_when_used_falls_below_half() -> None:
    history = fill(History(), T0, [400, 420, 440])
    history, reset = history.add(T0 + EVERY * 3, 219, 1000, None)
    assert reset
    assert history.segment_start == to_minute(T0 + EVERY * 3)
    assert history.last_reset == to_minute(T0 + EVERY * 3)
    assert history.segment_samples == 1
    assert history.segment_points() == ((to_minute(T0 + EVERY * 3), 219),)
    history, reset = history.add(T0 + EVERY * 4, 110, 1000, None)  # half of 219 is 109.5: no reset
    assert not reset and history.segment_samples == 2


def test_segment_restarts_when_resets_at_moves_forward() -> None:
    first, second = T0 + timedelta(days=3), T0 + timedelta(days=33)
    history, reset = History().add(T0, 400, 1000, first)
    assert not reset  # the first resets_at seen is no reset
    history, reset = history.add(T0 + EVERY, 410, 1000, first - timedelta(hours=1))  # backwards: no reset
    assert not reset
    history, reset = history.add(T0 + 2 * EVERY, 415, 1000, second)
    assert reset
    assert history.last_reset == to_minute(first - timedelta(hours=1))  # the end of the period just gone


@pytest.mark.parametrize(
    ("moment", "period", "expected"),
    [
        (datetime(2026, 1, 31, 12, tzinfo=UTC), "monthly", datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2026, 12, 15, tzinfo=UTC), "monthly", datetime(2027, 1, 15, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), "yearly", datetime(2029, 2, 28, tzinfo=UTC)),
        (datetime(2026, 3, 1, 7, tzinfo=UTC), "daily", datetime(2026, 3, 2, 7, tzinfo=UTC)),
        (datetime(2026, 3, 1, tzinfo=UTC), "weekly", datetime(2026, 3, 8, tzinfo=UTC)),
        (datetime(2026, 3, 1, tzinfo=UTC), "all_time", None),
    ],
)
def test_add_periods(moment: datetime, period: str, expected: datetime | None) -> None:
    assert add_periods(moment, period, 1) == expected


def test_next_reset_dated_estimated_or_unknown() -> None:
    seen = History(last_reset=to_minute(T0 - timedelta(days=2, hours=1)))
    dated = T0 + timedelta(days=1)
    assert next_reset(seen, "daily", dated, T0) == (dated, False)
    # Periods that passed unseen are skipped: the expected reset is always ahead.
    assert next_reset(seen, "daily", None, T0) == (T0 + timedelta(hours=23), True)
    assert next_reset(seen, "DAILY", None, T0) == (T0 + timedelta(hours=23), True)
    assert next_reset(History(), "daily", None, T0) == (None, False)  # no reset seen yet
    assert next_reset(seen, None, None, T0) == (None, False)
    assert next_reset(seen, "all_time", None, T0) == (None, False)
    assert next_reset(History(), "daily", T0 - timedelta(hours=1), T0) == (None, False)  # a stale date


def test_encoding_round_trips_and_is_versioned() -> None:
    history = fill(History(), T0, [float(100 + (index * 37) % 91) for index in range(3000)])
    history, _ = history.add(T0 + EVERY * 3000, 10, 1000, T0 + timedelta(days=40))
    data = history.encode()
    assert data[0] == FORMAT_VERSION
    assert History.decode(data) == history
    assert History.decode(History().encode()) == History()
    with pytest.raises(HistoryFormatError, match="version 9"):
        History.decode(bytes([9]) + data[1:])
    with pytest.raises(HistoryFormatError, match="truncated"):
        History.decode(data[:-3])
    with pytest.raises(HistoryFormatError, match="trailing"):
        History.decode(data + b"\x00")
    with pytest.raises(HistoryFormatError, match="empty"):
        History.decode(b"")


def test_values_are_quantised_to_the_limit_and_requantised_when_it_changes() -> None:
    history = fill(History(), T0, [123_456_789.0, 123_556_789.0], limit=1e9)
    assert history.exponent == 9 - 3
    assert [value for _, value in history.samples()] == [123_000_000.0, 124_000_000.0]
    history, _ = history.add(T0 + 2 * EVERY, 1234.5, 10_000.0, None)  # the limit fell: finer units
    assert history.exponent == 1
    assert history.samples()[-1][1] == pytest.approx(1230)
    assert history.samples()[0][1] == pytest.approx(123_000_000)


def test_samples_within_one_minute_replace_each_other_and_time_only_moves_forward() -> None:
    history = fill(History(), T0, [100, 110])
    history, _ = history.add(T0 + EVERY + timedelta(seconds=20), 115, 1000, None)
    assert history.raw[-1] == (to_minute(T0 + EVERY), 115) and history.segment_samples == 2
    with pytest.raises(ValueError, match="time order"):
        history.add(T0, 100, 1000, None)


def test_segment_samples_are_the_points_since_the_last_reset() -> None:
    history = fill(History(), T0, [400, 420, 100, 110, 120])
    assert [used for _, used in history.segment_samples_at()] == [100, 110, 120]
    assert history.segment_samples_at()[0][0] == T0 + 2 * EVERY
    assert len(history.samples()) == 5


def test_a_replaced_only_raw_sample_keeps_older_points_in_their_units() -> None:
    history = History(exponent=0, hourly=((to_minute(T0), 500),), segment_start=to_minute(T0), segment_samples=1)
    history, _ = history.add(T0 + timedelta(hours=2), 5_000_000, 1e9, None)
    assert history.exponent == 6
    assert history.samples()[0][1] == 0  # 500 in units of 1 is 0 in units of a million


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        History().add(datetime(2026, 11, 2, 8, 0), 1, 10, None)
