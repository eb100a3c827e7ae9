"""The demo's custom provider: an invented "PageMill" rendering API, described in data only (no code).

``local.simulator`` serves it at ``/custom/<id>/v1/usage``; ``quota-sentinel simulate`` provisions ``custom_entry``
under CustomFunction's parameter path, as an operator would (docs/custom-providers.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The custom provider of the demo: an invented "PageMill" rendering API, described in data only.
CUSTOM_ID = "pagemill"
CUSTOM_ACCOUNT = "main"


def custom_entry(base_url: str, api_key: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The demo's custom provider entry (docs/custom-providers.md), its account at ``base_url``."""
    return {
        "id": CUSTOM_ID,
        "name": "PageMill",
        "manage_url": "https://pagemill.example/account/billing",
        "request": {"path": "/v1/usage", "query": {"view": "quota"}, "auth": {"type": "bearer"}},
        "metrics": [
            {
                "each": "quotas[]",
                "id": "key",
                "name": "label",
                "used": "used",
                "limit": "max",
                "period": "monthly",
                "resets_at": "resets",
            }
        ],
        "errors": [{"when": "error.code == 'PLAN_EXPIRED'", "reason": "no_subscription"}],
        "accounts": [
            {
                "name": CUSTOM_ACCOUNT,
                "base_url": base_url,
                "api_key": dict(api_key or {"ssm": f"/quota-sentinel/custom/{CUSTOM_ID}/{CUSTOM_ACCOUNT}"}),
            }
        ],
    }


# The body it answers while its plan has expired: HTTP 200, which only the entry's errors rule reads as a failure.
PLAN_EXPIRED_BODY = {"error": {"code": "PLAN_EXPIRED", "message": "Your plan has expired"}}
