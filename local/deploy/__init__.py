"""The deploy check: template.yaml translated offline, created on moto, routed and access-checked.

``translate.py`` runs in .venv-tools (it needs samtranslator, which pins its own boto3); everything
else here runs in the dev venv on the translated JSON it writes.
"""
