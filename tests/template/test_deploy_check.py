"""`make deploy-check`: the SAM-translated template, for two parameter sets, created on moto server.

For each set (local/deploy/parameter_sets.json: the defaults, and everything on), the translation is
created in moto's CloudFormation on loopback; what moto's CloudFormation cannot create (schedules,
SNS subscriptions, the queue policy, alarms, event-invoke configs) is created through each service's
API from the translated properties. Then every expected resource must exist, the real SnsAlertPublisher's
messages must reach exactly the subscribers whose filter policies admit them, and an access matrix
over the translated IAM policies (AWS managed policies expanded) must hold.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cli.samples import sample_documents
from local.deploy.access import Request, is_allowed, role_statements
from local.deploy.stack import CREATED_ELSEWHERE, CreatedStack, Translated, create_on_moto, moto_clients
from local.stack import MotoServer
from shared.custom import CUSTOM_PROVIDER
from shared.models import Level
from shared.notify import SnsAlertPublisher
from shared.providers import PROVIDER_IDS
from shared.state_store import IDEMPOTENCY_PARTITION
from tests.template.conftest import make

pytestmark = pytest.mark.timeout(600)

PARAMETER_SETS = ["defaults", "everything-on"]
REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTION_OF = {provider: f"{provider.capitalize()}Function" for provider in PROVIDER_IDS}
# Every function on a schedule: the built-in providers' and the one of every custom provider.
SCHEDULED_FUNCTION_OF = {**FUNCTION_OF, CUSTOM_PROVIDER: "CustomFunction"}
SEVERITIES = [level.value for level in Level]


@pytest.fixture(scope="module")
def translated_sets() -> None:
    make("deploy-translate")


@pytest.fixture(scope="module", params=PARAMETER_SETS)
def stack(request: pytest.FixtureRequest, translated_sets: None) -> Iterator[tuple[CreatedStack, Callable[[str], Any]]]:
    server = MotoServer().start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # moto warns once per type its CloudFormation skips
            logging.getLogger("moto").setLevel(logging.ERROR)
            created = create_on_moto(Translated.load(request.param), server.endpoint, f"qs-{request.param}")
        yield created, moto_clients(server.endpoint)
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------- every resource


def exists(kind: str, physical: str, client: Callable[[str], Any]) -> bool:
    """Ask the resource's own service whether CloudFormation really created it."""
    if kind == "AWS::Lambda::Function":
        return bool(client("lambda").get_function(FunctionName=physical)["Configuration"]["FunctionArn"])
    if kind == "AWS::IAM::Role":
        return bool(client("iam").get_role(RoleName=physical)["Role"]["Arn"])
    if kind == "AWS::DynamoDB::Table":
        return client("dynamodb").describe_table(TableName=physical)["Table"]["TableStatus"] == "ACTIVE"
    if kind == "AWS::SNS::Topic":
        return bool(client("sns").get_topic_attributes(TopicArn=physical)["Attributes"])
    if kind == "AWS::SQS::Queue":
        return bool(client("sqs").get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"]))
    if kind == "AWS::KMS::Key":
        return physical in {key["KeyId"] for key in client("kms").list_keys()["Keys"]}
    if kind == "AWS::KMS::Alias":
        return physical in {alias["AliasName"] for alias in client("kms").list_aliases()["Aliases"]}
    if kind == "AWS::Logs::LogGroup":
        groups = client("logs").describe_log_groups(logGroupNamePrefix=physical)["logGroups"]
        return physical in {group["logGroupName"] for group in groups}
    raise AssertionError(f"no existence check for {kind}")


def test_every_resource_of_the_translated_stack_is_created(stack: tuple[CreatedStack, Any]) -> None:
    created, client = stack
    expected = created.translated.expected_resources()
    assert len(expected) > 30
    missing = []
    for logical_id, resource in expected.items():
        kind = resource["Type"]
        if kind in CREATED_ELSEWHERE:
            if logical_id not in created.elsewhere:
                missing.append(logical_id)
        elif kind == "AWS::Lambda::LayerVersion":  # moto's CloudFormation records no physical id for it
            layers = client("lambda").list_layers()["Layers"]
            assert any(logical_id in layer["LayerName"] for layer in layers), logical_id
        elif kind == "AWS::Lambda::Permission":  # nor for a permission: read the function's policy
            function = created.physical[resource["Properties"]["FunctionName"]["Ref"]]
            policy = json.loads(client("lambda").get_policy(FunctionName=function)["Policy"])
            source = created.resolve(resource["Properties"]["SourceArn"])
            assert any(s["Condition"]["ArnLike"]["AWS:SourceArn"] == source for s in policy["Statement"]), logical_id
        elif logical_id not in created.physical or not exists(kind, created.physical[logical_id], client):
            missing.append(logical_id)
    assert missing == []
    # Resources whose condition is false are absent: the stack holds exactly what the parameters ask for.
    unexpected = set(created.physical) - set(expected)
    assert unexpected == set()


def test_the_created_functions_carry_the_parameters(stack: tuple[CreatedStack, Callable[[str], Any]]) -> None:
    created, client = stack
    parameters = created.translated.parameters
    for provider, logical_id in SCHEDULED_FUNCTION_OF.items():
        configuration = client("lambda").get_function(FunctionName=created.physical[logical_id])["Configuration"]
        assert configuration["Timeout"] == int(parameters.get("FunctionTimeout", 120)), provider
        variables = configuration["Environment"]["Variables"]
        assert str(variables["MAX_CONCURRENCY"]) == parameters.get("MaxConcurrency", "16")
        reserved = client("lambda").get_function_concurrency(FunctionName=created.physical[logical_id])
        assert reserved.get("ReservedConcurrentExecutions") == (
            int(parameters["ProviderReservedConcurrency"]) if "ProviderReservedConcurrency" in parameters else None
        )
    has_slack = bool(parameters.get("SlackWebhookParameter"))
    assert ("SlackNotifierFunction" in created.physical) is has_slack
    assert ("SlackNotifierFunctionName" in created.outputs) is has_slack
    channels = created.outputs["AlertChannels"]
    assert ("Slack on" in channels) is has_slack and ("email on" in channels) is bool(parameters.get("AlertEmail"))


def test_schedules_and_dead_mans_switches_follow_the_schedule_parameter(
    stack: tuple[CreatedStack, Callable[[str], Any]],
) -> None:
    created, _client = stack
    intervals = created.translated.template["Mappings"]["ScheduleInterval"]
    periods = int(created.translated.parameters.get("DeadMansSwitchPeriods", "3"))
    for provider, logical_id in SCHEDULED_FUNCTION_OF.items():
        choice = created.translated.parameters.get(f"{logical_id.removesuffix('Function')}Schedule", "off")
        schedule = created.elsewhere[f"{logical_id}Schedule"]
        assert schedule["ScheduleExpression"] == intervals[choice]["Expression"]
        assert schedule["State"] == ("DISABLED" if choice == "off" else "ENABLED"), provider
        assert schedule["Target"]["RoleArn"].split("/")[-1] == created.physical["SchedulerRole"]
        assert schedule["Target"]["DeadLetterConfig"]["Arn"].endswith(
            created.physical["DeadLetterQueue"].rsplit("/")[-1]
        )
        switch = created.elsewhere.get(f"{logical_id.removesuffix('Function')}DeadMansSwitchAlarm")
        if choice == "off":
            assert switch is None
        else:
            assert switch is not None
            assert switch["Period"] == intervals[choice]["Seconds"]
            assert switch["EvaluationPeriods"] == periods
            assert switch["TreatMissingData"] == "breaching"


# ---------------------------------------------------------------------------------------- routing


def test_alert_publisher_messages_reach_the_subscribers_their_filter_policies_admit(
    stack: tuple[CreatedStack, Callable[[str], Any]],
) -> None:
    """Each subscription of the alert topic gets an SQS stand-in with the same filter policy, as created."""
    created, client = stack
    sns, sqs = client("sns"), client("sqs")
    topic = created.physical["AlertTopic"]
    subscriptions = {
        logical_id: attributes
        for logical_id, attributes in created.elsewhere.items()
        if created.translated.template["Resources"][logical_id]["Type"] == "AWS::SNS::Subscription"
        and attributes["TopicArn"] == topic
    }
    parameters = created.translated.parameters
    designed = {}
    if parameters.get("AlertEmail"):
        designed["AlertEmailSubscription"] = parameters.get("EmailMinSeverity", "warning")
    if parameters.get("SlackWebhookParameter"):
        designed["SlackNotifierFunctionAlerts"] = parameters.get("SlackMinSeverity", "warning")
    assert set(subscriptions) == set(designed)
    stand_ins = {"any other subscriber": None, **{k: v.get("FilterPolicy") for k, v in subscriptions.items()}}
    queues = {}
    for index, (name, filter_policy) in enumerate(stand_ins.items()):
        url = sqs.create_queue(QueueName=f"{created.translated.name}-stand-in-{index}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"FilterPolicy": filter_policy} if filter_policy else {}
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        queues[name] = url

    publisher = SnsAlertPublisher(topic, client=sns)
    document = sample_documents()["escalated"]
    for severity in SEVERITIES:
        publisher.publish(document.model_copy(update={"severity": Level(severity)}))

    for name, url in queues.items():
        received = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                received.append(json.loads(json.loads(message["Body"])["Message"])["severity"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        minimum = designed.get(name, "ok")
        assert sorted(received, key=SEVERITIES.index) == SEVERITIES[SEVERITIES.index(minimum) :], name


# ---------------------------------------------------------------------------------------- access matrix


def role_of(created: CreatedStack, function: str) -> list[dict[str, Any]]:
    role = created.translated.template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    return created.resolve(role_statements(created.translated.template["Resources"][role]["Properties"]))


def roles(created: CreatedStack) -> dict[str, list[dict[str, Any]]]:
    expected = created.translated.expected_resources()
    return {
        logical_id: created.resolve(role_statements(resource["Properties"]))
        for logical_id, resource in expected.items()
        if resource["Type"] == "AWS::IAM::Role"
    }


def ssm(name: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}"


def secret(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbC123"


def table_request(created: CreatedStack, action: str, partition: str | None) -> Request:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{created.physical['StateTable']}"
    return Request(f"dynamodb:{action}", table, {"dynamodb:LeadingKeys": [partition]} if partition else {})


def reads_keys_of(statements: list[dict[str, Any]], provider: str, kms_key: str | None) -> list[str]:
    """What of ``provider``'s keys these statements may read: parameters, a path, secrets, decryption."""
    readable = []
    if is_allowed(statements, Request("ssm:GetParameter", ssm(f"/quota-sentinel/{provider}/main/api-key"))):
        readable.append("parameter")
    if is_allowed(statements, Request("ssm:GetParametersByPath", ssm(f"/quota-sentinel/{provider}/accounts/"))):
        readable.append("path")
    if is_allowed(statements, Request("secretsmanager:GetSecretValue", secret(f"quota-sentinel/{provider}/main"))):
        readable.append("secret")
    if kms_key:
        context = {
            "kms:ViaService": [f"ssm.{REGION}.amazonaws.com"],
            "kms:EncryptionContext:PARAMETER_ARN": [ssm(f"/quota-sentinel/{provider}/main/api-key")],
        }
        if is_allowed(statements, Request("kms:Decrypt", kms_key, context)):
            readable.append("decrypt")
    return readable


def test_no_provider_reads_another_providers_parameters_or_secrets(stack: tuple[CreatedStack, Any]) -> None:
    created, _client = stack
    kms_key = created.translated.parameters.get("SecretsKmsKeyArn")
    own = ["parameter", "path", "secret", *(["decrypt"] if kms_key else [])]
    for provider, function in FUNCTION_OF.items():
        statements = role_of(created, function)
        assert reads_keys_of(statements, provider, kms_key) == own, f"{provider} cannot read its own keys"
        for other in [*PROVIDER_IDS, "custom/acme", "slack"]:
            if other != provider:
                assert reads_keys_of(statements, other, kms_key) == [], f"{provider} reads {other}'s keys"
        assert not is_allowed(statements, Request("ssm:DescribeParameters", "*"))
        assert not is_allowed(statements, Request("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other"))


def test_no_provider_writes_another_providers_partition(stack: tuple[CreatedStack, Any]) -> None:
    created, _client = stack
    for provider, function in FUNCTION_OF.items():
        statements = role_of(created, function)
        for action in ("GetItem", "PutItem", "UpdateItem"):
            assert is_allowed(statements, table_request(created, action, f"provider#{provider}")), (provider, action)
        for partition in [
            *(f"provider#{o}" for o in PROVIDER_IDS if o != provider),
            "custom#acme",
            IDEMPOTENCY_PARTITION,
        ]:
            for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"):
                assert not is_allowed(statements, table_request(created, action, partition)), (provider, partition)
        assert not is_allowed(statements, table_request(created, "DeleteItem", f"provider#{provider}"))


def test_the_custom_function_reads_and_writes_only_custom_providers(stack: tuple[CreatedStack, Any]) -> None:
    created, _client = stack
    parameters = created.translated.parameters
    kms_key = parameters.get("SecretsKmsKeyArn")
    statements = role_of(created, "CustomFunction")
    own = ["parameter", "path", "secret", *(["decrypt"] if kms_key else [])]
    for entry in ("custom/acme", "custom/beta"):
        assert reads_keys_of(statements, entry, kms_key) == own, entry
    providers_path = parameters.get("CustomProvidersParameter", "/quota-sentinel/custom/providers/")
    assert is_allowed(statements, Request("ssm:GetParametersByPath", ssm(providers_path.rstrip("/"))))
    assert is_allowed(statements, Request("ssm:GetParameter", ssm(f"{providers_path.rstrip('/')}/acme")))
    for other in [*PROVIDER_IDS, "slack"]:
        assert reads_keys_of(statements, other, kms_key) == [], f"CustomFunction reads {other}'s keys"
    assert not is_allowed(statements, Request("ssm:GetParameter", ssm("/quota-sentinel/customer/key")))
    assert not is_allowed(statements, Request("ssm:DescribeParameters", "*"))
    for partition in ("custom#acme", "custom#beta"):
        for action in ("GetItem", "PutItem", "UpdateItem"):
            assert is_allowed(statements, table_request(created, action, partition)), (partition, action)
        for action in ("DeleteItem", "Query", "Scan"):
            assert not is_allowed(statements, table_request(created, action, partition)), (partition, action)
    for partition in [*(f"provider#{p}" for p in PROVIDER_IDS), IDEMPOTENCY_PARTITION, "customer#x", "provider#custom"]:
        for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"):
            assert not is_allowed(statements, table_request(created, action, partition)), (partition, action)


def test_the_notifier_reads_no_provider_key_and_only_its_own_records(stack: tuple[CreatedStack, Any]) -> None:
    created, _client = stack
    parameters = created.translated.parameters
    if not parameters.get("SlackWebhookParameter"):
        assert "SlackNotifierFunctionRole" not in roles(created)
        return
    statements = role_of(created, "SlackNotifierFunction")
    kms_key = parameters.get("SecretsKmsKeyArn")
    assert is_allowed(statements, Request("ssm:GetParameter", ssm(parameters["SlackWebhookParameter"])))
    for provider in [*PROVIDER_IDS, "custom/acme"]:
        assert reads_keys_of(statements, provider, kms_key) == [], provider
        assert not is_allowed(statements, table_request(created, "GetItem", f"provider#{provider}"))
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        assert is_allowed(statements, table_request(created, action, IDEMPOTENCY_PARTITION)), action
    assert not is_allowed(statements, table_request(created, "PutItem", "custom#acme"))


def test_nothing_can_scan_batch_or_delete_what_it_should_not(stack: tuple[CreatedStack, Any]) -> None:
    created, _client = stack
    all_roles = roles(created)
    assert "SchedulerRole" in all_roles and len(all_roles) >= 6
    for role, statements in all_roles.items():
        for action in ("Scan", "BatchWriteItem", "BatchGetItem", "DeleteTable", "UpdateTable", "PartiQLDelete"):
            assert not is_allowed(statements, table_request(created, action, None)), (role, action)
        for partition in [*(f"provider#{p}" for p in PROVIDER_IDS), "custom#acme"]:
            assert not is_allowed(statements, table_request(created, "DeleteItem", partition)), (role, partition)
        # A request without a partition key must not slip through ForAllValues' empty-set rule for writes.
        assert not is_allowed(statements, table_request(created, "PutItem", None)), role


def test_the_scheduler_role_only_invokes_the_provider_functions(stack: tuple[CreatedStack, Any]) -> None:
    created, client = stack
    statements = roles(created)["SchedulerRole"]
    for function in SCHEDULED_FUNCTION_OF.values():
        arn = client("lambda").get_function(FunctionName=created.physical[function])["Configuration"]["FunctionArn"]
        assert is_allowed(statements, Request("lambda:InvokeFunction", arn))
    other = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:someone-else"
    assert not is_allowed(statements, Request("lambda:InvokeFunction", other))
    trust = created.resolve(created.translated.template["Resources"]["SchedulerRole"]["Properties"])
    [statement] = trust["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
