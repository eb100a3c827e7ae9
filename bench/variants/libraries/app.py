"""P1 breakdown: the libraries any implementation must load, and nothing else.

boto3, requests, pydantic (with one model built, which loads pydantic's schema machinery) and the
Powertools Logger and Metrics, constructed. No Tracer, no clients, no work: the floor under both the
candidate and the naive baseline.
"""

from typing import Any

import boto3  # noqa: F401 - loaded, as any implementation must
import requests  # noqa: F401 - loaded, as any implementation must
from aws_lambda_powertools import Logger, Metrics
from pydantic import BaseModel

logger = Logger(service="quota-sentinel")
metrics = Metrics(namespace="QuotaSentinel", service="quota-sentinel")


class Account(BaseModel):
    name: str


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"accounts": [{"account": Account(name="none").name, "ok": True}]}
