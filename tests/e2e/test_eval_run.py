"""`tiergate eval run` and `eval profile` through a real LiteLLM against a loopback OpenAI-compatible server.

Needs the `run` extra (LiteLLM); skipped without it unless `TIERGATE_REQUIRE_LITELLM=1` (`.ci/run` sets it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from evalrun_env import (INTENT, JUDGE_SCORE, KEY_VAR, evidence_files, expected_score, load, model_server, wire,  # noqa: F401
                         wired)
from conftest import cli
from gitrepo import init
from openai_server import FakeOpenAI
from tiergate.runs import execute
from tiergate.runs.cache import ResponseCache
from tiergate.runs.client import Client, Reply, litellm_send, target

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)


def run(repo, tier="lite", when=NOW, **options):
    return execute.run(repo.root, execute.Options("intent-classification", tier, run_at=when, **options), when)


def test_a_run_records_an_artifact_with_per_call_figures(wired, model_server, capsys, validate):
    before = model_server.calls("served-nano")
    done = cli(capsys, "eval", "run", "--task", "intent-classification", "--tier", "lite", "--repo", str(wired.root),
               "--concurrency", "16", "--format", "json")
    assert done.code == 0, done.err
    out = json.loads(done.out)
    assert model_server.calls("served-nano") - before == 200
    art = yaml.safe_load(wired.read(out["path"]))
    assert art["model"] == "openai/gpt-5-nano" and art["source"] == "run" and art["samples"] == 200
    assert art["score"] == expected_score("served-nano")  # 0.65: the lite model is right ~70% of the time
    assert out["verdict"] == "fail"
    records = load(wired.path(art["records"]["path"]))
    first = records[0]
    assert {"output", "answer", "input_tokens", "output_tokens", "latency_ms", "cost_usd", "expected"} <= first.keys()
    assert first["input_tokens"] == 19 and first["output_tokens"] == 1  # the words of the system and user messages: the server's usage, not an estimate
    assert first["cost_usd"] == pytest.approx((19 * 0.05 + 1 * 0.40) / 1e6)  # catalog prices
    measured = art["measured"]
    assert measured["calls"] == 200 and measured["errors"] == 0 and measured["avg_input_tokens"] == 19
    assert measured["total_cost_usd"] == pytest.approx(200 * (19 * 0.05 + 0.40) / 1e6)
    assert 0 < measured["p95_latency_ms"] < 5000
    assert "200/200 done, 0 errors" in done.err  # progress lines when not a terminal
    assert validate().code == 0  # what eval run writes is intact evidence


def test_a_rerun_is_answered_from_the_cache(wired, model_server):
    first = run(wired)
    calls = model_server.calls()
    again = run(wired, when=NOW + dt.timedelta(minutes=1))
    assert model_server.calls() == calls  # nothing asked twice
    assert again.score.value == first.score.value and again.measured["cached"] == 200
    assert not any(p.is_relative_to(wired.root / "evals") for p in (wired.root / ".tiergate/cache").rglob("*"))
    fresh = run(wired, when=NOW + dt.timedelta(minutes=2), cache=False)
    assert model_server.calls() == calls + 200 and fresh.score.value == first.score.value  # deterministic per model


def test_retries_honour_retry_after_and_back_off_on_5xx(wired, model_server):
    model_server.faults["served-nano"] = ["429", "500"]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    from tiergate.models import Catalog
    from tiergate.loading import WorkTree, parse_yaml

    catalog = parse_yaml(WorkTree(wired.root).read("policy/tiers.yaml", 1 << 20), "policy/tiers.yaml").validated(Catalog)
    client = Client(ResponseCache(wired.root, read=False, write=False), litellm_send(), sleep=sleep)
    import asyncio

    reply = asyncio.run(client.call(target(catalog.tiers[0].models[0]), [{"role": "user", "content": "Message: x"}], {"max_tokens": 8}))
    assert reply.error is None and reply.text
    assert waits[0] == pytest.approx(0.2)  # the server's Retry-After
    assert 0.5 <= waits[1] <= 1.0  # exponential backoff (0.5 s x 2, with jitter) after the 500
    assert client.retries == 2


def test_a_timeout_on_every_attempt_is_a_failure_of_the_model(repo, model_server):
    wire(repo, model_server, timeout=0.3)
    model_server.faults["served-nano"] = ["slow"] * 5

    async def sleep(seconds: float) -> None:
        pass

    from tiergate.models import Catalog
    from tiergate.loading import WorkTree, parse_yaml
    import asyncio

    catalog = parse_yaml(WorkTree(repo.root).read("policy/tiers.yaml", 1 << 20), "policy/tiers.yaml").validated(Catalog)
    client = Client(ResponseCache(repo.root), litellm_send(), sleep=sleep)
    started = time.monotonic()
    reply = asyncio.run(client.call(target(catalog.tiers[0].models[0]), [{"role": "user", "content": "Message: y"}], {"max_tokens": 8}))
    assert reply == Reply(None, 0, 0, 300.0, error="timeout")
    assert time.monotonic() - started < 5  # five bounded attempts
    assert not (repo.root / ".tiergate/cache").exists()  # a timeout is not cached: the next run asks again
    model_server.faults.clear()


# the other calls in flight are cancelled when one fails: LiteLLM leaves a coroutine of its own unawaited
@pytest.mark.filterwarnings("ignore:coroutine 'OpenAIChatCompletion.acompletion' was never awaited:RuntimeWarning")
def test_a_provider_error_stops_the_run_and_records_nothing(wired, model_server, capsys):
    model_server.faults["served-nano"] = ["401"]
    before = evidence_files(wired)
    done = cli(capsys, "eval", "run", "--task", "intent-classification", "--tier", "lite", "--repo", str(wired.root))
    assert done.code == 2 and "a call failed" in done.err and "not evidence" in done.err
    assert evidence_files(wired) == before and "Traceback" not in done.err


def test_ctrl_c_leaves_nothing_in_evals_and_a_rerun_resumes(repo, tmp_path):
    slow = FakeOpenAI(truth=lambda messages: "billing", latency=0.05)
    with slow:
        wire(repo, slow)
        before = evidence_files(repo)
        env = {**os.environ, KEY_VAR: "sk-test", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        command = [sys.executable, "-m", "tiergate", "eval", "run", "--task", "intent-classification", "--tier", "lite",
                   "--concurrency", "4", "--repo", str(repo.root)]
        # A shell without job control starts background jobs with SIGINT ignored, and a child inherits that:
        # give the run the terminal's default, so Ctrl-C reaches it wherever the suite runs.
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 60
        while slow.calls() < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, err
        assert "interrupted" in err and "Traceback" not in err
        assert evidence_files(repo) == before  # nothing half written
        cached = sum(len(log.read_text().splitlines()) for log in (repo.root / ".tiergate/cache").glob("*.jsonl"))
        assert cached >= 15
        asked = slow.calls()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert slow.calls() - asked <= 200 - cached  # the cached answers are not asked again
        assert len(evidence_files(repo) - before) == 2


def test_profile_prints_the_table_and_recommends_the_cheapest_passing_tier(wired, capsys):
    done = cli(capsys, "eval", "profile", "--task", "intent-classification", "--tiers", "lite,mid", "--repo", str(wired.root))
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    header = next(line for line in lines if line.startswith("tier"))
    for column in ("score", "upper bound", "verdict", "cost/call", "cost/success", "p95 latency"):
        assert column in header
    lite = next(line for line in lines if line.startswith("lite "))
    mid = next(line for line in lines if line.startswith("mid *"))
    assert " fail " in lite and f"{expected_score('served-nano'):g}" in lite
    assert " pass " in mid
    assert "recommendation: mid (the cheapest tier that passes)" in done.out
    assert not any("-lite-" in p or "-mid-" in p for p in evidence_files(wired) if "20261201" in p or p.endswith(".jsonl") and "2026120" in p)


def test_profile_link_turns_a_no_from_the_gate_into_a_merged_upgrade(repo, model_server, capsys):
    wire(repo, model_server)
    repo.write(".gitignore", "/.tiergate/\n")  # as `tiergate init` writes it: the run's cache is never part of the change (TG323)
    gitrepo = init(repo.root)
    gitrepo.replace(INTENT, "tier: lite", "tier: mid")
    no = cli(capsys, "check", "--base", "main", "--repo", str(repo.root), "--format", "json")
    assert no.code == 1 and "TG801" in no.rules()
    gitrepo.replace(INTENT, "tier: mid", "tier: lite")
    done = cli(capsys, "eval", "profile", "--task", "intent-classification", "--tiers", "lite,mid", "--link", "--repo", str(repo.root))
    assert done.code == 0, done.err
    contract = yaml.safe_load(repo.read(INTENT))
    assert contract["tier"] == "mid"
    assert "-mid-claude-sonnet-4-5" in contract["evidence"]["passing"]
    assert [p for p in contract["evidence"]["failing"] if "-lite-gpt-5-nano" in p]
    assert "# yaml-language-server" in repo.read(INTENT)  # edited in place, comments kept
    yes = cli(capsys, "check", "--base", "main", "--repo", str(repo.root), "--format", "json")
    assert yes.code == 0, yes.out
    assert json.loads(yes.out)["tier_changes"][0]["verdict"] == "accepted"


def test_cost_warns_when_token_estimates_are_off_the_latest_passing_run(wired, capsys):
    wired.replace(INTENT, "threshold: 0.93", "threshold: 0.6")  # lite passes at 0.65
    run(wired)
    warned = cli(capsys, "cost", "--task", "intent-classification", "--repo", str(wired.root), "--format", "json")
    findings = json.loads(warned.out)["findings"]
    assert [f["rule"] for f in findings if f["rule"] == "TG322"] == ["TG322", "TG322"]
    assert "measured 19" in next(f["message"] for f in findings if "avg_input_tokens" in f["message"])
    wired.replace(INTENT, "avg_input_tokens: 120", "avg_input_tokens: 20")
    wired.replace(INTENT, "avg_output_tokens: 20", "avg_output_tokens: 1")
    quiet = cli(capsys, "cost", "--task", "intent-classification", "--repo", str(wired.root), "--format", "json")
    assert "TG322" not in {f["rule"] for f in json.loads(quiet.out)["findings"]}


PASS_RATE = """prompt:
  inline: "Classify: {input}"
  checker: {regex: "billing|bug|howto|account"}
