"""A conditional write that DynamoDB applies but whose answer is lost: the same run publishes its alert, once.

A loopback proxy sits in front of DynamoDB Local. It forwards the first PutItem, then answers it with a 500,
as if the answer had been lost on the way back. botocore retries the write, and the retry fails its own
version condition: the run must recognise its own write, not mistake it for an overlapping run.
"""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from pytest_httpserver import HTTPServer

from shared.models import iso_utc
from shared.runner import run_provider
from shared.state_store import DynamoStateStore
from tests.conftest import FakeLambdaContext
from tests.integration.conftest import Aws
from tests.integration.test_flashback_flow import _deps, _environ, body_at, serve

pytestmark = pytest.mark.integration


class LosingProxy(ThreadingHTTPServer):
    """Forwards every request to DynamoDB Local; loses the answer of the first ``lose`` PutItem calls."""

    daemon_threads = True

    def __init__(self, target: str, lose: int = 1) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.to_lose = lose
        self.lost = 0
        self.put_items = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: LosingProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        connection = http.client.HTTPConnection(*self.server.target, timeout=10)
        headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
        connection.request("POST", self.path, body=body, headers=headers)
        answer = connection.getresponse()
        answer_body = answer.read()
        connection.close()
        lose = False
        if self.headers.get("X-Amz-Target", "").endswith(".PutItem"):
            with self.server.lock:
                self.server.put_items += 1
                if answer.status == 200 and self.server.lost < self.server.to_lose:
                    self.server.lost += 1
                    lose = True
        if lose:  # the write took effect; its answer is replaced by a server error
            status, answer_body = 500, b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"}'
            content_type = "application/x-amz-json-1.0"
        else:
            status, content_type = answer.status, answer.getheader("Content-Type", "application/x-amz-json-1.0")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(answer_body)))
        self.end_headers()
        self.wfile.write(answer_body)


@pytest.fixture
def losing_proxy(aws: Aws) -> Iterator[LosingProxy]:
    proxy = LosingProxy(os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()
    thread.join(timeout=5)


def test_a_write_applied_but_answered_with_an_error_is_recognised_and_its_alert_published_once(
    httpserver: HTTPServer, aws: Aws, losing_proxy: LosingProxy
) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=losing_proxy.url,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, read_timeout=5, connect_timeout=2),
    )
    store = DynamoStateStore(aws.table_name, client=client)
    environ = _environ(aws, httpserver.url_for(""))
    serve(httpserver, body=body_at(96))

    summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=_deps(aws, store=store), environ=environ)

    assert (losing_proxy.lost, losing_proxy.put_items) == (1, 2)  # the write, then botocore's retry of it
    assert summary["accounts"][0] == {"account": "main", "ok": True, "metrics": 2, "alerts": 1, "error": None}
    documents = aws.messages()  # published by this run, not left for the lease to expire
    assert [[(a["kind"], a["metric"]) for a in d["alerts"]] for d in documents] == [
        [("triggered", "EGRESS_MONTHLY_BYTES")]
    ]
    assert aws.outbox("flashback", "main") == {}

    # The state holds one check, not two: the retry was not evaluated again as an overlapping run.
    stored = DynamoStateStore(aws.table_name).load("flashback", "main", 0)
    assert stored.state is not None
    assert stored.state.checked_at is not None
    assert iso_utc(stored.state.checked_at) == documents[0]["checked_at"]
    assert stored.version == 2  # our write, then marking its alert published

    run_provider("flashback", {}, FakeLambdaContext(), dependencies=_deps(aws), environ=environ)
    assert aws.messages() == []  # exactly once
