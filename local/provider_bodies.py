"""The quota answers the simulator serves: each provider's documented body shape (the same structures as the
samples in ``tests/fixtures/providers``), filled from a usage in percent of each limit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.custom import CUSTOM_PROVIDER

GIB = 1024**3


def percent_of(limit: float, percent: float) -> int:
    return min(round(limit * percent / 100), round(limit)) if percent < 100 else round(limit)


def flashback_body(usage: Mapping[str, float]) -> dict[str, Any]:
    storage_max, egress_max = 10 * GIB, 2 * GIB
    storage, egress = percent_of(storage_max, usage["storage"]), percent_of(egress_max, usage["egress"])
    return {
        "success": True,
        "subscription": {"id": "sub_sim", "name": "Pro", "description": "Pro subscription"},
        "quotaUsage": [
            {
                "capability": {
                    "id": "cap_001",
                    "code": "STORAGE_TOTAL_BYTES",
                    "description": "Total storage available in bytes",
                    "type": "STORAGE",
                    "periodType": "ALL_TIME",
                },
                "usage": {"current": storage, "max": storage_max, "percentage": int(usage["storage"])},
            },
            {
                "capability": {
                    "id": "cap_002",
                    "code": "EGRESS_MONTHLY_BYTES",
                    "description": "Monthly egress in bytes",
                    "type": "TRAFFIC",
                    "periodType": "MONTHLY",
                },
                "usage": {"current": egress, "max": egress_max, "percentage": int(usage["egress"])},
            },
        ],
    }


def _billing_period(now: datetime) -> tuple[str, str]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(seconds=1)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")


def bigdata_body(usage: Mapping[str, float], now: datetime) -> dict[str, Any]:
    limit = 500_000  # US cents
    used = percent_of(limit, usage["credits"])
    start, end = _billing_period(now)
    # Three units share the cost: 60% premium news, 30% web, 10% PDF pages.
    units = [
        ("search:smart:content-premium-news:tokens", "Search smart - premium news tokens", 0.0096, 0.6),
        ("search:smart:content-web:tokens", "Search smart - web tokens", 0.0008, 0.3),
        ("private_content:pdf_pages", "PDF pages", 1.0, 0.1),
    ]
    return {
        "results": {
            "org_id": "3f1c2a9e-6b7d-4e1f-9a2b-0c4d5e6f7a8b",
            "subscription_type": "credits",
            "credits": {"limit": limit, "usage": used, "remaining": limit - used},
            "billing": [
                {
                    "period": {"start": start, "end": end},
                    "credit_usage": used,
                    "units": [
                        {
                            "id": unit_id,
                            "display_name": name,
                            "units_usage": round(used * share / price),
                            "units_price": price,
                        }
                        for unit_id, name, price, share in units
                    ],
                }
            ],
        },
        "errors": [],
        "metadata": {},
    }


def templatedocs_body(usage: Mapping[str, float]) -> dict[str, Any]:
    docs_subscription, docs_credits, templates = 1000, 500, 50
    docs_total = docs_subscription + docs_credits
    docs_left = docs_total - percent_of(docs_total, usage["docs"])
    templates_left = templates - percent_of(templates, usage["templates"])
    # Subscription documents are used first, then bought credits.
    credits_left = min(docs_credits, docs_left)
    return {
        "allocated": {
            "subscriptions": {"docs": docs_subscription, "templates": templates},
            "credits": {"docs": docs_credits, "templates": 0},
            "total": {"docs": docs_total, "templates": templates},
        },
        "remaining": {
            "subscriptions": {"docs": docs_left - credits_left, "templates": templates_left},
            "credits": {"docs": credits_left, "templates": 0},
            "total": {"docs": docs_left, "templates": templates_left},
        },
    }


def chatdoc_body(usage: Mapping[str, float]) -> dict[str, Any]:
    pages = percent_of(3000, usage["pages"])
    return {
        "status": "ok",
        "data": {
            "package": {
                "basic_page": {"max_count": 3000, "used_count": pages},
                "elite_page": None,
                "question": {"max_count": 1000, "used_count": percent_of(1000, usage["question"])},
                "ocr_page": {"max_count": 3000, "used_count": pages // 3},
                "gpt4o_question": {"max_count": 500, "used_count": 40},
            }
        },
    }


def onlyoffice_body(usage: Mapping[str, float], now: datetime) -> dict[str, Any]:
    storage_limit = 100 * GIB
    admins = int(usage["admins"])
    due = (now + timedelta(days=200)).replace(hour=0, minute=0, second=0, microsecond=0)

    def feature(
        feature_id: str, value: Any, kind: str, used: float | None = None, used_title: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        item: dict[str, Any] = {"id": feature_id, "title": extra.pop("title", ""), "value": value, "type": kind}
        if used is not None:
            item["used"] = {"value": used} if used_title is None else {"value": used, "title": used_title}
        return item | extra

    return {
        "count": 1,
        "links": [{"href": "https://portal.example.onlyoffice.com/api/2.0/portal/payment/quota", "action": "GET"}],
        "response": {
            "id": -9,
            "title": "Business",
            "price": {"value": 20.0, "currencySymbol": "$", "isoCurrencySymbol": "USD"},
            "nonProfit": False,
            "free": False,
            "trial": False,
            "features": [
                feature("manager", 5, "count", admins, "Admins added:", priceTitle="Number of admins"),
                feature(
                    "total_size",
                    storage_limit,
                    "size",
                    percent_of(storage_limit, usage["storage"]),
                    "Storage space used:",
                    title="100 GB per portal",
                    priceTitle="Storage space",
                ),
                feature("file_size", -1, "size", 0, title="Max file size"),
                feature("branding", True, "flag"),
                feature("users", -1, "count", 42, title="Unlimited number of users and guests"),
                feature("room", -1, "count", 17, "Rooms:", title="Unlimited number of active rooms"),
                feature("free_backup", 2, "count", 0),
                feature("sso", True, "flag"),
            ],
            "dueDate": due.strftime("%Y-%m-%dT%H:%M:%S"),
            "usersQuota": {"enableQuota": False, "defaultQuota": -2},
            "roomsQuota": {"enableQuota": False, "defaultQuota": -2},
            "tenantCustomQuota": {"enableQuota": False, "quota": -1, "lastModified": "0001-01-01T00:00:00"},
        },
        "status": 0,
        "statusCode": 200,
    }


def _month_end(now: datetime) -> int:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int((start + timedelta(days=32)).replace(day=1).timestamp())


def custom_body(usage: Mapping[str, float], now: datetime) -> dict[str, Any]:
    resets = _month_end(now.astimezone(UTC))
    return {
        "plan": "Studio",
        "quotas": [
            {"key": "renders", "label": "Page renders", "used": percent_of(5000, usage["renders"]), "max": 5000,
             "resets": resets},
            {"key": "webhooks", "label": "Webhook deliveries", "used": str(percent_of(20000, usage["webhooks"])),
             "max": "20000", "resets": resets},
        ],
    }  # fmt: skip


BODIES: dict[str, Callable[[Mapping[str, float], datetime], dict[str, Any]]] = {
    "flashback": lambda usage, _now: flashback_body(usage),
    "bigdata": bigdata_body,
    "templatedocs": lambda usage, _now: templatedocs_body(usage),
    "chatdoc": lambda usage, _now: chatdoc_body(usage),
    "onlyoffice": onlyoffice_body,
    CUSTOM_PROVIDER: custom_body,
}
