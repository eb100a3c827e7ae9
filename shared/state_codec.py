"""The stored form of an ``AccountState``: compact bytes for the state item's ``state`` attribute.

DynamoDB bills a write unit per KB of item, on every run, so the state is kept small: the JSON of the state
without defaults or empty fields, zlib-compressed (metric after metric repeats the same keys), followed by
each metric's forecast bytes (``shared.forecast``) as they are, since compressed data does not compress.

Layout: format byte, varint length of the compressed JSON, the compressed JSON, then for each metric in
the JSON's order a varint length and its forecast bytes (length 0: none). Items written before this
format held the state as a JSON string; ``decode_state`` reads both.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from shared.models import AccountState

FORMAT = 1


class StateFormatError(ValueError):
    """The stored state is not in a format this code reads."""


def _put_varint(out: bytearray, number: int) -> None:
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    number = shift = 0
    while True:
        if position >= len(data):
            raise StateFormatError("stored state is truncated")
        byte = data[position]
        position += 1
        number |= (byte & 0x7F) << shift
        if byte < 0x80:
            return number, position
        shift += 7


def encode_state(state: AccountState) -> bytes:
    body = state.model_dump_json(exclude_defaults=True, exclude={"metrics": {"__all__": {"forecast"}}}).encode()
    compressed = zlib.compress(body, 9)
    out = bytearray([FORMAT])
    _put_varint(out, len(compressed))
    out += compressed
    for metric in state.metrics.values():
        forecast = metric.forecast or b""
        _put_varint(out, len(forecast))
        out += forecast
    return bytes(out)


def decode_state(data: bytes) -> AccountState:
    if not data or data[0] != FORMAT:
        raise StateFormatError(f"unknown stored state format {data[0] if data else None}")
    length, position = _varint(data, 1)
    try:
        body = zlib.decompress(data[position : position + length])
    except zlib.error as error:
        raise StateFormatError(f"stored state does not decompress: {error}") from None
    state = AccountState.model_validate_json(body)
    position += length
    metrics = {}
    for metric_id, metric in state.metrics.items():
        size, position = _varint(data, position)
        forecast = data[position : position + size]
        if len(forecast) != size:
            raise StateFormatError("stored state is truncated")
        position += size
        metrics[metric_id] = metric.model_copy(update={"forecast": forecast or None})
    return state.model_copy(update={"metrics": metrics})


def state_from_attribute(value: Mapping[str, Any]) -> AccountState:
    """The ``state`` attribute as DynamoDB returns it: ``{"B": bytes}``, or ``{"S": json}`` (older items)."""
    if "B" in value:
        return decode_state(bytes(value["B"]))
    return AccountState.model_validate_json(str(value["S"]))
