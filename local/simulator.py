"""A loopback simulator of the five providers' quota APIs and of one custom provider's, and a loopback Slack
webhook receiver.

The simulator serves every provider under its own path prefix, e.g.
``http://127.0.0.1:PORT/flashback/user/quota`` or ``http://127.0.0.1:PORT/onlyoffice/api/2.0/portal/payment/quota``,
so an account's ``base_url`` is ``http://127.0.0.1:PORT/<provider>``. Bodies have each provider's documented
shape (the same structures as the samples in ``tests/fixtures/providers``), usage grows with the
simulator's ``tick``, and a script injects the failures a real deployment meets: a rejected key (401),
a rate limit (429 with ``Retry-After``) and a streak of server errors (500).

The custom provider (``CUSTOM_ID``, a JSON endpoint described by the entry ``custom_entry(base_url)``, no code)
is served at ``http://127.0.0.1:PORT/custom/<id>/v1/usage``; its key is under ``keys["custom"]``.

The API key is checked on every request, in the header each adapter declares, so a wrong key is a 401.
Both serve through ``local.http_server``: ``http.server`` on 127.0.0.1 in a daemon thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.custom_demo import CUSTOM_ID, PLAN_EXPIRED_BODY
from local.http_server import LoopbackServer, QuietHandler
from local.provider_bodies import BODIES
from shared.custom import CUSTOM_PROVIDER
from shared.providers import PROVIDER_IDS, get_adapter

# The account each provider's demo watches.
ACCOUNTS: dict[str, str] = {
    "flashback": "main",
    "bigdata": "research",
    "templatedocs": "docs-team",
    "chatdoc": "support",
    "onlyoffice": "portal",
}


@dataclass(frozen=True)
class Failure:
    """A scripted failed answer: status, JSON body (None for an empty body), headers, and what it means."""

    status: int
    body: Any
    note: str
    headers: Mapping[str, str] = field(default_factory=dict)


# What each provider answers when it fails, in its documented error shape (PROVIDERS.md).
UNAUTHORIZED: dict[str, Failure] = {
    "flashback": Failure(401, {"success": False, "error_code": "NO_AUTH_USER"}, "rejects the API key (401)"),
    "bigdata": Failure(401, {"statusCode": 401, "message": "Invalid API key"}, "rejects the API key (401)"),
    "templatedocs": Failure(
        401, {"error": {"status": 401, "message": "Invalid or missing API key", "details": []}}, "rejects the key (401)"
    ),
    "chatdoc": Failure(401, {"detail": "Could not validate credentials"}, "rejects the API key (401)"),
    "onlyoffice": Failure(
        401,
        {"status": 1, "statusCode": 401, "error": {"message": "Unauthorized", "hresult": 0}},
        "rejects the key (401)",
    ),
}
SERVER_ERROR: dict[str, Failure] = {
    "flashback": Failure(
        500,
        {"success": False, "error_code": "INTERNAL_ERROR", "message": "Database connection failed"},
        "fails with HTTP 500",
    ),
    "bigdata": Failure(500, {"statusCode": 500, "message": "Internal Server Error"}, "fails with HTTP 500"),
}
# The custom provider's plan has expired: HTTP 200, which only its entry's errors rule reads as a failure.
PLAN_EXPIRED = Failure(200, PLAN_EXPIRED_BODY, "answers PLAN_EXPIRED (200)")
RATE_LIMITED = Failure(
    429,
    {"error": {"status": 429, "message": "Rate limit exceeded", "details": []}},
    "rate-limits us (429, Retry-After: 1)",
    {"Retry-After": "1", "X-RateLimit-Remaining": "0"},
)

# The story of the demo, one entry per tick (a scheduled run): usage in percent of each quota, or a
# failure. Run with 5 ticks, it already shows triggered, escalated, improved, resolved, check_failed
# and check_recovered across all five providers; 8 ticks add exhausted, the renewal of a month and a
# forecast (ticks are half an hour apart on the demo's simulated clock).
# CUSTOM_PROVIDER ("custom") is the custom provider CUSTOM_ID.
Step = dict[str, float] | Failure
SCRIPT: dict[str, list[Step]] = {
    # Storage burns 6 % a tick (12 % an hour): tick 6 holds the evidence (6 samples over 2.5 h) and qualifies,
    # tick 7 confirms: a critical forecast (76 %, 2 hours left), before the threshold warning at tick 8.
    "flashback": [
        {"storage": 40, "egress": 45},
        {"storage": 46, "egress": 62},
        {"storage": 52, "egress": 83},  # triggered: warning
        {"storage": 58, "egress": 91},
        {"storage": 64, "egress": 97},  # escalated: critical
        {"storage": 70, "egress": 100},  # escalated: exhausted
        {"storage": 76, "egress": 4},  # a new month: resolved; storage forecast to run out (critical)
        {"storage": 82, "egress": 9},  # storage triggered: warning
    ],
    "bigdata": [
        {"credits": 70},
        {"credits": 78},
        {"credits": 86},  # triggered: warning
        SERVER_ERROR["bigdata"],
        SERVER_ERROR["bigdata"],
        SERVER_ERROR["bigdata"],  # the third failure in a row: check_failed (unavailable)
        {"credits": 92},  # check_recovered
        {"credits": 96},  # escalated: critical
    ],
    "templatedocs": [
        {"docs": 55, "templates": 40},
        {"docs": 61, "templates": 40},
        RATE_LIMITED,
        RATE_LIMITED,
        RATE_LIMITED,  # check_failed (rate_limited)
        {"docs": 88, "templates": 42},  # check_recovered, and docs triggered: warning
        {"docs": 91, "templates": 42},
        {"docs": 96, "templates": 44},  # escalated: critical
    ],
    "chatdoc": [
        {"question": 60, "pages": 30},
        {"question": 70, "pages": 31},
        UNAUTHORIZED["chatdoc"],  # the key was rotated: check_failed (auth) at once
        UNAUTHORIZED["chatdoc"],
        {"question": 81, "pages": 33},  # the new key is in place: check_recovered, question triggered
        {"question": 85, "pages": 34},
        {"question": 90, "pages": 35},
        {"question": 97, "pages": 36},  # escalated: critical
    ],
    CUSTOM_PROVIDER: [
        {"renders": 40, "webhooks": 10},
        {"renders": 62, "webhooks": 12},
        {"renders": 81, "webhooks": 15},  # triggered: warning
        PLAN_EXPIRED,  # 200 with an error body: check_failed (no_subscription) by the entry's errors rule
        {"renders": 86, "webhooks": 18},  # check_recovered
        {"renders": 93, "webhooks": 20},
        {"renders": 97, "webhooks": 22},  # escalated: critical
        {"renders": 12, "webhooks": 2},  # a new month: resolved
    ],
    "onlyoffice": [
        {"storage": 88, "admins": 3},  # first check already above warning: triggered
        {"storage": 96, "admins": 3},  # escalated: critical
        {"storage": 97, "admins": 3},
        {"storage": 78, "admins": 3},  # cleaned up: improved, critical -> warning (78 < 95 - 5, 78 >= 80 - 5)
        {"storage": 60, "admins": 3},  # resolved
        {"storage": 61, "admins": 4},  # admins 4 of 5: triggered
        {"storage": 62, "admins": 4},
        {"storage": 63, "admins": 4},
    ],
}
TICKS = len(SCRIPT["flashback"])
# Every simulated provider: the five built-in ones and the custom one (as "custom").
SIMULATED = (*PROVIDER_IDS, CUSTOM_PROVIDER)


def _step(provider: str, tick: int) -> Step:
    """The scripted step of ``provider`` at ``tick`` (1-based); after the script, its last step."""
    script = SCRIPT[provider]
    return script[max(0, min(tick, len(script)) - 1)]


@dataclass(frozen=True)
class SimResponse:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def scripted_response(provider: str, tick: int, now: datetime | None = None) -> SimResponse:
    """What ``provider`` answers at ``tick`` (1-based) to a caller with the right key."""
    step = _step(provider, tick)
    if isinstance(step, Failure):
        return SimResponse(step.status, step.body, step.headers)
    return SimResponse(200, BODIES[provider](step, now or datetime.now(UTC)))


def tick_notes(tick: int) -> list[str]:
    """What the simulated providers do differently at ``tick``, for the progress output."""
    notes = []
    for provider in SIMULATED:
        step = _step(provider, tick)
        if isinstance(step, Failure):
            notes.append(f"{CUSTOM_ID if provider == CUSTOM_PROVIDER else provider} {step.note}")
    return notes


# ------------------------------------------------------------------------------------------ servers


class ProviderSimulator(LoopbackServer):
    """All five quota endpoints on one loopback port; ``tick`` says where the story is."""

    def __init__(self, keys: Mapping[str, str], clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.keys = dict(keys)
        self.tick = 1
        self.clock = clock
        self.requests: dict[str, int] = dict.fromkeys(SIMULATED, 0)
        self._lock = threading.Lock()
        simulator = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                status, body, headers = simulator.respond(self.path, {k.lower(): v for k, v in self.headers.items()})
                payload = b"" if body is None else json.dumps(body).encode()
                self.answer(status, payload, "application/json; charset=utf-8", headers)

        super().__init__(Handler)

    def base_url(self, provider: str) -> str:
        """Where ``provider`` is served; ``custom`` is the custom provider CUSTOM_ID."""
        return f"{self.url}/custom/{CUSTOM_ID}" if provider == CUSTOM_PROVIDER else f"{self.url}/{provider}"

    def _respond_custom(self, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        with self._lock:
            self.requests[CUSTOM_PROVIDER] += 1
            tick = self.tick
        expected = self.keys.get(CUSTOM_PROVIDER, "")
        if not expected or headers.get("authorization") != f"Bearer {expected}":
            return 401, {"error": {"code": "UNAUTHORIZED", "message": "bad token"}}, {}
        response = scripted_response(CUSTOM_PROVIDER, tick, self.clock())
        return response.status, response.body, response.headers

    def respond(self, path: str, headers: Mapping[str, str]) -> tuple[int, Any, Mapping[str, str]]:
        """(status, JSON body or None, headers) for one GET; ``headers`` with lower-case names."""
        route = path.split("?", 1)[0]
        if route == f"/custom/{CUSTOM_ID}/v1/usage":
            return self._respond_custom(headers)
        for provider in PROVIDER_IDS:
            adapter = get_adapter(provider)
            if route != f"/{provider}{adapter.endpoint_path}":
                continue
            with self._lock:
                self.requests[provider] += 1
                tick = self.tick
            expected = self.keys.get(provider, "")
            wanted = f"{adapter.auth_scheme} {expected}" if adapter.auth_scheme else expected
            if not expected or headers.get(adapter.auth_header.lower()) != wanted:
                failure = UNAUTHORIZED[provider]
                return failure.status, failure.body, failure.headers
            response = scripted_response(provider, tick, self.clock())
            return response.status, response.body, response.headers
        return 404, {"message": f"no simulated endpoint at {route}"}, {}


class SlackReceiver(LoopbackServer):
    """A loopback Slack incoming webhook: records every JSON payload posted to its path, answers ``ok``."""

    def __init__(self, path: str = "/services/T0LOCAL/B0LOCAL/local-demo") -> None:
        self.path = path
        self.payloads: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.read_body()
                if self.path != receiver.path:
                    self.answer(404, b"no_service", "text/plain")
                    return
                try:
                    payload = json.loads(body)
                except ValueError:
                    self.answer(400, b"invalid_payload", "text/plain")
                    return
                with receiver._lock:
                    receiver.payloads.append(payload)
                self.answer(200, b"ok", "text/plain")

        super().__init__(Handler)

    @property
    def webhook_url(self) -> str:
        return f"{self.url}{self.path}"

    def take(self) -> list[dict[str, Any]]:
        """The payloads received since the last call."""
        with self._lock:
            taken, self.payloads = self.payloads, []
        return taken
