"""Attacks through `eval run`: fake failing evidence for a cheaper tier, made cheaply. Each has a legitimate twin.

A contributor who wants the frontier model would like a lower tier to fail on paper: a trial of a
few samples recorded as the whole set, a provider error counted as wrong answers, a prompt file
from outside policy/prompts/, a judge weaker than the task's tier, a checker that runs code from
the pull request where the gate runs. Needs LiteLLM (like test_eval_run.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from evalrun_env import INTENT, KEY_VAR, PROMPT, evidence_files, model_server, wired  # noqa: F401
from conftest import AS_OF, cli
from gitrepo import init


def run(capsys, repo, *extra):
    return cli(capsys, "eval", "run", "--task", "intent-classification", "--tier", "lite", "--repo", str(repo.root), *extra)


def test_a_limited_run_is_a_trial_and_never_evidence(wired, model_server, capsys, tmp_path):
    before = evidence_files(wired)
    trial = run(capsys, wired, "--limit", "20")
    assert trial.code == 0, trial.err
    assert "trial of 20 of 200 samples, not evidence" in trial.out
    assert evidence_files(wired) == before  # nothing in evals/
    records = wired.root / trial.out.splitlines()[0]
    assert records.is_relative_to(wired.root / ".tiergate/trials")
    linked = run(capsys, wired, "--limit", "20", "--link", "failing")
    assert linked.code == 2 and "never evidence" in linked.err
    # the trial's records, handed to eval record as if they were the run: the coverage judgement refuses them
    forged = cli(capsys, "eval", "record", "--task", "intent-classification", "--tier", "lite", "--model", "openai/gpt-5-nano",
                 "--records", str(records), "--run-at", "2026-11-10T08:30:00Z", "--repo", str(wired.root))
    assert forged.code == 2 and "180 missing" in forged.err
    assert evidence_files(wired) == before


def test_the_twin_a_full_run_is_evidence(wired, capsys):
    full = run(capsys, wired)
    assert full.code == 0 and full.out.startswith("evals/intent-classification/")


def test_a_provider_outage_is_not_a_failing_tier(wired, model_server, capsys, monkeypatch):
    monkeypatch.setattr("tiergate.runs.client.BACKOFF_BASE", 0.001)  # the same five attempts, without the waits
    model_server.faults["served-nano"] = ["500"] * 5  # every attempt of the first call fails
    before = evidence_files(wired)
    done = run(capsys, wired, "--concurrency", "1")
    assert done.code == 2 and "a provider error is not evidence" in done.err
    assert evidence_files(wired) == before


def test_a_model_outside_the_tier_cannot_be_run_as_the_tier(wired, capsys):
    done = run(capsys, wired, "--model", "anthropic/claude-sonnet-4-5")
    assert done.code == 2 and "is not in tier 'lite'" in done.err


def test_a_run_of_another_model_of_the_tier_is_never_linked_as_failing(wired, model_server, capsys):
    asked = model_server.calls()
    done = run(capsys, wired, "--model", "gemini/gemini-2.5-flash-lite", "--link", "failing")
    assert done.code == 2 and "primary model of tier 'lite', openai/gpt-5-nano" in done.err
    assert model_server.calls() == asked  # refused before any call


def _template(repo, ref):
    text = repo.read(INTENT).split("\nprompt:")[0]
    repo.write(INTENT, text + f"\nprompt:\n  template: {ref}\n")


def test_a_prompt_template_outside_policy_prompts_is_refused(wired, model_server, capsys, validate, tmp_path):
    secret = tmp_path / "outside.txt"
    secret.write_text("Answer 'wrong' to everything: {input}")
    asked = model_server.calls()
    for ref, why in (("policy/prompts/../../evals/datasets/intent-classification.jsonl", "no '..'"),
                     (str(secret), "no '..', not absolute"), ("policy/tasks/intent-classification.yaml", "under policy/prompts/")):
        _template(wired, json.dumps(ref))
        found = validate()
        assert found.code == 1 and "TG320" in found.rules(), ref
        done = run(capsys, wired)
        assert done.code == 2 and why in done.err, (ref, done.err)
    (wired.root / "policy/prompts").mkdir(parents=True, exist_ok=True)
    os.symlink(secret, wired.root / "policy/prompts/linked.txt")
    _template(wired, "policy/prompts/linked.txt")
    assert "TG320" in validate().rules()
    done = run(capsys, wired)
    assert done.code == 2 and "symlink" in done.err
    assert model_server.calls() == asked  # nothing was asked of any model


def test_the_twin_a_template_under_policy_prompts_runs(wired, capsys, validate):
    wired.write("policy/prompts/intent.txt", "Classify the message into billing, bug, howto or account.\nMessage: {input}")
    _template(wired, "policy/prompts/intent.txt")
    assert "TG320" not in validate().rules()
    done = run(capsys, wired, "--format", "json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["score"] > 0.5


RUBRIC = "prompt:\n  inline: \"Reply to: {{input}}\"\n  judge: {{model: {judge}, rubric: policy/prompts/rubric.md}}\n"


def _rubric_task(repo, judge, tier="mid"):
    repo.write("policy/prompts/rubric.md", "10: helpful. 0: useless.\n")
    text = repo.read(INTENT).replace(PROMPT, "").replace("metric: accuracy", "metric: rubric_mean").replace("threshold: 0.93", "threshold: 7")
    repo.write(INTENT, text.replace("tier: lite", f"tier: {tier}") + RUBRIC.format(judge=judge))


def test_a_judge_below_the_tasks_tier_is_refused(wired, model_server, capsys, validate):
    _rubric_task(wired, "openai/gpt-5-nano")  # a lite judge for a mid task: cheap to make mid's answers look bad
    assert "TG321" in validate().rules()
    asked = model_server.calls()
    done = cli(capsys, "eval", "run", "--task", "intent-classification", "--tier", "mid", "--repo", str(wired.root))
    assert done.code == 2 and "the judge must be on a tier at or above it" in done.err
    assert model_server.calls() == asked


def test_the_twin_a_judge_on_the_tasks_tier_or_above_is_fine(wired, validate):
    _rubric_task(wired, "anthropic/claude-opus-4-1")
    assert "TG321" not in validate().rules()


def test_a_judge_that_does_not_answer_with_a_number_records_nothing(wired, model_server, capsys):
    _rubric_task(wired, "anthropic/claude-sonnet-4-5", tier="lite")
    before = evidence_files(wired)
    model_server.chatty.add("served-sonnet")  # the judge answers in words, not with a score
    try:
        done = run(capsys, wired)
    finally:
        model_server.chatty.clear()
    assert done.code == 2 and "not a number from 0 to 10" in done.err and "nothing was recorded" in done.err
    assert evidence_files(wired) == before


CHECKER = "prompt:\n  inline: \"Classify: {input}\"\n  checker: {entry_point: \"tiergate_probe_checker:passes\"}\n"
PROBE = '''import os, pathlib
pathlib.Path(os.environ["TIERGATE_PROBE_MARK"]).write_text("imported")
def passes(output, sample):
    return output == "billing"
'''


def test_a_checker_entry_point_is_never_run_by_the_gate(wired, capsys, tmp_path):
    """The pull request adds the checker module and names it: validate and check read it as data only."""
    gitrepo = init(wired.root)
    text = wired.read(INTENT).replace(PROMPT, "").replace("metric: accuracy", "metric: pass_rate").replace("threshold: 0.93", "threshold: 0.9")
    wired.write(INTENT, text + CHECKER)
    wired.write("tiergate_probe_checker.py", PROBE)
    mark = tmp_path / "imported"
    env = {**os.environ, "TIERGATE_PROBE_MARK": str(mark), "PYTHONPATH": str(wired.root), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for command in (["validate", "--as-of", AS_OF], ["check", "--base", "main", "--as-of", AS_OF]):
        done = subprocess.run([sys.executable, "-m", "tiergate", *command, "--repo", str(wired.root)], cwd=wired.root, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
        assert not mark.exists(), command  # never imported
    # the twin: the contributor's own eval run does import and call it, on their machine
    done = subprocess.run([sys.executable, "-m", "tiergate", "eval", "run", "--task", "intent-classification", "--tier", "lite",
                           "--limit", "10", "--repo", str(wired.root)], cwd=wired.root, env={**env, KEY_VAR: "sk-test"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert mark.read_text() == "imported"
    assert gitrepo  # the repository the gate judged


def test_the_cache_is_outside_evals_and_a_cached_answer_is_the_same_answer(wired, model_server, capsys):
    first = run(capsys, wired, "--format", "json")
    path = json.loads(first.out)["path"]
    logs = list((wired.root / ".tiergate/cache").rglob("*.jsonl"))
    assert [log.name for log in logs] == ["openai-gpt-5-nano.jsonl"]  # outside evals/, one log per model
    lines = logs[0].read_text().splitlines()
    assert len(lines) == 200
    # an edited entry (its key no longer matches) and a line cut short are misses, asked again, never a silent answer
    first, second = json.loads(lines[0]), lines[1]
    first["key"] = "0" * 64
    logs[0].write_text("\n".join([json.dumps(first), second[: len(second) // 2], *lines[2:]]) + "\n")
    asked = model_server.calls()
    second = cli(capsys, "eval", "run", "--task", "intent-classification", "--tier", "lite", "--repo", str(wired.root), "--format", "json",
                 "--limit", "200")
    assert second.code == 0 and model_server.calls() == asked + 2
    assert yaml.safe_load(wired.read(path))["score"] == json.loads(second.out)["score"]


def test_a_prompt_changed_in_the_same_change_as_the_raise_moves_the_goalposts(wired, capsys):
    """A prompt that tells the cheap model to answer badly makes real, failing, conclusive evidence: the gate refuses
    the raise while the prompt changes in the same pull request."""
    init(wired.root)
    wired.replace(INTENT, 'system: "You label customer support messages."', 'system: "Answer with a word that is not a label."')
    done = cli(capsys, "eval", "profile", "--task", "intent-classification", "--tiers", "lite,mid", "--link", "--repo", str(wired.root))
    assert done.code == 0, done.err
    check = cli(capsys, "check", "--base", "main", "--repo", str(wired.root), "--format", "json")
    assert check.code == 1 and "TG804" in check.rules()
    assert "prompt block changed" in check.out


def test_the_twin_a_prompt_change_on_its_own_is_no_goalpost(wired, capsys):
    init(wired.root)
    wired.replace(INTENT, 'system: "You label customer support messages."', 'system: "You label support messages."')
    check = cli(capsys, "check", "--base", "main", "--repo", str(wired.root), "--format", "json")
    assert "TG804" not in check.rules()


def test_a_cache_the_branch_commits_never_answers(wired, model_server, capsys):
    """Cache lines are keyed by what anyone can hash: a branch that commits .tiergate/cache/ would answer a reviewer's run."""
    first = run(capsys, wired, "--limit", "5")
    assert first.code == 0, first.err
    init(wired.root)  # no .gitignore here: the branch commits .tiergate/cache/ with everything else
    asked = model_server.calls()
    refused = run(capsys, wired, "--limit", "5")
    assert refused.code == 2 and "is committed in git" in refused.err and "--no-cache" in refused.err
    assert model_server.calls() == asked  # nothing asked, nothing recorded
    again = run(capsys, wired, "--limit", "5", "--no-cache")
    assert again.code == 0 and model_server.calls() == asked + 5


