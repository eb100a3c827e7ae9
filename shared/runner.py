"""One run of a provider function: check every account, evaluate, persist, then publish.

Accounts are checked concurrently on a bounded pool, and one account's failure never stops the
others. A failed provider check is reported in the summary (and alerted per the contract); a failure
to persist or publish makes the run raise once every account has been handled, so Lambda reports it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import notify, outbox, state_store
from shared.config import (
    AccountConfig,
    AccountPolicy,
    ConfigError,
    ProviderSettings,
    RunSettings,
    load_provider_settings,
    read_environment,
)
from shared.evaluation import AccountRef, Evaluation, channel_test_alert_id, evaluate
from shared.http import MIN_ATTEMPT_SECONDS, NOT_CHECKED, ProviderHttpClient
from shared.key_references import describe_key
from shared.models import (
    Alert,
    AlertDocument,
    AlertKind,
    FailureReason,
    Level,
    ProviderError,
    QuotaMetric,
)
from shared.notify import AlertPublisher, PublishError, SnsAlertPublisher
from shared.observability import correlation_id, logger, metrics
from shared.providers import ProviderAdapter, check, get_adapter
from shared.run_order import check_time, remaining_seconds, rotated
from shared.secrets import EnvLookup, SecretUnavailable, forget_api_key, load_accounts_parameter, read_api_key
from shared.state_store import DynamoStateStore, StateStore, StateStoreError, StoredAccount
from shared.wording.document import compose, links
from shared.wording.words import TEST_NAME, unknown_metric_warning

# Time kept back from the provider calls: an account whose provider call ends at the deadline must still be
# read, written, published and marked published, each call at worst riding out its client's timeouts and
# retries. (Accounts not checked by then are only recorded: one read and one write each, in parallel.)
RESERVE_SECONDS = 3 * state_store.CALL_SECONDS_BOUND + notify.call_seconds_bound()


class RunFailed(Exception):
    """State could not be persisted or alerts could not be published for some accounts."""


def wall_clock() -> datetime:
    """The time of a check: the wall clock, never the event (the contract's "Time")."""
    return datetime.now(UTC)


# The clock a run reads unless its Dependencies bring their own; end-to-end tests shift it in-process.
clock: Callable[[], datetime] = wall_clock


def _read_clock() -> datetime:
    return clock()  # looked up at every run, so that a test may replace ``clock``


@dataclass
class Dependencies:
    """The run's doors to the outside, injectable for tests."""

    store: StateStore
    publisher: AlertPublisher
    http_client: Callable[[], ProviderHttpClient] = ProviderHttpClient
    clock: Callable[[], datetime] = _read_clock
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class AccountPlan:
    config: AccountConfig
    base_url: str
    policy: AccountPolicy
    ref: AccountRef  # ref.provider: the provider id of alerts and state (a custom provider's entry id)
    adapter: ProviderAdapter


@dataclass
class AccountResult:
    account: str
    ok: bool = False
    metrics: int = 0
    alerts: int = 0
    error: str | None = None
    # Metric ids named in thresholds.metrics or ignore that the provider does not report.
    unknown_metric_ids: list[str] = field(default_factory=list)
    published_alerts: int = 0
    fatal: str | None = None  # persisting or publishing failed

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "account": self.account,
            "ok": self.ok,
            "metrics": self.metrics,
            "alerts": self.alerts,
            "error": self.error,
        }
        if self.unknown_metric_ids:  # additive: only when there is something to say
            summary["warnings"] = [unknown_metric_warning(metric_id) for metric_id in self.unknown_metric_ids]
        return summary


@dataclass(frozen=True)
class RunContext:
    provider: str  # the function's provider: its metrics dimension and its summary's "provider"
    adapter: ProviderAdapter | None  # None when every account brings its own (custom providers)
    settings: RunSettings
    deps: Dependencies
    now: datetime
    deadline: float
    lease_seconds: float
    env: EnvLookup  # where {"env": VAR} keys are read: the environment, read once at the edge
    run_id: str = ""


