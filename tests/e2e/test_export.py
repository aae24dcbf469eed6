"""`tiergate export` and `tiergate.routing`: the compiled table, its formats, and a router without LiteLLM."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import jsonschema
import pytest
import yaml

from conftest import NANO_ENTRY, PROJECT, AS_OF, cli
from gitrepo import init
from tiergate.errors import TierGateError
from tiergate.export import compile_table
from tiergate.loading import WorkTree
from tiergate.policy import load_policy
from tiergate.routing import ContextTooLarge, RoutingError, RoutingTable

INTENT = "policy/tasks/intent-classification.yaml"
TASK_COUNT = 14


def export(capsys, repo, fmt, *extra):
    return cli(capsys, "export", "--format", fmt, "--repo", str(repo.root), "--as-of", AS_OF, *extra)


def table(capsys, repo):
    run = export(capsys, repo, "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def narrow_lite(repo):
    """Give the lite tier a 32k-token model so its guard (25,600) is below mid's (160,000)."""
    repo.replace("policy/tiers.yaml", "context_window: 200000\n        max_output_tokens: 64000",
                 "context_window: 32000\n        max_output_tokens: 64000")


def test_json_is_deterministic_and_matches_its_schema(repo, capsys):
    first, second = export(capsys, repo, "json"), export(capsys, repo, "json")
    assert first.code == 0 and first.out == second.out
    data = json.loads(first.out)
    schema = json.loads((PROJECT / "schemas" / "table.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["schema_version"] == 1 and len(data["tasks"]) == TASK_COUNT
    assert data["source"]["commit"] is None  # not a git repository
    assert len(data["source"]["policy_sha256"]) == 64


def test_json_carries_what_a_router_needs(repo, capsys):
    narrow_lite(repo)
    repo.replace(INTENT, "ceiling: mid", "ceiling: frontier")
    repo.replace(INTENT, "max_output_tokens: 1024", "max_output_tokens: 4096")
    intent = table(capsys, repo)["tasks"]["intent-classification"]
    assert intent["tier"] == "lite" and intent["group"] == "intent-classification"
    assert [m["id"] for m in intent["models"]] == ["openai/gpt-5-nano", "gemini/gemini-2.5-flash-lite", "anthropic/claude-haiku-4-5"]
    nano = intent["models"][0]
    assert (nano["input_per_mtok"], nano["output_per_mtok"]) == (0.05, 0.4)
    assert (nano["input_per_token"], nano["output_per_token"]) == (5e-08, 4e-07)
    assert [(s["tier"], s["group"]) for s in intent["chain"]] == [("mid", "intent-classification@mid"),
                                                                   ("frontier", "intent-classification@frontier")]
    assert intent["context_guard_tokens"] == 25600 and intent["chain"][0]["context_guard_tokens"] == 160000
    assert intent["escalation"] == {"signal": "label_outside_set", "threshold": None}
    assert (intent["max_output_tokens"], intent["session_pinning"], intent["owner"], intent["impact"]) == (4096, False, "@acme/support-ml", "high")
    assert intent["slo"]["metric"] == "accuracy" and intent["slo"]["threshold"] == 0.93
    assert Decimal(intent["all_in_per_call"]) > 0


def test_fallback_is_the_cheapest_model_of_the_lowest_tier(repo, capsys):
    fallback = table(capsys, repo)["fallback"]
    assert fallback["tier"] == "lite" and fallback["model"]["id"] == "openai/gpt-5-nano"
    assert fallback["group"] == "tiergate-fallback"
    repo.replace("policy/tiers.yaml", "input_per_mtok: 0.10", "input_per_mtok: 0.01")  # flash-lite becomes cheapest
    assert table(capsys, repo)["fallback"]["model"]["id"] == "gemini/gemini-2.5-flash-lite"


def test_commit_and_digest_follow_the_repository(repo, capsys):
    gitrepo = init(repo.root)
    head = gitrepo.git("rev-parse", "HEAD").strip()
    data = table(capsys, repo)
    assert data["source"]["commit"] == head
    gitrepo.replace(INTENT, "monthly_volume: 500000", "monthly_volume: 500001")
    assert table(capsys, repo)["source"]["policy_sha256"] != data["source"]["policy_sha256"]


def test_invalid_policy_is_refused_and_nothing_is_written(repo, capsys, tmp_path):
    target = tmp_path / "table.json"
    target.write_text("previous\n")
    repo.replace(INTENT, "tier: lite", "tier: gold")
    run = export(capsys, repo, "json", "-o", str(target))
    assert run.code == 1 and run.out == ""
    assert "TG105" in run.err and "export refused" in run.err
    assert target.read_text() == "previous\n"


def test_output_file_is_written(repo, capsys, tmp_path):
    target = tmp_path / "out" / "table.csv"
    target.parent.mkdir()
    run = export(capsys, repo, "csv", "-o", str(target))
    assert run.code == 0 and run.out == "" and f"wrote {target}" in run.err
    assert target.read_text() == export(capsys, repo, "csv").out


def test_csv_and_markdown_rows(repo, capsys):
    rows = list(csv.DictReader(io.StringIO(export(capsys, repo, "csv").out)))
    assert len(rows) == TASK_COUNT
    intent = next(r for r in rows if r["task"] == "intent-classification")
    assert intent["tier"] == "lite" and intent["escalation → ceiling"] == "label_outside_set → mid"
    assert intent["SLO"] == "accuracy >= 0.93 (n >= 200)" and intent["reviewed"] == "2026-10-21"
    cost = json.loads(cli(capsys, "cost", "--repo", str(repo.root), "--format", "json", "--task", "intent-classification").out)
    assert intent["all-in cost per call (USD)"] == cost["tasks"][0]["all_in_per_call"]
    markdown = export(capsys, repo, "markdown").out
    assert markdown.startswith("| task ") and "| intent-classification " in markdown and "$0.01803383" in markdown


def test_litellm_config_shape(repo, capsys):
    repo.replace(INTENT, "ceiling: mid", "ceiling: frontier")
    repo.replace(INTENT, "max_output_tokens: 1024", "max_output_tokens: 4096")
    run = export(capsys, repo, "litellm")
    assert run.code == 0 and "&id" not in run.out
    config = yaml.safe_load(run.out)
    settings = config["router_settings"]
    assert "default_fallbacks" not in settings
    groups = {d["model_name"] for d in config["model_list"]}
    fallbacks = {k: v for item in settings["fallbacks"] for k, v in item.items()}
    assert fallbacks["intent-classification"] == ["intent-classification@mid", "intent-classification@frontier"]
    assert fallbacks["intent-classification@mid"] == ["intent-classification@frontier"]
    assert "intent-classification@frontier" not in fallbacks
    assert "format-conversion" not in fallbacks  # no escalation: nowhere to go
    assert all(target in groups for chain in fallbacks.values() for target in chain)
    assert settings["context_window_fallbacks"] == settings["fallbacks"]
    ids = [d["model_info"]["id"] for d in config["model_list"]]
    assert len(ids) == len(set(ids)) and "intent-classification.lite.openai-gpt-5-nano" in ids
    for deployment in config["model_list"]:
        info, params = deployment["model_info"], deployment["litellm_params"]
        assert "tier" not in info and info["tiergate_tier"] in ("lite", "mid", "frontier")
        assert params["api_key"].startswith("os.environ/") and params["api_key"].endswith("_API_KEY")
    nano = next(d for d in config["model_list"] if d["model_info"]["id"] == "intent-classification.lite.openai-gpt-5-nano")
    assert nano["litellm_params"] == {"model": "openai/gpt-5-nano", "api_key": "os.environ/OPENAI_API_KEY", "max_tokens": 4096, "order": 1}
    assert (nano["model_info"]["input_cost_per_token"], nano["model_info"]["output_cost_per_token"]) == (5e-08, 4e-07)


NANO = NANO_ENTRY
NANO_SETTINGS = NANO + """\
        litellm_params:
          model: azure/acme-nano
          api_base: https://acme.example.invalid/openai
          api_version: "2025-01-01-preview"
          api_key: os.environ/ACME_AZURE_KEY
          rpm: 600
          timeout: 12.5
          stream_timeout: 30
          max_retries: 1
          tags: [eu, support]
        model_info:
          team: support-platform
          regions: [eu]
"""
PARAMS = {"api_base": "https://acme.example.invalid/openai", "api_version": "2025-01-01-preview", "rpm": 600, "timeout": 12.5,
          "stream_timeout": 30, "max_retries": 1, "tags": ["eu", "support"]}


def test_the_litellm_config_and_the_table_carry_the_settings(repo, capsys):
    repo.replace("policy/tiers.yaml", NANO, NANO_SETTINGS)
    data = table(capsys, repo)
    jsonschema.validate(data, json.loads((PROJECT / "schemas" / "table.schema.json").read_text()))
    nano, flash = data["tasks"]["intent-classification"]["models"][:2]
    assert nano["id"] == "openai/gpt-5-nano"  # the catalog id stays the identity
    assert nano["litellm_params"] == {"model": "azure/acme-nano", "api_key": "os.environ/ACME_AZURE_KEY", **PARAMS}
    assert nano["model_info"] == {"team": "support-platform", "regions": ["eu"]}
    assert "litellm_params" not in flash and "model_info" not in flash  # absent when the catalog sets none
    assert data["fallback"]["model"]["litellm_params"] == nano["litellm_params"]

    run = export(capsys, repo, "litellm")
    assert run.code == 0, run.err
    assert "ACME_AZURE_KEY" in run.out and "sk-" not in run.out
    config = yaml.safe_load(run.out)
    deployments = [d for d in config["model_list"] if d["model_info"]["id"].endswith(".openai-gpt-5-nano")]
    assert {d["model_name"] for d in deployments} >= {"intent-classification", "tiergate-fallback"}
    for deployment in deployments:
        params, info = deployment["litellm_params"], deployment["model_info"]
        assert list(params)[:4] == ["model", "api_key", "max_tokens", "order"]  # tiergate's keys first
        assert params["model"] == "azure/acme-nano" and params["api_key"] == "os.environ/ACME_AZURE_KEY"
        assert {k: params[k] for k in PARAMS} == PARAMS
        assert (info["team"], info["regions"]) == ("support-platform", ["eu"])
        assert list(info)[-2:] == ["team", "regions"]  # after tiergate's own keys, none of them replaced
        assert info["input_cost_per_token"] == 5e-08 and info["id"].endswith(".lite.openai-gpt-5-nano")
    intent = next(d for d in deployments if d["model_name"] == "intent-classification")
    assert (intent["litellm_params"]["max_tokens"], intent["litellm_params"]["order"]) == (1024, 1)
    flash = next(d for d in config["model_list"] if d["model_info"]["id"] == "intent-classification.lite.gemini-gemini-2.5-flash-lite")
    assert flash["litellm_params"] == {"model": "gemini/gemini-2.5-flash-lite", "api_key": "os.environ/GEMINI_API_KEY",
                                       "max_tokens": 1024, "order": 2}


def test_the_fallback_group_is_named_in_the_table_and_the_config(repo, capsys):
    assert table(capsys, repo)["fallback"]["group"] == "tiergate-fallback"
    run = export(capsys, repo, "litellm")
    header = [line for line in run.out.splitlines() if line.startswith("#")]
    assert any("tiergate-fallback" in line and "openai/gpt-5-nano" in line for line in header)
    config = yaml.safe_load(run.out)
    fallback = [d for d in config["model_list"] if d["model_name"] == "tiergate-fallback"]
    assert len(fallback) == 1
    assert fallback[0]["litellm_params"] == {"model": "openai/gpt-5-nano", "api_key": "os.environ/OPENAI_API_KEY", "max_tokens": 256,
                                             "order": 1}
    info = fallback[0]["model_info"]
    assert (info["id"], info["max_input_tokens"], info["tiergate_tier"], info["tiergate_fallback"]) == (
        "tiergate-fallback.lite.openai-gpt-5-nano", 160000, "lite", True)
    assert "tiergate_task" not in info


def test_a_task_named_like_the_fallback_group_is_refused(repo, capsys, validate):
    """validate refuses the name (TG109), and export, which validates first, writes nothing."""
    text = repo.read(INTENT).replace("task: intent-classification", "task: tiergate-fallback")
    repo.write("policy/tasks/tiergate-fallback.yaml", text)
    assert "TG109" in validate().rules()
    run = export(capsys, repo, "litellm")
    assert run.code == 1 and run.out == "" and "TG109" in run.err


def test_a_literal_secret_refuses_the_export(repo, capsys):
    repo.replace("policy/tiers.yaml", NANO, NANO + "        litellm_params:\n          api_key: sk-live-123456\n")
    run = export(capsys, repo, "litellm")
    assert run.code == 1 and run.out == ""
    assert "TG205" in run.err and "os.environ/OPENAI_API_KEY" in run.err and "sk-live-123456" not in run.err


def test_unknown_format_is_a_usage_error(repo, capsys):
    run = export(capsys, repo, "xml")
    assert run.code == 2 and "xml" in run.err


# --- tiergate.routing --------------------------------------------------------------------------


@pytest.fixture
def routes(repo, capsys, tmp_path) -> RoutingTable:
    narrow_lite(repo)
    path = tmp_path / "table.json"
    assert export(capsys, repo, "json", "-o", str(path)).code == 0
    return RoutingTable.load(path)


def test_resolve_a_known_task(routes):
    route = routes.resolve("intent-classification")
    assert (route.tier, route.group, route.models[0], route.max_tokens) == ("lite", "intent-classification", "openai/gpt-5-nano", 1024)
    assert route.escalation_group == "intent-classification@mid" and route.escalation_signal == "label_outside_set"
    assert not route.pin_session and not route.fallback
    assert routes.resolve("code-generation").pin_session


def test_unknown_task_gets_the_cheap_fallback_never_the_top(routes):
    route = routes.resolve("brand-new-task")
    assert route.fallback and route.tier == "lite" and route.models == ("openai/gpt-5-nano",) and route.group is None


def test_oversized_input_moves_up_the_chain_or_fails_clearly(routes):
    assert routes.resolve("intent-classification", input_tokens=25_600).tier == "lite"
    moved = routes.resolve("intent-classification", input_tokens=30_000)
    assert (moved.tier, moved.group, moved.escalation_group) == ("mid", "intent-classification@mid", None)
    with pytest.raises(ContextTooLarge, match="exceeds the context guard of every tier"):
        routes.resolve("intent-classification", input_tokens=170_000)
    with pytest.raises(ContextTooLarge, match="unknown task"):
        routes.resolve("brand-new-task", input_tokens=30_000)


def test_bad_tables_are_refused(tmp_path):
    with pytest.raises(RoutingError, match="schema_version"):
        RoutingTable({"schema_version": 99, "tasks": {}})
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(RoutingError, match="cannot load"):
        RoutingTable.load(broken)


def test_routing_needs_only_the_standard_library():
    source = (PROJECT / "src" / "tiergate" / "routing.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "json", "dataclasses", "pathlib", "typing"}


def test_readme_routing_example_runs(routes, tmp_path):
    """The README's example, run against a real exported table."""
    readme = (PROJECT / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "routing-table.json"
    path.write_text(json.dumps(routes.data))
    namespace: dict = {}
    exec(compile(block.replace('"routing-table.json"', repr(str(path))), "README.md", "exec"), namespace)
    assert namespace["route"].task == "intent-classification"
