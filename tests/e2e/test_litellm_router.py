"""The exported LiteLLM config, loaded into a real `litellm.Router` with no network.

Needs the `litellm` extra (`pip install -e '.[litellm]'`). Skipped without it, except where
`TIERGATE_REQUIRE_LITELLM=1` (set by `.ci/run`) turns the skip into a failure. Deployments answer
with LiteLLM's own `mock_response`; building the Router and calling it is the check.
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before import: no fetch of the remote price map

if os.environ.get("TIERGATE_REQUIRE_LITELLM") == "1":
    import litellm
else:
    litellm = pytest.importorskip("litellm")

from litellm.integrations.custom_logger import CustomLogger  # noqa: E402

from conftest import AS_OF, cli, litellm_export  # noqa: E402

INTENT = "policy/tasks/intent-classification.yaml"
FAIL = "litellm.InternalServerError"
MESSAGES = [{"role": "user", "content": "My invoice shows the wrong amount."}]
NANO_PRICES = (0.07, 0.45)  # per million; not LiteLLM's built-in gpt-5-nano price, so the charge tells whose price it is


class Attempts(CustomLogger):
    """Every deployment the router called, in order (LiteLLM calls this hook synchronously, before the call)."""

    def __init__(self) -> None:
        super().__init__()
        self.called: list[str] = []

    def log_pre_api_call(self, model, messages, kwargs):  # noqa: ANN001 - LiteLLM's signature
        self.called.append(kwargs.get("litellm_params", {}).get("model_info", {}).get("id"))


@pytest.fixture
def config(repo, capsys, monkeypatch):
    """Export from a copy of the example with a distinctive nano price and a lite→mid→frontier chain."""
    repo.replace("policy/tiers.yaml", "input_per_mtok: 0.05\n        output_per_mtok: 0.40",
                 f"input_per_mtok: {NANO_PRICES[0]}\n        output_per_mtok: {NANO_PRICES[1]}")
    repo.replace(INTENT, "ceiling: mid", "ceiling: frontier")
    repo.replace(INTENT, "max_output_tokens: 1024", "max_output_tokens: 4096")
    return litellm_export(capsys, repo, monkeypatch, "sk-test-not-a-real-key")


def router(config, failing=(), num_retries=0):
    """A real Router over the exported config; deployments whose id matches a `failing` pattern fail."""
    model_list = []
    for deployment in config["model_list"]:
        deployment = {**deployment, "litellm_params": dict(deployment["litellm_params"])}
        ident = deployment["model_info"]["id"]
        deployment["litellm_params"]["mock_response"] = FAIL if any(re.fullmatch(p, ident) for p in failing) else f"served by {ident}"
        model_list.append(deployment)
    return litellm.Router(model_list=model_list, num_retries=num_retries, **config["router_settings"])


@pytest.fixture
def attempts():
    logger = Attempts()
    litellm.callbacks = [logger]
    yield logger
    litellm.callbacks = []


def served_by(response) -> str:
    return response._hidden_params["model_id"]


@pytest.mark.parametrize("task, deployment", [
    ("intent-classification", "intent-classification.lite.openai-gpt-5-nano"),
    ("code-generation", "code-generation.mid.anthropic-claude-sonnet-4-5"),
    ("contract-review", "contract-review.frontier.anthropic-claude-opus-4-1"),
])
def test_each_group_serves_its_authorized_primary(config, task, deployment):
    response = router(config).completion(model=task, messages=MESSAGES)
    assert served_by(response) == deployment
    assert response.choices[0].message.content == f"served by {deployment}"


def test_the_exported_price_is_the_one_charged(config):
    response = router(config).completion(model="intent-classification", messages=MESSAGES)
    usage = response.usage
    expected = usage.prompt_tokens * NANO_PRICES[0] / 1e6 + usage.completion_tokens * NANO_PRICES[1] / 1e6
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert response._hidden_params["response_cost"] == pytest.approx(expected, rel=1e-9)


def tier_of(deployment_id: str) -> str:
    return deployment_id.split(".")[1]


def test_failures_fall_back_along_the_chain(config, attempts):
    """Which model of the next tier serves is LiteLLM's choice (its order re-targeting can leave the
    fallback group on a later `order`); the tier is the policy's, and that is what is checked."""
    response = router(config, failing=[r"intent-classification\.lite\..*"]).completion(model="intent-classification", messages=MESSAGES)
    assert served_by(response).startswith("intent-classification.mid.")
    assert [tier_of(i) for i in attempts.called] == ["lite", "lite", "lite", "mid"]  # every lite model, then mid
    response = router(config, failing=[r"intent-classification\.(lite|mid)\..*"]).completion(model="intent-classification", messages=MESSAGES)
    assert served_by(response).startswith("intent-classification.frontier.")


