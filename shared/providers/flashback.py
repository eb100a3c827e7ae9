"""Flashback: ``GET {base}/user/quota`` with a Bearer key; one metric per ``quotaUsage`` item."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, StrictBool

from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import LenientModel, ProviderAdapter, bad_response, off_schema, parse_model, register


class _FlashbackModel(LenientModel):
    # Unlike the other adapters', these models let NaN and Infinity through for QuotaMetric to judge (a max
    # of -Infinity reads as unlimited), as they always have.
    model_config = ConfigDict(allow_inf_nan=True)


class Capability(_FlashbackModel):
    code: str = Field(min_length=1)
    description: str | None = None
    type: str | None = None
    period_type: str | None = Field(default=None, alias="periodType")


class Usage(_FlashbackModel):
    current: float
    max: float | None = None


class QuotaUsageItem(_FlashbackModel):
    capability: Capability
    usage: Usage


class QuotaResponse(_FlashbackModel):
    success: StrictBool
    quota_usage: list[QuotaUsageItem] = Field(alias="quotaUsage")


@register("flashback")
class FlashbackAdapter(ProviderAdapter):
    display_name = "Flashback"
    # The public site: its billing page is not documented in the provider notes.
    manage_url = "https://flashback.tech"
    default_base_url = "https://backend.flashback.tech"
    endpoint_path = "/user/quota"

    def classify_error(self, status: int, body: Any) -> ProviderError | None:
        if status == 404 and isinstance(body, dict) and body.get("error_code") == "NO_ACTIVE_SUBSCRIPTION":
            return ProviderError(FailureReason.NO_SUBSCRIPTION, "HTTP 404: NO_ACTIVE_SUBSCRIPTION", status)
        return None

    def parse(self, body: Any) -> list[QuotaMetric]:
        response = parse_model(QuotaResponse, body)
        if not response.success:
            raise bad_response("body says success: false")
        return [_metric(item) for item in response.quota_usage]


def _metric(item: QuotaUsageItem) -> QuotaMetric:
    code = item.capability.code
    limit = item.usage.max
    period = item.capability.period_type
    with off_schema():
        return QuotaMetric(
            metric_id=code,
            name=(item.capability.description or "").strip() or code.replace("_", " ").capitalize(),
            used=item.usage.current,
            # Unlimited is not documented: a missing, null or negative max is read as unlimited.
            limit=None if limit is None or limit < 0 else limit,
            unit="bytes" if code.endswith("_BYTES") else "count",
            period=period.lower() if period else None,
        )
