"""TemplateDocs: ``GET {base}/v1/account/quotas`` with a Bearer key; two metrics, documents and templates.

The body gives, for ``allocated`` and ``remaining``, the ``subscriptions``, ``credits`` and ``total``
counts of ``docs`` and ``templates``. Only the totals are read: used = allocated − remaining.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from shared.models import QuotaMetric
from shared.providers import LenientModel, ProviderAdapter, bad_response, off_schema, parse_model, register

NonNegative = Annotated[float, Field(ge=0)]

# metric id -> (name, period). Documents renew monthly with the subscription; templates are a standing cap.
METRICS: dict[str, tuple[str, str | None]] = {
    "docs": ("Document generations", "monthly"),
    "templates": ("Templates", None),
}


class Counts(LenientModel):
    docs: NonNegative
    templates: NonNegative


class Side(LenientModel):
    # ``subscriptions`` and ``credits`` are parts of ``total``; the metric is about the whole.
    total: Counts


class QuotasResponse(LenientModel):
    allocated: Side
    remaining: Side


@register("templatedocs")
class TemplateDocsAdapter(ProviderAdapter):
    display_name = "TemplateDocs"
    # The public site: its billing page is not documented in the provider notes.
    manage_url = "https://templatedocs.io"
    default_base_url = "https://templatedocs.io/api"
    endpoint_path = "/v1/account/quotas"

    # Errors are {"error": {"status", "message", "details"?}}: the base error_text reads error.message,
    # so a 402 carries the provider's own words.

    def parse(self, body: Any) -> list[QuotaMetric]:
        response = parse_model(QuotasResponse, body)
        allocated = response.allocated.total.model_dump()
        remaining = response.remaining.total.model_dump()
        metrics: list[QuotaMetric] = []
        for metric_id, (name, period) in METRICS.items():
            limit: float = allocated[metric_id]
            if limit == 0:  # the plan does not offer it
                continue
            left: float = remaining[metric_id]
            if left > limit:
                raise bad_response(f"remaining.total.{metric_id} is more than allocated.total.{metric_id}")
            with off_schema():
                metrics.append(
                    QuotaMetric(
                        metric_id=metric_id, name=name, used=limit - left, limit=limit, unit="count", period=period
                    )
                )
        return metrics
