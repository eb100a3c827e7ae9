"""P2: AWS calls per account, counted with botocore ``before-call`` event hooks against the local stack.

Four accounts of the built FlashbackFunction, configured as deployed: the accounts JSON in the SSM
parameter the template names, two API keys as SSM SecureStrings and two in Secrets Manager. One fresh
process runs: the first check ever, a steady-state run, a transition (egress 6% -> 90%: warning), and
steady state again. A second fresh process runs steady state twice, cold then warm, to count the SSM
and Secrets Manager reads of a cold start apart from a warm one.

It also measures, for P6, the stored item's size (DynamoDB's item-size rules, on the item read back
from DynamoDB Local), the published alert's size, and each run's log output.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from decimal import Decimal
from typing import Any

from bench.world import World, accounts_ok, run_driver

ACCOUNTS = 4
READS = ("ssm.GetParameter", "ssm.GetParameters", "secretsmanager.GetSecretValue")


def _accounts(world: World) -> list[dict[str, Any]]:
    accounts = []
    for index in range(1, ACCOUNTS + 1):
        name = f"calls-{index}"
        key = world.ssm_key(name) if index <= ACCOUNTS // 2 else world.secret_key(name)
        accounts.append({"name": name, "base_url": world.provider_base_url(), "api_key": key})
    return accounts


def _per_account(calls: dict[str, int], services: tuple[str, ...]) -> dict[str, float]:
    return {
        name: count / ACCOUNTS
        for name, count in sorted(calls.items())
        if name.split(".", 1)[0] in services and not name.startswith("client:")
    }


def _reads(calls: dict[str, int]) -> dict[str, int]:
    return {name: calls.get(name, 0) for name in READS if calls.get(name, 0)}


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value by DynamoDB's item-size rules (strings UTF-8, numbers ~1 byte per 2 digits)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = Decimal(data).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(key.encode()) + attribute_size(item) + 1 for key, item in data.items())
    if kind == "L":
        return 3 + sum(attribute_size(item) + 1 for item in data)
    if kind == "B":
        return len(data)
    raise ValueError(f"unexpected attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def measure(world: World) -> dict[str, Any]:
    accounts = _accounts(world)
    world.put_accounts(accounts)
    world.resources.published()  # drain what earlier sections published
    first = run_driver(
        world,
        world.function_env,
        [
            {"percent": "sample"},  # first check ever: recorded silently
            {},  # steady state (warm)
            {"percent": 90},  # transition: egress to warning
            {"percent": 91},  # steady state again, at warning
        ],
    )
    second = run_driver(world, world.function_env, [{}, {}])  # steady state, cold then warm
    for process in (first, second):
        for run in process.runs:
            if accounts_ok(run["summary"]) != ACCOUNTS:
                raise RuntimeError(f"P2: a run did not check every account: {run['summary']}")
    published = world.resources.published()
    documents = [json.dumps(message["body"]) for message in published if isinstance(message["body"], dict)]
    first_run, steady, transition, steady_again = first.runs
    cold, warm = second.runs
    item = world.item("calls-1")
    ddb_sns = ("dynamodb", "sns")
    result: dict[str, Any] = {
        "accounts": ACCOUNTS,
        "key_sources": "accounts JSON in SSM (String); keys: 2 SSM SecureString, 2 Secrets Manager",
        "per_account": {
            "first_check": _per_account(first_run["calls"], ddb_sns),
            "steady_state": _per_account(steady["calls"], ddb_sns),
            "transition": _per_account(transition["calls"], ddb_sns),
            "steady_state_after_transition": _per_account(steady_again["calls"], ddb_sns),
            "steady_state_cold_process": _per_account(cold["calls"], ddb_sns),
        },
        "secret_reads_per_run": {"cold": _reads(cold["calls"]), "warm": _reads(warm["calls"])},
        "clients_created": {
            "cold_process_first_run": {k: v for k, v in cold["calls"].items() if k.startswith("client:")},
        },
        "alerts_published": len(documents),
        "item": {
            "dynamodb_size_bytes": item_size(item),
            "json_bytes": len(json.dumps(item, default=lambda value: value.hex())),
            "state_bytes": attribute_size(item["state"]),
        },
        "alert_document_bytes": max((len(document) for document in documents), default=0),
        "log_bytes": {
            "steady_state_run": len(second.run_logs[1]),
            "steady_state_lines": second.run_logs[1].count(b"\n"),
            "transition_run": len(first.run_logs[2]),
            "transition_lines": first.run_logs[2].count(b"\n"),
        },
        "emf": emf_metrics(second.run_logs[1]),
    }
    steady_per_account = result["per_account"]["steady_state"]
    result["checks"] = {
        "steady_reads": steady_per_account.get("dynamodb.GetItem", 0),
        "steady_writes": sum(v for k, v in steady_per_account.items() if k.split(".")[1] in WRITES),
        "steady_publishes": steady_per_account.get("sns.Publish", 0),
    }
    return result


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def emf_metrics(log: bytes) -> dict[str, Any]:
    """The CloudWatch metrics a run's EMF documents define: namespace, dimension sets and metric names."""
    metrics: Counter[str] = Counter()
    definitions = []
    for line in log.splitlines():
        if b'"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                values = {name: document.get(name) for name in dimensions}
                for metric in directive["Metrics"]:
                    metrics[metric["Name"]] += 1
                    definitions.append(
                        {"namespace": directive["Namespace"], "metric": metric["Name"], "dimensions": values}
                    )
    return {"emf_documents": sum(1 for line in log.splitlines() if b'"_aws"' in line), "metrics": definitions}
