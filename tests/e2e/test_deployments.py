"""Catalog deployment settings and the `tiergate-fallback` group, through a real `litellm.Router`.

Like `test_litellm_router.py`: needs the `litellm` extra, skipped without it unless
`TIERGATE_REQUIRE_LITELLM=1`. Here the catalog's primary lite model points its `api_base` at an
OpenAI-compatible server on 127.0.0.1, so the request LiteLLM actually sends (path, model name,
budget, key) is what is checked; every other deployment answers with LiteLLM's `mock_response`.
Nothing leaves the machine.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before import: no fetch of the remote price map

if os.environ.get("TIERGATE_REQUIRE_LITELLM") == "1":
    import litellm
else:
    litellm = pytest.importorskip("litellm")

from conftest import NANO_ENTRY, litellm_export  # noqa: E402
from openai_server import FakeOpenAI  # noqa: E402

CATALOG = "policy/tiers.yaml"
NANO = NANO_ENTRY
SERVED = "tiergate-fake-nano"  # the name the fake server serves: the catalog's `model` override
NANO_ID = "intent-classification.lite.openai-gpt-5-nano"
FALLBACK_ID = "tiergate-fallback.lite.openai-gpt-5-nano"
MESSAGES = [{"role": "user", "content": "My invoice shows the wrong amount."}]
KEY = "sk-test-not-a-real-key"


@pytest.fixture
def server(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # loopback only, whatever the environment says
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeOpenAI() as fake:
        yield fake


def settings(server: FakeOpenAI, extra: str = "") -> str:
    """The nano entry with deployment settings pointing at the fake server."""
    return NANO + f"""\
        litellm_params:
          model: openai/{SERVED}
          api_base: {server.base}
          timeout: 5
          max_retries: 0
          rpm: 1000
{extra}        model_info:
          team: support-platform
          regions: [eu, us]
          supports_function_calling: true
"""


def export(capsys, repo, monkeypatch) -> dict:
    return litellm_export(capsys, repo, monkeypatch, KEY)


def router(config: dict, server: FakeOpenAI, failing: tuple[str, ...] = ()) -> "litellm.Router":
    """Deployments aimed at the fake server call it; the rest answer with `mock_response` (no network)."""
    model_list = []
    for deployment in config["model_list"]:
        params = dict(deployment["litellm_params"])
        ident = deployment["model_info"]["id"]
        if ident in failing:
            params["mock_response"] = "litellm.InternalServerError"
        elif params.get("api_base") != server.base:
            params["mock_response"] = f"served by {ident}"
        model_list.append({**deployment, "litellm_params": params})
    return litellm.Router(model_list=model_list, num_retries=0, **config["router_settings"])


def served_by(response) -> str:
    return response._hidden_params["model_id"]


@pytest.fixture
def config(repo, capsys, monkeypatch, server):
    repo.replace(CATALOG, NANO, settings(server))
    return export(capsys, repo, monkeypatch)


def test_the_settings_load_into_the_router_and_reach_the_api_base(config, server):
    nano = next(d for d in config["model_list"] if d["model_info"]["id"] == NANO_ID)
    assert nano["litellm_params"] == {"model": f"openai/{SERVED}", "api_key": "os.environ/OPENAI_API_KEY", "max_tokens": 1024,
                                      "order": 1, "api_base": server.base, "timeout": 5, "max_retries": 0, "rpm": 1000}
    built = router(config, server)
    deployment = built.get_deployment(NANO_ID)
    assert deployment is not None and deployment.model_name == "intent-classification"
    params = deployment.litellm_params
    assert (params.model, params.api_base, params.timeout, params.max_retries, params.rpm) == (f"openai/{SERVED}", server.base, 5, 0, 1000)
    response = built.completion(model="intent-classification", messages=MESSAGES)
    assert served_by(response) == NANO_ID  # the catalog id stays the identity
    assert response.choices[0].message.content == f"fake server answered {SERVED}"
    assert len(server.requests) == 1
    seen = server.requests[0]
    assert seen["path"] == "/v1/chat/completions"
    assert seen["body"]["model"] == SERVED  # the override, not gpt-5-nano
    assert seen["body"]["max_tokens"] == 1024  # the contract's budget
    assert seen["authorization"] == f"Bearer {KEY}"


def test_model_info_extras_reach_the_routers_deployment_info(config, server):
    built = router(config, server)
    info = built.get_deployment(NANO_ID).model_info
    extras = {name: getattr(info, name, None) for name in ("team", "regions", "supports_function_calling")}
    assert extras == {"team": "support-platform", "regions": ["eu", "us"], "supports_function_calling": True}
    assert (info.id, info.input_cost_per_token, info.max_input_tokens) == (NANO_ID, 5e-08, 160000)  # tiergate's own keys intact
    listed = built.get_model_info(NANO_ID)["model_info"]
    assert listed["team"] == "support-platform" and listed["tiergate_tier"] == "lite"
    other = built.get_deployment("intent-classification.lite.gemini-gemini-2.5-flash-lite").model_info
    assert getattr(other, "team", None) is None  # extras belong to one model


def test_a_catalog_api_key_reference_replaces_the_default(repo, capsys, monkeypatch, server):
    repo.replace(CATALOG, NANO, settings(server, "          api_key: os.environ/TIERGATE_FAKE_TEAM_KEY\n"))
    config = export(capsys, repo, monkeypatch)
    nano = next(d for d in config["model_list"] if d["model_info"]["id"] == NANO_ID)
    assert list(nano["litellm_params"])[:4] == ["model", "api_key", "max_tokens", "order"]
    assert nano["litellm_params"]["api_key"] == "os.environ/TIERGATE_FAKE_TEAM_KEY"
    monkeypatch.setenv("TIERGATE_FAKE_TEAM_KEY", "sk-team-key-for-the-fake")
    router(config, server).completion(model="intent-classification", messages=MESSAGES)
    assert server.requests[-1]["authorization"] == "Bearer sk-team-key-for-the-fake"


def test_the_fallback_group_is_served_by_the_lowest_tiers_cheapest_model(config, server):
    groups = [d for d in config["model_list"] if d["model_name"] == "tiergate-fallback"]
    assert [d["model_info"]["id"] for d in groups] == [FALLBACK_ID]
    fallbacks = {k for setting in ("fallbacks", "context_window_fallbacks") for item in config["router_settings"][setting] for k in item}
    assert "tiergate-fallback" not in fallbacks  # nowhere to escalate
    built = router(config, server)
    assert "tiergate-fallback" in built.get_model_names()
    response = built.completion(model="tiergate-fallback", messages=MESSAGES)
    assert served_by(response) == FALLBACK_ID
    seen = server.requests[-1]["body"]
    assert seen["model"] == SERVED and seen["max_tokens"] == 256  # the same settings; lite's minimum completion budget
    assert built.get_deployment(FALLBACK_ID).model_info.tiergate_fallback is True


def test_the_fallback_follows_the_cheapest_model_and_never_escalates(repo, capsys, monkeypatch, server):
    repo.replace(CATALOG, "input_per_mtok: 0.10", "input_per_mtok: 0.01")  # flash-lite becomes the cheapest
    config = export(capsys, repo, monkeypatch)
    flash = "tiergate-fallback.lite.gemini-gemini-2.5-flash-lite"
    assert served_by(router(config, server).completion(model="tiergate-fallback", messages=MESSAGES)) == flash
    with pytest.raises(litellm.InternalServerError):
        router(config, server, failing=(flash,)).completion(model="tiergate-fallback", messages=MESSAGES)
    assert server.requests == []
