"""`tiergate validate` over the example repository and over broken copies of it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import AS_OF, PROJECT, cli

INTENT = "policy/tasks/intent-classification.yaml"
INTENT_PASS = "evals/intent-classification/20261020T090000Z-lite-gpt-5-nano.yaml"
CR = "policy/tasks/contract-review.yaml"
CR_LITE = "evals/contract-review/20261102T090000Z-lite-gpt-5-nano.yaml"
CR_MID = "evals/contract-review/20261102T110000Z-mid-claude-sonnet-4-5.yaml"


def finding(run, rule):
    return next(f for f in json.loads(run.out)["findings"] if f["rule"] == rule)


def test_example_repository_is_clean(validate):
    run = validate()
    assert run.code == 0, run.out
    assert json.loads(run.out) == {"ok": True, "findings": []}


def test_console_script_runs_on_the_project_itself():
    done = subprocess.run([sys.executable, "-m", "tiergate", "validate", "--repo", str(PROJECT), "--as-of", AS_OF],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: 0 error(s), 0 warning(s) in 14 contract(s), 24 artifact(s)" in done.stdout


def test_text_format_names_file_line_and_rule(repo, capsys):
    repo.replace(INTENT, "threshold: 0.93", "threshold: 1.3")
    run = cli(capsys, "validate", "--repo", str(repo.root), "--as-of", AS_OF)
    assert run.code == 1
    assert f"{INTENT}:9:14: error TG101 schema: slo.threshold: threshold 1.3 is out of range for accuracy" in run.out
    assert run.out.rstrip().endswith("in 14 contract(s), 24 artifact(s)")


def test_github_format_writes_escaped_annotations_then_the_report(repo, capsys):
    repo.replace(INTENT, "threshold: 0.93", "threshold: 1.3")
    run = cli(capsys, "validate", "--repo", str(repo.root), "--as-of", AS_OF, "--format", "github")
    assert run.code == 1
    first = run.out.splitlines()[0]
    assert first.startswith(f"::error file={INTENT},line=9,col=14,title=TG101 schema::slo.threshold: threshold 1.3")
    assert "FAILED: 1 error(s)" in run.out


def test_unknown_key_points_at_the_key(repo, validate):
    repo.replace(INTENT, "impact: high", "impact: high\nimpakt: low")
    run = validate()
    assert run.code == 1
    f = finding(run, "TG101")
    assert (f["file"], f["line"]) == (INTENT, 7)
    assert "unknown key 'impakt'" in f["message"]


@pytest.mark.parametrize(
    "old,new,needle",
    [
        ("min_samples: 200", "min_samples: \"200\"", "slo.min_samples"),
        ("impact: high", "impact: critical", "impact"),
        ("tier: lite\n", "", "missing required field 'tier'"),
        ("threshold: 0.93", "threshold: 0", "out of range"),
        ("signal: label_outside_set", "signal: judge_score_below", "needs a threshold"),
        ('owner: "@acme/support-ml"', "owner: support team", "owner"),
        ("reviewed: 2026-10-21", "reviewed: yesterday", "reviewed"),
    ],
)
def test_schema_errors(repo, validate, old, new, needle):
    repo.replace(INTENT, old, new)
    run = validate()
    assert run.code == 1
    assert needle in finding(run, "TG101")["message"]


def test_rubric_threshold_above_scale(repo, validate):
    repo.replace("policy/tasks/rag-answer.yaml", "threshold: 7.5", "threshold: 11")
    assert "(0, 10]" in finding(validate(), "TG101")["message"]


def test_no_contracts_is_an_error(repo, validate):
    for path in repo.path("policy/tasks").iterdir():
        path.unlink()
    run = validate()
    assert run.code == 1 and "TG102" in run.rules()


def test_task_id_must_match_file_and_be_unique(repo, validate):
    # A copy in a subfolder is not a second contract for the task: it is a file nobody governs (TG107).
    repo.write("policy/tasks/other/intent-classification.yaml", repo.read(INTENT))
    repo.replace("policy/tasks/format-conversion.yaml", "task: format-conversion", "task: format-convert")
    repo.replace("policy/tasks/ticket-routing.yaml", "task: ticket-routing", "task: intent-classification")
    run = validate()
    assert {"TG103", "TG104", "TG107"} <= run.rules()
    assert finding(run, "TG107")["file"] == "policy/tasks/other/intent-classification.yaml"
    assert finding(run, "TG104")["file"] == "policy/tasks/ticket-routing.yaml"


def test_unknown_tier_and_ceiling(repo, validate):
    repo.replace(INTENT, "tier: lite", "tier: nano")
    repo.replace("policy/tasks/rag-answer.yaml", "ceiling: frontier", "ceiling: ultra")
    run = validate()
    assert [f["file"] for f in json.loads(run.out)["findings"] if f["rule"] == "TG105"] == [INTENT, "policy/tasks/rag-answer.yaml"]


def test_ceiling_below_tier(repo, validate):
    repo.replace("policy/tasks/rag-answer.yaml", "ceiling: frontier", "ceiling: lite")
    assert finding(validate(), "TG106")["line"] == 16


@pytest.mark.parametrize(
    "edit,rule",
    [
        (("evidence:\n  passing: " + INTENT_PASS, "evidence:\n  passing: evals/intent-classification/nope.yaml"), "TG301"),
        (("passing: " + INTENT_PASS, "passing: evals/format-conversion/20261022T100000Z-lite-gpt-5-nano.yaml"), "TG302"),
        (("metric: accuracy", "metric: exact_match"), "TG304"),
        (("min_samples: 200", "min_samples: 500"), "TG306"),
        (("threshold: 0.93", "threshold: 0.96"), "TG309"),
        (("eval_set: evals/datasets/intent-classification.jsonl", "eval_set: evals/datasets/language-detection.jsonl"), "TG313"),
        (("passing: " + INTENT_PASS, "passing: policy/tasks/intent-classification.yaml"), "TG315"),
        (("passing: " + INTENT_PASS, "passing: evals/../../outside.yaml"), "TG007"),
        (("passing: " + INTENT_PASS, "passing: /etc/passwd"), "TG007"),
    ],
)
def test_passing_evidence_must_back_the_claim(repo, validate, edit, rule):
    repo.replace(INTENT, *edit)
    run = validate()
    assert run.code == 1
    assert finding(run, rule)["file"] == INTENT


def test_no_passing_link(repo, validate):
    repo.replace(INTENT, "  passing: " + INTENT_PASS + "\n", "")
    assert "no passing artifact" in finding(validate(), "TG301")["message"]


def test_passing_artifact_of_wrong_tier(repo, validate):
    repo.replace("policy/tasks/pii-redaction.yaml", "passing: evals/pii-redaction/20261024T110000Z-mid-claude-sonnet-4-5.yaml",
                 "passing: evals/pii-redaction/20261024T090000Z-lite-gpt-5-nano.yaml")
    assert "TG303" in validate().rules()


def test_model_not_in_tier(repo, validate):
    repo.replace(INTENT_PASS, "model: openai/gpt-5-nano", "model: anthropic/claude-sonnet-4-5")
    run = validate()
    assert run.code == 1 and finding(run, "TG305")["file"] == INTENT


def test_edited_records_break_the_hash(repo, validate):
    rec = INTENT_PASS.replace(".yaml", ".records.jsonl")
    repo.write(rec, repo.read(rec).replace('"output":"bug"', '"output":"billing"', 1))
    run = validate()
    assert finding(run, "TG307")["file"] == INTENT_PASS
    assert "TG307" in {f["rule"] for f in json.loads(run.out)["findings"] if f["file"] == INTENT}


def test_hand_typed_score_is_caught(repo, validate):
    repo.replace(INTENT_PASS, "score: 0.955", "score: 0.99")
    f = finding(validate(), "TG308")
    assert "records give 0.955" in f["message"]


def test_counts_must_follow_the_records(repo, validate):
    repo.replace(INTENT_PASS, "successes: 191", "successes: 199")
    assert "TG308" in validate().rules()


def test_failing_artifact_that_passes(repo, validate):
    repo.replace(CR, "threshold: 0.9", "threshold: 0.5")
    run = validate()
    lite = "    - evals/contract-review/20261102T090000Z-lite-gpt-5-nano.yaml"  # 52% correct: passes a 0.5 bar
    assert finding(run, "TG310")["line"] == repo.read(CR).splitlines().index(lite) + 1


def test_burden_of_proof_at_rest(repo, validate):
    repo.replace(CR, f"    - {CR_MID}\n", "")
    f = finding(validate(), "TG401")
    assert (f["file"], f["line"]) == (CR, 12)
    assert "'mid'" in f["message"]


def test_failing_artifact_of_own_tier_is_not_evidence(repo, validate):
    repo.replace(CR, f"    - {CR_MID}", "    - evals/contract-review/20261102T140000Z-frontier-claude-opus-4-1.yaml")
    assert {"TG303", "TG310", "TG401"} <= validate().rules()


def test_future_and_stale_evidence(repo, capsys):
    future = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", "2026-10-01")
    assert future.code == 1 and "TG311" in future.rules()
    stale = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", "2027-06-01")
    assert stale.code == 0 and stale.rules() == {"TG312"}
    assert all(f["severity"] == "warning" for f in json.loads(stale.out)["findings"])


def test_changed_eval_set_no_longer_matches(repo, validate):
    data = "evals/datasets/intent-classification.jsonl"
    repo.write(data, repo.read(data) + '{"expected": "bug", "id": "extra-1"}\n')
    run = validate()
    # the artifact itself is history now; the contract that links it as evidence is what breaks
    assert finding(run, "TG313")["file"] == INTENT


def _repin_records(repo, artifact, records_text):
    """Rewrite an artifact's records and re-pin the hash, as a forger would."""
    from tiergate.evidence.store import sha256_hex

    rec = artifact.replace(".yaml", ".records.jsonl")
    old = sha256_hex(repo.path(rec).read_bytes())
    repo.write(rec, records_text)
    repo.replace(artifact, old, sha256_hex(records_text.encode()))
    return rec


