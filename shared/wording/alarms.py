"""CloudWatch alarms from the ops topic, as Slack renders them: what fired and what to check next.

Email subscribers get CloudWatch's own text, so the template's AlarmDescription carries the first
next step; here the notifier can say more, from the alarm's metric and dimensions.
"""

from __future__ import annotations

from typing import Any

from shared.formatting import truncate
from shared.wording.slack import escape as _escape

MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FALLBACK_TEXT = 3000

_ALARM_EMOJI = {"ALARM": "🚨", "OK": "✅", "INSUFFICIENT_DATA": "❔"}
_STATE_WORDS = {"ALARM": "firing", "OK": "back to normal", "INSUFFICIENT_DATA": "without data"}


def _dimensions(trigger: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in trigger.get("Dimensions") or []:
        if isinstance(item, dict):
            name, value = item.get("name") or item.get("Name"), item.get("value") or item.get("Value")
            if name and value:
                found[str(name)] = str(value)
    return found


def _stack(alarm_name: str, logical_id: str) -> str:
    """CloudFormation names an alarm ``<stack>-<logical id>-<suffix>``: the stack, or a placeholder."""
    head, found, _ = alarm_name.partition(f"-{logical_id}-")
    return head if found and head else "<stack>"


def next_steps(alarm: dict[str, Any]) -> list[str]:
    """What to check next, from the alarm's metric; empty when the alarm is not one we know."""
    trigger = alarm.get("Trigger")
    trigger = trigger if isinstance(trigger, dict) else {}
    metric, dims, name = trigger.get("MetricName"), _dimensions(trigger), str(alarm.get("AlarmName", ""))
    if metric == "SuccessfulChecks":
        provider = dims.get("provider", "")
        function = f"{provider[:1].upper()}{provider[1:]}Function" if provider else "<Provider>Function"
        stack = _stack(name, function.replace("Function", "DeadMansSwitchAlarm"))
        return [
            f"Read the last runs: `sam logs -n {function} --stack-name {stack} --start-time '3 hours ago'`",
            "A failed run names the account and the reason; no run at all points at the schedule.",
            f"Run a check now and read its summary: `sam remote invoke {function} --stack-name {stack}`",
        ]
    if metric == "Errors":
        function = dims.get("FunctionName", "<function>")
        return [
            "Read its errors: `aws logs tail $(aws lambda get-function-configuration --function-name "
            f"{function} --query LoggingConfig.LogGroup --output text) --since 1h --filter-pattern ERROR`",
            "Configuration, DynamoDB or SNS failed; alerts not published are published by the next run.",
        ]
    if metric == "ApproximateNumberOfMessagesVisible":
        queue = dims.get("QueueName", "<queue>")
        url = f"$(aws sqs get-queue-url --queue-name {queue} --query QueueUrl --output text)"
        return [
            f"Read the failed events: `aws sqs receive-message --queue-url {url} --max-number-of-messages 10 "
            "--attribute-names All --message-attribute-names All` (ErrorMessage says why)",
            "Fix the cause, then redrive a run: invoke its function with the message body as the event; "
            "delete the message once handled.",
        ]
    return []


def _what(description: str) -> str:
    """The description up to its next steps (the template writes those for email; Slack lists its own)."""
    return description.split(" Next: ", 1)[0] if description else ""


def render_cloudwatch_alarm(alarm: dict[str, Any]) -> dict[str, Any]:
    """A CloudWatch alarm notification from the ops topic, as a readable ops alert with next steps."""
    name = str(alarm.get("AlarmName", "CloudWatch alarm"))
    state = str(alarm.get("NewStateValue", "UNKNOWN"))
    old_state = str(alarm.get("OldStateValue", "UNKNOWN"))
    emoji = _ALARM_EMOJI.get(state, "❔")
    header = f"{emoji} Ops: {name} is {_STATE_WORDS.get(state, state)}"
    lines = [f"*{_escape(name)}*: {old_state} → {state}"]
    steps = next_steps(alarm) if state == "ALARM" else []
    description = str(alarm.get("AlarmDescription") or "")
    if description:
        lines.append(_escape(_what(description) if steps else description))
    if alarm.get("NewStateReason"):
        lines.append(f"_{_escape(str(alarm['NewStateReason']))}_")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(header, MAX_HEADER), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), MAX_SECTION)}},
    ]
    if steps:
        text = "*Next steps*\n" + "\n".join(f"{number}. {_escape(step)}" for number, step in enumerate(steps, 1))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}})
    context = " · ".join(str(alarm.get(key, "")) for key in ("Region", "StateChangeTime", "AWSAccountId"))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(context, MAX_SECTION)}]})
    return {
        "text": truncate(f"{name} is {state}: {alarm.get('NewStateReason', '')}", MAX_FALLBACK_TEXT),
        "blocks": blocks,
    }
