"""What the provider tests share for fuzzing parse() and for faking an HTTP answer."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from shared.http import HttpResult

# CI runs at least 2000 examples per fuzz test; set HYPOTHESIS_MAX_EXAMPLES for a longer documented run.
FUZZ_EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "2000"))
# Long fuzz runs (e.g. 20000 examples, ~4 min each here) get more than the suite's 300 s per test.
FUZZ_TIMEOUT = max(300, FUZZ_EXAMPLES // 20)

Test = TypeVar("Test", bound=Callable[..., Any])


def fuzz(test: Test) -> Test:
    """Run a @given test FUZZ_EXAMPLES times, with no per-example deadline and FUZZ_TIMEOUT seconds in all."""
    test = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])(test)
    return pytest.mark.timeout(FUZZ_TIMEOUT)(test)


def json_values(max_leaves: int = 30, keys: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    """Any JSON value: null, booleans, ints of any size, floats with infinities (no NaN), text, lists, objects.

    ``keys`` draws the object keys (short text unless a module mixes in the keys its provider uses).
    """
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    object_keys = st.text(max_size=12) if keys is None else keys
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=5) | st.dictionaries(object_keys, children, max_size=6),
        max_leaves=max_leaves,
    )


def answer(status: int, body: Any, text: str | None = None, content_type: str = "application/json") -> HttpResult:
    """The HTTP answer with this status and parsed body; its text is the body as JSON unless given."""
    return HttpResult(
        status=status, body=body, text=json.dumps(body) if text is None else text, content_type=content_type
    )