def test_records_invalid_line(repo, validate):
    rec = INTENT_PASS.replace(".yaml", ".records.jsonl")
    _repin_records(repo, INTENT_PASS, repo.read(rec).replace("}\n", "\n", 1))
    f = finding(validate(), "TG316")
    assert (f["file"], f["line"]) == (rec, 1)


def test_cherry_picked_records_are_caught(repo, validate):
    rec = INTENT_PASS.replace(".yaml", ".records.jsonl")
    lines = repo.read(rec).splitlines(keepends=True)
    _repin_records(repo, INTENT_PASS, "".join(lines[:-1]))
    f = finding(validate(), "TG314")
    assert f["file"] == INTENT_PASS and "1 eval-set ids missing" in f["message"]


def test_catalog_rules(repo, validate):
    cat = "policy/tiers.yaml"
    repo.replace(cat, "      - id: gemini/gemini-2.5-flash-lite\n        input_per_mtok: 0.10\n        output_per_mtok: 0.40",
                 "      - id: gemini/gemini-2.5-flash-lite\n        input_per_mtok: 15.00\n        output_per_mtok: 75.00")
    repo.replace(cat, "      - id: openai/gpt-4.1\n", "      - id: anthropic/claude-opus-4-1\n")
    run = validate()
    assert finding(run, "TG202")["line"] == 22
    assert finding(run, "TG203")["file"] == cat


