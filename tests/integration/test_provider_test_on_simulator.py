"""`quota-sentinel provider test` against the provider simulator's custom provider (the one `make run` shows):
the raw answer, every metric with its level, the reason an error maps to, exit codes, and no key printed."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from local.custom_demo import custom_entry
from local.simulator import ProviderSimulator
from shared.custom import CUSTOM_PROVIDER

pytestmark = pytest.mark.integration

KEY = "pm-live-9Zt3-never-print-me"


@pytest.fixture
def simulator() -> Iterator[ProviderSimulator]:
    with ProviderSimulator({CUSTOM_PROVIDER: KEY}) as running:
        yield running


def provider_test(
    simulator: ProviderSimulator, tick: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str = KEY
) -> tuple[int, str, str]:
    monkeypatch.setenv("PAGEMILL_KEY", key)
    simulator.tick = tick
    path = tmp_path / "pagemill.json"
    path.write_text(json.dumps(custom_entry(simulator.base_url(CUSTOM_PROVIDER), {"env": "PAGEMILL_KEY"})))
    out, err = io.StringIO(), io.StringIO()
    code = main(["--no-color", "provider", "test", str(path), "--account", "main"], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_metrics_with_their_levels_and_the_raw_answer(
    simulator: ProviderSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = provider_test(simulator, 3, tmp_path, monkeypatch)  # renders at 81%: warning
    assert (code, err) == (1, "")
    assert f"GET {simulator.base_url(CUSTOM_PROVIDER)}/v1/usage with query {{'view': 'quota'}}" in out
    assert "Answer: HTTP 200, application/json" in out
    assert '"label": "Page renders"' in out  # the raw answer
    assert "2 metric(s) extracted:" in out
    lines = out.splitlines()
    renders = next(i for i, line in enumerate(lines) if "renders: Page renders" in line)
    assert lines[renders].split()[0] == "warning"
    assert "4,050 of 5,000 (81%)" in lines[renders + 1] and "period monthly" in lines[renders + 1]
    webhooks = next(i for i, line in enumerate(lines) if "webhooks: Webhook deliveries" in line)
    assert lines[webhooks].split()[0] == "ok"
    assert "nothing stored or published" in out
    assert KEY not in out + err
    assert simulator.requests[CUSTOM_PROVIDER] == 1

    code, out, _ = provider_test(simulator, 7, tmp_path, monkeypatch)  # renders at 97%: critical
    assert code == 2 and "critical" in out


def test_an_errors_rule_and_a_status_code_name_their_reason(
    simulator: ProviderSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = provider_test(simulator, 4, tmp_path, monkeypatch)  # HTTP 200 with PLAN_EXPIRED
    assert code == 3
    assert '"code": "PLAN_EXPIRED"' in out
    assert "Check failed: reason no_subscription (HTTP 200, by an errors rule)" in out
    assert "the body matches errors[0] (error.code == 'PLAN_EXPIRED')" in out

    wrong = "pm-live-wrong-key-also-secret"
    code, out, err = provider_test(simulator, 3, tmp_path, monkeypatch, key=wrong)
    assert code == 3
    assert "Answer: HTTP 401" in out
    assert "Check failed: reason auth (HTTP 401, by the status code rules)" in out
    assert wrong not in out + err and KEY not in out + err


def test_a_provider_that_is_down_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ProviderSimulator({CUSTOM_PROVIDER: KEY}) as stopped:
        base_url = stopped.base_url(CUSTOM_PROVIDER)
    monkeypatch.setenv("PAGEMILL_KEY", KEY)
    path = tmp_path / "pagemill.json"
    path.write_text(json.dumps(custom_entry(base_url, {"env": "PAGEMILL_KEY"})))
    out, err = io.StringIO(), io.StringIO()
    code = main(["--no-color", "provider", "test", str(path)], stdout=out, stderr=err)
    assert code == 3
    assert "Check failed: reason unavailable (by the client)" in out.getvalue()
