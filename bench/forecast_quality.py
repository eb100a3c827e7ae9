"""Forecast quality (F1-F3): seeded usage traces replayed through the pure forecast core at 5-minute checks,
side by side with a naive baseline (least squares over the last 2 hours, same level and publish rules).

    .venv/bin/python -m bench.forecast_quality [--traces 300] [--seed 12] [--workers 2] [--out PATH]

F1 lead time: for traces that run out before their reset, the share with a ``forecast`` alert at least 24 h
before exhaustion and the share alerted before the 80 % threshold warning; median and 5th-percentile lead.
F2 false alarms: for traces that do not run out before their reset, the share with any ``forecast`` alert,
by how the reset is known (dated, undated but estimated, no period); forecast/cleared pairs per seasonal trace.
F3 cost: encoded forecast state after a simulated year of 5-minute checks for 10 metrics, and CPU per run.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.forecast_traces import BASE_TIME, CHECK, CLASSES, STEP_HOURS, TRACE_PARAMETERS, Trace, make_trace
from shared.forecast import (
    Estimator,
    ForecastKind,
    ForecastSettings,
    ForecastState,
    least_squares_rate,
    robust_rate,
    step,
)
from shared.history import History, to_minute
from shared.models import Level

WARNING_PERCENT, CRITICAL_PERCENT, HYSTERESIS_PERCENT = 80.0, 95.0, 5.0
SETTINGS = ForecastSettings(warning_hours=168, critical_hours=24)
ESTIMATORS: dict[str, Estimator] = {"robust_slopes_q30_raw_q20": robust_rate, "naive_lsq_2h": least_squares_rate}
PARAMETERS = {
    **TRACE_PARAMETERS,
    "thresholds": {"warning": WARNING_PERCENT, "critical": CRITICAL_PERCENT, "hysteresis": HYSTERESIS_PERCENT},
    "forecast_hours": {"warning": SETTINGS.warning_hours, "critical": SETTINGS.critical_hours},
}


@dataclass
class Outcome:
    kind: str
    reset_kind: str
    runs_out_before_reset: bool | None
    exhausted_at: float | None  # hours from the start
    threshold_warning_at: float | None
    first_forecast_at: float | None
    forecasts: int = 0
    cleared: int = 0
    cpu_seconds: float = 0.0
    steps: int = 0


class _Sample:
    __slots__ = ("limit", "period", "resets_at", "used")

    def __init__(self, used: float, limit: float, period: str | None, resets_at: datetime | None) -> None:
        self.used, self.limit, self.period, self.resets_at = used, limit, period, resets_at


def threshold_level(used: float, limit: float, previous: Level) -> Level:
    """The contract's threshold levels with hysteresis (as in the evaluator), for 80/95/5."""
    if used >= limit:
        return Level.EXHAUSTED
    percent = used / limit * 100
    raw = Level.CRITICAL if percent >= CRITICAL_PERCENT else Level.WARNING if percent >= WARNING_PERCENT else Level.OK
    if raw.rank >= previous.rank:
        return raw
    if previous.rank >= Level.CRITICAL.rank and percent >= CRITICAL_PERCENT - HYSTERESIS_PERCENT:
        return Level.CRITICAL
    if percent >= WARNING_PERCENT - HYSTERESIS_PERCENT:
        return Level.WARNING
    return Level.OK


def replay(trace: Trace, estimator: Estimator) -> Outcome:
    state = ForecastState(history=History(last_reset=to_minute(trace.seen_reset))) if trace.seen_reset else None
    previous = Level.OK
    exhausted_at = warning_at = first_forecast_at = None
    forecasts = cleared = 0
    started = time.process_time()
    now = trace.start
    for index, (used, resets_at) in enumerate(zip(trace.used, trace.resets_at, strict=True)):
        hours = index * STEP_HOURS
        level = threshold_level(used, trace.limit, previous)
        if level is Level.EXHAUSTED and exhausted_at is None:
            exhausted_at = hours
        if level.rank >= Level.WARNING.rank and warning_at is None:
            warning_at = hours
        state, decision = step(
            state, _Sample(used, trace.limit, trace.period, resets_at), level, SETTINGS, now, estimator
        )
        if decision is not None:
            if decision.kind is ForecastKind.FORECAST:
                forecasts += 1
                if first_forecast_at is None:
                    first_forecast_at = hours
            else:
                cleared += 1
        previous = level
        now += CHECK
    reset_kind = "dated" if trace.dated else "estimated" if trace.period else "no_period"
    return Outcome(
        trace.kind,
        reset_kind,
        trace.runs_out_before_reset,
        exhausted_at,
        warning_at,
        first_forecast_at,
        forecasts,
        cleared,
        time.process_time() - started,
        len(trace.used),
    )


