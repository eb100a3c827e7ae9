"""Built artifacts: the deploy build holds what Lambda needs, and every function with code runs from its
host build under the AWS Lambda Runtime Interface Client against the local stack.

The runtime client's venv holds only awslambdaric and boto3, and its import path is the function
folder plus the layer's ``python/``: an artifact that misses shared code or a dependency fails here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from local import REPO_ROOT
from local.invoke import FunctionSpec, InvokeResult, function_specs, invoke
from local.template import load_template
from shared import observability

pytestmark = pytest.mark.timeout(900)  # a fresh clone builds the tool venvs here the first time

EVENTS = REPO_ROOT / "infra" / "events"
SPECS = function_specs(load_template())
WITH_CODE = sorted(name for name, spec in SPECS.items() if (REPO_ROOT / spec.code_uri / "app.py").is_file())
PROVIDERS_WITH_CODE = [name for name in WITH_CODE if SPECS[name].provider is not None]
ELF_MACHINE_AARCH64 = 183
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer")


def event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def run(function_id: str, event_name: str, aws_env: dict[str, str], build_dir: Path) -> InvokeResult:
    return invoke(function_id, event(event_name), aws_env, build_dir=build_dir)


def assert_responded(result: InvokeResult) -> Any:
    assert result.outcome == "response", f"{result.outcome}: {result.payload}\n--- function output\n{result.logs}"
    return result.payload


def emf_records(logs: str) -> list[dict[str, Any]]:
    records = []
    for line in logs.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


# ---------------------------------------------------------------------------------------- the deploy build


def test_make_validate_passes(validated: None) -> None:
    """sam validate (the SAM transform), sam validate --lint and cfn-lint report nothing."""


def test_deploy_layer_holds_shared_code_and_aarch64_cp313_wheels_without_boto3(deploy_build: Path) -> None:
    python = deploy_build / "SharedLayer" / "python"
    assert (python / "shared" / "__init__.py").is_file()
    assert (python / "shared" / "providers" / "flashback.py").is_file()
    assert not list(python.rglob("__pycache__"))
    assert (python / "pydantic_core" / "_pydantic_core.cpython-313-aarch64-linux-gnu.so").is_file()
    for package in ("pydantic", "requests", "aws_lambda_powertools", "aws_xray_sdk"):
        assert (python / package / "__init__.py").is_file(), package
    for package in RUNTIME_PACKAGES:
        assert not (python / package).exists(), f"{package} comes from the Lambda runtime"
    libraries = list(python.rglob("*.so"))
    assert libraries
    for library in libraries:
        assert "x86_64" not in library.name and "cpython-311" not in library.name, library
        assert elf_machine(library) == ELF_MACHINE_AARCH64, library


@pytest.mark.parametrize("function_id", WITH_CODE)
def test_function_artifact_holds_only_its_handler(function_id: str, deploy_build: Path, host_build: Path) -> None:
    source = REPO_ROOT / SPECS[function_id].code_uri
    expected = sorted(path.name for path in source.glob("*.py"))
    for build in (deploy_build, host_build):
        assert sorted(path.name for path in (build / function_id).iterdir()) == expected


def test_deploy_template_points_at_the_built_artifacts(deploy_build: Path) -> None:
    built = load_template(deploy_build / "template.yaml")["Resources"]
    assert built["SharedLayer"]["Properties"]["ContentUri"] == "SharedLayer"
    for function_id in WITH_CODE:
        assert built[function_id]["Properties"]["CodeUri"] == function_id


# ---------------------------------------------------------------------------------------- invoked like Lambda


@pytest.mark.parametrize("function_id", PROVIDERS_WITH_CODE)
def test_provider_function_runs_a_scheduled_check(function_id: str, aws_env: dict[str, str], host_build: Path) -> None:
    spec: FunctionSpec = SPECS[function_id]
    result = run(function_id, "scheduled.json", aws_env, host_build)
    summary = assert_responded(result)
    assert summary["provider"] == spec.provider
    [account] = summary["accounts"]
    assert account["account"] == "local"
    assert account["ok"] is True, account
    assert account["metrics"] > 0
    assert result.provider_requests == 1
    # The scheduler's execution id is the correlation id.
    assert event("scheduled.json")["execution_id"] in result.logs
    # The dead-man's switch alarm reads exactly this metric: namespace, dimensions and name.
    [emf] = emf_records(result.logs)
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == observability.NAMESPACE
    assert directive["Dimensions"] == [["provider", "service"]]
    assert emf["provider"] == spec.provider and emf["service"] == observability.SERVICE
    assert emf["SuccessfulChecks"] == [1.0]


@pytest.mark.skipif("FlashbackFunction" not in WITH_CODE, reason="no Flashback handler")
def test_test_alert_reaches_the_alert_topic(aws_env: dict[str, str], host_build: Path) -> None:
    result = run("FlashbackFunction", "test-alert.json", aws_env, host_build)
    summary = assert_responded(result)
    assert summary["accounts"][0]["alerts"] == 1
    [message] = result.published
    assert message["topic"].endswith(":quota-sentinel-alerts")
    [alert] = message["body"]["alerts"]
    assert alert["kind"] == "test" and alert["test"] is True


@pytest.mark.skipif("FlashbackFunction" not in WITH_CODE, reason="no Flashback handler")
def test_tracing_active_loads_the_xray_sdk_from_the_layer(aws_env: dict[str, str], host_build: Path) -> None:
    """Tracing=Active sets POWERTOOLS_TRACE_DISABLED=false: the Tracer imports aws_xray_sdk, which the layer holds."""
    result = invoke(
        "FlashbackFunction", event("scheduled.json"), aws_env, build_dir=host_build, parameters={"Tracing": "Active"}
    )
    assert assert_responded(result)["accounts"][0]["ok"] is True


@pytest.mark.skipif("SlackNotifierFunction" not in WITH_CODE, reason="no Slack notifier handler yet")
@pytest.mark.parametrize("event_name", ["sns-alert.json", "sns-alarm.json"])
def test_slack_notifier_posts_to_the_webhook(event_name: str, aws_env: dict[str, str], host_build: Path) -> None:
    result = run("SlackNotifierFunction", event_name, aws_env, host_build)
    counts = assert_responded(result)
    assert counts["delivered"] + counts["duplicates"] == 1, counts
    if counts["delivered"]:
        [post] = result.webhook_posts
        assert post["text"]


@pytest.mark.skipif("CustomFunction" not in WITH_CODE, reason="no custom providers handler")
def test_custom_function_runs_a_scheduled_check(aws_env: dict[str, str], host_build: Path) -> None:
    result = run("CustomFunction", "scheduled.json", aws_env, host_build)
    summary = assert_responded(result)
    assert summary["provider"] == "custom"
    [account] = summary["accounts"]
    assert (account["provider"], account["account"], account["ok"], account["metrics"]) == (
        "pagemill", "local", True, 2,
    ), account  # fmt: skip
    assert result.provider_requests == 1
    [emf] = emf_records(result.logs)
    assert emf["provider"] == "custom" and emf["SuccessfulChecks"] == [1.0]


def test_every_function_with_code_is_invoked_here() -> None:
    """A new function with a handler must get an invoke test above."""
    covered = set(PROVIDERS_WITH_CODE) | {"SlackNotifierFunction", "CustomFunction"}
    assert set(WITH_CODE) <= covered, set(WITH_CODE) - covered


# ---------------------------------------------------------------------------------------- negative controls


@pytest.mark.parametrize(
    ("missing", "module"),
    [("shared", "shared"), ("pydantic", "pydantic"), ("requests", "requests")],
)
def test_artifact_without_shared_code_or_a_dependency_fails_to_load(
    missing: str, module: str, aws_env: dict[str, str], host_build: Path, tmp_path: Path
) -> None:
    """Proof that the invoke path imports only from the artifact: nothing leaks in from the repo or .venv."""
    for part in ("FlashbackFunction", "SharedLayer"):
        shutil.copytree(host_build / part, tmp_path / part)
    shutil.rmtree(tmp_path / "SharedLayer" / "python" / missing)
    result = run("FlashbackFunction", "scheduled.json", aws_env, tmp_path)
    assert result.outcome == "init_error", result.logs
    assert result.payload["errorType"] == "Runtime.ImportModuleError"
    assert f"No module named '{module}'" in result.payload["errorMessage"]
