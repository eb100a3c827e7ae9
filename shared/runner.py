"""One run of a provider function: check every account, evaluate, persist, then publish.

Accounts are checked concurrently on a bounded pool, and one account's failure never stops the
others. A failed provider check is reported in the summary (and alerted per the contract); a failure
to persist or publish makes the run raise once every account has been handled, so Lambda reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import (
    AccountConfig,
    AccountPolicy,
    ConfigError,
    ProviderSettings,
    SecretUnavailable,
    load_accounts_parameter,
    load_provider_settings,
    resolve_api_key,
)
from shared.evaluation import AccountRef, Evaluation, alert_id, evaluate
from shared.http import ProviderHttpClient
from shared.models import (
    Alert,
    AlertDocument,
    AlertKind,
    FailureReason,
    Level,
    ProviderError,
    QuotaMetric,
)
from shared.notify import AlertPublisher, PublishError
from shared.observability import correlation_id, logger, metrics
from shared.providers import ProviderAdapter, check, get_adapter
from shared.state_store import OutboxEntry, StateStore, StateStoreError, VersionConflict

MAX_WORKERS = 16
HTTP_BUDGET_SECONDS = 25.0
# Time kept back from the provider calls for persisting and publishing.
RESERVE_SECONDS = 5.0
MAX_CONFLICT_RETRIES = 5
DEFAULT_REMAINING_SECONDS = 60.0


class RunFailed(Exception):
    """State could not be persisted or alerts could not be published for some accounts."""


@dataclass
class Dependencies:
    """The run's doors to the outside, injectable for tests."""

    store: StateStore
    publisher: AlertPublisher
    http_client: Callable[[], ProviderHttpClient] = ProviderHttpClient
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class AccountPlan:
    config: AccountConfig
    base_url: str
    policy: AccountPolicy
    ref: AccountRef


@dataclass
class AccountResult:
    account: str
    ok: bool = False
    metrics: int = 0
    alerts: int = 0
    error: str | None = None
    published_alerts: int = 0
    fatal: str | None = None  # persisting or publishing failed

    def summary(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "ok": self.ok,
            "metrics": self.metrics,
            "alerts": self.alerts,
            "error": self.error,
        }


@dataclass(frozen=True)
class RunContext:
    provider: str
    adapter: ProviderAdapter
    settings: ProviderSettings
    deps: Dependencies
    now: datetime
    deadline: float
    lease_seconds: float


def _plan_accounts(adapter: ProviderAdapter, settings: ProviderSettings, provider: str) -> list[AccountPlan]:
    if settings.accounts is not None:
        accounts, source = settings.accounts, "ACCOUNTS"
    else:
        assert settings.accounts_parameter is not None
        accounts, source = load_accounts_parameter(settings.accounts_parameter), "ACCOUNTS_PARAMETER"
    plans = []
    for index, account in enumerate(accounts):
        location = f"{source}[{index}]"
        base_url = account.base_url or adapter.default_base_url
        if base_url is None:
            raise ConfigError(f"{location}.base_url: required for provider {provider}")
        policy = settings.policy.for_account(account, location)
        ref = AccountRef(provider=provider, account=account.name, key_source=account.api_key.describe())
        plans.append(AccountPlan(config=account, base_url=base_url, policy=policy, ref=ref))
    return plans


def _fetch(plan: AccountPlan, run: RunContext) -> list[QuotaMetric] | ProviderError:
    try:
        api_key = resolve_api_key(plan.config.api_key, run.settings.env)
    except SecretUnavailable as error:
        reason = FailureReason.AUTH if error.permanent else FailureReason.UNAVAILABLE
        return ProviderError(reason, str(error))
    try:
        return check(run.adapter, plan.base_url, api_key, run.deadline, run.deps.http_client())
    except ProviderError as error:
        return error


def _persist(
    plan: AccountPlan, outcome: list[QuotaMetric] | ProviderError, run: RunContext
) -> tuple[Evaluation, list[tuple[str, OutboxEntry]]]:
    """Evaluate against the stored state and write it with this run's alerts in the outbox.

    Returns the evaluation and the outbox entries this run has claimed and must publish. On a
    version conflict (an overlapping run), re-read and re-evaluate: the other run's transition is
    then already recorded, so it is not alerted twice.
    """
    store, name = run.deps.store, plan.config.name
    now_epoch = run.now.timestamp()
    expires_at = (run.now + timedelta(days=run.settings.state_ttl_days)).timestamp()
    for _ in range(MAX_CONFLICT_RETRIES):
        stored = store.load(run.provider, name, now_epoch)
        # Check times strictly increase per account, so alert ids (which embed them) never repeat.
        last_checked = stored.state.checked_at if stored.state else None
        now = run.now if last_checked is None or run.now > last_checked else last_checked + timedelta(milliseconds=1)
        evaluation = evaluate(outcome, stored.state, plan.policy, plan.ref, now)
        outbox = dict(stored.outbox)
        claimed: list[str] = []
        if evaluation.alerts:
            document = AlertDocument.build(run.provider, name, now, evaluation.alerts)
            outbox[document.document_id] = OutboxEntry(document.to_json(), now_epoch, now_epoch + run.lease_seconds)
            claimed.append(document.document_id)
        for doc_id, entry in stored.outbox.items():
            if doc_id not in claimed and entry.lease_until <= now_epoch:
                outbox[doc_id] = replace(entry, lease_until=now_epoch + run.lease_seconds)
                claimed.append(doc_id)
        try:
            store.save(run.provider, name, stored.version, evaluation.state, outbox, now, expires_at)
        except VersionConflict:
            logger.info("state changed by an overlapping run; re-evaluating", extra={"account": name})
            continue
        return evaluation, sorted(((doc_id, outbox[doc_id]) for doc_id in claimed), key=lambda pair: pair[1].created_at)
    raise StateStoreError(f"{run.provider}/{name}: gave up after {MAX_CONFLICT_RETRIES} conflicting writes")


