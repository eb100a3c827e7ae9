"""API key references: where an account's key lives, in the fixed shapes of the contract.

A reference is an environment variable name, an SSM parameter path or ARN, or a secret name or ARN. The
shapes refuse a key pasted in place of a reference, and ``describe_key`` decides how alerts, logs and errors
may show one: by itself only when it cannot be a key (a variable name, or a name under the function's own
prefix), otherwise by the configuration field that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, field_validator
from pydantic_core import PydanticCustomError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Key references have a fixed shape, so that a key pasted into one is refused (the contract's rule), whatever
# the key looks like: a UUID, hex or ``sk_live_...`` key matches none of these.
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
SSM_NAME = re.compile(r"/[A-Za-z0-9_.\-/]{1,2047}")
SSM_ARN = re.compile(r"arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9_.\-/]{1,2047}")
# A secret name is a path, as in ``quota-sentinel/<provider>/<account>`` (the only secrets a function may
# read); a name without a ``/`` is refused, because it could be a pasted key.
SECRET_NAME = re.compile(r"[A-Za-z0-9_+=.@-]{1,256}(/[A-Za-z0-9_+=.@-]{1,256})+")
SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9_+=.@/-]{1,512}")
KEY_SOURCES = ("ssm", "secret", "env")
KEY_REF_SHAPE = 'must be {"ssm": NAME}, {"secret": ID} or {"env": VAR}'


def _shaped(value: Any, patterns: tuple[re.Pattern[str], ...], expected: str) -> str:
    if not isinstance(value, str) or not any(pattern.fullmatch(value) for pattern in patterns):
        raise PydanticCustomError("key_reference", expected)
    return value


class SsmKey(_Strict):
    ssm: str

    @field_validator("ssm", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> str:
        return _shaped(value, (SSM_NAME, SSM_ARN), "must be an SSM parameter path starting with / or a parameter ARN")

    @property
    def reference(self) -> str:
        return self.ssm

    @property
    def kind(self) -> str:
        return "SSM parameter"

    def name_under(self, prefix: str) -> bool:
        name = self.ssm.split(":parameter", 1)[1] if self.ssm.startswith("arn:") else self.ssm
        return name.startswith(f"/{prefix}/")


class SecretsManagerKey(_Strict):
    secret: str

    @field_validator("secret", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> str:
        return _shaped(
            value, (SECRET_NAME, SECRET_ARN), "must be a secret name with a path (quota-sentinel/...) or a secret ARN"
        )

    @property
    def reference(self) -> str:
        return self.secret

    @property
    def kind(self) -> str:
        return "Secrets Manager secret"

    def name_under(self, prefix: str) -> bool:
        name = self.secret.split(":secret:", 1)[1] if self.secret.startswith("arn:") else self.secret
        return name.startswith(f"{prefix}/")


class EnvKey(_Strict):
    env: str

    @field_validator("env", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> str:
        return _shaped(value, (ENV_NAME,), "must be an environment variable name ([A-Z_][A-Z0-9_]*)")

    @property
    def reference(self) -> str:
        return self.env

    @property
    def kind(self) -> str:
        return "environment variable"

    def name_under(self, prefix: str) -> bool:
        return True  # a variable name is never a key: its shape refuses one


def _key_source(value: Any) -> str | None:
    if isinstance(value, Mapping) and len(value) == 1:
        (source,) = value
        return source if source in KEY_SOURCES else None
    if isinstance(value, SsmKey):
        return "ssm"
    if isinstance(value, SecretsManagerKey):
        return "secret"
    return "env" if isinstance(value, EnvKey) else None


ApiKeyRef = Annotated[
    Annotated[SsmKey, Tag("ssm")] | Annotated[SecretsManagerKey, Tag("secret")] | Annotated[EnvKey, Tag("env")],
    Discriminator(_key_source, custom_error_type="key_reference", custom_error_message=KEY_REF_SHAPE),
]
KeyRef = SsmKey | SecretsManagerKey | EnvKey


def key_prefix(provider: str) -> str:
    """Where a function's keys live: ``quota-sentinel/<provider>`` (SSM adds a leading ``/``)."""
    return f"quota-sentinel/{provider}"


def describe_key(ref: KeyRef, provider: str, location: str, prefix: str | None = None) -> str:
    """Where the key lives, for alerts, logs and errors: the reference itself only when it is a variable
    name or lies under the function's own prefix (``prefix``, by default ``key_prefix(provider)``; a custom
    provider's is ``quota-sentinel/custom/<id>``); otherwise the configuration field that names it."""
    if ref.name_under(prefix or key_prefix(provider)):
        return f"{ref.kind} {ref.reference}"
    return f"the {ref.kind} named in {location}.api_key.{_key_source(ref)}"
