"""Custom providers without code: a provider described in data (JSON + JMESPath) becomes a ProviderAdapter.

Public API (what CustomFunction, the runner and the CLI use):
- ``parse_custom_providers(raw_json, source)`` / ``parse_custom_provider_parameters(values)`` /
  ``validate_entries(data, source)`` / ``validate_entry(data, location)``: validated ``ProviderEntry``
  objects, or ``shared.config.ConfigError`` naming the field.
- ``adapter_for(entry)``: the entry's ``ProviderAdapter``, to use with ``shared.providers.check``.
"""

from shared.custom.adapter import CustomAdapter, adapter_for, name_from_id, to_datetime, to_number
from shared.custom.expressions import MAX_EXPRESSION_CHARS, Expression
from shared.custom.spec import (
    CUSTOM_PROVIDER,
    MAX_METRICS_PER_ACCOUNT,
    PERIODS,
    MetricSpec,
    ProviderEntry,
    parse_custom_provider_parameters,
    parse_custom_providers,
    validate_entries,
    validate_entry,
)

__all__ = [
    "CUSTOM_PROVIDER",
    "MAX_EXPRESSION_CHARS",
    "MAX_METRICS_PER_ACCOUNT",
    "PERIODS",
    "CustomAdapter",
    "Expression",
    "MetricSpec",
    "ProviderEntry",
    "adapter_for",
    "name_from_id",
    "parse_custom_provider_parameters",
    "parse_custom_providers",
    "to_datetime",
    "to_number",
    "validate_entries",
    "validate_entry",
]
