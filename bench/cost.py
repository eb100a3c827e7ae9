"""P6: the monthly cost of one provider function on a 5-minute schedule, from measured durations and calls.

Inputs measured by the other sections: billed duration per run (init + invoke) for 1, 10 and 100
accounts, AWS calls per account, the stored item's size, log bytes per run and the EMF metrics a run
defines. Inputs read from template.yaml: MemorySize, the alarms, the KMS keys. Prices are public
us-east-1 list prices, as of 2026-11, without free tiers.
"""

from __future__ import annotations

import math
from typing import Any

PRICE_DATE = "2026-11"
PRICES = {
    "lambda_arm64_gb_second": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "dynamodb_read_request_unit": 0.125 / 1e6,
    "dynamodb_storage_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "sns_publish": 0.50 / 1e6,
    "sns_email_delivery": 2.00 / 1e5,
    "cloudwatch_custom_metric_month": 0.30,
    "cloudwatch_standard_alarm_month": 0.10,
    "kms_customer_managed_key_month": 1.00,
    "kms_request": 0.03 / 1e4,
    "logs_ingestion_gb": 0.50,
    "scheduler_invocation": 1.00 / 1e6,
    "secrets_manager_secret_month": 0.40,
    "secrets_manager_api_call": 0.05 / 1e4,
}
PRICE_NOTES = [
    "Lambda arm64: $0.0000133334 per GB-s and $0.20 per 1M requests; the INIT phase is billed (a cold run bills"
    " init + invoke)",
    "DynamoDB on-demand: $0.625 per 1M write request units, $0.125 per 1M read request units (a strongly"
    " consistent read of up to 4 KB = 1 RRU; a write of up to 1 KB = 1 WRU, a conditional write is charged for"
    " the larger of the old and new item); storage $0.25 and PITR $0.20 per GB-month",
    "SNS: $0.50 per 1M publishes (the first 1M free each month is not counted), email deliveries $2 per 100k,"
    " deliveries to Lambda free",
    "CloudWatch: $0.30 per custom metric per month (one per metric name x dimension set), $0.10 per standard"
    " alarm per month; logs ingestion $0.50 per GB",
    "KMS: $1 per customer-managed key per month (rotation adds $1 a month per rotated key version after the"
    " first year), $0.03 per 10k requests, AWS-managed keys included (each SSM SecureString read decrypts"
    " once)",
    "EventBridge Scheduler: $1.00 per 1M invocations (the 14M free each month not counted)",
]
RUNS_PER_MONTH = 30 * 24 * 60 // 5  # every 5 minutes, 30 days: 8640
PLATFORM_LOG_BYTES = 330  # START, END and REPORT lines (with Init Duration) of one invocation
PLATFORM_LOG_EVENTS = 3
LOG_EVENT_OVERHEAD_BYTES = 26  # what CloudWatch Logs counts per event on top of the message: an upper bound
CPU_SENSITIVITY = 1769 / 256  # Lambda: 1 vCPU at 1769 MB; at 256 MB a CPU-bound second takes up to ~6.9 s

FORMULA = """\
R = 8640 runs/month (every 5 min, 30 days); N = accounts; M = MemorySize/1024 GB
D(N) = init(N) + invoke(N)                     measured billed seconds of a cold run (every run cold: the upper bound)
lambda(N)   = R x M x D(N) x $0.0000133334 + R x $0.20/1M + R x $1.00/1M (scheduler)
dynamodb(N) = R x N x [reads x ceil(item/4 KB) x $0.125/1M + writes x ceil(item/1 KB) x $0.625/1M]
kms(N)      = R x N x ssm_key_reads x $0.03/10k          (SecureString decrypts; the 300 s cache expires at 5 min)
logs(N)     = R x [log_bytes(N) + 330 B platform + 26 B x events(N)] / 1e9 x $0.50
fixed       = metrics x $0.30 + alarms x $0.10 + kms_keys x $1.00
total(N)    = lambda(N) + dynamodb(N) + kms(N) + logs(N) + fixed;  per account = (total(N) - fixed) / N
transition  = + 1 publish x $0.50/1M + 1 email x $2/100k + UpdateItem x ceil(item_with_outbox/1 KB) x $0.625/1M"""


