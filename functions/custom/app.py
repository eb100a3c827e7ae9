"""Custom providers' quota check: a door, not a room. The logic lives in ``shared.custom.run``."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.custom.run import run_custom
from shared.observability import capture_lambda_handler, logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_custom(event, context)
