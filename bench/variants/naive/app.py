"""P1's baseline: the naive init script, doing the same work as FlashbackFunction.

Everything a naive function would set up at module scope: boto3, requests, pydantic and Powertools
Logger/Metrics/Tracer imported eagerly, ``Tracer()`` constructed (which loads the X-Ray SDK even when
tracing is disabled), and the DynamoDB and SNS clients created before the first event.

The invocation work is the candidate's, on purpose: the handler calls the same ``run_provider`` with
those eager clients injected. Both sides then read the same SSM parameters, make the same GET and the
same GetItem and PutItem, and emit the same logs and metrics; the only difference measured is what is
done at init, and how.
"""

import os
from typing import Any

import boto3
import pydantic  # noqa: F401 - eager, as the naive script does
import requests  # noqa: F401 - eager, as the naive script does
from aws_lambda_powertools import Logger, Metrics, Tracer  # noqa: F401 - eager, as the naive script does
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from shared.notify import SnsAlertPublisher
from shared.observability import SERVICE, logger, metrics
from shared.runner import Dependencies, run_provider
from shared.state_store import DynamoStateStore

tracer = Tracer(service=SERVICE)
_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 4, "mode": "standard"})
dynamodb = boto3.client("dynamodb", config=_CONFIG.merge(Config(max_pool_connections=16)))
sns = boto3.client("sns", config=_CONFIG)
DEPENDENCIES = Dependencies(
    store=DynamoStateStore(os.environ["STATE_TABLE_NAME"], dynamodb),
    publisher=SnsAlertPublisher(os.environ["ALERT_TOPIC_ARN"], sns),
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_provider("flashback", event, context, dependencies=DEPENDENCIES)
