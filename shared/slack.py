"""Slack: delivery to an incoming webhook (the Block Kit words are in ``shared.wording``).

Delivery honours 429 ``Retry-After`` within the time left, raises on 5xx (so the
SNS→Lambda retry and the DLQ apply) and reports a permanent 4xx with Slack's error string.
The webhook URL is a secret: it never appears in a log line or an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests


class SlackDeliveryError(Exception):
    """Slack could not take the message now (5xx, 429 beyond the time left, network): retry later."""


@dataclass(frozen=True)
class SlackResult:
    delivered: bool
    status: int
    error: str | None = None  # Slack's error string for a permanent 4xx


class SlackWebhook:
    """Posts to one incoming webhook. The URL is a secret and is never logged or put in an error."""

    def __init__(
        self,
        url: str,
        *,
        timeout: tuple[float, float] = (3.0, 10.0),
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 3,
    ) -> None:
        self._url = url
        self.timeout = timeout
        self.sleep = sleep
        self.max_attempts = max_attempts

    def __repr__(self) -> str:
        return "SlackWebhook(url=***)"

    def post(self, payload: dict[str, Any], seconds_left: Callable[[], float]) -> SlackResult:
        for _attempt in range(self.max_attempts):
            try:
                response = requests.post(self._url, json=payload, timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as error:
                raise SlackDeliveryError(f"Slack webhook unreachable ({type(error).__name__})") from None
            status, body = response.status_code, response.text[:200]
            if 200 <= status < 300:
                return SlackResult(delivered=True, status=status)
            if status == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait + 1 > seconds_left():
                    raise SlackDeliveryError(f"Slack rate limited (Retry-After {wait:g}s exceeds the time left)")
                self.sleep(wait)
                continue
            if status >= 500:
                raise SlackDeliveryError(f"Slack answered HTTP {status}")
            return SlackResult(delivered=False, status=status, error=body.strip() or f"HTTP {status}")
        raise SlackDeliveryError(f"Slack still rate limited after {self.max_attempts} attempts")


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0
