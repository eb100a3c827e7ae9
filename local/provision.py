"""The one module that provisions local resources from template.yaml: the state table, the alert topic,
its subscriptions with their filter policies, and the SSM parameters the functions read.

``make run`` and the CLI (``TemplateView``, ``ensure_table``, ``provision_alert_topic``), the local
invoke and the bench (through ``local.resources``) and the integration fixtures all provision through here,
so code and template cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from local import REPO_ROOT
from local.template import ACCOUNT_ID, REGION, Resolver, Unresolved, load_template

TABLE_NAME = "quota-sentinel-state"
TOPIC_NAME = "quota-sentinel-alerts"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{TOPIC_NAME}"
LOCAL_NAMES = {"StateTable": TABLE_NAME, "AlertTopic": TOPIC_NAME, "OpsTopic": "quota-sentinel-ops"}
DEFAULT_TIMEOUT_SECONDS = 60.0
SAMPLE_RESPONSES = REPO_ROOT / "tests" / "fixtures" / "providers"
LOCAL_API_KEY = "local-demo-key"
_CONTRACT_KEY_SCHEMA = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
    "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
}


def function_logical_id(provider: str) -> str:
    return f"{provider.capitalize()}Function"


# ---------------------------------------------------------------------------------------- the template


class TemplateView:
    """template.yaml, read defensively: what cannot be read or resolved locally falls back to defaults."""

    def __init__(self, template: Mapping[str, Any], refs: Mapping[str, str]) -> None:
        self.template = template
        self.resolver = Resolver(template, refs=refs, region=REGION)
        self.notes: list[str] = []

    @classmethod
    def load(cls, refs: Mapping[str, str]) -> TemplateView:
        try:
            template: Any = load_template()
        except Exception as error:  # a template being edited must not stop the demo
            view = cls({}, refs)
            view.notes.append(f"template.yaml could not be read ({type(error).__name__}); using the contract's names")
            return view
        return cls(template if isinstance(template, dict) else {}, refs)

    def _section(self, name: str) -> dict[str, Any]:
        section = self.template.get(name)
        return section if isinstance(section, dict) else {}

    def resource(self, logical_id: str) -> dict[str, Any]:
        resource = self._section("Resources").get(logical_id)
        return resource if isinstance(resource, dict) else {}

    def properties(self, logical_id: str) -> dict[str, Any]:
        properties = self.resource(logical_id).get("Properties")
        return properties if isinstance(properties, dict) else {}

    def parameter_default(self, name: str, fallback: str) -> str:
        spec = self._section("Parameters").get(name)
        return str(spec["Default"]) if isinstance(spec, dict) and spec.get("Default") not in (None, "") else fallback

    # -- what the CLI needs

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """Globals.Function and the function's own Environment.Variables, resolved; unresolvable ones left out."""

        def left_unset(name: str, _error: Unresolved) -> None:
            self.notes.append(f"{logical_id}: {name} has no local value; left unset")

        return self.resolver.function_environment(logical_id, on_unresolved=left_unset)

    def function_timeout(self, logical_id: str) -> float:
        globals_section = self._section("Globals").get("Function")
        timeout = self.properties(logical_id).get("Timeout") or (
            globals_section.get("Timeout") if isinstance(globals_section, dict) else None
        )
        try:
            return float(timeout) if timeout is not None else DEFAULT_TIMEOUT_SECONDS
        except (TypeError, ValueError):
            return DEFAULT_TIMEOUT_SECONDS

    def _policy(self, raw: Any, where: str) -> dict[str, Any] | None:
        if raw is None:
            return None
        try:
            policy = self.resolver.resolve(raw)
        except Unresolved:
            self.notes.append(f"{where}: filter policy has no local value; no filter")
            return None
        return policy if isinstance(policy, dict) else None

    def email_filter(self, topic: str = "AlertTopic") -> tuple[str, dict[str, Any] | None]:
        """(where, policy) of the template's email subscription to ``topic``."""
        for logical_id, resource in self._section("Resources").items():
            properties = resource.get("Properties") if isinstance(resource, dict) else None
            if (
                isinstance(properties, dict)
                and resource.get("Type") == "AWS::SNS::Subscription"
                and properties.get("Protocol") == "email"
                and properties.get("TopicArn") == {"Ref": topic}
            ):
                return logical_id, self._policy(properties.get("FilterPolicy"), logical_id)
        return "no email subscription in template.yaml", None

    def sns_event_filter(self, function: str, topic: str = "AlertTopic") -> tuple[str, dict[str, Any] | None]:
        """(where, policy) of ``function``'s SNS event on ``topic``."""
        events = self.properties(function).get("Events")
        for name, event in events.items() if isinstance(events, dict) else ():
            properties = event.get("Properties") if isinstance(event, dict) else None
            if (
                isinstance(properties, dict)
                and event.get("Type") == "SNS"
                and properties.get("Topic") == {"Ref": topic}
            ):
                where = f"{function}.Events.{name}"
                return where, self._policy(properties.get("FilterPolicy"), where)
        return f"no SNS event on {topic} in {function}", None

    def topic_attributes(self, logical_id: str = "AlertTopic") -> dict[str, str]:
        """The attributes moto supports; the KMS key is left out (no KMS locally)."""
        display_name = self.properties(logical_id).get("DisplayName")
        try:
            resolved = self.resolver.resolve(display_name) if display_name is not None else None
        except Unresolved:
            resolved = None
        return {"DisplayName": str(resolved)} if resolved else {}


