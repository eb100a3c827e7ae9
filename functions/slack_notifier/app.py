"""Slack notifier: SNS (alert topic and ops topic) to a Slack incoming webhook. Logic in ``shared``."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import capture_lambda_handler, logger
from shared.slack_notifier import notify_slack


@logger.inject_lambda_context(clear_state=True)
@capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return notify_slack(event, context)
