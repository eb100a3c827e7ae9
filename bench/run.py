"""`make bench`: every measure of issue 7 in one run, written to bench/results.json and bench/results.md.

    .venv/bin/python -m bench.run               # everything (needs `make build build-host`)
    .venv/bin/python -m bench.run --runs 7 --scale-repeats 1
    .venv/bin/python -m bench.run --only P3b    # P3b alone, written to results-P3b.json
    .venv/bin/python -m bench.run --only F      # F1-F3 and P6 with forecasts alone, written to results-F.json

Run it on a quiet machine: it waits (a little) for the load average to fall first, and records it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import accounts_path, calls, coldstart, cost, forecast_quality, report, scale, size
from bench.world import BENCH_DIR, running_world
from shared.secrets import API_KEY_CACHE_SECONDS

QUIET_LOAD = 1.5
PROVIDER_LATENCY_SECONDS = 0.2


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def wait_for_quiet(max_seconds: float, log: Callable[[str], None]) -> None:
    """Wait until the 1-minute load average is below 1.5, for at most ``max_seconds``."""
    deadline = time.monotonic() + max_seconds
    while (load := load_average()) >= QUIET_LOAD and time.monotonic() < deadline:
        log(f"load average {load} >= {QUIET_LOAD}: waiting for the machine to be quiet")
        time.sleep(10)
    if load >= QUIET_LOAD:
        log(f"load average still {load}: measuring anyway (ratios are interleaved; absolute times may be high)")


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


@contextlib.contextmanager
def section(name: str, timings: dict[str, float], log: Callable[[str], None]) -> Iterator[None]:
    log(f"{name} (load {load_average()})")
    started = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - started, 1)
    log(f"{name}: {timings[name]} s")


def notes(results: dict[str, Any]) -> list[str]:
    """What each missed target misses by, and why, from the numbers of this run."""
    out: list[str] = []
    p1, p6 = results.get("p1"), results.get("p6")
    if p1 and p1["ratio"] > 0.8:
        candidate = p1["candidate"]["overhead_seconds_median"]
        naive = p1["naive"]["overhead_seconds_median"]
        floor = p1["libraries"]["overhead_seconds_median"]
        out.append(
            f"P1 misses ≤ 0.8 by {p1['ratio'] - 0.8:.2f} (in the processes' own CPU time the ratio is "
            f"{p1['cpu_ratio']:.2f}). Why: the naive script differs from the candidate only in what it does "
            f"eagerly, `Tracer()` and the SNS client, and that measures {(naive - candidate) * 1000:.0f} ms here. "
            f"Both load the same libraries ({floor * 1000:.0f} ms for them alone) and do the same invocation work "
            f"({(candidate - floor) * 1000:.0f} ms over that floor for the candidate: our package's imports and "
            "pydantic models, three botocore clients, the SSM reads and the first calls). In Lambda's environment "
            "(`LAMBDA_TASK_ROOT` set) the X-Ray SDK uses local sampling and creates no botocore clients, so "
            "`Tracer()` costs about 0.1 s; the 250–450 ms of TOOLING.md is its cost outside Lambda, where the "
            "SDK's centralized sampler builds two X-Ray clients at import. A ratio of 0.8 would need the shared "
            "work to shrink, and that speeds the naive side up as much as the candidate."
        )
    p2 = results.get("p2")
    if p2 and p2["secret_reads_per_run"]["warm"]:
        created = p2["clients_created"]["cold_process_first_run"]
        out.append(
            f"P2: a warm run still read {sum(p2['secret_reads_per_run']['warm'].values())} secret(s) that the cold "
            "run had cached. Powertools creates its default provider on first use without a lock, on a new boto3 "
            "Session; accounts checked concurrently each create one (the cold run created "
            f"{created.get('client:secretsmanager', 0)} Secrets Manager clients for "
            f"{p2['accounts'] // 2} secrets), and all but the last provider's cache is lost."
        )
    if p6:
        row = p6["by_accounts"]["100"]
        kms = row["kms_requests"] / row["accounts"]
        out.append(
            f"P6: the largest per-account cost is the KMS decrypt behind each SSM SecureString read, "
            f"${kms:.4f} a month: the 300 s secret cache never survives to the next 5-minute run."
        )
        if row["per_account_all_in"] > 0.05 >= row["per_account_variable"]:
            out.append(
                f"P6: the variable cost per account at 100 accounts is ${row['per_account_variable']:.4f} a month; "
                f"with the fixed ${p6['fixed']['total']:.2f} a month spread over the 100 accounts it is "
                f"${row['per_account_all_in']:.4f}, over $0.05. The fixed part is the customer-managed KMS key of "
                "the ops topic, the alarms and the four custom metrics."
            )
    return out


def measure_p3b(world: Any, log: Callable[[str], None]) -> dict[str, Any]:
    return {"path": accounts_path.measure_path(world, log), "starvation": accounts_path.measure_starvation(world, log)}


def run_p3b_alone(output: Path, log: Callable[[str], None], load_before: float) -> int:
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}
    with running_world(PROVIDER_LATENCY_SECONDS) as world, section("P3b accounts path", timings, log):
        results["p3b"] = measure_p3b(world, log)
    results["targets"] = report.targets(results)
    results["load"] = {"before": load_before, "after": load_average()}
    results["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    output.mkdir(parents=True, exist_ok=True)
    (output / "results-P3b.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n".join(report.target_table(results["targets"])))
    return 0


def measure_forecasts(p6: dict[str, Any] | None, log: Callable[[str], None]) -> dict[str, Any]:
    """F1-F3 (the forecast-quality bench, beside its naive baseline), and P6 with forecasts on."""
    quality = forecast_quality.run(traces=300, seed=12, workers=2, year_days=365)
    forecast_quality.print_report(quality)
    year = quality["F3"]["year"]
    result: dict[str, Any] = {"quality": quality}
    if p6 is not None:
        result["p6_with_forecasts"] = cost.with_forecasts(
            p6, year["item_bytes_10_metrics"], year["cpu_ms_per_account_run_10_metrics"], API_KEY_CACHE_SECONDS
        )
    return result


def run_forecasts_alone(output: Path, log: Callable[[str], None], load_before: float) -> int:
    """F alone: P6 with forecasts builds on the P6 of the last full run (bench/results.json), if there is one."""
    started = time.perf_counter()
    last_full = output / "results.json"
    p6 = json.loads(last_full.read_text())["p6"] if last_full.exists() else None
    results = measure_forecasts(p6, log)
    results["p6_from"] = str(last_full) if p6 is not None else None
    results["targets"] = report.targets(results)
    results["machine"] = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": load_average()}
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    output.mkdir(parents=True, exist_ok=True)
    (output / "results-F.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(report.render_targets(results["targets"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="P1 cold starts per variant (at least 7)")
    parser.add_argument("--scale-repeats", type=int, default=2, help="P3 runs per concurrency")
    parser.add_argument("--max-wait", type=float, default=120, help="seconds to wait for a quiet machine")
    parser.add_argument("--output", type=Path, default=BENCH_DIR, help="where results.json and results.md go")
    parser.add_argument("--only", choices=["P3b", "F"], help="run one measure alone; writes results-<it>.json")
    args = parser.parse_args(argv)
    if args.runs < 7:
        parser.error("P1 takes the median of at least 7 runs each")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log

    def log(message: str) -> None:
        print(message, flush=True)

    started = time.perf_counter()
    wait_for_quiet(args.max_wait, log)
    load_before = load_average()
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}
    if args.only == "P3b":
        return run_p3b_alone(args.output, log, load_before)
    if args.only == "F":
        return run_forecasts_alone(args.output, log, load_before)
    with section("P5 size", timings, log):
        results["p5"] = size.measure()
    with running_world(PROVIDER_LATENCY_SECONDS) as world:
        with section("P1 cold start", timings, log):
            results["p1"] = coldstart.measure(world, args.runs, log)
        with section("P2 calls", timings, log):
            results["p2"] = calls.measure(world)
        with section("P3/P4 scale and memory", timings, log):
            results["p3"] = scale.measure(world, args.scale_repeats, log)
        with section("P6 durations", timings, log):
            durations = scale.measure_durations(world, log)
        with section("P3b accounts path", timings, log):
            results["p3b"] = measure_p3b(world, log)
    facts = cost.template_facts(world.template)
    results["p6"] = cost.estimate(facts, results["p2"], durations)
    results["p6"]["durations"] = durations
    results["p6"]["cpu_sensitivity"] = cost.estimate(facts, results["p2"], durations, cost.CPU_SENSITIVITY)
    with section("F forecast quality", timings, log):
        results["forecasts"] = measure_forecasts(results["p6"], log)
    results["targets"] = report.targets(results)
    results["notes"] = notes(results)
    results["machine"] = {
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_before": load_before,
        "load_after": load_average(),
    }
    results["section_seconds"] = timings
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    markdown = report.render(results)
    (args.output / "results.md").write_text(markdown)
    print()
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
