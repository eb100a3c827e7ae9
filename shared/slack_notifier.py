"""The Slack notifier's run: SNS records in, one Block Kit message per alert document out.

Each alert document is delivered once: Powertools Idempotency on the state table, keyed on the
document's alert ids, which are the same in every re-publish. CloudWatch alarms from the ops topic
are keyed on the alarm, its state and its change time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.config import load_slack_settings
from shared.models import AlertDocument
from shared.observability import logger
from shared.secrets import read_webhook_url
from shared.slack import SlackWebhook
from shared.state_store import idempotency_layer
from shared.wording.alarms import render_cloudwatch_alarm
from shared.wording.slack import render_alert_document

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

IDEMPOTENCY_SECONDS = 7 * 24 * 3600  # re-publishes after a crash come within the outbox lease, far sooner


class UnreadableMessage(ValueError):
    """An SNS message that is neither an alert document nor a CloudWatch alarm."""


def parse_message(message: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(Slack payload, idempotency key, what it is) for one SNS message body."""
    try:
        data = json.loads(message)
    except ValueError:
        raise UnreadableMessage("SNS message is not JSON; expected an alert document or a CloudWatch alarm") from None
    if isinstance(data, dict) and "alerts" in data:
        try:
            document = AlertDocument.model_validate(data)
        except ValidationError as error:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors(include_input=False)[:3])
            raise UnreadableMessage(f"alert document is off-schema at {fields}") from None
        key: dict[str, Any] = {"alert_ids": sorted(alert.id for alert in document.alerts)}
        return render_alert_document(document), key, f"alerts {document.provider}/{document.account}"
    if isinstance(data, dict) and "AlarmName" in data:
        key = {"alarm": data["AlarmName"], "state": data.get("NewStateValue"), "at": data.get("StateChangeTime")}
        return render_cloudwatch_alarm(data), key, f"alarm {data['AlarmName']}"
    raise UnreadableMessage("SNS message is neither an alert document nor a CloudWatch alarm")


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    if isinstance(response, dict):
        response = {**response, "duplicate": True}
    return response


@functools.lru_cache(maxsize=4)
def idempotent_delivery(table_name: str) -> tuple[Callable[..., dict[str, Any]], Any]:
    """The delivery function wrapped in Powertools Idempotency (built once per table)."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(
        event_key_jmespath="key", expires_after_seconds=IDEMPOTENCY_SECONDS, response_hook=_mark_duplicate
    )

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="delivery", persistence_store=idempotency_layer(table_name), config=config
    )
    def deliver(delivery: dict[str, Any], webhook: SlackWebhook, seconds_left: Callable[[], float]) -> dict[str, Any]:
        result = webhook.post(delivery["payload"], seconds_left)
        if not result.delivered:
            # A permanent 4xx: retrying will not help; Slack's error string says why.
            logger.error("Slack refused the message", extra={"status": result.status, "slack_error": result.error})
        return {"delivered": result.delivered, "status": result.status, "error": result.error}

    return deliver, config


def notify_slack(
    event: Mapping[str, Any],
    context: LambdaContext | None,
    *,
    environ: Mapping[str, str] | None = None,
    webhook: SlackWebhook | None = None,
) -> dict[str, Any]:
    """Deliver every SNS record of the event to Slack; returns counts for the log and tests."""
    settings = load_slack_settings(environ)
    webhook = webhook or SlackWebhook(read_webhook_url(settings.slack_webhook_parameter).get_secret_value())
    deliver, config = idempotent_delivery(settings.state_table_name)
    if context is not None:
        config.register_lambda_context(context)

    def seconds_left() -> float:
        return context.get_remaining_time_in_millis() / 1000 if context is not None else 30.0

    counts = {"delivered": 0, "duplicates": 0, "refused": 0}
    for record in event.get("Records", []):
        sns = record.get("Sns", {})
        payload, key, what = parse_message(str(sns.get("Message", "")))
        outcome = deliver(delivery={"key": key, "payload": payload}, webhook=webhook, seconds_left=seconds_left)
        if outcome.get("duplicate"):
            counts["duplicates"] += 1
            logger.info("already delivered; skipped", extra={"subject": what, "sns_message_id": sns.get("MessageId")})
        elif outcome["delivered"]:
            counts["delivered"] += 1
            logger.info("delivered to Slack", extra={"subject": what, "sns_message_id": sns.get("MessageId")})
        else:
            counts["refused"] += 1
    return counts