def _run_one(job: tuple[str, int, int]) -> dict[str, Outcome]:
    kind, index, seed = job
    trace = make_trace(kind, index, seed)
    return {name: replay(trace, estimator) for name, estimator in ESTIMATORS.items()}


# --- F3: a year of checks for 10 metrics ----------------------------------------------------------------


def simulate_year(seed: int, metrics: int = 10, days: int = 365) -> dict[str, Any]:
    """10 metrics of varied shapes, 5-minute checks for a year: encoded sizes, and CPU per account-run."""
    rng = random.Random(f"{seed}/year")  # noqa: S311 (a seeded simulation)
    periods = ["monthly", "daily", None, "monthly", "weekly", "all_time", "monthly", None, "yearly", "daily"]
    limits = [10 ** rng.uniform(2, 12) for _ in range(metrics)]
    used = [rng.uniform(0.05, 0.5) * limit for limit in limits]
    states: list[ForecastState | None] = [None] * metrics
    largest = [0] * metrics
    now = BASE_TIME
    checks = days * 288
    run_cpu: list[float] = []
    for check in range(checks):
        timed = check % 97 == 0
        started = time.process_time() if timed else 0.0
        for metric in range(metrics):
            limit, period = limits[metric], periods[metric]
            midnight = now.hour == 0 and now.minute == 0
            if midnight and (
                period == "daily"
                or (period == "monthly" and now.day == 1)
                or (period == "weekly" and now.weekday() == 0)
            ):
                used[metric] = 0.0
            burn = rng.uniform(0, 0.002) * limit if 8 <= now.hour < 18 else rng.uniform(0, 0.0002) * limit
            used[metric] = min(limit, max(0.0, used[metric] + burn + rng.uniform(-0.001, 0.001) * limit))
            if period in (None, "all_time", "yearly") and used[metric] >= 0.97 * limit:
                used[metric] *= 0.6  # a gauge that is cleaned up, or a cap that was raised
            previous = states[metric]
            if timed and previous is not None:
                previous = ForecastState.decode(previous.encode())  # a run reads and writes the item
            state, _ = step(
                previous,
                _Sample(used[metric], limit, period, None),
                threshold_level(used[metric], limit, Level.OK),
                SETTINGS,
                now,
            )
            if timed or now.minute == 0:  # sizes hourly: encoding every check would double the run
                largest[metric] = max(largest[metric], len(state.encode()))
            states[metric] = state
        if timed:
            run_cpu.append(time.process_time() - started)
        now += CHECK
    final = [len(state.encode()) for state in states if state is not None]
    item = whole_item_bytes([state.encode() for state in states if state is not None], used, limits, periods, now)
    return {
        "days": days,
        "metrics": metrics,
        "checks_per_metric": checks,
        "final_bytes_per_metric": final,
        "final_bytes_total": sum(final),
        "largest_bytes_per_metric": largest,
        "largest_bytes_total": sum(largest),
        "cpu_ms_per_account_run_10_metrics": round(statistics.median(run_cpu) * 1000, 3),
        "item_bytes_10_metrics": item,
    }