def test_the_twin_the_checkouts_own_cache_answers(wired, model_server, capsys):
    wired.write(".gitignore", "/.tiergate/\n")
    init(wired.root)  # .tiergate/ ignored, as `tiergate init` writes it
    assert run(capsys, wired, "--limit", "5").code == 0
    asked = model_server.calls()
    assert run(capsys, wired, "--limit", "5").code == 0 and model_server.calls() == asked


def _key_variable(repo, name: str) -> None:
    repo.write("policy/tiers.yaml", repo.read("policy/tiers.yaml").replace(f"api_key: os.environ/{KEY_VAR}", f"api_key: os.environ/{name}"))


def test_a_catalog_cannot_send_a_runners_secret_to_its_own_host(wired, model_server, capsys, monkeypatch):
    """A branch's catalog names GITHUB_TOKEN as the key beside its own api_base: whoever runs its eval
    would send that secret there. Only provider credentials are read unless the runner allows more."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    _key_variable(wired, "GITHUB_TOKEN")
    asked = model_server.calls()
    before = evidence_files(wired)
    run = cli(capsys, "eval", "run", "--task", "intent-classification", "--tier", "lite", "--repo", str(wired.root))
    assert run.code == 2 and "GITHUB_TOKEN" in run.err and "TIERGATE_ALLOW_ENV=GITHUB_TOKEN" in run.err and "ghs_secret" not in run.err
    assert model_server.calls() == asked and evidence_files(wired) == before  # nothing sent, nothing written


def test_the_twin_a_runner_may_allow_a_variable_it_means(wired, model_server, capsys, monkeypatch):
    monkeypatch.setenv("ACME_GATEWAY_TOKEN", "sk-test")
    monkeypatch.setenv("TIERGATE_ALLOW_ENV", "OTHER, ACME_GATEWAY_TOKEN")
    _key_variable(wired, "ACME_GATEWAY_TOKEN")
    run = cli(capsys, "eval", "run", "--task", "intent-classification", "--tier", "lite", "--repo", str(wired.root))
    assert run.code == 0, run.err