def _publish(plan: AccountPlan, claimed: list[tuple[str, OutboxEntry]], run: RunContext) -> int:
    """Publish claimed documents in order; on failure, release the rest for the next run and raise."""
    published = 0
    for position, (doc_id, entry) in enumerate(claimed):
        document = AlertDocument.model_validate_json(entry.document)
        try:
            run.deps.publisher.publish(document)
        except PublishError:
            for unpublished_id, _ in claimed[position:]:
                try:
                    run.deps.store.release(run.provider, plan.config.name, unpublished_id)
                except StateStoreError:
                    logger.warning(
                        "could not release an outbox lease; it will expire", extra={"doc_id": unpublished_id}
                    )
            raise
        run.deps.store.mark_published(run.provider, plan.config.name, doc_id)
        published += len(document.alerts)
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
    return published


def _log_outcome(plan: AccountPlan, outcome: list[QuotaMetric] | ProviderError, evaluation: Evaluation) -> None:
    name = plan.config.name
    if isinstance(outcome, ProviderError):
        logger.warning(
            "quota check failed",
            extra={"account": name, "reason": outcome.reason.value, "status": outcome.status, "error": outcome.message},
        )
        return
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
    result = AccountResult(account=plan.config.name)
    try:
        outcome = _fetch(plan, run)
        evaluation, claimed = _persist(plan, outcome, run)
        _log_outcome(plan, outcome, evaluation)
        result.alerts = len(evaluation.alerts)
        if isinstance(outcome, ProviderError):
            result.error = str(outcome)
        else:
            result.ok = True
            result.metrics = len(evaluation.state.metrics)
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


def _send_test_alert(plans: list[AccountPlan], event: Mapping[str, Any], run: RunContext) -> dict[str, Any]:
    """Publish one ``test`` alert through the real path; the state is not touched."""
    wanted = event.get("account")
    plan = next((p for p in plans if p.config.name == wanted), plans[0])
    alert = Alert(
        kind=AlertKind.TEST,
        metric=None,
        name="Test alert",
        level=Level.CRITICAL,
        previous_level=Level.OK,
        id=alert_id(plan.ref, "test", run.now),
        message=f"Test alert from Quota Sentinel for {run.provider}/{plan.config.name}: this channel receives alerts.",
        hint="Nothing to do. Real alerts look like this one.",
        test=True,
    )
    run.deps.publisher.publish(AlertDocument.build(run.provider, plan.config.name, run.now, [alert]))
    logger.info("test alert published", extra={"account": plan.config.name, "alert_id": alert.id})
    return {
        "provider": run.provider,
        "test_alert": True,
        "accounts": [{"account": plan.config.name, "ok": True, "metrics": 0, "alerts": 1, "error": None}],
    }


def _to_millisecond(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def _remaining_seconds(context: LambdaContext | None) -> float:
    if context is None:
        return DEFAULT_REMAINING_SECONDS
    return context.get_remaining_time_in_millis() / 1000


def run_provider(
    provider: str,
    event: Mapping[str, Any] | None,
    context: LambdaContext | None,
    *,
    dependencies: Dependencies | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Check every configured account of ``provider`` once and return the run summary."""
    event = event if isinstance(event, Mapping) else {}
    logger.set_correlation_id(correlation_id(event, context))
    logger.append_keys(provider=provider)
    settings = load_provider_settings(environ)
    adapter = get_adapter(provider)
    plans = _plan_accounts(adapter, settings, provider)
    deps = dependencies or Dependencies(
        store=StateStore(settings.state_table_name), publisher=AlertPublisher(settings.alert_topic_arn)
    )
    remaining = _remaining_seconds(context)
    run = RunContext(
        provider=provider,
        adapter=adapter,
        settings=settings,
        deps=deps,
        now=_to_millisecond(deps.clock()),
        deadline=deps.monotonic() + max(0.0, min(HTTP_BUDGET_SECONDS, remaining - RESERVE_SECONDS)),
        # No other run may take over an alert while this one could still be publishing it.
        lease_seconds=remaining + 30,
    )
    if event.get("test_alert") is True:
        return _send_test_alert(plans, event, run)

    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(plans))) as pool:
        results = list(pool.map(lambda plan: _check_account(plan, run), plans))

    metrics.add_dimension("provider", provider)
    metrics.add_metric(name="Checks", unit=MetricUnit.Count, value=len(results))
    metrics.add_metric(name="SuccessfulChecks", unit=MetricUnit.Count, value=sum(r.ok for r in results))
    metrics.add_metric(name="CheckFailures", unit=MetricUnit.Count, value=sum(not r.ok for r in results))
    metrics.add_metric(name="AlertsPublished", unit=MetricUnit.Count, value=sum(r.published_alerts for r in results))

    summary = {"provider": provider, "accounts": [result.summary() for result in results]}
    fatal = [f"{r.account}: {r.fatal}" for r in results if r.fatal]
    if fatal:
        logger.error("run failed", extra={"summary": summary})
        raise RunFailed(f"{provider}: {len(fatal)} account(s) failed to persist or publish: " + "; ".join(fatal))
    logger.info("run finished", extra={"summary": summary})
    return summary