# ---------------------------------------------------------------------------------------- resources


def create_table(dynamodb: Any, table_name: str, properties: Mapping[str, Any]) -> None:
    """A table with the key schema, billing and TTL of a template resource's properties."""
    dynamodb.create_table(
        TableName=table_name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"),
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table_name)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


def create_table_from_template(table_name: str, logical_id: str = "StateTable", client: Any = None) -> None:
    """Create a table as template.yaml defines ``logical_id``."""
    create_table(client or boto3.client("dynamodb"), table_name, load_template()["Resources"][logical_id]["Properties"])


def ensure_table(dynamodb: Any, table_name: str = TABLE_NAME) -> str:
    """The state table, from template.yaml's StateTable (the contract's schema if it cannot be read).

    Returns where its definition came from, or "exists".
    """
    if table_name in dynamodb.list_tables()["TableNames"]:
        return "exists"
    try:
        create_table_from_template(table_name, client=dynamodb)
    except Exception as error:  # a template being edited: the contract's schema is enough locally
        create_table(dynamodb, table_name, _CONTRACT_KEY_SCHEMA)
        return f"the contract's schema; template.yaml StateTable unreadable ({type(error).__name__})"
    return "template.yaml StateTable"


def subscribe_queue(
    topic_arn: str, queue_name: str, *, raw: bool = True, policy: Mapping[str, Any] | None = None, clients: Any = boto3
) -> tuple[str, str]:
    """An SQS queue subscribed to ``topic_arn`` (raw delivery or the SNS envelope); (queue URL, subscription ARN)."""
    sns, sqs = clients.client("sns"), clients.client("sqs")
    queue_url = str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": "true" if raw else "false"}
    if policy:
        attributes["FilterPolicy"] = json.dumps(policy)
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return queue_url, str(subscription["SubscriptionArn"])


def drain(queue_url: str, clients: Any = boto3) -> list[str]:
    """Every message body in the queue, oldest first (moto delivers SNS to SQS as it publishes)."""
    sqs = clients.client("sqs")
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    ):
        for message in batch:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def put_parameter(name: str, value: str, *, secure: bool, clients: Any = boto3) -> None:
    clients.client("ssm").put_parameter(
        Name=name, Value=value, Type="SecureString" if secure else "String", Overwrite=True
    )


def describe_policy(policy: Mapping[str, Any] | None) -> str:
    if not policy:
        return "no filter"
    return "filter " + "; ".join(
        f"{key} in {', '.join(map(str, value))}" if isinstance(value, list) else f"{key} {value}"
        for key, value in policy.items()
    )


@dataclass
class AlertChannels:
    """The alert topic and what subscribes to it here: an email queue (raw) and the Slack notifier's queue."""

    topic_arn: str
    email_queue: str
    slack_queue: str
    slack_subscription: str
    notes: list[str]