def _plan_accounts(adapter: ProviderAdapter, settings: ProviderSettings, provider: str) -> list[AccountPlan]:
    if settings.accounts is not None:
        accounts, source = settings.accounts, "ACCOUNTS"
    else:
        assert settings.accounts_parameter is not None
        accounts, source = load_accounts_parameter(settings.accounts_parameter, provider), "ACCOUNTS_PARAMETER"
    return [plan_account(account, f"{source}[{index}]", adapter, settings) for index, account in enumerate(accounts)]


def plan_account(
    account: AccountConfig,
    location: str,
    adapter: ProviderAdapter,
    settings: RunSettings,
    key_prefix: str | None = None,
) -> AccountPlan:
    """One account, ready to check; ``location`` (``ACCOUNTS[0]``) names it in errors, ``key_prefix`` is where the
    function's own keys live when it is not ``quota-sentinel/<provider>``."""
    provider = adapter.provider_id
    base_url = account.base_url or adapter.default_base_url
    if base_url is None:
        raise ConfigError(f"{location}.base_url: required for provider {provider}")
    policy = settings.policy.for_account(account, location)
    key_source = describe_key(account.api_key, provider, location, key_prefix)
    ref = AccountRef(provider=provider, account=account.name, key_source=key_source)
    return AccountPlan(config=account, base_url=base_url, policy=policy, ref=ref, adapter=adapter)


def _fetch(plan: AccountPlan, run: RunContext) -> list[QuotaMetric] | ProviderError:
    if run.deadline - run.deps.monotonic() < MIN_ATTEMPT_SECONDS:
        return ProviderError(FailureReason.UNAVAILABLE, NOT_CHECKED)
    try:
        api_key = read_api_key(plan.config.api_key, run.env, plan.ref.key_source)
    except SecretUnavailable as error:
        reason = FailureReason.AUTH if error.permanent else FailureReason.UNAVAILABLE
        return ProviderError(reason, str(error), key_unreadable=True)
    try:
        return check(plan.adapter, plan.base_url, api_key, run.deadline, run.deps.http_client())
    except ProviderError as error:
        if error.reason is FailureReason.AUTH:
            forget_api_key(plan.config.api_key)  # the key may have been rotated: no hour-old copy next time
        return error


def _persist(
    plan: AccountPlan, outcome: list[QuotaMetric] | ProviderError, run: RunContext
) -> tuple[Evaluation, outbox.Claimed]:
    """Evaluate against the stored state and record it with this run's alerts in the outbox (``outbox.record``).

    Returns the evaluation and the outbox entries this run has claimed and must publish.
    """
    name, provider = plan.config.name, plan.ref.provider

    def decide(stored: StoredAccount) -> outbox.Decision[Evaluation]:
        # Check times strictly increase per account, so alert ids (which embed them) never repeat.
        last_checked = stored.state.checked_at if stored.state else None
        now = run.now if last_checked is None or run.now > last_checked else last_checked + timedelta(milliseconds=1)
        evaluation = evaluate(outcome, stored.state, plan.policy, plan.ref, now)
        document = _document(run, plan, now, evaluation.alerts) if evaluation.alerts else None
        return outbox.Decision(evaluation, evaluation.state, document, now)

    lease = outbox.Lease(run.run_id, run.now.timestamp(), run.lease_seconds)
    expires_at = (run.now + timedelta(days=run.settings.state_ttl_days)).timestamp()
    return outbox.record(run.deps.store, provider, name, lease, expires_at, decide)


def _publish(plan: AccountPlan, claimed: outbox.Claimed, run: RunContext) -> int:
    """Publish claimed documents in order; on failure, release the rest for the next run and raise."""

    def log_published(document: AlertDocument) -> None:
        for alert in document.alerts:
            logger.info(
                "alert published",
                extra={
                    "account": plan.config.name,
                    "alert_id": alert.id,
                    "kind": alert.kind.value,
                    "metric": alert.metric,
                    "level": alert.level.value,
                    "previous_level": alert.previous_level.value,
                },
            )

    deps = run.deps
    return outbox.publish_claimed(
        deps.store, deps.publisher, plan.ref.provider, plan.config.name, claimed, log_published
    )


