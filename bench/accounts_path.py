"""P3b: an account list that can grow, and no starved account.

- **1,000 accounts from an SSM path.** ``ACCOUNTS_PARAMETER`` names a path ending in ``/``; under it, 40
  parameters of 25 accounts each (every one under SSM's 4 KB), and each account's key in its own
  SecureString. 200 ms of provider latency, one run in a fresh driver process on the host build, with the
  context reporting the template's function timeout (120 s) left. Measured: the handler's wall time, the
  share of accounts checked and the process's peak RSS.
- **Starvation.** 80 accounts whose provider answers in 5 s, 8 checked at once, and a budget that fits half
  of them (5 rounds of 8). Two consecutive runs of a 5-minute schedule (their check times 5 minutes apart,
  within one hour): every account must be checked in one of them. In-process, with the check time given.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.world import PROVIDER_KEY, PROVIDER_KEY_VARIABLE, ProviderApi, World, accounts_ok, run_driver

ACCOUNTS = 1000
ACCOUNTS_PER_PARAMETER = 25
ACCOUNTS_PATH = "/quota-sentinel/flashback/bench-accounts/"
FUNCTION_TIMEOUT_SECONDS = 120
SSM_STANDARD_LIMIT_BYTES = 4096

STARVATION_ACCOUNTS = 80
STARVATION_LATENCY_SECONDS = 5.0
STARVATION_CONCURRENCY = 8
STARVATION_ROUNDS = 5  # of 8 accounts: 40 of the 80 fit
SCHEDULE_MINUTES = 5


def _put_account_path(world: World, url: str) -> None:
    ssm = world.client("ssm")
    names = [f"p3b-{index:04d}" for index in range(ACCOUNTS)]
    accounts = [{"name": name, "base_url": url, "api_key": world.ssm_key(name)} for name in names]
    for part, start in enumerate(range(0, ACCOUNTS, ACCOUNTS_PER_PARAMETER)):
        value = json.dumps(accounts[start : start + ACCOUNTS_PER_PARAMETER], separators=(",", ":"))
        if len(value.encode()) > SSM_STANDARD_LIMIT_BYTES:
            raise RuntimeError(f"P3b: part {part} holds {len(value)} bytes, over a standard parameter's 4 KB")
        ssm.put_parameter(Name=f"{ACCOUNTS_PATH}part-{part:02d}", Value=value, Type="String", Overwrite=True)


def measure_path(world: World, log: Callable[[str], None] = print) -> dict[str, Any]:
    _put_account_path(world, world.provider_base_url(slow=True))
    env = {**world.function_env, "ACCOUNTS_PARAMETER": ACCOUNTS_PATH}
    result = run_driver(world, env, [{"remaining_ms": FUNCTION_TIMEOUT_SECONDS * 1000}], count_calls=True)
    run = result.runs[0]
    checked = accounts_ok(run["summary"])
    figures = {
        "accounts": ACCOUNTS,
        "parameters": ACCOUNTS // ACCOUNTS_PER_PARAMETER,
        "provider_latency_seconds": world.slow_provider_api.delay,
        "function_timeout_seconds": FUNCTION_TIMEOUT_SECONDS,
        "handler_seconds": run["seconds"],
        "process_seconds": result.wall_seconds,
        "checked": checked,
        "checked_share": checked / ACCOUNTS,
        "peak_rss_mib": result.peak_rss_mib,
        "calls": {k: v for k, v in run["calls"].items() if not k.startswith("client:")},
    }
    log(
        f"  P3b {ACCOUNTS} accounts from {ACCOUNTS_PATH}: handler {run['seconds']:.2f} s, checked {checked}/"
        f"{ACCOUNTS}, peak RSS {result.peak_rss_mib:.1f} MiB"
    )
    return figures


class _Context:
    """What the runner reads of Lambda's context: the time left, counting down."""

    aws_request_id = "bench-starvation"

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def measure_starvation(world: World, log: Callable[[str], None] = print) -> dict[str, Any]:
    from shared import runner
    from shared.notify import SnsAlertPublisher
    from shared.observability import logger
    from shared.state_store import DynamoStateStore

    api = ProviderApi(delay=STARVATION_LATENCY_SECONDS)
    try:
        accounts = [
            {"name": f"starve-{index:02d}", "base_url": api.url, "api_key": {"env": PROVIDER_KEY_VARIABLE}}
            for index in range(STARVATION_ACCOUNTS)
        ]
        env = {
            **world.function_env,
            "ACCOUNTS": json.dumps(accounts),
            "MAX_CONCURRENCY": str(STARVATION_CONCURRENCY),
            PROVIDER_KEY_VARIABLE: PROVIDER_KEY,
        }
        env.pop("ACCOUNTS_PARAMETER", None)
        # A call must end before the deadline: 5 rounds of 5 s end by 25 s (plus the writes between them); a
        # 6th starts but times out at 27 s. So 40 of the 80 are checked per run.
        budget = STARVATION_ROUNDS * STARVATION_LATENCY_SECONDS + 2.0
        first_run = datetime.now(UTC).replace(minute=3, second=0, microsecond=0)
        runs = []
        level = logger.log_level
        logger.setLevel("ERROR")  # 160 checks of JSON logs would drown the bench's own output
        try:
            for index in range(2):
                checked_at = first_run + timedelta(minutes=index * SCHEDULE_MINUTES)
                deps = runner.Dependencies(
                    store=DynamoStateStore(world.table_name, client=world.client("dynamodb")),
                    publisher=SnsAlertPublisher(world.topic_arn, client=world.client("sns")),
                    clock=lambda checked_at=checked_at: checked_at,
                )
                started = time.perf_counter()
                summary = runner.run_provider(
                    "flashback",
                    {},
                    _Context(runner.RESERVE_SECONDS + budget),
                    dependencies=deps,
                    environ=env,
                )
                seconds = time.perf_counter() - started
                ok = {account["account"] for account in summary["accounts"] if account["ok"]}
                runs.append({"seconds": seconds, "checked": len(ok), "ok": ok})
                log(f"  starvation run {index + 1}: {len(ok)}/{STARVATION_ACCOUNTS} checked in {seconds:.1f} s")
        finally:
            logger.setLevel(level)
    finally:
        api.close()
    covered = runs[0]["ok"] | runs[1]["ok"]
    return {
        "accounts": STARVATION_ACCOUNTS,
        "provider_latency_seconds": STARVATION_LATENCY_SECONDS,
        "max_concurrency": STARVATION_CONCURRENCY,
        "budget_seconds": budget,
        "schedule_minutes": SCHEDULE_MINUTES,
        "runs": [{"seconds": run["seconds"], "checked": run["checked"]} for run in runs],
        "checked_within_two_runs": len(covered),
    }
