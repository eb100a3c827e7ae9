"""`quota-sentinel status --table NAME` reads a deployed state table with the user's AWS credentials: here the
local stack's DynamoDB stands in for AWS, and the state is what the real Flashback handler wrote."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from types import ModuleType

import pytest
from pytest_httpserver import HTTPServer

from cli.main import main
from tests.integration.conftest import Aws
from tests.integration.test_flashback_flow import body_at, invoke, serve

pytestmark = pytest.mark.integration


def status(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--no-color", "status", *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_status_reads_a_deployed_table_without_starting_a_local_stack(
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType
) -> None:
    provider_env(httpserver.url_for(""))
    serve(httpserver, body=body_at(97))
    invoke(flashback_app)

    code, out, err = status("--table", aws.table_name, "--json")
    document = json.loads(out)
    assert (code, err, document["status"]) == (2, "", "CRITICAL")
    assert ("flashback", "main", "EGRESS_MONTHLY_BYTES", "critical") in {
        (m["provider"], m["account"], m["metric"], m["level"]) for m in document["metrics"]
    }

    code, out, _ = status("--table", aws.table_name, "--provider", "bigdata")
    assert code == 3
    assert out.startswith(f"QUOTA UNKNOWN - No account state in table {aws.table_name} yet.")


def test_status_says_when_the_table_cannot_be_read(aws: Aws) -> None:
    code, out, _ = status("--table", "no-such-table", "--json")
    document = json.loads(out)
    assert (code, document["status"]) == (3, "UNKNOWN")
    assert document["summary"].startswith("Could not read table no-such-table: ")
