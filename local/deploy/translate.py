"""Translate template.yaml to plain CloudFormation with the SAM translator, offline, per parameter set.

Runs in .venv-tools (``samtranslator`` comes with aws-sam-cli) and imports nothing of the repository:

    .venv-tools/bin/python local/deploy/translate.py OUT_DIR

writes ``OUT_DIR/<set>.json`` = ``{"parameters": {...}, "template": {...}}`` for every set of
``parameter_sets.json``. Code URIs become ``s3://`` locations (the check uploads a stub there) and the
managed-policy loader is a fixed table: nothing calls AWS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent.parent / "template.yaml"
CODE_BUCKET = "quota-sentinel-deploy-check"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "quota-sentinel"
# The managed policies SAM may attach; their documents are vendored in managed_policies/ for the evaluator.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}


class FixedPolicyLoader:
    def load(self) -> dict[str, str]:
        return dict(MANAGED_POLICIES)


def with_s3_code(template: dict[str, Any]) -> dict[str, Any]:
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = f"s3://{CODE_BUCKET}/{logical_id}.zip"
    return template


def translate(parameters: dict[str, str]) -> dict[str, Any]:
    template = with_s3_code(yaml_parse(TEMPLATE.read_text()))
    values: dict[str, Any] = {
        name: spec["Default"] for name, spec in template.get("Parameters", {}).items() if "Default" in spec
    }
    values.update(parameters)
    values.update({
        "AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws",
        "AWS::StackName": STACK_NAME, "AWS::URLSuffix": "amazonaws.com",
    })  # fmt: skip
    translated: dict[str, Any] = transform(template, values, FixedPolicyLoader())
    return translated


def main(out_dir: str) -> None:
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    sets = json.loads((HERE / "parameter_sets.json").read_text())
    for name, parameters in sets.items():
        document = {"parameters": parameters, "template": translate(parameters)}
        (target / f"{name}.json").write_text(json.dumps(document, indent=1, sort_keys=True, default=str))
        print(f"translated {name}: {len(document['template']['Resources'])} resources")


if __name__ == "__main__":
    main(sys.argv[1])
