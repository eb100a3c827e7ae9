"""Invoke a built function the way Lambda runs it, without Docker.

``build-host`` builds every function and layer of template.yaml with the template's own make recipes
(infra/layer/Makefile), targeted at this machine's platform and the RIC venv's Python, into
build/host/<LogicalId>/. The deploy build (``sam build``) holds aarch64 wheels, which cannot load here.

``run FN EVENT`` starts the AWS Lambda Runtime Interface Client (``awslambdaric``, from .venv-ric,
which holds only what the Lambda runtime provides) in the function's artifact folder, with the
layer's ``python/`` as its only other import path, against a minimal local Runtime API. The function
talks to the local stack (DynamoDB Local and moto server): the table, the topic and the SSM
parameters its environment names are created there first. A provider function's accounts point at a
loopback provider simulator that serves a sample response; the Slack webhook points at a loopback
receiver. Then the event is delivered and the result printed.

    python -m local.invoke build-host
    python -m local.invoke run FlashbackFunction infra/events/scheduled.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import REPO_ROOT
from local.resources import LocalResources
from local.runtime_api import RuntimeApi
from local.stack import running_local_stack, stop_process
from local.template import ACCOUNT_ID, Resolver, Unresolved, function_variables, load_template

HOST_BUILD_DIR = REPO_ROOT / "build" / "host"
RIC_PYTHON = REPO_ROOT / ".venv-ric" / "bin" / "python"
ENV_FILE = REPO_ROOT / "infra" / "env.json"
STARTUP_SECONDS = 20.0  # interpreter start and imports, on top of the function's timeout


# ---------------------------------------------------------------------------------------- the template


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the template defines it, Globals applied; values still unresolved."""

    logical_id: str
    code_uri: str
    handler: str
    timeout: int
    memory: int
    layers: tuple[str, ...]
    environment: Mapping[str, Any]

    @property
    def provider(self) -> str | None:
        """The provider id for ``functions/<provider>/``; None for other functions."""
        from shared.providers import PROVIDER_IDS

        name = Path(self.code_uri).name
        return name if name in PROVIDER_IDS else None


def function_specs(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    defaults = template.get("Globals", {}).get("Function", {})
    resolver = Resolver(template)  # the timeout may be a parameter (FunctionTimeout): its default applies
    specs = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = {**defaults, **resource.get("Properties", {})}
        layers = [*defaults.get("Layers", []), *resource.get("Properties", {}).get("Layers", [])]
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=str(properties["CodeUri"]),
            handler=str(properties["Handler"]),
            timeout=int(resolver.resolve(properties.get("Timeout", 3))),
            memory=int(properties.get("MemorySize", 128)),
            layers=tuple(layer["Ref"] for layer in layers),
            environment=function_variables(template, logical_id),
        )
    return specs


def makefile_builds(template: Mapping[str, Any]) -> list[tuple[str, Path, Path]]:
    """(logical id, source folder, Makefile) of every resource built by ``BuildMethod: makefile``."""
    builds = []
    for logical_id, resource in template["Resources"].items():
        metadata = resource.get("Metadata", {})
        if metadata.get("BuildMethod") != "makefile":
            continue
        properties = resource.get("Properties", {})
        source = REPO_ROOT / str(properties.get("CodeUri") or properties["ContentUri"])
        context = REPO_ROOT / str(metadata.get("ContextPath", source))
        builds.append((logical_id, source, context / "Makefile"))
    return builds


