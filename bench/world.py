"""The bench's world: the local stack, a loopback provider API, and a function as template.yaml defines it.

Everything here is loopback. boto3 clients are built from the local stack's endpoints and dummy keys, and
the function processes get the same endpoints through the standard ``AWS_ENDPOINT_URL*`` variables, so no
call can reach real AWS.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import REPO_ROOT
from local.http_server import LoopbackServer, QuietHandler
from local.invoke import (
    HOST_BUILD_DIR,
    RIC_PYTHON,
    FunctionSpec,
    artifact_paths,
    function_environment,
    function_specs,
    runtime_environment,
)
from local.provision import put_parameter
from local.resources import LocalResources
from local.stack import running_local_stack
from local.template import load_template

BENCH_DIR = Path(__file__).resolve().parent
VARIANTS_DIR = BENCH_DIR / "variants"
DRIVER = BENCH_DIR / "driver.py"
FUNCTION_ID = "FlashbackFunction"
PROVIDER = "flashback"
SAMPLE_BODY = REPO_ROOT / "tests" / "fixtures" / "providers" / "provider_flashback_ok.json"
SCHEDULED_EVENT = REPO_ROOT / "infra" / "events" / "scheduled.json"
PROVIDER_KEY_VARIABLE = "BENCH_PROVIDER_KEY"
PROVIDER_KEY = "bench-provider-key"
CONTROL_PREFIX = "/_bench/percent/"


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class ProviderApi(LoopbackServer):
    """A Flashback-shaped quota API on loopback that answers after ``delay`` seconds.

    It serves the sample response of tests/fixtures; ``percent`` sets the egress metric's usage, so a
    run can be steady (unchanged) or a transition. ``POST /_bench/percent/<p>`` sets it from another
    process. One thread per connection, so concurrent checks overlap their waits as real ones do.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.percent: float | None = None  # None: the sample as it is
        self.requests = 0
        self._lock = threading.Lock()
        self._sample = json.loads(SAMPLE_BODY.read_text(encoding="utf-8"))
        api = self

        class Handler(QuietHandler):
            def _answer(self, status: int, body: bytes) -> None:
                self.answer(status, body, "application/json")

            def do_GET(self) -> None:
                with api._lock:
                    api.requests += 1
                if api.delay:
                    time.sleep(api.delay)
                self._answer(200, api.body())

            def do_POST(self) -> None:
                self.read_body()
                if not self.path.startswith(CONTROL_PREFIX):
                    self._answer(404, b"{}")
                    return
                value = self.path.removeprefix(CONTROL_PREFIX)
                api.percent = None if value == "sample" else float(value)
                self._answer(200, b"{}")

        super().__init__(Handler)
        self.start()

    def body(self) -> bytes:
        body = copy.deepcopy(self._sample)
        if self.percent is not None:
            for item in body["quotaUsage"]:
                if item["capability"]["code"] == "EGRESS_MONTHLY_BYTES":
                    item["usage"]["current"] = int(item["usage"]["max"] * self.percent / 100)
                    item["usage"]["percentage"] = int(self.percent)
        return json.dumps(body).encode()

    close = LoopbackServer.stop


@dataclass
class World:
    """The local stack, the function's template definition and its resolved environment."""

    aws_env: dict[str, str]
    resources: LocalResources
    spec: FunctionSpec
    function_env: dict[str, str]
    template: dict[str, Any]
    provider_api: ProviderApi
    slow_provider_api: ProviderApi

    def client(self, service: str) -> Any:
        return self.resources.client(service)

    @property
    def table_name(self) -> str:
        return self.function_env["STATE_TABLE_NAME"]

    @property
    def topic_arn(self) -> str:
        return self.function_env["ALERT_TOPIC_ARN"]

    @property
    def function_dir(self) -> Path:
        return artifact_paths(self.spec, HOST_BUILD_DIR)[0]

    @property
    def layer_dirs(self) -> list[Path]:
        """The ``python/`` folders of the function's own layers in the host build, as Lambda mounts them."""
        return artifact_paths(self.spec, HOST_BUILD_DIR)[1]

    @property
    def all_layer_dirs(self) -> list[Path]:
        """The function's layers, then every other layer of the host build.

        The naive baseline constructs Tracer(), so it needs the X-Ray SDK from whichever layer holds it.
        """
        own = self.layer_dirs
        others = sorted(path / "python" for path in HOST_BUILD_DIR.iterdir() if (path / "python").is_dir())
        return own + [path for path in others if path not in own]

    def accounts_parameter(self) -> str:
        return self.function_env["ACCOUNTS_PARAMETER"]

    def put_accounts(self, accounts: list[dict[str, Any]]) -> None:
        """The deploy's way: the accounts JSON in the SSM parameter the template names."""
        put_parameter(self.accounts_parameter(), json.dumps(accounts), secure=False, clients=self.resources)

    def ssm_key(self, account: str) -> dict[str, str]:
        name = f"/quota-sentinel/{PROVIDER}/{account}"
        put_parameter(name, PROVIDER_KEY, secure=True, clients=self.resources)
        return {"ssm": name}

    def secret_key(self, account: str) -> dict[str, str]:
        name = f"quota-sentinel/{PROVIDER}/{account}"
        secrets = self.client("secretsmanager")
        with contextlib.suppress(secrets.exceptions.ResourceExistsException):
            secrets.create_secret(Name=name, SecretString=PROVIDER_KEY)
        return {"secret": name}

    def provider_base_url(self, slow: bool = False) -> str:
        return (self.slow_provider_api if slow else self.provider_api).url

    def environment_with_accounts(self, accounts: list[dict[str, Any]]) -> dict[str, str]:
        """The function's environment with ``ACCOUNTS`` inline instead of the SSM parameter."""
        env = {name: value for name, value in self.function_env.items() if name != "ACCOUNTS_PARAMETER"}
        return {**env, "ACCOUNTS": json.dumps(accounts), PROVIDER_KEY_VARIABLE: PROVIDER_KEY}

    def process_environment(
        self,
        function_env: Mapping[str, str],
        runtime_api: str = "127.0.0.1:9",
        task_root: Path | None = None,
        layers: list[Path] | None = None,
    ) -> dict[str, str]:
        """What Lambda puts in the function's process environment (local.invoke's recipe)."""
        layers = self.layer_dirs if layers is None else layers
        environment = runtime_environment(self.spec, function_env, self.aws_env, runtime_api, layers)
        environment["LAMBDA_TASK_ROOT"] = str(task_root or self.function_dir)
        return environment

    def driver_environment(self, function_env: Mapping[str, str]) -> dict[str, str]:
        """For the in-process driver: the function folder then the layers, as /var/task then /opt/python."""
        environment = self.process_environment(function_env)
        environment["PYTHONPATH"] = ":".join(str(path) for path in [self.function_dir, *self.layer_dirs])
        return environment

    def item(self, account: str) -> dict[str, Any]:
        key = {"pk": {"S": f"provider#{PROVIDER}"}, "sk": {"S": f"account#{account}"}}
        item: dict[str, Any] = self.client("dynamodb").get_item(
            TableName=self.table_name, Key=key, ConsistentRead=True
        )["Item"]
        return item


