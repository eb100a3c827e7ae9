"""The translated template as a stack on moto server: created by CloudFormation where moto can, and
through each service's own API from the translated properties where it cannot.

moto's CloudFormation skips (with a warning) Scheduler schedules, SNS subscriptions, SQS queue
policies, CloudWatch alarms and Lambda event-invoke configs. Those are resolved here, with the stack's
parameters and the physical ids and attributes of what CloudFormation created, and created with
``scheduler``, ``sns``, ``sqs``, ``cloudwatch`` and ``lambda`` calls.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local.template import Resolver, Unresolved

TRANSLATED_DIR = Path(__file__).resolve().parents[2] / "build" / "deploy-check"
CODE_BUCKET = "quota-sentinel-deploy-check"  # as in translate.py
CREATED_ELSEWHERE = (
    "AWS::Scheduler::Schedule",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::EventInvokeConfig",
)
NUMERIC_ALARM_FIELDS = ("Period", "EvaluationPeriods", "Threshold", "DatapointsToAlarm")


@dataclass(frozen=True)
class Translated:
    name: str
    parameters: dict[str, str]
    template: dict[str, Any]

    @classmethod
    def load(cls, name: str, directory: Path = TRANSLATED_DIR) -> Translated:
        document = json.loads((directory / f"{name}.json").read_text())
        return cls(name, document["parameters"], document["template"])

    def expected_resources(self) -> dict[str, dict[str, Any]]:
        """The resources whose condition holds for these parameters: what the stack must hold."""
        resolver = Resolver(self.template, self.parameters)
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if "Condition" not in resource or resolver.condition(resource["Condition"])
        }


class StackResolver(Resolver):
    """The template's resolver, with ``Fn::GetAtt`` answered from the created stack."""

    def __init__(self, translated: Translated, refs: Mapping[str, str], attributes: Mapping[str, str]) -> None:
        super().__init__(translated.template, translated.parameters, refs)
        self.attributes = attributes

    def _intrinsic(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            key = f"{logical_id}.{attribute}"
            if key not in self.attributes:
                raise Unresolved(f"Fn::GetAtt {key} has no value on the created stack")
            return self.attributes[key]
        return super()._intrinsic(name, argument)


@dataclass
class CreatedStack:
    translated: Translated
    physical: dict[str, str]  # logical id -> physical id, for what CloudFormation created
    elsewhere: dict[str, Any] = field(default_factory=dict)  # logical id -> what the service API returned
    resolver: StackResolver | None = None
    outputs: dict[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        assert self.resolver is not None
        return self.resolver.resolve(value)


def _stub_code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def moto_clients(endpoint: str, region: str = "us-east-1") -> Callable[[str], Any]:
    """boto3 clients for moto at ``endpoint``, with dummy credentials: nothing here can reach AWS."""

    def client(service: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        )

    return client


def create_on_moto(translated: Translated, endpoint: str, stack_name: str) -> CreatedStack:
    """Create the stack in moto's CloudFormation, then what moto's CloudFormation cannot create."""
    client = moto_clients(endpoint)
    s3 = client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    for logical_id, resource in translated.template["Resources"].items():
        if resource["Type"] in ("AWS::Lambda::Function", "AWS::Lambda::LayerVersion"):
            s3.put_object(Bucket=CODE_BUCKET, Key=f"{logical_id}.zip", Body=_stub_code())
    cloudformation = client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(translated.template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in translated.parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"{stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason')}")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
        if "LogicalResourceId" in r and "PhysicalResourceId" in r and r.get("ResourceStatus") == "CREATE_COMPLETE"
    }
    created = CreatedStack(translated, physical, outputs={o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]})
    created.resolver = StackResolver(translated, physical, _attributes(translated, physical, client))
    _create_elsewhere(created, client)
    return created


def _attributes(translated: Translated, physical: Mapping[str, str], client: Callable[[str], Any]) -> dict[str, str]:
    """The Fn::GetAtt values that the template uses, read from the created resources."""
    attributes: dict[str, str] = {}
    for logical_id, resource in translated.template["Resources"].items():
        if logical_id not in physical:
            continue
        kind, name = resource["Type"], physical[logical_id]
        if kind == "AWS::Lambda::Function":
            attributes[f"{logical_id}.Arn"] = client("lambda").get_function(FunctionName=name)["Configuration"][
                "FunctionArn"
            ]
        elif kind == "AWS::SQS::Queue":
            queue = client("sqs").get_queue_attributes(QueueUrl=name, AttributeNames=["QueueArn"])["Attributes"]
            attributes[f"{logical_id}.Arn"] = queue["QueueArn"]
            attributes[f"{logical_id}.QueueName"] = queue["QueueArn"].rsplit(":", 1)[1]
        elif kind == "AWS::DynamoDB::Table":
            attributes[f"{logical_id}.Arn"] = client("dynamodb").describe_table(TableName=name)["Table"]["TableArn"]
        elif kind == "AWS::IAM::Role":
            attributes[f"{logical_id}.Arn"] = client("iam").get_role(RoleName=name)["Role"]["Arn"]
        elif kind == "AWS::SNS::Topic":
            attributes[f"{logical_id}.TopicName"] = name.rsplit(":", 1)[1]
            attributes[f"{logical_id}.TopicArn"] = name
    return attributes


def _create_elsewhere(created: CreatedStack, client: Callable[[str], Any]) -> None:
    for logical_id, resource in created.translated.expected_resources().items():
        kind = resource["Type"]
        if kind not in CREATED_ELSEWHERE:
            continue
        properties = created.resolve(resource.get("Properties", {}))
        name = f"{created.translated.name}-{logical_id}"
        if kind == "AWS::Scheduler::Schedule":
            scheduler = client("scheduler")
            scheduler.create_schedule(Name=name, **properties)
            created.elsewhere[logical_id] = scheduler.get_schedule(Name=name)
        elif kind == "AWS::SNS::Subscription":
            sns = client("sns")
            attributes = {
                key: json.dumps(properties[key]) for key in ("FilterPolicy", "RedrivePolicy") if key in properties
            }
            arn = sns.subscribe(
                TopicArn=properties["TopicArn"],
                Protocol=properties["Protocol"],
                Endpoint=properties["Endpoint"],
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
            created.elsewhere[logical_id] = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        elif kind == "AWS::SQS::QueuePolicy":
            sqs = client("sqs")
            for queue in properties["Queues"]:
                sqs.set_queue_attributes(
                    QueueUrl=queue, Attributes={"Policy": json.dumps(properties["PolicyDocument"])}
                )
                created.elsewhere[logical_id] = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])[
                    "Attributes"
                ]
        elif kind == "AWS::CloudWatch::Alarm":
            alarm: dict[str, Any] = {
                key: int(value) if key in NUMERIC_ALARM_FIELDS else value for key, value in properties.items()
            }
            for metric in alarm.get("Metrics", []):
                if "MetricStat" in metric:
                    metric["MetricStat"]["Period"] = int(metric["MetricStat"]["Period"])
            cloudwatch = client("cloudwatch")
            cloudwatch.put_metric_alarm(AlarmName=name, **alarm)
            [described] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
            created.elsewhere[logical_id] = described
        elif kind == "AWS::Lambda::EventInvokeConfig":
            lambda_client = client("lambda")
            config = {key: value for key, value in properties.items() if key != "Qualifier"}
            lambda_client.put_function_event_invoke_config(Qualifier=properties["Qualifier"], **config)
            created.elsewhere[logical_id] = lambda_client.get_function_event_invoke_config(
                FunctionName=properties["FunctionName"], Qualifier=properties["Qualifier"]
            )