def function_environment(
    spec: FunctionSpec,
    template: Mapping[str, Any],
    refs: Mapping[str, str],
    region: str,
    env_file: Path | None = ENV_FILE,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The function's variables: the template's, resolved, then env.json's as ``sam local invoke`` applies them.

    As in ``sam local invoke``, env.json overrides only variables that the template declares: its
    ``Parameters`` entry applies to every function, an entry named after the function to that one.
    """
    overridden: dict[str, str] = {}
    if env_file is not None and env_file.exists():
        overrides = json.loads(env_file.read_text())
        for source in (overrides.get("Parameters", {}), overrides.get(spec.logical_id, {})):
            overridden.update({name: str(value) for name, value in source.items() if name in spec.environment})
    # What env.json sets need not resolve locally: that is how a user supplies what the template cannot.
    declared = {name: value for name, value in spec.environment.items() if name not in overridden}
    try:
        environment = Resolver(template, parameters, refs, region).environment(declared)
    except Unresolved as error:
        raise Unresolved(
            f"{spec.logical_id}: {error}; for a local invoke, set the variable in {ENV_FILE.name}"
        ) from error
    return {**environment, **overridden}


# ---------------------------------------------------------------------------------------- host build


def host_python_version(ric_python: Path = RIC_PYTHON) -> str:
    command = [str(ric_python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()  # noqa: S603


def build_host(build_dir: Path = HOST_BUILD_DIR, ric_python: Path = RIC_PYTHON) -> None:
    """Build every makefile resource of the template with the deploy recipe, for this machine."""
    if sys.platform != "linux":
        raise SystemExit("the host build makes Linux artifacts: run it on Linux")
    make = shutil.which("make")
    if make is None:
        raise SystemExit("make is not on PATH")
    machine = platform.machine()
    variables = [
        f"PIP_PLATFORMS=manylinux2014_{machine} manylinux_2_28_{machine}",
        f"PIP_PYTHON_VERSION={host_python_version(ric_python)}",
    ]
    shutil.rmtree(build_dir, ignore_errors=True)
    for logical_id, source, makefile in makefile_builds(load_template()):
        artifacts = build_dir / logical_id
        artifacts.mkdir(parents=True)
        command = [make, "--no-print-directory", "-C", str(source), "-f", str(makefile), f"build-{logical_id}"]
        subprocess.run([*command, f"ARTIFACTS_DIR={artifacts}", *variables], check=True)  # noqa: S603


# ---------------------------------------------------------------------------------------- the invoke


@dataclass
class InvokeResult:
    function_id: str
    outcome: str  # "response", "error", "init_error", "timeout" or "exited"
    payload: Any
    logs: str
    seconds: float
    published: list[dict[str, Any]] = field(default_factory=list)
    webhook_posts: list[dict[str, Any]] = field(default_factory=list)
    provider_requests: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome == "response"


def artifact_paths(spec: FunctionSpec, build_dir: Path) -> tuple[Path, list[Path]]:
    """The function folder and its layers' ``python/`` folders in a host build; checks that they exist."""
    function_dir = build_dir / spec.logical_id
    module = spec.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    if not (function_dir / module).is_file():
        raise FileNotFoundError(f"{function_dir / module} is missing: run `make build-host`")
    layer_dirs = [build_dir / layer / "python" for layer in spec.layers]
    for layer_dir in layer_dirs:
        if not layer_dir.is_dir():
            raise FileNotFoundError(f"{layer_dir} is missing: run `make build-host`")
    return function_dir, layer_dirs


def runtime_environment(
    spec: FunctionSpec,
    function_env: Mapping[str, str],
    aws_env: Mapping[str, str],
    runtime_api: str,
    layers: list[Path],
) -> dict[str, str]:
    """What Lambda puts in the process environment, and nothing from this shell but PATH."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONPATH": os.pathsep.join(str(layer) for layer in layers),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",  # the artifact stays as built (Lambda's /var/task is read-only)
        "AWS_CONFIG_FILE": os.devnull,  # never a developer's profile or credentials
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(Path.cwd()),
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{uuid.uuid4().hex}",
        **aws_env,
        **function_env,
    }


def _collect_output(stream: Any, lines: list[str], echo: Callable[[str], object] | None) -> None:
    for line in iter(stream.readline, ""):
        lines.append(line)
        if echo is not None:
            echo(line)


def invoke(
    function_id: str,
    event: Any,
    aws_env: Mapping[str, str],
    *,
    build_dir: Path = HOST_BUILD_DIR,
    ric_python: Path = RIC_PYTHON,
    env_file: Path | None = ENV_FILE,
    parameters: Mapping[str, str] | None = None,
    echo: Callable[[str], object] | None = None,
) -> InvokeResult:
    """Run one event through the host build of ``function_id`` under the Runtime Interface Client."""
    template = load_template()
    spec = function_specs(template)[function_id]
    function_dir, layer_dirs = artifact_paths(spec, build_dir)
    with contextlib.ExitStack() as cleanup:
        resources = LocalResources(aws_env, cleanup)
        function_env = function_environment(
            spec, template, resources.refs(template), resources.region, env_file, parameters
        )
        resources.provision(function_env, spec.provider)
        if echo is not None:
            echo("".join(f"    ({note})\n" for note in resources.notes) + "--- function output\n")
        arn = f"arn:aws:lambda:{resources.region}:{ACCOUNT_ID}:function:{function_id}"
        api = cleanup.enter_context(RuntimeApi(arn, spec.timeout))
        environment = runtime_environment(spec, function_env, aws_env, api.address, layer_dirs)
        environment["LAMBDA_TASK_ROOT"] = str(function_dir)
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 - the RIC venv's python with a fixed module
            [str(ric_python), "-m", "awslambdaric", spec.handler],
            cwd=function_dir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        cleanup.callback(stop_process, process)
        lines: list[str] = []
        reader = threading.Thread(target=_collect_output, args=(process.stdout, lines, echo), daemon=True)
        reader.start()
        request_id = api.submit(json.dumps(event).encode())
        outcome = api.wait(request_id, spec.timeout + STARTUP_SECONDS, alive=lambda: process.poll() is None)
        seconds = time.monotonic() - started
        stop_process(process)
        reader.join(timeout=5)
        if outcome is None:
            kind = "exited" if process.poll() not in (None, -15) else "timeout"
            payload: Any = None
        else:
            kind, payload = outcome.kind, outcome.json()
        return InvokeResult(
            function_id=function_id,
            outcome=kind,
            payload=payload,
            logs="".join(lines),
            seconds=seconds,
            published=resources.published(),
            webhook_posts=resources.webhook.take() if resources.webhook else [],
            provider_requests=resources.provider_api.requests if resources.provider_api else 0,
            notes=resources.notes,
        )


# ---------------------------------------------------------------------------------------- command line


class EventFileError(Exception):
    """The EVENT file cannot be used; the message says why in one line."""


def read_event(path: Path) -> Any:
    """The event JSON of ``path``; a missing, unreadable or invalid file is an EventFileError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EventFileError(f"EVENT file {path} not found (see infra/events/ for examples)") from None
    except IsADirectoryError:
        raise EventFileError(f"EVENT {path} is a directory, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EventFileError(f"EVENT file {path} cannot be read ({type(error).__name__})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise EventFileError(
            f"EVENT file {path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None


@contextlib.contextmanager
def _aws_environment() -> Iterator[tuple[dict[str, str], str]]:
    """The caller's local stack when AWS_ENDPOINT_URL is set, else a fresh one for this invoke."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        names = ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")
        aws_env = {name: os.environ[name] for name in names if name in os.environ}
        aws_env |= {name: value for name, value in os.environ.items() if name.startswith("AWS_ENDPOINT_URL_")}
        yield aws_env, f"the local stack at {aws_env['AWS_ENDPOINT_URL']}"
        return
    with running_local_stack() as stack:
        moto = stack.moto.endpoint if stack.moto is not None else "-"
        yield stack.environment(), f"DynamoDB Local {stack.dynamodb.endpoint}, moto server {moto}"


def _print_result(result: InvokeResult) -> None:
    print(f"--- result: {result.outcome} in {result.seconds:.2f} s")
    print(json.dumps(result.payload, indent=2))
    if result.provider_requests:
        print(f"--- provider simulator: {result.provider_requests} request(s)")
    for message in result.published:
        body = message["body"]
        alerts = body.get("alerts", []) if isinstance(body, dict) else []
        kinds = ", ".join(f"{alert.get('kind')} {alert.get('metric') or ''}".strip() for alert in alerts)
        print(f"--- published to {message['topic'].rsplit(':', 1)[-1]}: severity {body.get('severity')}: {kinds}")
    for post in result.webhook_posts:
        print(f"--- posted to the Slack webhook: {str(post.get('text', ''))[:160]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build-host", help="build every function and layer for this machine into build/host")
    check_event = commands.add_parser("check-event", help="check that an event file exists and holds JSON")
    check_event.add_argument("event", type=Path)
    run = commands.add_parser("run", help="invoke a built function with an event")
    run.add_argument("function", help="logical id in template.yaml, e.g. FlashbackFunction")
    run.add_argument("event", type=Path, help="event JSON file, e.g. infra/events/scheduled.json")
    run.add_argument("--env-vars", type=Path, default=ENV_FILE, help="env.json as for sam local invoke")
    run.add_argument(
        "--parameter", action="append", default=[], metavar="KEY=VALUE", help="template parameter override"
    )
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
    if args.command == "build-host":
        build_host()
        return 0
    if args.command == "check-event":
        try:
            read_event(args.event)
        except EventFileError as error:
            print(f"make invoke: {error}", file=sys.stderr)
            return 2
        return 0
    specs = function_specs(load_template())
    if args.function not in specs:
        parser.error(f"{args.function} is not a function of template.yaml: {', '.join(specs)}")
    parameters = dict(item.split("=", 1) for item in args.parameter)
    try:
        event = read_event(args.event)
    except EventFileError as error:
        print(f"make invoke: {error}", file=sys.stderr)
        return 2
    spec = specs[args.function]
    with _aws_environment() as (aws_env, where):
        print(f"--- invoke {spec.logical_id} ({spec.handler}) from build/host/{spec.logical_id}")
        print(f"    layers: {', '.join(f'build/host/{layer}/python' for layer in spec.layers)}")
        print(f"    runtime client: {RIC_PYTHON.relative_to(REPO_ROOT)} -m awslambdaric; AWS: {where}")
        print(f"    event: {args.event}")
        sys.stdout.flush()
        result = invoke(
            args.function, event, aws_env, env_file=args.env_vars, parameters=parameters, echo=sys.stdout.write
        )
    _print_result(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