@contextlib.contextmanager
def running_world(provider_delay: float) -> Iterator[World]:
    """Start the local stack and the provider APIs; create the table, topic and parameters the function names."""
    template = load_template()
    spec = function_specs(template)[FUNCTION_ID]
    artifact_paths(spec, HOST_BUILD_DIR)  # fails early, naming `make build-host`, if the build is missing
    if not RIC_PYTHON.exists():
        raise SystemExit(f"{RIC_PYTHON} is missing: run `make build-host`")
    with contextlib.ExitStack() as cleanup:
        stack = cleanup.enter_context(running_local_stack())
        aws_env = stack.environment()
        resources = LocalResources(aws_env, cleanup)
        function_env = function_environment(spec, template, resources.refs(template), resources.region, env_file=None)
        resources.ensure_table(function_env["STATE_TABLE_NAME"])
        resources.capture(function_env["ALERT_TOPIC_ARN"])
        instant = ProviderApi(delay=0.0)
        cleanup.callback(instant.close)
        slow = ProviderApi(delay=provider_delay)
        cleanup.callback(slow.close)
        yield World(
            aws_env=aws_env,
            resources=resources,
            spec=spec,
            function_env=function_env,
            template=template,
            provider_api=instant,
            slow_provider_api=slow,
        )


MARKER = "@@bench-run"


@dataclass
class DriverResult:
    """What one driver process reported, with its wall time and each run's log output."""

    wall_seconds: float
    init_seconds: float
    import_seconds: float
    runs: list[dict[str, Any]]
    peak_rss_kib: int
    run_logs: list[bytes]

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_kib / 1024


def run_driver(
    world: World,
    function_env: Mapping[str, str],
    runs: list[dict[str, Any]],
    *,
    count_calls: bool = True,
    patches: Mapping[str, Any] | None = None,
    timeout: float = 600.0,
) -> DriverResult:
    """Start bench/driver.py in a fresh process on the host build and collect what it reports."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        spec_path, result_path = Path(scratch) / "spec.json", Path(scratch) / "result.json"
        spec = {
            "runs": runs,
            "count_calls": count_calls,
            "control_url": f"{world.provider_api.url}{CONTROL_PREFIX}",
            **(patches or {}),
        }
        spec_path.write_text(json.dumps(spec))
        spawned_at = time.time()
        started = time.perf_counter()
        completed = subprocess.run(  # noqa: S603 - the RIC venv's python with the bench's own driver
            [str(RIC_PYTHON), "-P", str(DRIVER), str(spec_path), str(result_path), repr(spawned_at)],
            cwd=world.function_dir,
            env=world.driver_environment(function_env),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        wall = time.perf_counter() - started
        if completed.returncode != 0 or not result_path.exists():
            tail = (completed.stdout[-1500:] + completed.stderr[-3000:]).decode(errors="replace")
            raise RuntimeError(f"the driver failed ({completed.returncode}):\n{tail}")
        result = json.loads(result_path.read_text())
    return DriverResult(
        wall_seconds=wall,
        init_seconds=result["init_seconds"],
        import_seconds=result["import_seconds"],
        runs=result["runs"],
        peak_rss_kib=result["rss"]["vmhwm_kib"],
        run_logs=split_run_logs(completed.stdout),
    )


def split_run_logs(stdout: bytes) -> list[bytes]:
    """Each run's log output: the lines between the driver's markers, without the markers."""
    segments: list[bytes] = []
    current: list[bytes] | None = None
    for line in stdout.splitlines(keepends=True):
        if line.startswith(MARKER.encode()):
            if current is not None:
                segments.append(b"".join(current))
            current = []
        elif current is not None:
            current.append(line)
    return segments


def accounts_ok(summary: Mapping[str, Any]) -> int:
    return sum(1 for account in summary.get("accounts", []) if account.get("ok"))
