"""P1: cold-start overhead of the built function, against a naive eager init doing the same work.

Each sample is a fresh ``python -m awslambdaric app.handler`` process (the Runtime Interface Client from
``.venv-ric``, the host build's function folder and layers) against a local Runtime API, as
``make invoke`` runs it. The parent queues the event, takes the time, spawns the process and waits for the
handler's result: that is the cold time (interpreter start, the runtime client, imports, init, lazy work
and the invocation). It then sends the same event three more times to the warm process; the median of
those is the warm time. Cold-start overhead = cold time - warm time. The same difference in the process's
own CPU time (from /proc) is recorded too: it is not inflated when something else loads the machine.

The candidate and the naive baseline (bench/variants/naive) are interleaved, after one discarded warm-up
of each, with the order rotated every round, so drift in the machine's load falls on both alike.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bench.world import SCHEDULED_EVENT, VARIANTS_DIR, World, median
from local.invoke import RIC_PYTHON
from local.runtime_api import RuntimeApi
from local.stack import stop_process

WARM_INVOKES = 3
# The candidate and the naive baseline are what P1 compares; the runtime alone and the libraries alone
# break the cold start down (where the time goes), and are measured in the same interleaved rounds.
VARIANTS = ["candidate", "naive", "libraries", "runtime"]
WAIT_SECONDS = 60.0


@dataclass
class ColdSample:
    variant: str
    cold_seconds: float
    warm_seconds: float
    overhead_seconds: float
    peak_rss_kib: int
    cpu_cold_seconds: float  # the process's own CPU time (user + system) up to the first result
    cpu_overhead_seconds: float  # that, minus the CPU time of one warm invocation


class QuickRuntimeApi(RuntimeApi):
    """local.runtime_api's server with Nagle's algorithm off on its sockets.

    Its handler writes the headers and the body of a reply in two sends; with Nagle on, the second waits
    for the client's delayed ACK, which adds about 40 ms to each GET /next and to each reply. That would
    be timed as part of every warm invocation here, and it is not Lambda's.
    """

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler_class()
        return type("QuickHandler", (base,), {"disable_nagle_algorithm": True})


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc (10 ms resolution): immune to other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hwm_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def _summary_ok(payload: Any) -> bool:
    accounts = payload.get("accounts", []) if isinstance(payload, dict) else []
    return bool(accounts) and all(account.get("ok") for account in accounts)


def cold_sample(world: World, variant: str) -> ColdSample:
    """One fresh process of ``variant``: "candidate" is the host build, the others are bench/variants/<variant>."""
    task_root = world.function_dir if variant == "candidate" else VARIANTS_DIR / variant
    event = SCHEDULED_EVENT.read_bytes()
    arn = f"arn:aws:lambda:{world.resources.region}:123456789012:function:{world.spec.logical_id}"
    with QuickRuntimeApi(arn, world.spec.timeout) as api:
        layers = world.all_layer_dirs if variant == "naive" else world.layer_dirs
        environment = world.process_environment(world.function_env, api.address, task_root, layers)
        output = bytearray()
        first = api.submit(event)
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - the RIC venv's python with a fixed module
            [str(RIC_PYTHON), "-m", "awslambdaric", world.spec.handler],
            cwd=task_root,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        reader = threading.Thread(target=_drain, args=(process, output), daemon=True)
        reader.start()
        try:
            outcome = api.wait(first, WAIT_SECONDS, alive=lambda: process.poll() is None)
            cold = time.perf_counter() - started
            cpu_cold = _cpu_seconds(process.pid)
            ok = outcome is not None and outcome.kind == "response" and _summary_ok(outcome.json())
            warm: list[float] = []
            for _ in range(WARM_INVOKES):
                request_id = api.submit(event)
                invoked = time.perf_counter()
                again = api.wait(request_id, WAIT_SECONDS, alive=lambda: process.poll() is None)
                warm.append(time.perf_counter() - invoked)
                ok = ok and again is not None and again.kind == "response" and _summary_ok(again.json())
            hwm = _hwm_kib(process.pid)
            cpu_warm = (_cpu_seconds(process.pid) - cpu_cold) / WARM_INVOKES
        finally:
            stop_process(process)
            reader.join(timeout=5)
    if not ok:
        tail = bytes(output[-2000:]).decode(errors="replace")
        raise RuntimeError(f"{variant} invoke failed; its output ends with:\n{tail}")
    warm_median = median(warm)
    return ColdSample(variant, cold, warm_median, cold - warm_median, hwm, cpu_cold, cpu_cold - cpu_warm)


def _drain(process: subprocess.Popen[bytes], output: bytearray) -> None:
    """Keep the pipe from filling up; the output is shown only if the invoke fails."""
    assert process.stdout is not None
    while chunk := os.read(process.stdout.fileno(), 65536):
        output.extend(chunk)


def seed_account(world: World) -> None:
    """One account whose key is an SSM SecureString, in the accounts parameter, against the instant provider."""
    world.put_accounts([{"name": "cold-1", "base_url": world.provider_base_url(), "api_key": world.ssm_key("cold-1")}])


def measure(world: World, runs: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    seed_account(world)
    world.provider_api.percent = None
    for variant in VARIANTS:  # warm-up: the account's first check, the OS file cache, DynamoDB Local
        cold_sample(world, variant)
    samples: list[ColdSample] = []
    for index in range(runs):
        shift = index % len(VARIANTS)  # rotate the order every round, so no variant always runs first
        for variant in VARIANTS[shift:] + VARIANTS[:shift]:
            sample = cold_sample(world, variant)
            samples.append(sample)
            log(
                f"  P1 {index + 1}/{runs} {variant:9s} cold {sample.cold_seconds * 1000:7.1f} ms, "
                f"warm {sample.warm_seconds * 1000:6.1f} ms, overhead {sample.overhead_seconds * 1000:7.1f} ms"
            )
    result: dict[str, Any] = {"runs_each": runs, "warm_invokes_per_process": WARM_INVOKES}
    for variant in VARIANTS:
        mine = [sample for sample in samples if sample.variant == variant]
        result[variant] = {
            "cold_seconds_median": median([s.cold_seconds for s in mine]),
            "warm_seconds_median": median([s.warm_seconds for s in mine]),
            "overhead_seconds_median": median([s.overhead_seconds for s in mine]),
            "peak_rss_mib_median": median([s.peak_rss_kib for s in mine]) / 1024,
            "cpu_overhead_seconds_median": median([s.cpu_overhead_seconds for s in mine]),
            "samples": [asdict(s) for s in mine],
        }
    result["ratio"] = result["candidate"]["overhead_seconds_median"] / result["naive"]["overhead_seconds_median"]
    result["cpu_ratio"] = (
        result["candidate"]["cpu_overhead_seconds_median"] / result["naive"]["cpu_overhead_seconds_median"]
    )
    return result