def whole_item_bytes(
    forecasts: list[bytes], used: list[float], limits: list[float], periods: list[str | None], now: datetime
) -> int:
    """The whole DynamoDB item (empty outbox) of an account holding these metrics, ids and names of 20
    characters, as ``DynamoStateStore.save`` writes it, by DynamoDB's item-size rules."""
    from bench.calls import item_size
    from shared.models import AccountState, MetricState
    from shared.state_store import AccountRecord, DynamoStateStore

    captured: dict[str, Any] = {}

    class _Capture:
        def put_item(self, **request: Any) -> dict[str, Any]:
            captured.update(request["Item"])
            return {}

    metrics = {
        f"metric-{index:02d}-quota-usage-id"[:20]: MetricState(
            level=threshold_level(used[index], limits[index], Level.OK),
            name=f"Metric {index:02d} usage quota name"[:20],
            used=used[index],
            limit=limits[index],
            percent=round(used[index] / limits[index] * 100, 2),
            period=periods[index],
            last_alert_at=now,
            forecast=forecast,
        )
        for index, forecast in enumerate(forecasts)
    }
    state = AccountState(metrics=metrics, last_success_at=now, checked_at=now, run_id="0" * 32)
    store = DynamoStateStore("table", client=_Capture())  # type: ignore[arg-type]
    store.save("flashback", "production-eu-west-1", 41, AccountRecord(state, {}, now, now.timestamp() + 30 * 86400))
    return item_size(captured)


# --- report ----------------------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def summarise(outcomes: list[Outcome], traces_seconds: float) -> dict[str, Any]:
    f1: dict[str, Any] = {}
    by_kind: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.kind, []).append(outcome)
    for kind, group in by_kind.items():
        running_out = [o for o in group if o.runs_out_before_reset and o.exhausted_at is not None]
        leads = [
            o.exhausted_at - o.first_forecast_at  # type: ignore[operator]
            if o.first_forecast_at is not None and o.first_forecast_at <= o.exhausted_at  # type: ignore[operator]
            else 0.0
            for o in running_out
        ]
        before_warning = [
            o
            for o in running_out
            if o.first_forecast_at is not None
            and (o.threshold_warning_at is None or o.first_forecast_at < o.threshold_warning_at)
        ]
        f1[kind] = {
            "traces_running_out": len(running_out),
            "lead_24h_share": _share(sum(lead >= 24 for lead in leads), len(running_out)),
            "before_threshold_warning_share": _share(len(before_warning), len(running_out)),
            "lead_hours_median": None if not leads else round(statistics.median(leads), 1),
            "lead_hours_p5": None if not leads else round(_percentile(leads, 0.05) or 0.0, 1),
        }
    steady_target = [
        o
        for o in by_kind.get("steady", [])
        if o.runs_out_before_reset and o.exhausted_at is not None and o.exhausted_at >= 48
    ]
    steady_hits = sum(
        o.first_forecast_at is not None and o.exhausted_at - o.first_forecast_at >= 24  # type: ignore[operator]
        for o in steady_target
    )
    steady_before = sum(
        o.first_forecast_at is not None
        and (o.threshold_warning_at is None or o.first_forecast_at < o.threshold_warning_at)
        for o in steady_target
    )
    not_running_out = [
        o
        for o in outcomes
        if o.runs_out_before_reset is False or (o.runs_out_before_reset is None and o.kind in ("flat", "step", "gauge"))
    ]
    f2: dict[str, Any] = {}
    for reset_kind in ("dated", "estimated", "no_period"):
        group = [o for o in not_running_out if o.reset_kind == reset_kind]
        f2[reset_kind] = {
            "traces": len(group),
            "false_alarm_share": _share(sum(o.forecasts > 0 for o in group), len(group)),
        }
    f2["by_class"] = {
        kind: _share(sum(o.forecasts > 0 for o in group), len(group))
        for kind in CLASSES
        if (group := [o for o in not_running_out if o.kind == kind])
    }
    seasonal = by_kind.get("seasonal", [])
    f2["seasonal_pairs_per_trace"] = (
        round(sum(min(o.forecasts, o.cleared) for o in seasonal) / len(seasonal), 3) if seasonal else None
    )
    steps = sum(o.steps for o in outcomes)
    return {
        "F1": {
            "steady_2_to_14_days": {
                "traces": len(steady_target),
                "lead_24h_share": _share(steady_hits, len(steady_target)),
                "before_threshold_warning_share": _share(steady_before, len(steady_target)),
            },
            "by_class": f1,
        },
        "F2": f2,
        "cpu_us_per_check": round(sum(o.cpu_seconds for o in outcomes) / steps * 1e6, 1) if steps else None,
        "checks": steps,
    }


