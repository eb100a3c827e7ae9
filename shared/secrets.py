"""SSM Parameter Store and Secrets Manager: the one door to them, through Powertools Parameters.

Everything secret is read here and cached: API keys for ``API_KEY_CACHE_SECONDS`` (an hour: every read of a
SecureString is a KMS decrypt, the largest per-account cost), dropped at once when the provider rejects the
key (``forget_api_key``) so that a rotated key is picked up on the next check; the accounts parameter and
the Slack webhook URL for ``SECRET_CACHE_SECONDS``. ``{"env": VAR}`` keys are looked up through an injected
``EnvLookup`` (the function's environment, read once at the edge), so no copy of the environment travels
with a run. Errors say why a
read failed and never hold a value.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from pydantic import SecretStr

from shared.config import AccountConfig, ConfigError, parse_accounts, validate_base_url
from shared.key_references import EnvKey, KeyRef, SsmKey, key_prefix

SECRET_CACHE_SECONDS = 300
API_KEY_CACHE_SECONDS = 3600

# Keys the provider rejected since they were read: the next read fetches them afresh, past the cache.
_rejected_keys: set[tuple[str, str]] = set()
_rejected_lock = threading.Lock()

# An environment variable by name, None when it is not set (e.g. ``os.environ.get`` or ``dict.get``).
EnvLookup = Callable[[str], str | None]

# boto3's default session is not thread-safe: code that creates a client on it from a worker thread holds this.
DEFAULT_SESSION_LOCK = threading.Lock()


def _parameters(kind: str) -> ModuleType:
    """Powertools Parameters, with its default ``kind`` provider ("ssm" or "secrets") created once, under a lock.

    Powertools creates a default provider on first use, without a lock and on a new boto3 Session: accounts
    checked concurrently would each build one (a client apiece, whose caches then overwrite each other), and
    every new Session loads botocore's data files again. Here the provider's client comes from boto3's default
    session, which the DynamoDB client has already loaded.
    """
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    with DEFAULT_SESSION_LOCK:
        if kind not in DEFAULT_PROVIDERS:
            if kind == "ssm":
                DEFAULT_PROVIDERS[kind] = parameters.SSMProvider(boto3_client=boto3.client("ssm"))
            else:
                DEFAULT_PROVIDERS[kind] = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    return parameters


class SecretUnavailable(Exception):
    """An API key could not be read; ``permanent`` when retrying will not help (missing, denied)."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


_PERMANENT_SECRET_ERRORS = (
    "ParameterNotFound",
    "ResourceNotFoundException",
    "AccessDeniedException",
    "AccessDenied",
    "ParameterVersionNotFound",
    "InvalidKeyId",
    "DecryptionFailure",
    "KMSAccessDeniedException",
)


def _error_code(error: BaseException) -> str:
    cause = error.__cause__ or error.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(cause).__name__))
    return type(cause).__name__ if cause else type(error).__name__


_READ_FAILURES = {
    "ParameterNotFound": "not found",
    "ResourceNotFoundException": "not found",
    "ParameterVersionNotFound": "version not found",
    "AccessDeniedException": "access denied",
    "AccessDenied": "access denied",
    "KMSAccessDeniedException": "access to its KMS key denied",
    "InvalidKeyId": "its KMS key is not usable",
    "DecryptionFailure": "it could not be decrypted",
}


def _read_failure(error: BaseException) -> str:
    """Why a parameter or secret could not be read, e.g. ``not found (ParameterNotFound)``."""
    code = _error_code(error)
    return f"{_READ_FAILURES[code]} ({code})" if code in _READ_FAILURES else code


def _parameter_label(name: str, provider: str, field: str) -> str:
    """An SSM parameter as errors may show it: by name under the function's prefix, else by its field."""
    return (
        f"SSM parameter {name}"
        if SsmKey(ssm=name).name_under(key_prefix(provider))
        else f"the SSM parameter in {field}"
    )


