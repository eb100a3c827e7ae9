"""docs/adding-a-provider.md stays true: every registered provider id has every piece the checklist names.

When this fails, the message says which piece of which provider is missing; the checklist says how to add it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local import REPO_ROOT, provider_bodies, simulator
from local.provision import function_logical_id
from local.resources import sample_response
from local.template import load_template
from shared.providers import PROVIDER_IDS, get_adapter

TEMPLATE = load_template()
CHECKLIST = (REPO_ROOT / "docs" / "adding-a-provider.md").read_text(encoding="utf-8")


def _resources() -> dict[str, dict[str, object]]:
    return TEMPLATE["Resources"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_the_adapter_is_registered_under_its_id(provider: str) -> None:
    assert get_adapter(provider).provider_id == provider


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_the_adapter_names_itself_and_where_its_quota_is_managed(provider: str) -> None:
    adapter = get_adapter(provider)
    assert adapter.display_name.strip(), f"{provider}: display_name is empty"
    assert adapter.manage_url is not None and adapter.manage_url.startswith("https://"), (
        f"{provider}: manage_url must be the https page where its quota or plan is managed"
    )


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_the_handler_is_the_thin_one(provider: str) -> None:
    app = REPO_ROOT / "functions" / provider / "app.py"
    assert app.is_file(), f"{provider}: functions/{provider}/app.py is missing"
    source = app.read_text(encoding="utf-8")
    assert re.search(r"^def handler\(", source, re.MULTILINE), f"{provider}: app.py has no handler()"
    assert f'"{provider}"' in source, f"{provider}: app.py does not name its provider id"


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_the_template_has_the_function_its_parameters_log_group_and_alarms(provider: str) -> None:
    name = provider.capitalize()
    function = _resources().get(function_logical_id(provider))
    assert isinstance(function, dict), f"{provider}: template.yaml has no {function_logical_id(provider)}"
    assert str(function["Properties"]["CodeUri"]).rstrip("/").endswith(f"functions/{provider}")  # type: ignore[index]
    for parameter in (f"{name}Schedule", f"{name}AccountsParameter"):
        assert parameter in TEMPLATE["Parameters"], f"{provider}: template.yaml has no parameter {parameter}"
    for resource in (f"{name}LogGroup", f"{name}ErrorsAlarm", f"{name}DeadMansSwitchAlarm"):
        assert resource in _resources(), f"{provider}: template.yaml has no resource {resource}"


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_the_simulator_scripts_it_for_make_run(provider: str) -> None:
    assert provider in simulator.SCRIPT, f"{provider}: no script in local/simulator.py SCRIPT"
    assert len(simulator.SCRIPT[provider]) == simulator.TICKS
    assert provider in simulator.ACCOUNTS, f"{provider}: no demo account in local/simulator.py ACCOUNTS"
    assert provider in simulator.UNAUTHORIZED, f"{provider}: no 401 body in local/simulator.py UNAUTHORIZED"
    assert provider in provider_bodies.BODIES, f"{provider}: no body builder in local/provider_bodies.py BODIES"
    assert simulator.scripted_response(provider, 1).status == 200


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_env_json_names_its_local_resources(provider: str) -> None:
    env = json.loads((REPO_ROOT / "infra" / "env.json").read_text(encoding="utf-8"))
    entry = env.get(function_logical_id(provider))
    assert isinstance(entry, dict), f"{provider}: infra/env.json has no {function_logical_id(provider)} entry"
    assert entry.get("ACCOUNTS_PARAMETER", "").startswith(f"/quota-sentinel/{provider}/")
    assert {"STATE_TABLE_NAME", "ALERT_TOPIC_ARN"} <= set(entry)


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_it_has_a_sample_body_and_its_own_test_file(provider: str) -> None:
    assert sample_response(provider).is_file()  # make invoke serves it
    assert (Path(__file__).parent / f"test_provider_{provider}.py").is_file()


def test_the_checklist_names_every_piece_this_test_checks() -> None:
    for piece in (
        "shared/providers/",
        "functions/<provider>/app.py",
        "template.yaml",
        "local/simulator.py",
        "local/provider_bodies.py",
        "infra/env.json",
        "tests/fixtures/providers/",
        "tests/unit/test_provider_<provider>.py",
        "tests/unit/test_adding_a_provider.py",
    ):
        assert piece in CHECKLIST, piece
