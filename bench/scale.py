"""P3 and P4: 200 accounts of one provider, 200 ms of provider latency, in one process that calls the handler.

Each run is a fresh driver process on the host build (bench/driver.py): the handler's wall time, the
process's wall time and its peak RSS (VmHWM, which starts afresh at exec; ``ru_maxrss`` would carry the
forking parent's). The same run at concurrency 1 sets ``MAX_CONCURRENCY=1`` in its environment.
Both runs get the same time budget: the runner's budget follows the remaining time, and 200 serial calls of
200 ms need 40 s, so the context reports 15 minutes left in both. The accounts are checked once first,
untimed, so that timed runs are steady state.

Also, for P6: steady-state runs of 1, 10 and 100 accounts configured as deployed (accounts JSON and keys
in SSM), cold process then warm with the secret cache expired, as a 5-minute schedule sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.world import PROVIDER_KEY_VARIABLE, DriverResult, World, accounts_ok, median, run_driver

SCALE_ACCOUNTS = 200
REMAINING_MS = 900_000
COST_ACCOUNT_COUNTS = (1, 10, 100)


def _scale_accounts(world: World) -> list[dict[str, Any]]:
    url = world.provider_base_url(slow=True)
    return [
        {"name": f"scale-{index:03d}", "base_url": url, "api_key": {"env": PROVIDER_KEY_VARIABLE}}
        for index in range(SCALE_ACCOUNTS)
    ]


def _scale_run(world: World, env: dict[str, str], workers: int | None) -> DriverResult:
    if workers is not None:
        env = {**env, "MAX_CONCURRENCY": str(workers)}
    result = run_driver(world, env, [{"remaining_ms": REMAINING_MS}], timeout=900)
    checked = accounts_ok(result.runs[0]["summary"])
    if checked != SCALE_ACCOUNTS:
        raise RuntimeError(f"P3: only {checked} of {SCALE_ACCOUNTS} accounts were checked")
    return result


def _describe(result: DriverResult) -> dict[str, Any]:
    run = result.runs[0]
    return {
        "handler_seconds": run["seconds"],
        "process_seconds": result.wall_seconds,
        "init_seconds": result.init_seconds,
        "peak_rss_mib": result.peak_rss_mib,
        "calls": {k: v for k, v in run["calls"].items() if not k.startswith("client:")},
        "log_bytes": len(result.run_logs[0]),
    }


def measure(world: World, repeats: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    env = world.environment_with_accounts(_scale_accounts(world))
    _scale_run(world, env, None)  # first check of the 200 accounts, untimed
    samples: dict[str, list[dict[str, Any]]] = {"concurrent": [], "serial": []}
    for index in range(repeats):
        order = ("concurrent", "serial") if index % 2 == 0 else ("serial", "concurrent")
        for name in order:
            sample = _describe(_scale_run(world, env, None if name == "concurrent" else 1))
            samples[name].append(sample)
            log(
                f"  P3 {index + 1}/{repeats} {name:10s} handler {sample['handler_seconds']:6.2f} s, "
                f"process {sample['process_seconds']:6.2f} s, peak RSS {sample['peak_rss_mib']:5.1f} MiB"
            )
    summary: dict[str, Any] = {"accounts": SCALE_ACCOUNTS, "provider_latency_seconds": world.slow_provider_api.delay}
    for name, runs in samples.items():
        summary[name] = {
            "handler_seconds_median": median([run["handler_seconds"] for run in runs]),
            "process_seconds_median": median([run["process_seconds"] for run in runs]),
            "peak_rss_mib_max": max(run["peak_rss_mib"] for run in runs),
            "samples": runs,
        }
    summary["speedup"] = summary["serial"]["handler_seconds_median"] / summary["concurrent"]["handler_seconds_median"]
    return summary


def measure_durations(world: World, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Billed-duration inputs for P6: N accounts as deployed, 200 ms provider latency, cold and warm."""
    largest = max(COST_ACCOUNT_COUNTS)
    url = world.provider_base_url(slow=True)
    accounts = [
        {"name": f"cost-{index:03d}", "base_url": url, "api_key": world.ssm_key(f"cost-{index:03d}")}
        for index in range(largest)
    ]
    world.put_accounts(accounts)
    run_driver(world, world.function_env, [{}], count_calls=False)  # first checks, untimed
    results: dict[str, Any] = {}
    for count in COST_ACCOUNT_COUNTS:
        world.put_accounts(accounts[:count])
        result = run_driver(world, world.function_env, [{}, {"expire_secret_cache": True}], count_calls=False)
        cold, warm = result.runs
        for run in result.runs:
            if accounts_ok(run["summary"]) != count:
                raise RuntimeError(f"P6: a run of {count} accounts did not check them all")
        results[str(count)] = {
            "init_seconds": result.init_seconds,
            "cold_invoke_seconds": cold["seconds"],
            "warm_invoke_seconds": warm["seconds"],
            "peak_rss_mib": result.peak_rss_mib,
            "log_bytes_cold_run": len(result.run_logs[0]),
            "log_bytes_warm_run": len(result.run_logs[1]),
            "log_lines_warm_run": result.run_logs[1].count(b"\n"),
        }
        log(
            f"  P6 {count:3d} account(s): init {result.init_seconds:5.2f} s, cold invoke {cold['seconds']:5.2f} s, "
            f"warm invoke {warm['seconds']:5.2f} s, logs {len(result.run_logs[1])} B/run"
        )
    return results