def load_accounts_parameter(name: str, provider: str) -> list[AccountConfig]:
    """Read the accounts from SSM (decrypted, cached) and validate them.

    ``name`` is one parameter holding the JSON list, or a path ending in ``/`` under which each parameter holds
    one account entry or a list (GetParametersByPath, recursive): the path form has no 4 KB limit.
    """
    parameters = _parameters("ssm")
    label = _parameter_label(name, provider, "ACCOUNTS_PARAMETER")
    try:
        if name.endswith("/"):
            found = parameters.get_parameters(
                name.rstrip("/") or "/", recursive=True, decrypt=True, max_age=SECRET_CACHE_SECONDS
            )
            raws = sorted(found.items())
        else:
            raws = [("", parameters.get_parameter(name, decrypt=True, max_age=SECRET_CACHE_SECONDS))]
    except parameters.exceptions.GetParameterError as error:
        raise ConfigError(f"ACCOUNTS_PARAMETER: {label} could not be read ({_read_failure(error)})") from None
    if not raws:
        raise ConfigError(f"ACCOUNTS_PARAMETER: {label} holds no parameters")
    shown = label.startswith("SSM")
    if not name.endswith("/"):
        return parse_accounts(str(raws[0][1]), f"ACCOUNTS_PARAMETER ({name})" if shown else "ACCOUNTS_PARAMETER")
    entries: list[Any] = []
    for suffix, raw in raws:
        try:
            data = json.loads(str(raw))
        except json.JSONDecodeError as error:
            where = f"ACCOUNTS_PARAMETER ({name}{suffix})" if shown else "ACCOUNTS_PARAMETER"
            raise ConfigError(f"{where}: not valid JSON (line {error.lineno}, column {error.colno})") from None
        entries.extend(data if isinstance(data, list) else [data])
    return parse_accounts(json.dumps(entries), "ACCOUNTS_PARAMETER")


def read_parameter_texts(name: str, variable: str, label: str) -> dict[str, str]:
    """The text of the SSM parameter ``name`` or, for a path ending in ``/``, of every parameter under it
    (recursive), decrypted and cached, by full parameter name. Errors name ``variable`` and say ``label``
    (the name only where it may be shown); an empty path is an error too."""
    parameters = _parameters("ssm")
    try:
        if not name.endswith("/"):
            return {name: str(parameters.get_parameter(name, decrypt=True, max_age=SECRET_CACHE_SECONDS))}
        path = name.rstrip("/") or "/"
        found = parameters.get_parameters(path, recursive=True, decrypt=True, max_age=SECRET_CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as error:
        raise ConfigError(f"{variable}: {label} could not be read ({_read_failure(error)})") from None
    if not found:
        raise ConfigError(f"{variable}: {label} holds no parameters")
    return {f"{path.rstrip('/')}/{suffix.lstrip('/')}": str(text) for suffix, text in sorted(found.items())}


def read_api_key(ref: KeyRef, env: EnvLookup, label: str | None = None) -> SecretStr:
    """Fetch an API key through Powertools Parameters (cached), or through ``env`` for ``{"env": VAR}``.

    ``label`` says where the key lives in error messages (see ``describe_key``); errors never hold the key.
    """
    label = label or f"{ref.kind} {ref.reference}"
    if isinstance(ref, EnvKey):
        value = env(ref.env) or ""
        if not value:
            raise SecretUnavailable(f"{label} is not set", permanent=True)
        return SecretStr(value)

    parameters = _parameters("ssm" if isinstance(ref, SsmKey) else "secrets")
    with _rejected_lock:
        fresh = (ref.kind, ref.reference) in _rejected_keys
        _rejected_keys.discard((ref.kind, ref.reference))
    try:
        if isinstance(ref, SsmKey):
            value = parameters.get_parameter(ref.ssm, decrypt=True, max_age=API_KEY_CACHE_SECONDS, force_fetch=fresh)
        else:
            value = parameters.get_secret(ref.secret, max_age=API_KEY_CACHE_SECONDS, force_fetch=fresh)
    except parameters.exceptions.GetParameterError as error:
        raise SecretUnavailable(
            f"{label} could not be read: {_read_failure(error)}",
            permanent=_error_code(error) in _PERMANENT_SECRET_ERRORS,
        ) from None
    text = value.decode() if isinstance(value, bytes) else str(value)
    if not text.strip():
        raise SecretUnavailable(f"{label} is empty", permanent=True)
    return SecretStr(text.strip())


def forget_api_key(ref: KeyRef) -> None:
    """The provider rejected this key (``auth``): read it afresh next time, so a rotated key is used at once."""
    if not isinstance(ref, EnvKey):
        with _rejected_lock:
            _rejected_keys.add((ref.kind, ref.reference))


def read_webhook_url(parameter_name: str) -> SecretStr:
    """The Slack webhook URL from an SSM SecureString (cached). Errors never show the URL."""
    parameters = _parameters("ssm")

    try:
        value = parameters.get_parameter(parameter_name, decrypt=True, max_age=SECRET_CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as error:
        raise ConfigError(
            f"SLACK_WEBHOOK_PARAMETER: could not read SSM parameter {parameter_name} ({_error_code(error)})"
        ) from None
    url = str(value).strip()
    try:
        validate_base_url(url)
    except ValueError as error:
        raise ConfigError(f"SLACK_WEBHOOK_PARAMETER ({parameter_name}): the webhook URL {error}") from None
    return SecretStr(url)