def template_facts(template: dict[str, Any], provider_logical_prefix: str = "Flashback") -> dict[str, Any]:
    """MemorySize, the alarms that exist with this one provider scheduled, and the KMS keys."""
    globals_ = template.get("Globals", {}).get("Function", {})
    resources = template["Resources"]
    function = resources[f"{provider_logical_prefix}Function"]["Properties"]
    memory = int(function.get("MemorySize", globals_.get("MemorySize", 128)))
    alarms = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        condition = resource.get("Condition")
        if condition is None or condition == f"{provider_logical_prefix}Scheduled":
            alarms.append(logical_id)
    keys = [logical_id for logical_id, resource in resources.items() if resource["Type"] == "AWS::KMS::Key"]
    return {"memory_mb": memory, "alarms": alarms, "kms_keys": keys}


def _linear(points: dict[int, float]) -> tuple[float, float]:
    """(fixed, per-account) through the smallest and largest N."""
    low, high = min(points), max(points)
    slope = (points[high] - points[low]) / (high - low)
    return points[low] - slope * low, slope


def estimate(
    facts: dict[str, Any], calls: dict[str, Any], durations: dict[str, Any], cpu_factor: float = 1.0
) -> dict[str, Any]:
    prices = PRICES
    runs = RUNS_PER_MONTH
    memory_gb = facts["memory_mb"] / 1024
    steady = calls["per_account"]["steady_state"]
    reads = sum(v for k, v in steady.items() if k in ("dynamodb.GetItem", "dynamodb.BatchGetItem"))
    writes = sum(v for k, v in steady.items() if k.split(".")[1] in ("PutItem", "UpdateItem", "BatchWriteItem"))
    item_bytes = calls["item"]["dynamodb_size_bytes"]
    rru, wru = math.ceil(item_bytes / 4096), math.ceil(item_bytes / 1024)
    cold_reads = calls["secret_reads_per_run"]["cold"]
    ssm_key_reads = (cold_reads.get("ssm.GetParameter", 0) - 1) / (calls["accounts"] / 2)  # minus the accounts JSON
    metric_definitions = {
        (m["namespace"], m["metric"], tuple(sorted(m["dimensions"].items()))) for m in calls["emf"]["metrics"]
    }
    fixed_items = {
        "custom_metrics": len(metric_definitions) * prices["cloudwatch_custom_metric_month"],
        "alarms": len(facts["alarms"]) * prices["cloudwatch_standard_alarm_month"],
        "kms_keys": len(facts["kms_keys"]) * prices["kms_customer_managed_key_month"],
    }
    fixed = sum(fixed_items.values())
    log_bytes = {int(n): d["log_bytes_warm_run"] for n, d in durations.items()}
    log_lines = {int(n): d["log_lines_warm_run"] for n, d in durations.items()}
    log_fixed, log_per_account = _linear({n: float(b) for n, b in log_bytes.items()})
    rows = {}
    for n_text, measured in durations.items():
        n = int(n_text)
        seconds = (measured["init_seconds"] + measured["cold_invoke_seconds"]) * cpu_factor
        warm_seconds = measured["warm_invoke_seconds"] * cpu_factor
        lambda_cost = runs * memory_gb * seconds * prices["lambda_arm64_gb_second"]
        lambda_cost += runs * (prices["lambda_request"] + prices["scheduler_invocation"])
        dynamodb = (
            runs
            * n
            * (
                reads * rru * prices["dynamodb_read_request_unit"]
                + writes * wru * prices["dynamodb_write_request_unit"]
            )
        )
        storage_gb = n * item_bytes / 1e9
        dynamodb += storage_gb * (prices["dynamodb_storage_gb_month"] + prices["dynamodb_pitr_gb_month"])
        kms = runs * n * ssm_key_reads * prices["kms_request"]
        events = log_lines[n] + PLATFORM_LOG_EVENTS
        ingested = log_bytes[n] + PLATFORM_LOG_BYTES + LOG_EVENT_OVERHEAD_BYTES * events
        logs = runs * ingested / 1e9 * prices["logs_ingestion_gb"]
        variable = lambda_cost + dynamodb + kms + logs
        rows[n_text] = {
            "accounts": n,
            "billed_seconds_per_run": seconds,
            "warm_billed_seconds_per_run": warm_seconds,
            "lambda": lambda_cost,
            "lambda_if_warm": runs * memory_gb * warm_seconds * prices["lambda_arm64_gb_second"]
            + runs * (prices["lambda_request"] + prices["scheduler_invocation"]),
            "dynamodb": dynamodb,
            "kms_requests": kms,
            "logs": logs,
            "log_bytes_per_run": ingested,
            "variable": variable,
            "fixed": fixed,
            "total": variable + fixed,
            "per_account_variable": variable / n,
            "per_account_all_in": (variable + fixed) / n,
        }
    transition_item = item_bytes + calls["alert_document_bytes"] + 60  # the outbox entry: document, key, two numbers
    transition = {
        "sns_publish": prices["sns_publish"],
        "email_delivery": prices["sns_email_delivery"],
        "dynamodb_extra": math.ceil(transition_item / 1024) * prices["dynamodb_write_request_unit"]
        + (math.ceil(transition_item / 1024) - wru) * prices["dynamodb_write_request_unit"],
        "item_with_outbox_bytes": transition_item,
    }
    transition["total"] = transition["sns_publish"] + transition["email_delivery"] + transition["dynamodb_extra"]
    # A secret instead of a SecureString: the secret's monthly price and its API calls, less the KMS decrypts.
    secrets_manager_per_account = prices["secrets_manager_secret_month"] + runs * (
        prices["secrets_manager_api_call"] - ssm_key_reads * prices["kms_request"]
    )
    return {
        "price_date": PRICE_DATE,
        "runs_per_month": runs,
        "memory_mb": facts["memory_mb"],
        "cpu_factor": cpu_factor,
        "inputs": {
            "reads_per_account_per_run": reads,
            "writes_per_account_per_run": writes,
            "item_bytes": item_bytes,
            "rru_per_read": rru,
            "wru_per_write": wru,
            "ssm_key_reads_per_account_per_run": ssm_key_reads,
            "custom_metrics": len(metric_definitions),
            "alarms": facts["alarms"],
            "kms_keys": facts["kms_keys"],
            "log_bytes_fixed_per_run": log_fixed,
            "log_bytes_per_account_per_run": log_per_account,
        },
        "fixed": fixed_items | {"total": fixed},
        "by_accounts": rows,
        "per_transition": transition,
        "secrets_manager_keys_extra_per_account": secrets_manager_per_account,
    }