def _log_outcome(plan: AccountPlan, evaluation: Evaluation) -> None:
    name = plan.config.name
    error = evaluation.error
    if error is not None:
        logger.warning(
            "quota check failed",
            extra={"account": name, "reason": error.reason.value, "status": error.status, "error": error.message},
        )
        return
    for metric_id in evaluation.unknown_metric_ids:
        logger.warning(
            "a configured metric id is not reported by the provider",
            extra={"account": name, "metric": metric_id, "where": "thresholds.metrics or ignore"},
        )
    for metric_id, state in evaluation.state.metrics.items():
        logger.info(
            "metric checked",
            extra={
                "account": name,
                "metric": metric_id,
                "used": state.used,
                "limit": state.limit,
                "percent": state.percent,
                "level": state.level.value,
                "unit": state.unit,
            },
        )


def _check_account(plan: AccountPlan, run: RunContext) -> AccountResult:
    if plan.ref.provider != run.provider:  # a custom provider: its id on this thread's log lines
        logger.thread_safe_append_keys(custom_provider=plan.ref.provider)
    result = AccountResult(account=plan.config.name)
    try:
        outcome = _fetch(plan, run)
        evaluation, claimed = _persist(plan, outcome, run)
        _log_outcome(plan, evaluation)
        result.alerts = len(evaluation.alerts)
        if evaluation.error is not None:
            result.error = str(evaluation.error)
        else:
            result.ok = True
            result.metrics = len(evaluation.state.metrics)
            result.unknown_metric_ids = evaluation.unknown_metric_ids
        result.published_alerts = _publish(plan, claimed, run)
    except (StateStoreError, PublishError) as error:
        logger.error("could not persist or publish", extra={"account": plan.config.name, "error": str(error)})
        result.fatal = str(error)
    except Exception as error:  # a bug must not stop the other accounts; the run still fails
        logger.exception("unexpected error", extra={"account": plan.config.name})
        result.fatal = f"unexpected {type(error).__name__}"
    if result.fatal and result.error is None and not result.ok:
        result.error = result.fatal
    return result


def _document(run: RunContext, plan: AccountPlan, now: datetime, alerts: list[Alert]) -> AlertDocument:
    """The published document: the alerts with their words, the provider's name and the links to act on.

    The plan's adapter and provider: a custom provider's entry gives its own name and manage_url."""
    name = plan.adapter.display_name
    return compose(
        plan.ref.provider,
        plan.config.name,
        now,
        alerts,
        provider_name=name,
        key_source=plan.ref.key_source,
        links=links(name, plan.adapter.manage_url, run.settings.runbook_url),
    )


def send_test_alert(plans: list[AccountPlan], event: Mapping[str, Any], run: RunContext) -> dict[str, Any]:
    """Publish one ``test`` alert through the real path; the state is not touched.

    ``event["account"]`` (and, for custom providers, ``event["provider"]``) picks the account; the first by default.
    """
    wanted_provider = event.get("provider")
    plans = [p for p in plans if p.ref.provider == wanted_provider] or plans
    wanted = event.get("account")
    plan = next((p for p in plans if p.config.name == wanted), plans[0])
    provider = plan.ref.provider
    alert = Alert(
        kind=AlertKind.TEST,
        metric=None,
        name=TEST_NAME,
        level=Level.CRITICAL,
        previous_level=Level.OK,
        id=channel_test_alert_id(plan.ref, run.now),
        test=True,
    )
    run.deps.publisher.publish(_document(run, plan, run.now, [alert]))
    logger.info("test alert published", extra={"account": plan.config.name, "alert_id": alert.id})
    entry: dict[str, Any] = {"account": plan.config.name, "ok": True, "metrics": 0, "alerts": 1, "error": None}
    return {
        "provider": run.provider,
        "test_alert": True,
        "accounts": [{"provider": provider, **entry} if provider != run.provider else entry],
    }


