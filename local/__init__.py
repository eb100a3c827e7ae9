"""The embedded local stack and its emulators: DynamoDB Local and moto server, provisioning from
template.yaml, the provider simulator and Slack receiver, the Lambda Runtime API and built-artifact invokes.

Developer tooling only: nothing under ``shared/`` or ``functions/`` imports it.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
