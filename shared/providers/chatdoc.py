"""ChatDOC: ``GET {base}/users/quota`` with a Bearer key; one metric per non-null ``data.package`` item."""

from __future__ import annotations

from typing import Any

from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import LenientModel, ProviderAdapter, bad_response, off_schema, parse_model, register

# The provider's keys are terse (``documents_tokens``); these are the names people read in alerts.
NAMES = {
    "basic_page": "Basic pages",
    "elite_page": "Elite pages",
    "lite_page": "Lite pages",
    "question": "Questions",
    "documents_tokens": "Document tokens",
    "ocr_page": "OCR pages",
    "gpt4_question": "GPT-4 questions",
    "gpt4o_question": "GPT-4o questions",
}


class _Envelope(LenientModel):
    # The readme's example omits ``status``; only a status that is present and not "ok" is refused.
    status: str | None = None


class PackageItem(LenientModel):
    max_count: float
    used_count: float


class QuotaData(LenientModel):
    # Required but nullable: a missing ``package`` is off-schema, a null one means no unexpired package.
    package: dict[str, PackageItem | None] | None


class QuotaResponse(_Envelope):
    data: QuotaData


@register("chatdoc")
class ChatdocAdapter(ProviderAdapter):
    display_name = "ChatDOC"
    # The public site: its billing page is not documented in the provider notes.
    manage_url = "https://chatdoc.com"
    default_base_url = "https://api.chatdoc.com/api/v2"
    endpoint_path = "/users/quota"

    def parse(self, body: Any) -> list[QuotaMetric]:
        # The status goes first, so an error body is reported as such and not as "data missing".
        envelope = parse_model(_Envelope, body)
        if envelope.status is not None and envelope.status != "ok":
            raise bad_response(f"body says status: {envelope.status[:50]!r}")
        response = parse_model(QuotaResponse, body)
        package = response.data.package
        if package is None:
            raise ProviderError(FailureReason.NO_SUBSCRIPTION, "no unexpired package (data.package is null)")
        # A null item is not part of the package; a package whose items are all null has no metrics.
        return [_metric(key, item) for key, item in package.items() if item is not None]


def _metric(key: str, item: PackageItem) -> QuotaMetric:
    with off_schema():
        return QuotaMetric(
            metric_id=key,
            name=NAMES.get(key) or _name_from_key(key),
            used=item.used_count,
            # Unlimited is not documented: a negative max_count fails QuotaMetric and is refused.
            limit=item.max_count,
            unit="count",
            period=None,
        )


def _name_from_key(key: str) -> str:
    """``foo_bar`` → ``Foo bar``; a key with nothing readable in it is its own name."""
    words = " ".join(key.replace("_", " ").split())
    return words[:1].upper() + words[1:] or key
