"""One run of CustomFunction: every account of every custom provider entry, checked like a built-in's.

All accounts share one bounded pool (``MAX_CONCURRENCY``) and one deadline, as ``run_provider`` does; each
account goes through its entry's adapter, and one entry's failure never stops the others. State lives under
``custom#<id>``; alerts carry the entry's id as their ``provider``; the metrics dimension is ``custom``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.custom.adapter import adapter_for
from shared.custom.settings import CustomSettings, load_custom_providers, load_custom_settings
from shared.custom.spec import CUSTOM_PROVIDER
from shared.runner import (
    AccountPlan,
    Dependencies,
    check_accounts,
    default_dependencies,
    open_run,
    plan_account,
    send_test_alert,
    start_run,
)
from shared.state_store import CUSTOM_PARTITION


def plan_custom_accounts(environ: Mapping[str, str] | None = None) -> tuple[CustomSettings, list[AccountPlan]]:
    """The settings and every account of every entry, in the configured order. Raises ConfigError."""
    settings = load_custom_settings(environ)
    plans: list[AccountPlan] = []
    for located in load_custom_providers(settings):
        entry = located.entry
        adapter = adapter_for(entry)
        key_prefix = entry.ssm_prefix().strip("/")
        plans.extend(
            plan_account(account, f"{located.location}.accounts[{index}]", adapter, settings, key_prefix)
            for index, account in enumerate(entry.accounts)
        )
    return settings, plans


def run_custom(
    event: Mapping[str, Any] | None,
    context: LambdaContext | None,
    *,
    dependencies: Dependencies | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Check every account of every custom provider once and return the run summary."""
    event, env = open_run(CUSTOM_PROVIDER, event, context, environ)
    settings, plans = plan_custom_accounts(env)
    deps = dependencies or default_dependencies(settings, CUSTOM_PARTITION)
    run = start_run(CUSTOM_PROVIDER, None, settings, deps, context, env)
    if event.get("test_alert") is True:
        return send_test_alert(plans, event, run)
    return check_accounts(plans, run)
