"""Runs in a fresh Python process as Lambda's runtime would: imports the built handler, then calls it.

Started by the bench with the Runtime Interface Client's venv (``.venv-ric``: only boto3 and awslambdaric)
and ``PYTHONPATH`` = the function folder, then the layers' ``python/`` folders, so it loads the host build
exactly as Lambda loads /var/task and /opt/python. Standard library only: it must not load anything the
function would not.

    python -P bench/driver.py SPEC.json RESULT.json SPAWNED_AT

SPEC holds the runs (event, provider usage percent, remaining time) and whether to count AWS calls (botocore
``before-call`` event hooks on every client, however created); concurrency is the function's own
``MAX_CONCURRENCY`` variable. Between runs the driver prints a marker line, so the caller can measure each
run's log output. RESULT gets the timings, the counts, the summaries and the peak RSS.
"""

from __future__ import annotations

import collections
import importlib
import json
import resource
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

MARKER = "@@bench-run"


class Context:
    """The attributes of Lambda's context object that the handler and Powertools read."""

    function_name = "quota-sentinel-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:quota-sentinel-bench"
    log_group_name = "/aws/lambda/quota-sentinel-bench"
    log_stream_name = "bench"

    def __init__(self, remaining_ms: int) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def count_calls(counts: collections.Counter[str]) -> None:
    """Count every AWS API call of every botocore client, including those Powertools creates itself."""
    import botocore.session

    lock = threading.Lock()
    create_client = botocore.session.Session.create_client

    def counted_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        service = client.meta.service_model.service_name

        def count(model: Any, **_: Any) -> None:
            with lock:
                counts[f"{service}.{model.name}"] += 1

        client.meta.events.register("before-call", count)
        with lock:
            counts[f"client:{service}"] += 1
        return client

    botocore.session.Session.create_client = counted_client  # type: ignore[method-assign]


def expire_secret_cache() -> None:
    """Empty the cache of Powertools' default providers, keeping the providers and their clients.

    (``parameters.clear_caches()`` would drop the providers too, and the next run would build new clients,
    which a warm Lambda environment does not.)
    """
    constants = importlib.import_module("aws_lambda_powertools.utilities.parameters.constants")
    for provider in constants.DEFAULT_PROVIDERS.values():
        provider.clear_cache()


def peak_rss_kib() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return {"ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "vmhwm_kib": hwm}


def main(spec_path: str, result_path: str, spawned_at: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    counts: collections.Counter[str] = collections.Counter()
    if spec.get("count_calls"):
        count_calls(counts)
    import_started = time.perf_counter()
    app = importlib.import_module("app")
    imported_at = time.time()
    import_seconds = time.perf_counter() - import_started
    runs = []
    for index, run in enumerate(spec["runs"]):
        if run.get("percent") is not None:
            import urllib.request  # only when a run changes the provider's answer: not part of what is timed

            url = f"{spec['control_url']}{run['percent']}"  # the bench's loopback provider: http://127.0.0.1
            request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
        if run.get("expire_secret_cache"):  # a warm process whose 5-minute secret cache has expired
            expire_secret_cache()
        print(f"{MARKER} {index}@@", flush=True)
        counts_before = collections.Counter(counts)
        started = time.perf_counter()
        summary = app.handler(run.get("event", {}), Context(run.get("remaining_ms", 60_000)))
        seconds = time.perf_counter() - started
        sys.stdout.flush()
        calls = {name: count - counts_before.get(name, 0) for name, count in counts.items()}
        runs.append({"seconds": seconds, "calls": {k: v for k, v in calls.items() if v}, "summary": summary})
    print(f"{MARKER} end@@", flush=True)
    result = {
        "init_seconds": imported_at - float(spawned_at),
        "import_seconds": import_seconds,
        "runs": runs,
        "rss": peak_rss_kib(),
        "python": sys.version.split()[0],
    }
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
