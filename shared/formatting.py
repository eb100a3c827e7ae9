"""Numbers and units as people read them. Written once; the words around them are in ``shared.wording``."""

from __future__ import annotations

import math

_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _trim(number: float, decimals: int) -> str:
    text = f"{number:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _significant(number: float) -> str:
    """About three significant digits, without trailing zeros: 1.96, 19.5, 195."""
    magnitude = abs(number)
    decimals = 2 if magnitude < 10 else 1 if magnitude < 100 else 0
    return _trim(number, decimals)


def format_bytes(value: float) -> str:
    magnitude = abs(value)
    index = 0
    while magnitude >= 1024 and index < len(_BINARY_UNITS) - 1:
        magnitude /= 1024
        index += 1
    scaled = math.copysign(magnitude, value)
    return f"{_significant(scaled) if index else _trim(scaled, 0)} {_BINARY_UNITS[index]}"


def format_count(value: float) -> str:
    return _trim(value, 0) if float(value).is_integer() else _trim(value, 2)


def format_usd_cents(cents: float) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def format_amount(value: float | None, unit: str | None) -> str:
    """One quantity in its unit: ``2 GiB``, ``1,234``, ``$12.34``, ``1,500 units``."""
    if value is None:
        return "unlimited"
    if unit == "bytes":
        return format_bytes(value)
    if unit == "usd_cents":
        return format_usd_cents(value)
    if unit in (None, "count"):
        return format_count(value)
    return f"{format_count(value)} {unit}"


def format_percent(percent: float | None) -> str:
    """Whole percent, but never rounded up to 100% while some quota is left."""
    if percent is None:
        return "n/a"
    whole = f"{percent:.0f}"
    if percent < 100 and round(percent) >= 100:
        return f"{math.floor(percent * 10) / 10:.1f}%"
    return f"{whole}%"


def format_usage(used: float | None, limit: float | None, unit: str | None) -> str:
    """``1.96 GiB of 2 GiB``; for unlimited metrics ``1.96 GiB (unlimited)``."""
    if limit is None:
        return f"{format_amount(used, unit)} (unlimited)"
    return f"{format_amount(used, unit)} of {format_amount(limit, unit)}"


def format_remaining(used: float | None, limit: float | None, unit: str | None) -> str | None:
    if used is None or limit is None:
        return None
    return format_amount(max(limit - used, 0), unit)


def progress_bar(percent: float | None, width: int = 10) -> str:
    """A text bar such as ``█████░░░░░``; full when at or above 100%."""
    if percent is None:
        return "░" * width
    filled = max(0, min(width, int(percent / 100 * width)))
    return "█" * filled + "░" * (width - filled)


def truncate(text: str, limit: int, suffix: str = "…") -> str:
    return text if len(text) <= limit else text[: max(0, limit - len(suffix))] + suffix
