"""What the provider tests share outside the fuzz: the error parse() or interpret() raises, metrics as rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from shared.http import HttpResult
from shared.models import ProviderError, QuotaMetric
from shared.providers import ProviderAdapter, interpret

Row = tuple[str, str, float, float | None, str, str | None]


def rows(metrics: list[QuotaMetric]) -> list[Row]:
    """Each metric as (metric_id, name, used, limit, unit, period), to compare a whole list at a glance."""
    return [(m.metric_id, m.name, m.used, m.limit, m.unit, m.period) for m in metrics]


def parse_error(adapter: ProviderAdapter, body: Any) -> ProviderError:
    """The ProviderError parse() raises for this body; the test fails if it gives metrics instead."""
    with pytest.raises(ProviderError) as caught:
        adapter.parse(body)
    return caught.value


def interpret_error(adapter: ProviderAdapter, result: HttpResult, secrets: Sequence[str] = ()) -> ProviderError:
    """The ProviderError interpret() raises for this HTTP answer, which must carry the answer's status.

    The test fails if interpret() gives metrics instead, or if the error names another status.
    """
    with pytest.raises(ProviderError) as caught:
        interpret(adapter, result, secrets=list(secrets))
    assert caught.value.status == result.status
    return caught.value