def test_duplicate_tier(repo, validate):
    repo.replace("policy/tiers.yaml", "  - id: mid\n", "  - id: lite\n")
    assert "TG204" in validate().rules()


def test_routing_feasibility(repo, validate):
    repo.replace(INTENT, "p95_input_tokens: 600", "p95_input_tokens: 170000")
    repo.replace(INTENT, "max_output_tokens: 1024", "max_output_tokens: 300")
    repo.replace("policy/tasks/contract-review.yaml", "max_output_tokens: 16000", "max_output_tokens: 40000")
    run = validate()
    assert {"TG501", "TG502", "TG503"} <= run.rules()
    assert "'mid' minimum completion budget (1024)" in finding(run, "TG502")["message"]


def test_budget_inversion(repo, validate):
    repo.replace(INTENT, "escalation:\n  signal: label_outside_set\n  ceiling: mid\n", "")
    repo.replace(INTENT, "max_output_tokens: 1024", "max_output_tokens: 256")
    run = validate()
    assert run.rules() == {"TG601"}


def test_not_a_repository_exits_2(tmp_path, capsys):
    run = cli(capsys, "validate", "--repo", str(tmp_path))
    assert run.code == 2
    assert "not a tiergate repository" in run.err and "Traceback" not in run.err


def test_missing_catalog(repo, validate):
    repo.path("policy/tiers.yaml").unlink()
    assert "TG201" in validate().rules()
