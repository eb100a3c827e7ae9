"""What the provider tests share for fuzzing parse() and for faking an HTTP answer."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Collection
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, event, find, settings
from hypothesis import strategies as st

from shared.http import HttpResult
from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import ProviderAdapter

# The number of examples comes from the Hypothesis profile (tests/conftest.py): `dev` for `make unit`, `ci`
# (2,000 per test) for `make test` and CI. HYPOTHESIS_MAX_EXAMPLES overrides it for a longer documented run.
_OVERRIDE = (
    {"max_examples": int(os.environ["HYPOTHESIS_MAX_EXAMPLES"])} if "HYPOTHESIS_MAX_EXAMPLES" in os.environ else {}
)

Test = TypeVar("Test", bound=Callable[..., Any])


def fuzz(test: Test) -> Test:
    """Run a @given test as many times as the profile says, with no per-example deadline.

    Long runs (e.g. 20,000 examples, about 4 min each here) get more than the suite's 300 s per test.
    """
    fuzz_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], **_OVERRIDE)
    return pytest.mark.timeout(max(300, fuzz_settings.max_examples // 20))(fuzz_settings(test))


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


# --- near-valid bodies: a provider's valid-body strategy, changed a little --------------------------


def slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) below the root: the places a mutation can hit."""
    found: list[tuple[Any, Any]] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        found.append((node, key))
        found.extend(slots(child))
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any], junk: st.SearchStrategy[Any]) -> Any:
    """A valid body with up to three slots deleted, replaced by ``junk``, or turned into a string."""
    body = copy.deepcopy(draw(valid))  # the slots are changed in place; a sampled fixture must stay intact
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        places = slots(body)
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["delete", "replace", "stringify"]))
        if action == "delete":
            del container[key]
        elif action == "replace":
            container[key] = draw(junk)
        else:
            container[key] = json.dumps(container[key])
    return body


ROLL = st.integers(0, 99)


def perturbed(
    valid: st.SearchStrategy[Any],
    *,
    keys: st.SearchStrategy[str],
    near_scalars: st.SearchStrategy[Any],
    numbers: st.SearchStrategy[float],
    near_percent: int = 3,
) -> st.SearchStrategy[Any]:
    """A valid body with a few random changes in any node: replaced, keys dropped or added, list items dropped.

    Each node is replaced by small JSON 3% of the time and by one of ``near_scalars`` (values near the
    documented ones) ``near_percent``% of the time; an object loses each key 4% of the time and gains one
    of ``keys`` 4% of the time; a list loses each item 5% of the time; a number is otherwise redrawn from
    ``numbers`` (still valid, but new) up to 30% of the time.
    """
    small_json = json_values(max_leaves=6, keys=keys)
    near_below = 3 + near_percent
    add_key_below = near_below + 4

    def perturb(draw: st.DrawFn, value: Any) -> Any:
        roll = draw(ROLL)
        if roll < 3:
            return draw(small_json)
        if roll < near_below:
            return draw(near_scalars)
        if isinstance(value, dict):
            out = {key: perturb(draw, item) for key, item in value.items() if draw(ROLL) >= 4}
            if roll < add_key_below:
                out[draw(keys)] = draw(small_json)
            return out
        if isinstance(value, list):
            return [perturb(draw, item) for item in value if draw(ROLL) >= 5]
        if isinstance(value, int | float) and not isinstance(value, bool) and roll < 30:
            return draw(numbers)
        return value

    @st.composite
    def bodies(draw: st.DrawFn) -> Any:
        return perturb(draw, draw(valid))

    return bodies()


# --- what parse() must do with any body -----------------------------------------------------------


def check_parse_contract(
    adapter: ProviderAdapter,
    body: Any,
    reasons: Collection[FailureReason] = (FailureReason.BAD_RESPONSE,),
) -> list[QuotaMetric]:
    """parse() returns a list of QuotaMetric or raises a ProviderError with one of ``reasons``, nothing else.

    Anything else it raises escapes and fails the test. Gives the metrics for the provider's own checks on
    them, and [] for a refusal (nothing more to check). Records the outcome as a Hypothesis event.
    """
    try:
        metrics = adapter.parse(body)
    except ProviderError as error:
        event(error.reason.value)
        assert error.reason in reasons
        return []
    event(f"{len(metrics)} metrics")
    assert isinstance(metrics, list)
    assert all(isinstance(metric, QuotaMetric) for metric in metrics)
    return metrics


def assert_reaches_metrics(adapter: ProviderAdapter, bodies: st.SearchStrategy[Any]) -> None:
    """Some body drawn from ``bodies`` gives metrics, so a fuzz of them does not test refusals alone."""

    def has_metrics(body: Any) -> bool:
        try:
            return len(adapter.parse(body)) > 0
        except ProviderError:
            return False

    # Generate only: the first hit is proof enough, shrinking it would only cost time.
    find(bodies, has_metrics, settings=settings(max_examples=2000, database=None, phases=[Phase.generate]))
