"""Attacks on the gate's judgement of evidence, paths and numbers, each with a legitimate twin.

Every attack here is a way a contributor who wants a pricier tier (or to blind a later review)
could get a change past `tiergate validate` or `tiergate check`; each must be refused, and the
honest change next to it must still pass.
"""

from __future__ import annotations

import json
import os

import pytest

from conftest import AS_OF, cli
from gitrepo import init
from test_gate import CR, INTENT, INTENT_PASS, check, record, rules, upgrade_intent

LANG = "policy/tasks/language-detection.yaml"
INTENT_SET = "evals/datasets/intent-classification.jsonl"


@pytest.fixture
def gitrepo(repo):
    return init(repo.root)


def findings(run, rule=None):
    return [f for f in json.loads(run.out)["findings"] if rule is None or f["rule"] == rule]


# --- 2. no symlinks or special files in governed paths ------------------------------------


def test_symlinked_contract_inside_the_repo_is_refused(repo, validate):
    """A link can make one file say two things (the gate reads one, a reviewer another)."""
    copy = "policy/decoy.yaml"
    repo.write(copy, repo.read(INTENT))
    repo.path(INTENT).unlink()
    os.symlink(os.path.relpath(repo.path(copy), repo.path(INTENT).parent), repo.path(INTENT))
    found = findings(validate(), "TG009")
    assert [(f["file"], f["line"]) for f in found] == [(INTENT, 0)]


def test_symlinked_records_and_eval_set_inside_the_repo_are_refused(repo, validate):
    rec = INTENT_PASS.replace(".yaml", ".records.jsonl")
    repo.write("evals/elsewhere.jsonl", repo.read(rec))
    repo.path(rec).unlink()
    os.symlink(os.path.relpath(repo.path("evals/elsewhere.jsonl"), repo.path(rec).parent), repo.path(rec))
    repo.write("evals/set-copy.jsonl", repo.read(INTENT_SET))
    repo.path(INTENT_SET).unlink()
    os.symlink("../set-copy.jsonl", repo.path(INTENT_SET))
    run = validate()
    assert run.code == 1
    assert "TG009" in run.rules() and all("symlink" in f["message"] for f in findings(run, "TG009"))


def test_symlinked_folder_of_contracts_is_not_skipped(repo, validate):
    """os.walk does not descend into a linked folder: its contracts must not vanish silently."""
    repo.write("hidden/extra-task.yaml", repo.read(INTENT).replace("task: intent-classification", "task: extra-task"))
    os.symlink("../../hidden", repo.path("policy/tasks/more"))
    run = validate()
    assert run.code == 1 and any(f["file"] == "policy/tasks/more" for f in findings(run))


def test_fifo_as_a_contract_is_a_finding_not_a_hang(repo, validate):
    repo.path(LANG).unlink()
    os.mkfifo(repo.path(LANG))
    found = findings(validate(), "TG009")
    assert [f["file"] for f in found] == [LANG]


def test_symlinked_contract_on_the_pr_side_is_refused_by_check(gitrepo, capsys):
    copy = "policy/decoy.yaml"
    gitrepo.write(copy, gitrepo.read(INTENT).replace("tier: lite", "tier: mid"))
    gitrepo.path(INTENT).unlink()
    os.symlink("../decoy.yaml", gitrepo.path(INTENT))
    gitrepo.commit("link the contract")
    run = check(capsys, gitrepo)
    assert run.code == 1 and "TG009" in rules(run)


# --- 3. a task is its id, never its path ------------------------------------------------


def test_renaming_a_contract_to_yml_is_not_a_silent_skip(gitrepo, capsys):
    gitrepo.git("mv", INTENT, INTENT.replace(".yaml", ".yml"))
    gitrepo.replace(INTENT.replace(".yaml", ".yml"), "tier: lite", "tier: frontier")
    gitrepo.commit("rename")
    run = check(capsys, gitrepo)
    assert run.code == 1 and {"TG107", "TG809"} <= rules(run)
    deleted = findings(run, "TG809")[0]
    assert "intent-classification" in deleted["message"] and "@acme/support-ml" in deleted["message"]


@pytest.mark.parametrize("name", ["policy/tasks/Intent-Classification.yaml", "policy/tasks/notes.txt", "policy/tasks/.hidden.yaml",
                                  "policy/tasks/sub/intent-classification.yaml"])
def test_any_other_file_in_the_tasks_folder_is_an_error(repo, validate, name):
    repo.write(name, repo.read(INTENT))
    found = findings(validate(), "TG107")
    assert [f["file"] for f in found] == [name]


def test_deleting_a_contract_names_the_task_and_its_owner(gitrepo, capsys):
    gitrepo.git("rm", "-q", LANG)
    gitrepo.commit("drop language detection")
    run = check(capsys, gitrepo)
    found = findings(run, "TG809")
    assert run.code == 0 and len(found) == 1
    assert "language-detection" in found[0]["message"] and "@acme/support-ml" in found[0]["message"]


