"""The email: a subject under 100 ASCII characters and a plain-text body read at a glance.

No routing severity, no alert ids and no footer: the subject's tag and every line speak of where
things stand now, with a previous level only as "was <level>".
"""

from __future__ import annotations

import unicodedata

from shared.formatting import truncate
from shared.models import Alert, AlertDocument
from shared.wording.words import checked, detail_label, format_detail, lead_alert, short_headline, tag

SUBJECT_MAX = 99  # SNS: under 100 characters, ASCII, no line breaks


def _ascii(text: str) -> str:
    folded = text.replace("—", "-").replace("→", "->")
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.split())  # also drops line breaks and control whitespace


def where(document: AlertDocument) -> str:
    return f"{document.provider}/{document.account}"


def email_subject(document: AlertDocument) -> str:
    """``[CRITICAL] chatdoc/support: Questions 97% used (+1 more change)``."""
    lead = lead_alert(document.alerts)
    more = len(document.alerts) - 1
    count = f" (+{more} more change{'' if more == 1 else 's'})" if more else ""
    subject = f"[{tag(lead)}] {where(document)}: {short_headline(lead)}{count}"
    return truncate(_ascii(subject), SUBJECT_MAX, "...")


def _alert_lines(alert: Alert, document: AlertDocument) -> list[str]:
    lines = [alert.message]
    for key, value in alert.details.items():
        lines.append(f"  {detail_label(key)}: {format_detail(value, document.checked_at)}")
    if alert.hint:
        lines.append(f"  To do: {alert.hint}")
    return lines


def email_body(document: AlertDocument) -> str:
    name = document.provider_name or document.provider
    lines = [f"{name} {document.account}, checked {checked(document.checked_at)}", ""]
    for alert in document.alerts:
        lines.extend(_alert_lines(alert, document))
        lines.append("")
    seen: set[str] = set()
    for alert in document.alerts:
        for link in alert.links:
            if link.url not in seen:
                seen.add(link.url)
                lines.append(f"{link.text}: {link.url}")
    return "\n".join(lines).rstrip("\n")
