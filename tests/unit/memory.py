"""Test helpers around whole runs: a log capture, and Powertools Parameters on a botocore Stubber (no socket).

The in-memory state store and publisher are ``shared.in_memory``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from botocore.stub import Stubber

from shared.observability import logger


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Exactly what the Powertools logger emits, with its JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger(logger.name).removeHandler(handler)


@contextmanager
def stubbed_parameters(kind: str, operation: str, error_code: str, times: int = 1) -> Iterator[None]:
    """Powertools' default ``ssm`` or ``secrets`` provider on a botocore Stubber that answers ``error_code``."""
    service = "ssm" if kind == "ssm" else "secretsmanager"
    client: Any = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for _ in range(times):
        stubber.add_client_error(operation, service_error_code=error_code, http_status_code=400)
    provider_class = parameters.SSMProvider if kind == "ssm" else parameters.SecretsProvider
    DEFAULT_PROVIDERS[kind] = provider_class(boto3_client=client)
    with stubber:
        yield
    DEFAULT_PROVIDERS.pop(kind, None)