CHECK_SECONDS = 300  # the schedule: one run every 5 minutes


def with_forecasts(
    p6: dict[str, Any], item_bytes: int, forecast_cpu_ms_per_account_run: float, key_cache_seconds: float
) -> dict[str, Any]:
    """P6 with forecasts on: the measured P6, with the item a 10-metric account stores after a year of
    forecasts, the forecast CPU per account-run on top of the measured durations, and API keys cached for
    ``key_cache_seconds`` in a warm function (a function run every 5 minutes stays warm; the cold bound,
    one key read per run, is reported beside it)."""
    prices = PRICES
    runs = RUNS_PER_MONTH
    inputs = p6["inputs"]
    memory_gb = p6["memory_mb"] / 1024
    reads, writes = inputs["reads_per_account_per_run"], inputs["writes_per_account_per_run"]
    rru, wru = math.ceil(item_bytes / 4096), math.ceil(item_bytes / 1024)
    key_reads = inputs["ssm_key_reads_per_account_per_run"] * min(1.0, CHECK_SECONDS / key_cache_seconds)
    rows = {}
    for n_text, row in p6["by_accounts"].items():
        n = row["accounts"]
        dynamodb = runs * n * (
            reads * rru * prices["dynamodb_read_request_unit"] + writes * wru * prices["dynamodb_write_request_unit"]
        ) + n * item_bytes / 1e9 * (prices["dynamodb_storage_gb_month"] + prices["dynamodb_pitr_gb_month"])
        kms = runs * n * key_reads * prices["kms_request"]
        forecast_cpu = (runs * n * forecast_cpu_ms_per_account_run / 1000 * p6["cpu_factor"] * memory_gb) * prices[
            "lambda_arm64_gb_second"
        ]
        variable = row["variable"] - row["dynamodb"] - row["kms_requests"] + dynamodb + kms + forecast_cpu
        cold_bound = variable - kms + runs * n * inputs["ssm_key_reads_per_account_per_run"] * prices["kms_request"]
        rows[n_text] = {
            "accounts": n,
            "dynamodb": dynamodb,
            "kms_requests": kms,
            "forecast_cpu": forecast_cpu,
            "variable": variable,
            "per_account_variable": variable / n,
            "per_account_variable_every_run_cold": cold_bound / n,
            "per_account_all_in": (variable + row["fixed"]) / n,
        }
    return {
        "inputs": {
            "item_bytes_10_metrics_after_a_year": item_bytes,
            "rru_per_read": rru,
            "wru_per_write": wru,
            "forecast_cpu_ms_per_account_run": forecast_cpu_ms_per_account_run,
            "key_cache_seconds": key_cache_seconds,
            "ssm_key_reads_per_account_per_run": key_reads,
        },
        "by_accounts": rows,
    }
