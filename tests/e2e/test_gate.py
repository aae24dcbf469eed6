"""`tiergate check`: the merge gate over real git repositories (branches, merges, renames, shallow clones)."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import AS_OF, cli
from gitrepo import GIT_ENV, init

INTENT = "policy/tasks/intent-classification.yaml"
CR = "policy/tasks/contract-review.yaml"
CR_MID = "evals/contract-review/20261102T110000Z-mid-claude-sonnet-4-5.yaml"
INTENT_PASS = "evals/intent-classification/20261020T090000Z-lite-gpt-5-nano.yaml"


@pytest.fixture
def gitrepo(repo):
    return init(repo.root)


def check(capsys, repo, *extra, base="main"):
    return cli(capsys, "check", "--base", base, "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF, *extra)


def rules(run):
    return {f["rule"] for f in json.loads(run.out)["findings"]}


def record(capsys, repo, tmp_path, task, tier, model, correct, when):
    source = tmp_path / f"{task}-{tier}-{correct}.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in repo.records(task, correct)))
    run = cli(capsys, "eval", "record", "--task", task, "--tier", tier, "--model", model, "--records", str(source),
              "--run-at", when, "--repo", str(repo.root))
    assert run.code == 0, run.err
    return run.out.strip()


def upgrade_intent(capsys, repo, tmp_path, lite_correct=160, link=True):
    """Move intent-classification from lite to mid with a passing mid run and a lite run of `lite_correct`/200."""
    lite = record(capsys, repo, tmp_path, "intent-classification", "lite", "openai/gpt-5-nano", lite_correct, "2026-11-10T09:00:00Z")
    mid = record(capsys, repo, tmp_path, "intent-classification", "mid", "anthropic/claude-sonnet-4-5", 196, "2026-11-10T10:00:00Z")
    repo.replace(INTENT, "tier: lite", "tier: mid")
    repo.replace(INTENT, f"passing: {INTENT_PASS}", f"passing: {mid}")
    repo.replace(INTENT, "ceiling: mid", "ceiling: frontier")
    repo.replace(INTENT, "max_output_tokens: 1024", "max_output_tokens: 4096")
    if link:
        repo.replace(INTENT, "failing: []", f"failing: [{lite}]")
    return lite, mid


def test_unchanged_branch_passes(gitrepo, capsys):
    run = check(capsys, gitrepo)
    nothing = {"monthly_direct": "0", "monthly_all_in": "0"}
    assert run.code == 0 and json.loads(run.out) == {"ok": True, "findings": [], "tier_changes": [], "cost": {
        "currency": "USD", "tasks": [], "total": {"tasks": 0, "past": nothing, "future": nothing, "diff": nothing}, "priced": True,
        "revisions": []}}


def test_upgrade_with_conclusive_failing_evidence_passes(gitrepo, capsys, tmp_path):
    lite, _ = upgrade_intent(capsys, gitrepo, tmp_path)
    gitrepo.commit("intent-classification to mid")
    run = check(capsys, gitrepo)
    assert run.code == 0, run.out
    assert json.loads(run.out)["tier_changes"] == [
        {"task": "intent-classification", "from": "lite", "to": "mid", "evidence": [lite], "verdict": "accepted"}]


def test_upgrade_without_failing_evidence_is_rejected(gitrepo, capsys, tmp_path):
    upgrade_intent(capsys, gitrepo, tmp_path, link=False)
    run = check(capsys, gitrepo)
    assert run.code == 1 and "TG801" in rules(run)


def test_two_tier_upgrade_with_one_artifact_missing(gitrepo, capsys, tmp_path):
    lite, _ = upgrade_intent(capsys, gitrepo, tmp_path)
    gitrepo.replace(INTENT, "tier: mid", "tier: frontier")
    run = check(capsys, gitrepo)
    messages = [f["message"] for f in json.loads(run.out)["findings"] if f["rule"] == "TG801"]
    assert run.code == 1 and any("no failing artifact of tier 'mid'" in m for m in messages)


def test_inconclusive_failure_names_the_sample_size(gitrepo, capsys, tmp_path):
    upgrade_intent(capsys, gitrepo, tmp_path, lite_correct=184)  # 0.92 against 0.93
    run = check(capsys, gitrepo)
    f = next(f for f in json.loads(run.out)["findings"] if f["rule"] == "TG802")
    assert run.code == 1 and "within noise" in f["message"] and "samples at this score would settle it" in f["message"]


def test_passing_score_dressed_as_failing(gitrepo, capsys, tmp_path):
    upgrade_intent(capsys, gitrepo, tmp_path, link=False)
    gitrepo.replace(INTENT, "failing: []", f"failing: [{INTENT_PASS}]")
    run = check(capsys, gitrepo)
    assert run.code == 1 and {"TG801", "TG310"} <= rules(run)


def test_evidence_for_the_wrong_task(gitrepo, capsys, tmp_path):
    upgrade_intent(capsys, gitrepo, tmp_path, link=False)
    other = "evals/contract-review/20261102T090000Z-lite-gpt-5-nano.yaml"
    gitrepo.replace(INTENT, "failing: []", f"failing: [{other}]")
    run = check(capsys, gitrepo)
    assert run.code == 1 and {"TG801", "TG302"} <= rules(run)


def test_evidence_with_the_wrong_metric(gitrepo, capsys, tmp_path):
    lite, _ = upgrade_intent(capsys, gitrepo, tmp_path)
    gitrepo.replace(lite, "metric: accuracy", "metric: exact_match")  # recomputes the same for labels
    run = check(capsys, gitrepo)
    assert run.code == 1 and "measured exact_match" in run.out


def test_evidence_of_the_wrong_tier(gitrepo, capsys, tmp_path):
    _, mid = upgrade_intent(capsys, gitrepo, tmp_path, link=False)
    gitrepo.replace(INTENT, "failing: []", f"failing: [{mid}]")
    run = check(capsys, gitrepo)
    assert run.code == 1 and {"TG801", "TG303"} <= rules(run)


def test_threshold_raised_together_with_the_tier(gitrepo, capsys, tmp_path):
    upgrade_intent(capsys, gitrepo, tmp_path)
    gitrepo.replace(INTENT, "threshold: 0.93", "threshold: 0.95")
    run = check(capsys, gitrepo)
    assert run.code == 1 and "TG804" in rules(run)


def test_ceiling_raised_needs_evidence_of_the_old_ceiling(gitrepo, capsys):
    gitrepo.replace(INTENT, "ceiling: mid", "ceiling: frontier")
    gitrepo.replace(INTENT, "max_output_tokens: 1024", "max_output_tokens: 4096")
    run = check(capsys, gitrepo)
    assert run.code == 1 and rules(run) == {"TG803"}


def test_lowered_bar_is_a_warning_naming_the_owner(gitrepo, capsys):
    gitrepo.replace(INTENT, "threshold: 0.93", "threshold: 0.9")
    run = check(capsys, gitrepo)
    assert run.code == 0 and rules(run) == {"TG805"} and "@acme/support-ml must approve" in run.out


def test_edited_records_and_rewritten_artifact(gitrepo, capsys):
    rec = INTENT_PASS.replace(".yaml", ".records.jsonl")
    gitrepo.write(rec, gitrepo.read(rec).replace('"output":"bug"', '"output":"billing"', 1))
    gitrepo.replace(CR_MID, "score: 0.74", "score: 0.70")
    gitrepo.commit("tamper")
    run = check(capsys, gitrepo)
    files = {f["file"] for f in json.loads(run.out)["findings"] if f["rule"] == "TG806"}
    assert run.code == 1 and files == {rec, CR_MID}
    assert {"TG307", "TG308"} <= rules(run)


def test_deleted_artifact(gitrepo, capsys):
    gitrepo.path(CR_MID).unlink()
    gitrepo.commit("delete")
    assert {"TG806", "TG301"} <= rules(check(capsys, gitrepo))


def test_frontier_model_smuggled_into_lite(gitrepo, capsys):
    gitrepo.replace("policy/tiers.yaml", "      - id: anthropic/claude-opus-4-1\n        input_per_mtok: 15.00\n        output_per_mtok: 75.00\n"
                    "        context_window: 200000\n        max_output_tokens: 32000\n", "")
    gitrepo.replace("policy/tiers.yaml", "    models:\n      - id: openai/gpt-5-nano",
                    "    models:\n      - id: anthropic/claude-opus-4-1\n        input_per_mtok: 15.00\n        output_per_mtok: 75.00\n"
                    "        context_window: 200000\n        max_output_tokens: 32000\n      - id: openai/gpt-5-nano")
    run = check(capsys, gitrepo)
    assert run.code == 1 and {"TG202", "TG807", "TG808"} <= rules(run)
    moved = next(f for f in json.loads(run.out)["findings"] if f["rule"] == "TG807" and "moved down" in f["message"])
    assert "intent-classification" in moved["message"]


def test_new_task_needs_failing_evidence_from_the_lowest_tier(gitrepo, capsys):
    gitrepo.git("mv", CR, "policy/tasks/contract-redline.yaml")
    gitrepo.replace("policy/tasks/contract-redline.yaml", "task: contract-review", "task: contract-redline")
    gitrepo.commit("rename")
    run = check(capsys, gitrepo)
    assert run.code == 1 and "TG801" in rules(run)
    assert "(new task)" in run.out


def test_merge_of_main_into_feature_judges_only_the_feature(gitrepo, capsys):
    gitrepo.replace(INTENT, "threshold: 0.93", "threshold: 0.9")
    gitrepo.commit("feature: lower the bar")
    gitrepo.git("checkout", "-q", "main")
    gitrepo.replace("policy/tasks/rag-answer.yaml", "threshold: 7.5", "threshold: 7.0")
    gitrepo.commit("main: lower another bar")
    gitrepo.git("checkout", "-q", "feature")
    gitrepo.git("merge", "-q", "--no-edit", "main")
    run = check(capsys, gitrepo)
    assert [f["file"] for f in json.loads(run.out)["findings"]] == [INTENT]


def test_github_format_writes_the_step_summary(gitrepo, capsys, tmp_path, monkeypatch):
    upgrade_intent(capsys, gitrepo, tmp_path, link=False)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = cli(capsys, "check", "--base", "main", "--repo", str(gitrepo.root), "--format", "github", "--as-of", AS_OF)
    assert run.code == 1 and run.out.startswith("::error file=policy/tasks/intent-classification.yaml,line=")
    text = summary.read_text()
    assert "| intent-classification | lite   | mid  |" in text and "rejected: TG401, TG801" in text


def test_unknown_base_ref_fails_closed(gitrepo, capsys):
    run = check(capsys, gitrepo, base="origin/nope")
    assert run.code == 2 and "fetch-depth: 0" in run.err


def test_not_a_git_repository_fails_closed(repo, capsys):
    run = check(capsys, repo)
    assert run.code == 2 and "not a git repository" in run.err


def test_shallow_clone_fails_closed(gitrepo, capsys, tmp_path):
    gitrepo.replace(INTENT, "threshold: 0.93", "threshold: 0.9")
    gitrepo.commit("feature work")
    gitrepo.git("checkout", "-q", "main")
    gitrepo.replace("policy/tasks/rag-answer.yaml", "threshold: 7.5", "threshold: 7.0")
    gitrepo.commit("main moves on")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{gitrepo.root}", str(clone)],
                   check=True, env={"PATH": "/usr/bin:/bin"} | GIT_ENV, timeout=60)
    subprocess.run(["git", "checkout", "-q", "feature"], cwd=clone, check=True, timeout=60)
    run = cli(capsys, "check", "--base", "origin/main", "--repo", str(clone), "--as-of", AS_OF)
    assert run.code == 2 and "shallow clone" in run.err and "fetch-depth: 0" in run.err


@pytest.mark.parametrize("path", ["action.yml", "pyproject.toml"])
def test_a_change_to_the_action_or_the_package_it_installs_is_a_gate_change(gitrepo, capsys, path):
    """The gate is the base commit's action.yml, which installs the package pyproject.toml defines: an edit to either
    (say, to install the pull request's checkout) is the gate's own code and needs the platform owner."""
    gitrepo.write(path, "# edited\n")
    gitrepo.write("docs/notes.md", "an ordinary file beside it\n")
    findings = [f for f in json.loads(check(capsys, gitrepo).out)["findings"] if f["rule"] == "TG808"]
    assert [(f["file"], "must review" in f["message"]) for f in findings] == [(path, True)]


def test_an_ordinary_root_file_is_not_a_gate_change(gitrepo, capsys):
    gitrepo.write("docs/notes.md", "an ordinary file\n")
    gitrepo.write("action.yml.txt", "not the action\n")
    assert "TG808" not in rules(check(capsys, gitrepo))


def test_a_raised_price_band_lists_exactly_the_tasks_whose_chain_uses_the_tier(gitrepo, capsys):
    gitrepo.replace("policy/tiers.yaml", "price_band: {max_input_per_mtok: 3.00, max_output_per_mtok: 15.00}",
                    "price_band: {max_input_per_mtok: 4.00, max_output_per_mtok: 15.00}")
    [band] = [f for f in json.loads(check(capsys, gitrepo).out)["findings"] if f["rule"] == "TG807" and "price band" in f["message"]]
    listed = band["message"].split("affected tasks: ")[1].split(", ")
    # mid itself, lite up to mid, mid up to frontier; never lite-only or frontier-only tasks
    assert listed == ["code-generation", "entity-extraction", "intent-classification", "pii-redaction", "rag-answer",
                      "support-reply-draft", "ticket-routing"]


def _prompt_file(repo, ref):
    """intent-classification's prompt read from policy/prompts/intent.txt, named ``ref`` in the contract."""
    repo.write("policy/prompts/intent.txt", "Classify the message into billing, bug, howto or account.\nMessage: {input}\n")
    text = repo.read(INTENT).split("\nprompt:")[0]
    repo.write(INTENT, text + f"\nprompt:\n  template: {json.dumps(ref)}\n  parse: {{strip: true, casefold: true}}\n")


@pytest.mark.parametrize("ref", ["policy/prompts/intent.txt", "policy/prompts/./intent.txt", "policy/prompts//intent.txt",
                                 "./policy/prompts/intent.txt"])
def test_a_prompt_file_edited_with_a_raise_is_caught_however_the_contract_spells_its_path(repo, capsys, ref):
    """The contract names its template as it likes; git names the edited file one way: the edit must be seen either way."""
    _prompt_file(repo, ref)
    gitrepo = init(repo.root)
    assert "TG320" not in rules(check(capsys, gitrepo)) or ref.startswith("./")
    gitrepo.replace("policy/prompts/intent.txt", "Classify the message", "Answer wrongly to the message")
    gitrepo.replace(INTENT, "tier: lite", "tier: mid")
    found = rules(check(capsys, gitrepo))
    assert "TG804" in found or (ref.startswith("./") and "TG320" in found), found  # a leading ./ is refused outright


CACHE_LOG = ".tiergate/cache/openai-gpt-5-nano.jsonl"


@pytest.fixture
def ignoring(repo):
    """The repository as `tiergate init` makes it: /.tiergate/ in .gitignore."""
    repo.write(".gitignore", "/.tiergate/\n")
    return init(repo.root)


def test_a_committed_response_cache_is_refused(ignoring, capsys):
    """Cache lines are keyed by what anyone can hash: committed, they would answer a reviewer's eval run of the branch."""
    ignoring.write(CACHE_LOG, '{"key": "' + "0" * 64 + '", "reply": {"text": "not-a-label"}}\n')
    ignoring.git("add", "-f", CACHE_LOG)
    ignoring.commit("bring answers along")
    [found] = [f for f in json.loads(check(capsys, ignoring).out)["findings"] if f["rule"] == "TG323"]
    assert found["file"] == CACHE_LOG and "never committed" in found["message"]


def test_the_checkouts_own_ignored_cache_is_not_a_change(ignoring, capsys):
    ignoring.write(CACHE_LOG, '{"key": "' + "0" * 64 + '", "reply": {"text": "billing"}}\n')
    assert "TG323" not in rules(check(capsys, ignoring))