def default_dependencies(settings: RunSettings, partition_prefix: str = state_store.PROVIDER_PARTITION) -> Dependencies:
    return Dependencies(
        store=DynamoStateStore(
            settings.state_table_name, pool_size=settings.max_concurrency, partition_prefix=partition_prefix
        ),
        publisher=SnsAlertPublisher(settings.alert_topic_arn),
    )


def start_run(
    provider: str,
    adapter: ProviderAdapter | None,
    settings: RunSettings,
    deps: Dependencies,
    context: LambdaContext | None,
    env: Mapping[str, str],
) -> RunContext:
    remaining = remaining_seconds(context)
    return RunContext(
        provider=provider,
        adapter=adapter,
        settings=settings,
        deps=deps,
        now=check_time(deps.clock()),
        # The provider calls get what the function has left, less what persisting and publishing can take.
        deadline=deps.monotonic() + max(0.0, remaining - RESERVE_SECONDS),
        # No other run may take over an alert while this one could still be publishing it.
        lease_seconds=remaining + 30,
        env=env.get,
        run_id=uuid.uuid4().hex,
    )


def open_run(
    provider: str, event: Mapping[str, Any] | None, context: LambdaContext | None, environ: Mapping[str, str] | None
) -> tuple[Mapping[str, Any], Mapping[str, str]]:
    """The event (``{}`` when it is not an object) and the environment, read once; the log lines' keys set."""
    event = event if isinstance(event, Mapping) else {}
    logger.set_correlation_id(correlation_id(event, context))
    logger.append_keys(provider=provider)
    return event, read_environment(environ)


def run_provider(
    provider: str,
    event: Mapping[str, Any] | None,
    context: LambdaContext | None,
    *,
    dependencies: Dependencies | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Check every configured account of ``provider`` once and return the run summary."""
    event, env = open_run(provider, event, context, environ)
    settings = load_provider_settings(env)
    adapter = get_adapter(provider)
    plans = _plan_accounts(adapter, settings, provider)
    run = start_run(provider, adapter, settings, dependencies or default_dependencies(settings), context, env)
    if event.get("test_alert") is True:
        return send_test_alert(plans, event, run)
    return check_accounts(plans, run)


def check_accounts(plans: list[AccountPlan], run: RunContext) -> dict[str, Any]:
    """Check every planned account once, concurrently (at most ``MAX_CONCURRENCY``), and return the summary.

    Each account entry of the summary names its provider when it is not the run's (custom providers).
    """
    order = rotated(plans, run.now)
    with ThreadPoolExecutor(max_workers=min(run.settings.max_concurrency, len(plans))) as pool:
        outcomes = list(pool.map(lambda plan: _check_account(plan, run), order))
    checked = {id(plan): result for plan, result in zip(order, outcomes, strict=True)}
    results = [checked[id(plan)] for plan in plans]  # the summary keeps the configured order

    provider = run.provider
    metrics.add_dimension("provider", provider)
    metrics.add_metric(name="Checks", unit=MetricUnit.Count, value=len(results))
    metrics.add_metric(name="SuccessfulChecks", unit=MetricUnit.Count, value=sum(r.ok for r in results))
    metrics.add_metric(name="CheckFailures", unit=MetricUnit.Count, value=sum(not r.ok for r in results))
    metrics.add_metric(name="AlertsPublished", unit=MetricUnit.Count, value=sum(r.published_alerts for r in results))

    accounts = [
        result.summary() if plan.ref.provider == provider else {"provider": plan.ref.provider, **result.summary()}
        for plan, result in zip(plans, results, strict=True)
    ]
    summary = {"provider": provider, "accounts": accounts}
    fatal = [
        f"{entry['provider'] + '/' if 'provider' in entry else ''}{r.account}: {r.fatal}"
        for entry, r in zip(accounts, results, strict=True)
        if r.fatal
    ]
    if fatal:
        logger.error("run failed", extra={"summary": summary})
        raise RunFailed(f"{provider}: {len(fatal)} account(s) failed to persist or publish: " + "; ".join(fatal))
    logger.info("run finished", extra={"summary": summary})
    return summary