def run(traces: int, seed: int, workers: int, year_days: int) -> dict[str, Any]:
    started = time.perf_counter()
    jobs = [(kind, index, seed) for kind in CLASSES for index in range(traces)]
    results: dict[str, list[Outcome]] = {name: [] for name in ESTIMATORS}
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        year = pool.apply_async(simulate_year, (seed, 10, year_days))
        for result in pool.imap_unordered(_run_one, jobs, chunksize=8):
            for name, outcome in result.items():
                results[name].append(outcome)
        year_result = year.get()
    elapsed = time.perf_counter() - started
    return {
        "parameters": {**PARAMETERS, "seed": seed, "traces_per_class": traces, "workers": workers},
        "estimators": {name: summarise(outcomes, elapsed) for name, outcomes in results.items()},
        "F3": {"year": year_result},
        "wall_seconds": round(elapsed, 1),
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _rows(report: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    names = list(report["estimators"])
    pick = [report["estimators"][name] for name in names]
    yield ("measure", *names)
    steady = [p["F1"]["steady_2_to_14_days"] for p in pick]
    yield ("F1 steady 2-14 d: alert >= 24 h before (target >= 95%)", *(_pct(s["lead_24h_share"]) for s in steady))
    yield (
        "F1 steady 2-14 d: before 80% warning (target >= 90%)",
        *(_pct(s["before_threshold_warning_share"]) for s in steady),
    )
    for kind in CLASSES:
        cells = [p["F1"]["by_class"].get(kind, {}) for p in pick]
        if not cells[0].get("traces_running_out"):
            continue
        yield (
            f"F1 {kind} (n={cells[0]['traces_running_out']}): >=24h / before warning / median / p5 lead h",
            *(
                f"{_pct(c['lead_24h_share'])} / {_pct(c['before_threshold_warning_share'])} / "
                f"{c['lead_hours_median']} / {c['lead_hours_p5']}"
                for c in cells
            ),
        )
    for reset_kind in ("dated", "estimated", "no_period"):
        cells = [p["F2"][reset_kind] for p in pick]
        yield (
            f"F2 false alarms, {reset_kind} (n={cells[0]['traces']}, target <= 2%)",
            *(_pct(c["false_alarm_share"]) for c in cells),
        )
    for kind in CLASSES:
        if kind in pick[0]["F2"]["by_class"]:
            yield (f"F2   of which {kind}", *(_pct(p["F2"]["by_class"][kind]) for p in pick))
    yield (
        "F2 forecast/cleared pairs per seasonal trace (target <= 1)",
        *(_fmt(p["F2"]["seasonal_pairs_per_trace"]) for p in pick),
    )
    yield ("F3 CPU per check (us)", *(_fmt(p["cpu_us_per_check"]) for p in pick))


def print_report(report: dict[str, Any]) -> None:
    print("parameters:", json.dumps(report["parameters"], indent=1))
    rows = list(_rows(report))
    width = max(len(row[0]) for row in rows)
    for row in rows:
        print(row[0].ljust(width), " | ".join(cell.rjust(26) for cell in row[1:]))
    year = report["F3"]["year"]
    print(
        f"F3 a year ({year['days']} days) of 5-minute checks, {year['metrics']} metrics: forecast state "
        f"{year['final_bytes_total']} bytes at the end (largest seen {year['largest_bytes_total']}), "
        f"per metric {year['final_bytes_per_metric']}; CPU per account-run (decode, step, encode 10 metrics) "
        f"{year['cpu_ms_per_account_run_10_metrics']} ms; the whole stored item (10 metrics, empty outbox) "
        f"{year.get('item_bytes_10_metrics', '-')} bytes"
    )
    print(f"wall time {report['wall_seconds']} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--traces", type=int, default=300, help="traces per class (default 300)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--year-days", type=int, default=365)
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    args = parser.parse_args(argv)
    report = run(args.traces, args.seed, args.workers, args.year_days)
    print_report(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
