"""When a run checks, how long it has, and in which order it takes the accounts; pure, no clock read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from aws_lambda_powertools.utilities.typing import LambdaContext

# Without a Lambda context (a local call), a run plans as if it had this long.
DEFAULT_REMAINING_SECONDS = 60.0

Item = TypeVar("Item")


def check_time(moment: datetime) -> datetime:
    """The time of a check: UTC to the millisecond, as alert ids and ``checked_at`` carry it."""
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def remaining_seconds(context: LambdaContext | None) -> float:
    if context is None:
        return DEFAULT_REMAINING_SECONDS
    return context.get_remaining_time_in_millis() / 1000


def rotated(items: Sequence[Item], now: datetime) -> list[Item]:
    """The accounts in this run's order: a rotation by an offset derived from the check time, at no read.

    When a run cannot check every account, the last in its order miss out. From one minute to the next the
    offset moves by half the list, so on a schedule of an odd number of minutes (every 1, 5, 15 minutes) the
    accounts that one run missed come first in the next, within the hour. Each hour it also moves by a
    golden-ratio share of the list, so that on any other schedule no account is last for long.
    """
    count = len(items)
    if count < 2:
        return list(items)
    minute = int(now.timestamp() // 60)
    offset = (minute * ((count + 1) // 2) + (minute // 60) * round(count * 0.618)) % count
    return [*items[offset:], *items[:offset]]