def test_comment_only_change_passes(gitrepo, capsys):
    gitrepo.replace(INTENT, "task: intent-classification", "task: intent-classification  # a comment")
    gitrepo.commit("comment")
    run = check(capsys, gitrepo)
    assert run.code == 0 and findings(run) == []


# --- 4. evidence is measured on the base branch's terms ---------------------------------


def _edit_intent_set(repo):
    """Relabel the first twenty samples of the eval set (an edit that changes its sha256)."""
    rows = [json.loads(line) for line in repo.read(INTENT_SET).splitlines()]
    for row in rows[:20]:
        row["expected"] = "howto" if row["expected"] != "howto" else "bug"
    repo.write(INTENT_SET, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def test_edited_eval_set_cannot_carry_a_tier_upgrade(gitrepo, capsys, tmp_path):
    _edit_intent_set(gitrepo)
    upgrade_intent(capsys, gitrepo, tmp_path)  # runs recorded against the edited set
    gitrepo.commit("relabel the set and move to mid")
    run = check(capsys, gitrepo)
    assert run.code == 1 and {"TG804", "TG801"} <= rules(run)
    assert any("another version" in f["message"] for f in findings(run, "TG801"))


def test_legitimate_eval_set_refresh_passes_and_leaves_main_valid(gitrepo, capsys, tmp_path):
    _edit_intent_set(gitrepo)
    fresh = record(capsys, gitrepo, tmp_path, "intent-classification", "lite", "openai/gpt-5-nano", 194, "2026-11-12T09:00:00Z")
    gitrepo.replace(INTENT, f"passing: {INTENT_PASS}", f"passing: {fresh}")
    gitrepo.commit("refresh the intent set and re-record")
    run = check(capsys, gitrepo)
    assert run.code == 0, run.out
    after = cli(capsys, "validate", "--repo", str(gitrepo.root), "--format", "json", "--as-of", AS_OF)
    assert after.code == 0, after.out  # the old artifact, pinned to the old set, is history, not an error


def test_refreshed_set_without_relinking_breaks_the_linked_evidence(repo, validate):
    _edit_intent_set(repo)
    run = validate()
    assert run.code == 1 and [f["file"] for f in findings(run, "TG313")] == [INTENT]


# --- 5. the burden of proof is on the models routers call --------------------------------


def test_failing_run_on_a_non_primary_model_does_not_prove_the_tier_fails(gitrepo, capsys, tmp_path):
    lite = record(capsys, gitrepo, tmp_path, "intent-classification", "lite", "anthropic/claude-haiku-4-5", 160, "2026-11-10T09:00:00Z")
    _, mid = upgrade_intent(capsys, gitrepo, tmp_path, link=False)
    gitrepo.replace(INTENT, "failing: []", f"failing: [{lite}]")
    gitrepo.commit("upgrade on haiku's failure")
    run = check(capsys, gitrepo)
    assert run.code == 1 and "TG317" in rules(run)
    assert any("primary" in f["message"] for f in findings(run, "TG801"))


def test_cherry_picked_failing_run_is_contradicted_by_a_newer_pass(gitrepo, capsys, tmp_path):
    lite, _ = upgrade_intent(capsys, gitrepo, tmp_path)  # lite fails at 09:00
    record(capsys, gitrepo, tmp_path, "intent-classification", "lite", "openai/gpt-5-nano", 196, "2026-11-11T09:00:00Z")  # passes later
    gitrepo.commit("upgrade on the bad run")
    run = check(capsys, gitrepo)
    assert run.code == 1 and "TG318" in rules(run)


def test_an_older_passing_run_does_not_contradict_a_newer_failure(gitrepo, capsys, tmp_path):
    record(capsys, gitrepo, tmp_path, "intent-classification", "lite", "openai/gpt-5-nano", 196, "2026-11-09T09:00:00Z")
    upgrade_intent(capsys, gitrepo, tmp_path)  # lite fails on 2026-11-10, after the pass
    gitrepo.commit("upgrade: lite got worse")
    run = check(capsys, gitrepo)
    assert run.code == 0, run.out


# --- 6. escalation is a cost raise ---------------------------------------------------------


def test_adding_an_escalation_past_the_next_tier_needs_failing_evidence(gitrepo, capsys):
    gitrepo.replace(LANG, "tier: lite\n", "tier: lite\nescalation: {signal: label_outside_set, ceiling: frontier}\n")
    gitrepo.replace(LANG, "max_output_tokens: 256", "max_output_tokens: 4096")
    gitrepo.commit("escalate language detection to frontier")
    run = check(capsys, gitrepo)
    assert run.code == 1 and "TG803" in rules(run)
    assert any("tier 'mid'" in f["message"] for f in findings(run, "TG803"))


def test_adding_a_one_step_escalation_passes(gitrepo, capsys):
    gitrepo.replace(LANG, "tier: lite\n", "tier: lite\nescalation: {signal: label_outside_set, ceiling: mid}\n")
    gitrepo.replace(LANG, "max_output_tokens: 256", "max_output_tokens: 1024")
    gitrepo.commit("escalate language detection to mid")
    run = check(capsys, gitrepo)
    assert run.code == 0, run.out


@pytest.mark.parametrize("signal,threshold", [("confidence_below", 1.5), ("self_consistency_below", -0.1),
                                              ("judge_score_below", 11), ("confidence_below", ".nan")])
def test_escalation_threshold_outside_its_signal_range(repo, validate, signal, threshold):
    repo.replace(INTENT, "signal: label_outside_set", f"signal: {signal}\n  threshold: {threshold}")
    run = validate()
    assert run.code == 1 and "TG101" in run.rules()


# --- 7. numbers are finite and in range, everywhere ----------------------------------------


@pytest.mark.parametrize("old,new", [
    ("score: 0.955", "score: .nan"),
    ("samples: 200", "samples: 100000000000"),
])
def test_non_finite_or_huge_artifact_numbers_are_policy_errors(repo, validate, old, new):
    repo.replace(INTENT_PASS, old, new)
    run = validate()
    assert run.code == 1 and "NaN" not in run.out and "Infinity" not in run.out
    assert any(f["file"] == INTENT_PASS and f["line"] > 0 for f in findings(run))


@pytest.mark.parametrize("old,new,rule", [
    ("monthly_volume: 500000", "monthly_volume: 100000000000000000000000", "TG101"),
    ("avg_input_tokens: 120", "avg_input_tokens: 5000000000", "TG101"),
    ("reviewed: 2026-10-21", "reviewed: 2026-02-30", "TG001"),
    ("threshold: 0.93", "threshold: .inf", "TG101"),
    ("min_samples: 200", "min_samples: 5", "TG108"),
])
def test_contract_numbers_and_dates_are_policy_errors_with_a_line(repo, validate, old, new, rule):
    repo.replace(INTENT, old, new)
    run = validate()
    assert run.code == 1, run.err
    found = findings(run, rule)
    assert found and found[0]["file"] == INTENT and found[0]["line"] > 0


def test_nan_in_records_is_refused(repo, validate):
    rec = "evals/short-summary/20261023T090000Z-lite-gemini-2.5-flash-lite.records.jsonl"
    lines = repo.read(rec).splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps(first).replace(json.dumps(first["score"]), "NaN", 1)
    repo.write(rec, "\n".join(lines) + "\n")
    run = validate()
    assert run.code == 1 and "NaN" not in run.out.replace("NaN is not", "")


def test_min_samples_floor_can_be_lowered_by_the_catalog_owner(repo, validate):
    repo.replace("policy/tiers.yaml", "  max_evidence_age_days: 90\n", "  max_evidence_age_days: 90\n  min_samples_floor: 20\n")
    repo.replace("policy/tasks/release-notes-draft.yaml", "min_samples: 50", "min_samples: 25")
    run = validate()
    assert "TG108" not in run.rules()


# --- 8 (gate side). GitHub asks the base branch's owners ------------------------------------


def test_owner_change_names_the_base_owner(gitrepo, capsys):
    gitrepo.replace(LANG, 'owner: "@acme/support-ml"', 'owner: "@acme/mallory"')
    gitrepo.commit("take the task")
    run = check(capsys, gitrepo)
    found = findings(run, "TG810")
    assert found and "@acme/support-ml must approve" in found[0]["message"]


def test_platform_owner_change_names_the_base_platform_owner(gitrepo, capsys):
    gitrepo.replace("policy/tiers.yaml", 'platform_owner: "@acme/ml-platform"', 'platform_owner: "@acme/mallory"')
    gitrepo.commit("new platform owner")
    run = check(capsys, gitrepo)
    assert any("@acme/ml-platform must approve" in f["message"] for f in findings(run, "TG810"))
    assert all("@acme/mallory must review" not in f["message"] for f in findings(run, "TG808"))


# --- the legitimate upgrade still lands ---------------------------------------------------


def test_real_upgrade_with_real_failing_evidence_passes(gitrepo, capsys, tmp_path):
    upgrade_intent(capsys, gitrepo, tmp_path)
    gitrepo.commit("intent-classification to mid, lite measured failing")
    run = check(capsys, gitrepo)
    assert run.code == 0, run.out
    assert cli(capsys, "validate", "--repo", str(gitrepo.root), "--as-of", AS_OF).code == 0


def test_contract_review_stays_valid(repo, validate):
    assert validate().code == 0 and repo.read(CR)


# --- 8. an eval set decides every score: it cannot be handed away --------------------------------


def test_eval_set_given_away_after_the_block(repo, validate):
    repo.write("CODEOWNERS", repo.read("CODEOWNERS") + "/evals/datasets/intent-classification.jsonl @acme/mallory\n")
    found = findings(validate(), "TG705")
    assert [f["file"] for f in found] == [INTENT] and "outside the tiergate managed block" in found[0]["message"]


def test_eval_set_shared_with_an_extra_reviewer_passes(repo, validate):
    repo.write("CODEOWNERS", repo.read("CODEOWNERS") + "/evals/datasets/intent-classification.jsonl @acme/support-ml @acme/qa\n")
    assert validate().code == 0
