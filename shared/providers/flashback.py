"""Flashback: ``GET {base}/user/quota`` with a Bearer key; one metric per ``quotaUsage`` item."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import ProviderAdapter, bad_response, register


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class Capability(_Lenient):
    code: str = Field(min_length=1)
    description: str | None = None
    type: str | None = None
    period_type: str | None = Field(default=None, alias="periodType")


class Usage(_Lenient):
    current: float
    max: float | None = None


class QuotaUsageItem(_Lenient):
    capability: Capability
    usage: Usage


class QuotaResponse(_Lenient):
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
        try:
            response = QuotaResponse.model_validate(body)
        except ValidationError as error:
            raise bad_response(error) from None
        if not response.success:
            raise bad_response("body says success: false")
        return [_metric(item) for item in response.quota_usage]


def _metric(item: QuotaUsageItem) -> QuotaMetric:
    code = item.capability.code
    limit = item.usage.max
    period = item.capability.period_type
    try:
        return QuotaMetric(
            metric_id=code,
            name=(item.capability.description or "").strip() or code.replace("_", " ").capitalize(),
            used=item.usage.current,
            # Unlimited is not documented: a missing, null or negative max is read as unlimited.
            limit=None if limit is None or limit < 0 else limit,
            unit="bytes" if code.endswith("_BYTES") else "count",
            period=period.lower() if period else None,
        )
    except ValidationError as error:
        raise bad_response(error) from None
