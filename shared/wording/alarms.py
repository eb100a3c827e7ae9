"""CloudWatch alarms from the ops topic, as Slack renders them: what fired and what to check next.

Email subscribers get CloudWatch's own text, so the template's AlarmDescription carries the first
next step; here the notifier can say more, from the alarm's metric and dimensions.
"""

from __future__ import annotations

from typing import Any

from shared.formatting import truncate

MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FALLBACK_TEXT = 3000

_ALARM_EMOJI = {"ALARM": "🚨", "OK": "✅", "INSUFFICIENT_DATA": "❔"}
_STATE_WORDS = {"ALARM": "firing", "OK": "back to normal", "INSUFFICIENT_DATA": "without data"}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _dimensions(trigger: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in trigger.get("Dimensions") or []:
        if isinstance(item, dict):
            name, value = item.get("name") or item.get("Name"), item.get("value") or item.get("Value")
            if name and value:
                found[str(name)] = str(value)
    return found


def next_steps(alarm: dict[str, Any]) -> list[str]:
    """What to check next, from the alarm's metric; empty when the alarm is not one we know."""
    trigger = alarm.get("Trigger") if isinstance(alarm.get("Trigger"), dict) else {}
    assert isinstance(trigger, dict)
    metric, dims = trigger.get("MetricName"), _dimensions(trigger)
    if metric == "SuccessfulChecks":
        provider = dims.get("provider", "<provider>")
        function = f"{provider[:1].upper()}{provider[1:]}Function"
        return [
            f"Read the last runs: `sam logs -n {function} --stack-name <stack> --start-time '1 hour ago'`",
            "A run that ends in an error names the account and the reason; a missing run points at the schedule.",
            f"Check once by hand: `aws lambda invoke --function-name <the {function} name> out.json`, "
            "then read `out.json` (the run summary)",
        ]
    if metric == "Errors":
        function = dims.get("FunctionName", "<function>")
        return [
            "Read its log: `aws logs tail $(aws lambda get-function-configuration --function-name "
            f"{function} --query LoggingConfig.LogGroup --output text) --since 1h`",
            "Errors are configuration, DynamoDB or SNS failures; alerts not published are published by a later run.",
        ]
    if metric == "ApproximateNumberOfMessagesVisible":
        queue = dims.get("QueueName", "<queue>")
        return [
            f"Read the failed events: `aws sqs receive-message --queue-url <url of {queue}> "
            "--attribute-names All --message-attribute-names All` (ErrorMessage says why)",
            "Redrive a run by invoking its function with the message body as the event; "
            "then delete the message (or `aws sqs purge-queue` once all are handled).",
        ]
    if metric == "Throttles" or "throttl" in str(alarm.get("AlarmDescription", "")).lower():
        return ["Raise the function's reserved concurrency or the account's Lambda concurrency limit."]
    return []


def render_cloudwatch_alarm(alarm: dict[str, Any]) -> dict[str, Any]:
    """A CloudWatch alarm notification from the ops topic, as a readable ops alert with next steps."""
    name = str(alarm.get("AlarmName", "CloudWatch alarm"))
    state = str(alarm.get("NewStateValue", "UNKNOWN"))
    old_state = str(alarm.get("OldStateValue", "UNKNOWN"))
    emoji = _ALARM_EMOJI.get(state, "❔")
    header = f"{emoji} Ops: {name} is {_STATE_WORDS.get(state, state)}"
    lines = [f"*{_escape(name)}*: {old_state} → {state}"]
    if alarm.get("AlarmDescription"):
        lines.append(_escape(str(alarm["AlarmDescription"])))
    if alarm.get("NewStateReason"):
        lines.append(f"_{_escape(str(alarm['NewStateReason']))}_")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(header, MAX_HEADER), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), MAX_SECTION)}},
    ]
    steps = next_steps(alarm) if state == "ALARM" else []
    if steps:
        text = "*Next steps*\n" + "\n".join(f"{number}. {_escape(step)}" for number, step in enumerate(steps, 1))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}})
    context = " · ".join(str(alarm.get(key, "")) for key in ("Region", "StateChangeTime", "AWSAccountId"))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(context, MAX_SECTION)}]})
    return {
        "text": truncate(f"{name} is {state}: {alarm.get('NewStateReason', '')}", MAX_FALLBACK_TEXT),
        "blocks": blocks,
    }