"""


def test_pass_rate_through_a_declared_regex_checker(wired, model_server):
    text = wired.read(INTENT).split("prompt:")[0].replace("metric: accuracy", "metric: pass_rate").replace("threshold: 0.93", "threshold: 0.9")
    wired.write(INTENT, text + PASS_RATE)
    done = run(wired)
    records = load(wired.path(yaml.safe_load(wired.read(done.path))["records"]["path"]))
    labelled = [r["answer"] in ("billing", "bug", "howto", "account") for r in records]
    assert [r["passed"] for r in records] == labelled  # the regex decided each record
    assert done.metric == "pass_rate" and done.score.value == sum(labelled) / 200 and 0.5 < done.score.value < 0.9


RUBRIC = """prompt:
  inline: "Draft a reply to: {input}"
  judge: {model: anthropic/claude-sonnet-4-5, rubric: policy/prompts/reply-rubric.md}
"""


def test_rubric_mean_through_a_judge_on_a_higher_tier(wired, model_server):
    wired.write("policy/prompts/reply-rubric.md", "10: resolves the issue politely. 0: wrong or rude.\n")
    text = wired.read(INTENT).split("prompt:")[0].replace("metric: accuracy", "metric: rubric_mean").replace("threshold: 0.93", "threshold: 7")
    wired.write(INTENT, text + RUBRIC)
    judged = model_server.calls("served-sonnet")
    done = run(wired)
    assert done.score.value == float(JUDGE_SCORE) and done.verdict == "pass"
    assert model_server.calls("served-sonnet") - judged == 200
    record = load(wired.path(yaml.safe_load(wired.read(done.path))["records"]["path"]))[0]
    assert record["judge"]["model"] == "anthropic/claude-sonnet-4-5" and record["judge"]["cost_usd"] > 0
    assert done.measured["total_cost_usd"] > sum(r["cost_usd"] for r in load(wired.path(yaml.safe_load(wired.read(done.path))["records"]["path"])))


JSON_CHECKER = """prompt:
  inline: "As JSON, classify. Message: {input}"
  checker: {json_schema: {type: object, required: [label], properties: {label: {enum: [billing, bug, howto, account]}}}}
"""


def test_pass_rate_through_a_json_schema_checker_counts_unparsable_answers_as_errors(wired):
    text = wired.read(INTENT).split("prompt:")[0].replace("metric: accuracy", "metric: pass_rate").replace("threshold: 0.93", "threshold: 0.9")
    wired.write(INTENT, text + JSON_CHECKER)
    done = run(wired)
    records = load(wired.path(yaml.safe_load(wired.read(done.path))["records"]["path"]))
    wrong = [r for r in records if r["answer"] == "wrong"]  # the server's miss: not JSON at all
    assert wrong and all(r["passed"] is False and r["error"] == "unparsable" for r in wrong)
    assert all(r["passed"] is True for r in records if r["answer"] != "wrong")  # JSON that fits the schema
    assert done.score.value == (200 - len(wrong)) / 200 and done.measured["errors"] == len(wrong)