def provision_alert_topic(template: TemplateView) -> AlertChannels:
    """AlertTopic and its subscriptions, with the template's filter policies, as SQS queues we read."""
    attributes = template.topic_attributes()
    topic_arn = str(boto3.client("sns").create_topic(Name=TOPIC_NAME, Attributes=attributes)["TopicArn"])
    shown = f' ("{attributes["DisplayName"]}")' if "DisplayName" in attributes else ""
    notes = [f"AlertTopic              topic {TOPIC_NAME}{shown}"]
    where, policy = template.email_filter()
    email_queue, _ = subscribe_queue(topic_arn, "quota-sentinel-email", raw=True, policy=policy)
    notes.append(f"email subscription      {where}: {describe_policy(policy)}")
    where, policy = template.sns_event_filter("SlackNotifierFunction")
    slack_queue, slack_subscription = subscribe_queue(
        topic_arn, "quota-sentinel-slack-notifier", raw=False, policy=policy
    )
    notes.append(f"Slack notifier          {where}: {describe_policy(policy)}")
    return AlertChannels(topic_arn, email_queue, slack_queue, slack_subscription, notes)


def provision_notifier(template: TemplateView, webhook_url: str) -> tuple[dict[str, str], str]:
    """The Slack notifier's environment, with its webhook URL in the SecureString it reads; and that name."""
    environment = template.function_environment("SlackNotifierFunction")
    environment.setdefault("STATE_TABLE_NAME", TABLE_NAME)
    # The template's default is empty (no notifier); the local stack always runs one.
    parameter = environment.get("SLACK_WEBHOOK_PARAMETER") or template.parameter_default(
        "SlackWebhookParameter", "/quota-sentinel/slack/webhook"
    )
    parameter = parameter or "/quota-sentinel/slack/webhook"
    environment["SLACK_WEBHOOK_PARAMETER"] = parameter
    put_parameter(parameter, webhook_url, secure=True)
    return environment, parameter


def provision_provider(
    template: TemplateView, provider: str, account: str, base_url: str, api_key: str
) -> tuple[dict[str, str], str, str]:
    """One provider function's environment, its accounts parameter naming ``account`` at ``base_url``, and the
    account's key in a SecureString. Returns (environment, accounts parameter, key parameter).
    """
    environment = template.function_environment(function_logical_id(provider))
    environment.pop("ACCOUNTS", None)
    environment.setdefault("STATE_TABLE_NAME", TABLE_NAME)
    environment.setdefault("ALERT_TOPIC_ARN", TOPIC_ARN)
    parameter = environment.setdefault(
        "ACCOUNTS_PARAMETER",
        template.parameter_default(f"{provider.capitalize()}AccountsParameter", f"/quota-sentinel/{provider}/accounts"),
    )
    key_parameter = f"/quota-sentinel/{provider}/{account}/api-key"
    put_parameter(key_parameter, api_key, secure=True)
    accounts = [{"name": account, "base_url": base_url, "api_key": {"ssm": key_parameter}}]
    put_parameter(parameter, json.dumps(accounts), secure=False)
    return environment, parameter, key_parameter


def provision_custom_provider(
    template: TemplateView, entry: Mapping[str, Any], key_parameter: str, api_key: str
) -> tuple[dict[str, str], str]:
    """CustomFunction's environment, with ``entry`` as one parameter under its providers path (the template's
    default, a path ending in ``/``) and the key in the SecureString ``key_parameter``. Returns (environment,
    the entry's parameter)."""
    environment = template.function_environment("CustomFunction")
    environment.pop("CUSTOM_PROVIDERS", None)
    environment.setdefault("STATE_TABLE_NAME", TABLE_NAME)
    environment.setdefault("ALERT_TOPIC_ARN", TOPIC_ARN)
    path = environment.setdefault(
        "CUSTOM_PROVIDERS_PARAMETER",
        template.parameter_default("CustomProvidersParameter", "/quota-sentinel/custom/providers/"),
    )
    put_parameter(key_parameter, api_key, secure=True)
    parameter = f"{path.rstrip('/')}/{entry['id']}" if path.endswith("/") else path
    put_parameter(parameter, json.dumps(entry if path.endswith("/") else [entry]), secure=False)
    return environment, parameter
