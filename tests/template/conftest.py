"""Template tests: the parsed template, the deploy build and the host build invoked through the RIC."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local import REPO_ROOT
from local.stack import running_local_stack
from local.template import load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


def make(*targets: str) -> None:
    """Run make targets of the repo (idempotent: `make test` has already run them, so this is quick)."""
    executable = shutil.which("make")
    assert executable is not None, "make is not on PATH"
    subprocess.run([executable, "--no-print-directory", "-s", *targets], cwd=REPO_ROOT, check=True)


@pytest.fixture(scope="session")
def validated() -> None:
    make("validate")


@pytest.fixture(scope="session")
def deploy_build() -> Path:
    make("build")
    return REPO_ROOT / ".aws-sam" / "build"


@pytest.fixture(scope="session")
def host_build() -> Path:
    make("build-host")
    return REPO_ROOT / "build" / "host"


@pytest.fixture(scope="session")
def aws_env() -> Iterator[dict[str, str]]:
    """A local stack of our own (DynamoDB Local and moto server); the environment boto3 needs to reach it."""
    with running_local_stack() as stack:
        yield stack.environment()