def test_fallback_stops_at_the_ceiling(config, attempts):
    everything_of_intent = [r"intent-classification\..*"]
    with pytest.raises(litellm.InternalServerError):
        router(config, failing=everything_of_intent).completion(model="intent-classification", messages=MESSAGES)
    tiers = [tier_of(ident) for ident in attempts.called]
    assert all(ident.startswith("intent-classification.") for ident in attempts.called)
    assert tiers[0] == "lite" and tiers[-1] == "frontier" and "mid" in tiers
    attempts.called.clear()
    with pytest.raises(litellm.InternalServerError):  # mid's ceiling is mid: the healthy frontier groups are never reached
        router(config, failing=[r"entity-extraction\..*"]).completion(model="entity-extraction", messages=MESSAGES)
    assert {tier_of(ident) for ident in attempts.called} == {"lite", "mid"}


def test_a_failing_primary_hands_over_within_the_tier(config):
    response = router(config, failing=[r"intent-classification\.lite\.openai-gpt-5-nano"], num_retries=1).completion(
        model="intent-classification", messages=MESSAGES)
    assert served_by(response) == "intent-classification.lite.gemini-gemini-2.5-flash-lite"


def test_unknown_tasks_call_the_fallback_group(config):
    """`tiergate-fallback` is the lowest tier's cheapest model, at the catalog's price, with nowhere further to go. The
    fixture's nano price (0.07 + 0.45) makes gemini-2.5-flash-lite (0.10 + 0.40) the cheapest lite model."""
    built = router(config)
    response = built.completion(model="tiergate-fallback", messages=MESSAGES)
    assert served_by(response) == "tiergate-fallback.lite.gemini-gemini-2.5-flash-lite"
    usage = response.usage
    expected = usage.prompt_tokens * 0.10 / 1e6 + usage.completion_tokens * 0.40 / 1e6  # flash-lite's catalog price
    assert response._hidden_params["response_cost"] == pytest.approx(expected, rel=1e-9)
    with pytest.raises(litellm.InternalServerError):
        router(config, failing=[r"tiergate-fallback\..*"]).completion(model="tiergate-fallback", messages=MESSAGES)


def test_every_fallback_target_exists(config):
    built = router(config)
    groups = set(built.get_model_names())
    for setting in ("fallbacks", "context_window_fallbacks"):
        for item in config["router_settings"][setting]:
            for source, targets in item.items():
                assert source in groups and targets and set(targets) <= groups
    assert not getattr(built, "default_fallbacks", None)


def test_an_input_over_the_guard_skips_to_a_tier_that_fits(repo, capsys, monkeypatch):
    """`max_input_tokens` is the guard: with pre-call checks the router moves a long input up the chain."""
    repo.replace("policy/tiers.yaml", "context_window: 200000\n        max_output_tokens: 64000",
                 "context_window: 32000\n        max_output_tokens: 64000")  # haiku: lite's guard becomes 25,600
    run = cli(capsys, "export", "--format", "litellm", "--repo", str(repo.root), "--as-of", AS_OF)
    assert run.code == 0, run.err
    data = yaml.safe_load(run.out)
    for deployment in data["model_list"]:
        monkeypatch.setenv(deployment["litellm_params"]["api_key"].split("/", 1)[1], "sk-test-not-a-real-key")
    built = router(data)
    short = built.completion(model="intent-classification", messages=MESSAGES)
    assert tier_of(served_by(short)) == "lite"
    long_input = [{"role": "user", "content": "word " * 30_000}]
    assert 25_600 < litellm.token_counter(model="gpt-4", messages=long_input) < 160_000
    response = built.completion(model="intent-classification", messages=long_input)
    assert served_by(response).startswith("intent-classification.mid.")
