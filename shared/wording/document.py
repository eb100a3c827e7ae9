"""The alert document as it is published: the evaluator's facts plus the words and the links.

The runner calls ``compose`` when it builds a document, so the published ``message`` and ``hint`` are
filled once and travel with the document (the Slack notifier renders from the document alone).
"""

from __future__ import annotations

from datetime import datetime

from shared.models import Alert, AlertDocument, Link
from shared.wording.words import hint, message


def links(provider_name: str, manage_url: str | None, runbook_url: str | None) -> list[Link]:
    """Where a person goes next: the provider's page for its quota or plan, and the team's runbook."""
    found = [Link(text=f"Open {provider_name}", url=manage_url)] if manage_url else []
    if runbook_url:
        found.append(Link(text="Runbook", url=runbook_url))
    return found


def compose(
    provider: str,
    account: str,
    checked_at: datetime,
    alerts: list[Alert],
    *,
    provider_name: str | None = None,
    key_source: str = "the configured API key",
    links: list[Link] | None = None,
) -> AlertDocument:
    """The document with each alert's ``message``, ``hint`` and ``links`` filled from its facts."""
    subject = f"{provider}/{account}"
    worded = [
        alert.model_copy(
            update={
                "message": message(alert, checked_at, subject),
                "hint": hint(alert, key_source, provider_name or provider, account),
                "links": list(links or []),
            }
        )
        for alert in alerts
    ]
    return AlertDocument.build(provider, account, checked_at, worded, provider_name=provider_name)
