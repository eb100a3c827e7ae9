"""bench/results.md: the targets table first, then each measure's details, the cost formula and the notes."""

from __future__ import annotations

from typing import Any

from bench.cost import FORMULA, PRICE_NOTES


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _money(value: float) -> str:
    if value < 0.001:
        return f"${value:.6f}"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _calls(calls: dict[str, float]) -> str:
    return ", ".join(f"{count:g} {name.split('.', 1)[1]}" for name, count in calls.items()) or "none"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: what was measured, the target, and whether it is met (with the miss when it is not)."""
    rows: list[dict[str, Any]] = []

    def add(key: str, measure: str, value: str, target: str, met: bool, miss: str = "") -> None:
        rows.append({"id": key, "measure": measure, "result": value, "target": target, "met": met, "miss": miss})

    if p1 := results.get("p1"):
        ratio = p1["ratio"]
        add(
            "P1",
            f"cold-start overhead, candidate / naive eager init (medians of {p1['runs_each']} interleaved runs each)",
            f"{ratio:.2f} ({_ms(p1['candidate']['overhead_seconds_median'])} / "
            f"{_ms(p1['naive']['overhead_seconds_median'])})",
            "≤ 0.8",
            ratio <= 0.8,
            f"by {ratio - 0.8:.2f} (the candidate would need to be "
            f"{_ms(p1['candidate']['overhead_seconds_median'] - 0.8 * p1['naive']['overhead_seconds_median'])} faster)",
        )
    if p2 := results.get("p2"):
        checks = p2["checks"]
        met = checks["steady_reads"] == 1 and checks["steady_writes"] <= 1 and checks["steady_publishes"] == 0
        add(
            "P2",
            "AWS calls per account, steady state",
            f"{checks['steady_reads']:g} read, {checks['steady_writes']:g} write, {checks['steady_publishes']:g} "
            f"publishes ({_calls(p2['per_account']['steady_state'])})",
            "1 read, ≤ 1 write, 0 publishes",
            met,
        )
    if p3 := results.get("p3"):
        wall = p3["concurrent"]["handler_seconds_median"]
        add(
            "P3",
            f"{p3['accounts']} accounts, {p3['provider_latency_seconds'] * 1000:.0f} ms provider latency: wall time",
            f"{wall:.2f} s (process {p3['concurrent']['process_seconds_median']:.2f} s)",
            "≤ 10 s",
            wall <= 10,
            f"by {wall - 10:.2f} s",
        )
        add(
            "P3",
            "the same, speed-up over concurrency 1",
            f"{p3['speedup']:.1f}× ({p3['serial']['handler_seconds_median']:.1f} s serial)",
            "≥ 8×",
            p3["speedup"] >= 8,
            f"by {8 - p3['speedup']:.1f}×",
        )
        rss = max(p3["concurrent"]["peak_rss_mib_max"], p3["serial"]["peak_rss_mib_max"])
        add("P4", "peak RSS of that process", f"{rss:.1f} MiB", "≤ 128 MB", rss <= 128, f"by {rss - 128:.1f} MiB")
    if p3b := results.get("p3b"):
        path, starvation = p3b["path"], p3b["starvation"]
        add(
            "P3b",
            f"{path['accounts']} accounts from an SSM path ({path['parameters']} parameters), "
            f"{path['provider_latency_seconds'] * 1000:.0f} ms provider latency, one run with "
            f"{path['function_timeout_seconds']} s left: share checked (wall time)",
            f"{path['checked_share']:.0%} ({path['handler_seconds']:.1f} s)",
            "100%",
            path["checked"] == path["accounts"],
            f"by {path['accounts'] - path['checked']} accounts",
        )
        add(
            "P3b",
            "peak RSS of that process",
            f"{path['peak_rss_mib']:.1f} MiB",
            "≤ 128 MB",
            path["peak_rss_mib"] <= 128,
            f"by {path['peak_rss_mib'] - 128:.1f} MiB",
        )
        runs = ", ".join(f"{run['checked']}" for run in starvation["runs"])
        add(
            "P3b",
            f"starvation: {starvation['accounts']} accounts at {starvation['provider_latency_seconds']:g} s latency, "
            f"a budget for about half; checked per run ({runs}), checked within 2 consecutive runs",
            f"{starvation['checked_within_two_runs']}/{starvation['accounts']}",
            "every account",
            starvation["checked_within_two_runs"] == starvation["accounts"],
            f"by {starvation['accounts'] - starvation['checked_within_two_runs']} accounts",
        )
    if p5 := results.get("p5"):
        for name, layer in p5["layers"].items():
            size = layer["unzipped_bytes"] / 1e6
            bundled = layer["runtime_packages_bundled"]
            add(
                "P5",
                f"{name} unzipped (deploy build, boto3 {'BUNDLED' if bundled else 'not bundled'})",
                f"{size:.2f} MB ({layer['unzipped_bytes'] / 2**20:.2f} MiB; "
                f"zipped {layer['zipped_bytes'] / 1e6:.2f} MB)",
                "≤ 15 MB",
                size <= 15 and not bundled,
                f"by {size - 15:.2f} MB",
            )
        largest = p5["largest_function_bytes"]
        add("P5", "largest function code unzipped", f"{largest:,} B", "≤ 100 KB", largest <= 100_000)
    if p6 := results.get("p6"):
        row = p6["by_accounts"]["100"]
        add(
            "P6",
            "monthly cost per account at 100 accounts, 5-minute schedule (fixed costs apart)",
            f"{_money(row['per_account_variable'])} (+ fixed {_money(p6['fixed']['total'])}/month; all-in "
            f"{_money(row['per_account_all_in'])} per account)",
            "≤ $0.05",
            row["per_account_variable"] <= 0.05,
            f"by {_money(row['per_account_variable'] - 0.05)}",
        )
    forecasts = results.get("forecasts") or (results if "quality" in results else None)
    if forecasts:
        _forecast_targets(forecasts, add)
    return rows


ROBUST, NAIVE = "robust_slopes_q30_raw_q20", "naive_lsq_2h"


def _forecast_targets(forecasts: dict[str, Any], add: Any) -> None:
    """F1-F3 for the chosen estimator, with the naive baseline of the same run beside it; P6 with forecasts."""
    quality = forecasts["quality"]
    robust, naive = quality["estimators"][ROBUST], quality["estimators"][NAIVE]
    steady, steady_naive = robust["F1"]["steady_2_to_14_days"], naive["F1"]["steady_2_to_14_days"]
    lead, lead_naive = steady["lead_24h_share"], steady_naive["lead_24h_share"]
    add("F1a", f"steady burns of 2-14 days (n={steady['traces']}) forecast >= 24 h before they run out",
        f"{lead:.1%} (naive {lead_naive:.1%})", "≥ 95%", lead >= 0.95, f"by {0.95 - lead:.1%}")  # fmt: skip
    before, before_naive = steady["before_threshold_warning_share"], steady_naive["before_threshold_warning_share"]
    add("F1b", "steady burns forecast before the 80% threshold warning", f"{before:.1%} (naive {before_naive:.1%})",
        "≥ 90%", before >= 0.9, f"by {0.9 - before:.1%}")  # fmt: skip
    for reset_kind in ("dated", "estimated"):
        share, naive_share = robust["F2"][reset_kind]["false_alarm_share"], naive["F2"][reset_kind]["false_alarm_share"]
        add(f"F2 {reset_kind}", f"false alarms, {reset_kind} resets (n={robust['F2'][reset_kind]['traces']})",
            f"{share:.1%} (naive {naive_share:.1%})", "≤ 2%", share <= 0.02, f"by {share - 0.02:.1%}")  # fmt: skip
    pairs, pairs_naive = robust["F2"]["seasonal_pairs_per_trace"], naive["F2"]["seasonal_pairs_per_trace"]
    add("F2 pairs", "forecast/cleared pairs per seasonal trace", f"{pairs:.2f} (naive {pairs_naive:.2f})", "≤ 1",
        pairs <= 1, f"by {pairs - 1:.2f}")  # fmt: skip
    year = quality["F3"]["year"]
    item = year.get("item_bytes_10_metrics", 0)
    add("F3", "stored item of 10 metrics after a year of 5-minute checks (empty outbox)",
        f"{item:,} B (forecast state {year['final_bytes_total']:,} B; {year['cpu_ms_per_account_run_10_metrics']} "
        f"ms CPU per account-run)", "≤ 4 KB", item <= 4096, f"by {item - 4096} B")  # fmt: skip
    add("F time", "forecast-quality bench wall time", f"{quality['wall_seconds']:.0f} s", "≤ 180 s",
        quality["wall_seconds"] <= 180, f"by {quality['wall_seconds'] - 180:.0f} s")  # fmt: skip
    if with_forecasts := forecasts.get("p6_with_forecasts"):
        row = with_forecasts["by_accounts"]["100"]
        cache_minutes = with_forecasts["inputs"]["key_cache_seconds"] / 60
        add("P6 forecasts",
            f"monthly cost per account at 100 accounts with forecasts on (10-metric item, {cache_minutes:.0f}-min key "
            "cache, warm function)",
            f"{_money(row['per_account_variable'])} ({_money(row['per_account_variable_every_run_cold'])} if every "
            "run were cold)", "≤ $0.05", row["per_account_variable"] <= 0.05,
            f"by {_money(row['per_account_variable'] - 0.05)}")  # fmt: skip


def render_targets(rows: list[dict[str, Any]]) -> str:
    return "\n".join(target_table(rows))


def target_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| # | measure | result | target | status |", "|---|---|---|---|---|"]
    for row in rows:
        status = "met" if row["met"] else f"**missed** {row['miss']}"
        lines.append(f"| {row['id']} | {row['measure']} | {row['result']} | {row['target']} | {status} |")
    return lines


def render(results: dict[str, Any]) -> str:
    lines = ["# `make bench` results", ""]
    machine = results["machine"]
    lines += [
        f"Measured {results['finished_at']} on {machine['cpu']} ({machine['cpus']} CPUs), Python "
        f"{machine['python']}, load average {machine['load_before']} before and {machine['load_after']} after; "
        f"`make bench` took {results['seconds']:.0f} s (measurements only, builds excluded).",
        "All ratios are taken in this one run on this one machine. Nothing here calls AWS: DynamoDB Local, moto "
        "server and loopback HTTP stand in.",
        "",
        "| # | measure | result | target | status |",
        "|---|---|---|---|---|",
    ]
    lines += target_table(results["targets"])[2:]
    lines.append("")
    lines += _p1(results.get("p1")) + _p2(results.get("p2")) + _p3(results.get("p3"))
    lines += _p5(results.get("p5")) + _p6(results.get("p6"))
    notes = results.get("notes", [])
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(lines)


def _p1(p1: dict[str, Any] | None) -> list[str]:
    if not p1:
        return []
    labels = {
        "candidate": "candidate: build/host/FlashbackFunction + SharedLayer",
        "naive": "naive eager init (bench/variants/naive), same run_provider",
        "libraries": "floor: boto3, requests, pydantic, Logger/Metrics only, empty handler",
        "runtime": "runtime only: interpreter + awslambdaric, empty handler",
    }
    lines = [
        "## P1: cold start",
        "",
        "A fresh `python -m awslambdaric app.handler` process per sample, on the host build, against a local "
        "Runtime API, the local stack and an instant loopback provider, one account (accounts JSON and key in "
        "SSM, as deployed). Cold = process start to the first result; warm = the same event again in that "
        f"process (median of {p1['warm_invokes_per_process']}); overhead = cold - warm. Medians of "
        f"{p1['runs_each']} runs each, all variants interleaved.",
        "",
        "| variant | cold | warm | overhead | overhead, own CPU time | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for variant, label in labels.items():
        data = p1[variant]
        lines.append(
            f"| {label} | {_ms(data['cold_seconds_median'])} | {_ms(data['warm_seconds_median'])} | "
            f"{_ms(data['overhead_seconds_median'])} | {_ms(data['cpu_overhead_seconds_median'])} | "
            f"{data['peak_rss_mib_median']:.1f} MiB |"
        )
    candidate = p1["candidate"]["overhead_seconds_median"]
    naive = p1["naive"]["overhead_seconds_median"]
    floor = p1["libraries"]["overhead_seconds_median"]
    lines += [
        "",
        f"Ratio {candidate / naive:.2f} (in the processes' own CPU time: {p1['cpu_ratio']:.2f}). "
        f"What lazy init saves over the naive script: {_ms(naive - candidate)}. "
        f"What the candidate pays beyond the libraries it must load: {_ms(candidate - floor)} "
        "(our package's imports and pydantic models, the DynamoDB, SNS and SSM clients, two SSM reads, the GET, "
        "GetItem and PutItem, and the first connections).",
        "",
    ]
    return lines


def _p2(p2: dict[str, Any] | None) -> list[str]:
    if not p2:
        return []
    per_account = p2["per_account"]
    reads = p2["secret_reads_per_run"]
    return [
        "## P2: AWS calls per account",
        "",
        f"{p2['accounts']} accounts ({p2['key_sources']}); counted with botocore `before-call` hooks on every "
        "client, including those Powertools creates.",
        "",
        "| run | DynamoDB and SNS calls per account |",
        "|---|---|",
        f"| first check of an account | {_calls(per_account['first_check'])} |",
        f"| steady state | {_calls(per_account['steady_state'])} |",
        f"| steady state, cold process | {_calls(per_account['steady_state_cold_process'])} |",
        f"| transition (ok → warning) | {_calls(per_account['transition'])} |",
        f"| steady state after it | {_calls(per_account['steady_state_after_transition'])} |",
        "",
        f"SSM and Secrets Manager reads per run (all {p2['accounts']} accounts): cold process "
        f"{_calls(reads['cold'])}; warm {_calls(reads['warm'])} (Powertools cache, 300 s). The steady-state "
        "PutItem is the write that refreshes the TTL and `checked_at`.",
        "",
        f"Stored item: {p2['item']['dynamodb_size_bytes']:,} B by DynamoDB's size rules "
        f"({p2['item']['json_bytes']:,} B as JSON); alert document {p2['alert_document_bytes']:,} B. Log output "
        f"of a steady run of {p2['accounts']} accounts: {p2['log_bytes']['steady_state_run']:,} B in "
        f"{p2['log_bytes']['steady_state_lines']} lines.",
        "",
    ]


def _p3(p3: dict[str, Any] | None) -> list[str]:
    if not p3:
        return []
    lines = [
        "## P3 and P4: scale and memory",
        "",
        f'{p3["accounts"]} accounts, `{{"env": VAR}}` keys, a loopback provider that answers after '
        f"{p3['provider_latency_seconds'] * 1000:.0f} ms (one thread per connection), steady state, one fresh "
        "process per run calling the built handler. Concurrency 1 sets `MAX_CONCURRENCY=1`; both runs report "
        "15 minutes left, and the provider budget follows it (200 serial calls take 40 s).",
        "",
        "| run | handler wall | process wall | peak RSS | calls |",
        "|---|---|---|---|---|",
    ]
    for name in ("concurrent", "serial"):
        for sample in p3[name]["samples"]:
            calls = ", ".join(f"{v} {k.split('.')[1]}" for k, v in sorted(sample["calls"].items()))
            label = "concurrency 16" if name == "concurrent" else "concurrency 1"
            lines.append(
                f"| {label} | {sample['handler_seconds']:.2f} s | {sample['process_seconds']:.2f} s | "
                f"{sample['peak_rss_mib']:.1f} MiB | {calls} |"
            )
    lines += ["", f"Speed-up {p3['speedup']:.1f}× (medians).", ""]
    return lines


def _p5(p5: dict[str, Any] | None) -> list[str]:
    if not p5:
        return []
    lines = ["## P5: size", "", f"From `{p5['build_dir']}` (the deploy build). MB = 10^6 bytes.", ""]
    for name, layer in p5["layers"].items():
        largest = ", ".join(f"{package} {size / 1e6:.2f}" for package, size in list(layer["distributions"].items())[:9])
        lines += [
            f"- {name}: {layer['unzipped_bytes'] / 1e6:.2f} MB unzipped in {layer['files']} files "
            f"(`du -sb` says {layer['du_apparent_bytes'] / 1e6:.2f} MB: it adds 4 KiB per directory), "
            f"{layer['zipped_bytes'] / 1e6:.2f} MB zipped; runtime packages bundled: "
            f"{', '.join(layer['runtime_packages_bundled']) or 'none'}. Largest (MB): {largest}.",
            f"  - Only needed with Tracing=Active: aws-xray-sdk and wrapt, {layer['tracing_only_bytes'] / 1e6:.2f} MB "
            f"(a layer without them: {(layer['unzipped_bytes'] - layer['tracing_only_bytes']) / 1e6:.2f} MB).",
            "  - With AWS's public Powertools layer (not measured: fetching it needs AWS) our layer would keep only "
            f"what it lacks, {layer['without_public_powertools_layer_bytes'] / 1e6:.2f} MB (shared, requests and "
            "its dependencies); the public layer itself, built with the [all] extras, adds its own size on top.",
        ]
    sizes = ", ".join(f"{name} {f['unzipped_bytes']} B" for name, f in p5["functions"].items())
    lines += [f"- Functions: {sizes}.", ""]
    return lines


def _p6(p6: dict[str, Any] | None) -> list[str]:
    if not p6:
        return []
    inputs = p6["inputs"]
    lines = [
        "## P6: cost",
        "",
        f"One provider function, scheduled every 5 minutes ({p6['runs_per_month']} runs a month), "
        f"MemorySize {p6['memory_mb']} MB (template.yaml), keys in SSM SecureString, steady state (no "
        f"transitions; each one adds {_money(p6['per_transition']['total'])}). Prices: us-east-1, "
        f"{p6['price_date']}, without free tiers.",
        "",
        "| accounts | billed s/run (cold) | Lambda | DynamoDB | KMS requests | logs | variable | per account "
        "(variable) | total incl. fixed | per account (all-in) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in p6["by_accounts"].values():
        lines.append(
            f"| {row['accounts']} | {row['billed_seconds_per_run']:.2f} s | {_money(row['lambda'])} | "
            f"{_money(row['dynamodb'])} | {_money(row['kms_requests'])} | {_money(row['logs'])} | "
            f"{_money(row['variable'])} | {_money(row['per_account_variable'])} | {_money(row['total'])} | "
            f"{_money(row['per_account_all_in'])} |"
        )
    fixed = p6["fixed"]
    lines += [
        "",
        f"Fixed, per month, whatever the number of accounts: {inputs['custom_metrics']} custom metrics "
        f"{_money(fixed['custom_metrics'])}, {len(inputs['alarms'])} alarms {_money(fixed['alarms'])} "
        f"({', '.join(inputs['alarms'])}), {len(inputs['kms_keys'])} customer-managed KMS key "
        f"{_money(fixed['kms_keys'])}: {_money(fixed['total'])}.",
        "",
        f"Inputs: {inputs['reads_per_account_per_run']:g} GetItem ({inputs['rru_per_read']} RRU) and "
        f"{inputs['writes_per_account_per_run']:g} PutItem ({inputs['wru_per_write']} WRU, item "
        f"{inputs['item_bytes']} B) per account per run; {inputs['ssm_key_reads_per_account_per_run']:g} SSM "
        f"SecureString read per account per run; logs {inputs['log_bytes_fixed_per_run']:,.0f} B per run + "
        f"{inputs['log_bytes_per_account_per_run']:,.0f} B per account per run (fitted on the measured runs).",
        "",
        "```",
        FORMULA,
        "```",
        "",
        "Prices:",
        "",
    ]
    lines += [f"- {note}" for note in PRICE_NOTES]
    sensitivity = p6.get("cpu_sensitivity")
    lines += [
        "",
        f"Keys in Secrets Manager instead of SSM would add {_money(p6['secrets_manager_keys_extra_per_account'])} "
        "per account per month ($0.40 per secret).",
    ]
    if sensitivity:
        row = sensitivity["by_accounts"]["100"]
        lines.append(
            f"If every billed second took {sensitivity['cpu_factor']:.1f}× longer on a {p6['memory_mb']} MB Lambda "
            f"than here (the CPU share of 256 MB against 1769 MB = 1 vCPU; an upper bound, since waits do not "
            f"scale), 100 accounts would cost {_money(row['per_account_variable'])} per account."
        )
    lines.append("")
    return lines
