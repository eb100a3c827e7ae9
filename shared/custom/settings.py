"""CustomFunction's configuration: the shared variables, plus where its provider entries come from.

``CUSTOM_PROVIDERS`` (the JSON list) or ``CUSTOM_PROVIDERS_PARAMETER`` (one SSM parameter holding that list, or
a path ending in ``/`` under which each parameter holds one entry or a list) replaces ``ACCOUNTS`` and
``ACCOUNTS_PARAMETER``. Errors name the variable and the field, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field, field_validator, model_validator

from shared.config import RunSettings, load_run_settings, parameter_name, read_environment
from shared.custom.spec import ProviderEntry, parse_custom_provider_parameters, parse_custom_providers
from shared.key_references import SsmKey
from shared.secrets import read_parameter_texts

PROVIDERS_VARIABLE = "CUSTOM_PROVIDERS"
PARAMETER_VARIABLE = "CUSTOM_PROVIDERS_PARAMETER"
# Where CustomFunction may read: parameter names under it are shown in errors, others are not.
CUSTOM_KEY_PREFIX = "quota-sentinel/custom"


class CustomSettings(RunSettings):
    """Every environment variable of CustomFunction."""

    custom_providers: list[ProviderEntry] | None = None
    custom_providers_parameter: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_providers_source(self) -> CustomSettings:
        if self.custom_providers is not None and self.custom_providers_parameter is not None:
            raise ValueError(f"set {PROVIDERS_VARIABLE} or {PARAMETER_VARIABLE}, not both")
        if self.custom_providers is None and self.custom_providers_parameter is None:
            raise ValueError(f"set {PROVIDERS_VARIABLE} or {PARAMETER_VARIABLE}")
        return self

    @field_validator("custom_providers_parameter")
    @classmethod
    def _parameter_shape(cls, value: str | None) -> str | None:
        return parameter_name(value)


def load_custom_settings(environ: Mapping[str, str] | None = None) -> CustomSettings:
    """Validate CustomFunction's environment; ``CUSTOM_PROVIDERS`` is validated entry by entry here."""
    env = read_environment(environ)
    parsed = {}
    if env.get(PROVIDERS_VARIABLE, "") != "":
        parsed["custom_providers"] = parse_custom_providers(env[PROVIDERS_VARIABLE], PROVIDERS_VARIABLE)
    return load_run_settings(CustomSettings, env, {PARAMETER_VARIABLE: "custom_providers_parameter"}, parsed)


@dataclass(frozen=True)
class LocatedEntry:
    """An entry and where it was configured (``CUSTOM_PROVIDERS[1]``), to name its fields in errors."""

    entry: ProviderEntry
    location: str


def _shown(name: str) -> bool:
    return SsmKey(ssm=name).name_under(CUSTOM_KEY_PREFIX)


def load_custom_providers(settings: CustomSettings) -> list[LocatedEntry]:
    """The provider entries: from the variable, or read from SSM (decrypted, cached) and validated."""
    if settings.custom_providers is not None:
        return [
            LocatedEntry(entry, f"{PROVIDERS_VARIABLE}[{index}]")
            for index, entry in enumerate(settings.custom_providers)
        ]
    name = settings.custom_providers_parameter
    assert name is not None
    shown = _shown(name)
    label = f"SSM parameter {name}" if shown else f"the SSM parameter in {PARAMETER_VARIABLE}"
    values = read_parameter_texts(name, PARAMETER_VARIABLE, label)
    if not name.endswith("/"):
        source = f"{PARAMETER_VARIABLE} ({name})" if shown else PARAMETER_VARIABLE
        entries = parse_custom_providers(values[name], source)
        return [LocatedEntry(entry, f"{source}[{index}]") for index, entry in enumerate(entries)]
    if not shown:  # names outside the function's prefix are not shown: number them instead
        values = {f"#{index}": values[key] for index, key in enumerate(sorted(values))}
    entries = parse_custom_provider_parameters(values, PARAMETER_VARIABLE)
    return [LocatedEntry(entry, f"{PARAMETER_VARIABLE} ({entry.id})") for entry in entries]
