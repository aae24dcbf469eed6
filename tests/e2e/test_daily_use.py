"""Small things a daily user hits: one-line usage errors, stable order, eval record's verdict and --link."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import AS_OF, cli

LANG = "policy/tasks/language-detection.yaml"


def test_usage_errors_are_one_line_and_exit_2(capsys):
    for args in (["validate", "--bogus"], ["eval", "record", "--task", "x"], ["export"], ["check"]):
        run = cli(capsys, *args)
        lines = run.err.strip().splitlines()
        assert run.code == 2 and len(lines) == 1 and lines[0].startswith("tiergate: error: "), (args, run.err)


def test_findings_come_out_in_the_same_order_whatever_the_hash_seed(repo):
    for name in ("policy/tasks/a-b.yml", "policy/tasks/Zed.yaml", "policy/tasks/notes.md"):
        repo.write(name, "x: 1\n")
    repo.replace(LANG, "threshold: 0.97", "threshold: 1.5")
    repo.replace("policy/tiers.yaml", "input_per_mtok: 1.00\n        output_per_mtok: 5.00", "input_per_mtok: 9.00\n        output_per_mtok: 5.00")
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-m", "tiergate", "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1
        outputs.add(done.stdout)
    assert len(outputs) == 1 and len(json.loads(outputs.pop())["findings"]) >= 4


def _records(repo, tmp_path, correct, name="run.jsonl"):
    rows = [json.loads(line) for line in repo.read("evals/datasets/language-detection.jsonl").splitlines()]
    path = tmp_path / name
    path.write_text("".join(json.dumps({"id": r["id"], "output": r["expected"] if i < correct else "xx"}) + "\n" for i, r in enumerate(rows)))
    return str(path)


@pytest.mark.parametrize("correct,verdict", [(200, "pass"), (150, "fail"), (192, "inconclusive: about")])
def test_eval_record_prints_the_score_the_threshold_and_the_verdict(repo, capsys, tmp_path, correct, verdict):
    run = cli(capsys, "eval", "record", "--task", "language-detection", "--tier", "lite", "--model", "openai/gpt-5-nano",
              "--records", _records(repo, tmp_path, correct), "--run-at", "2026-11-01T00:00:00Z", "--repo", str(repo.root))
    assert run.code == 0 and run.out.strip().startswith("evals/language-detection/")
    assert f"against the SLO threshold 0.97: {verdict}" in run.err


def test_eval_record_link_edits_the_contract_in_place_keeping_comments(repo, capsys, tmp_path):
    repo.replace(LANG, "tier: lite\n", "tier: lite  # cheapest that passes\n")
    before = repo.read(LANG)
    run = cli(capsys, "eval", "record", "--task", "language-detection", "--tier", "lite", "--model", "openai/gpt-5-nano",
              "--records", _records(repo, tmp_path, 200), "--run-at", "2026-11-01T00:00:00Z", "--repo", str(repo.root), "--link", "passing")
    assert run.code == 0, run.err
    after = repo.read(LANG)
    assert "tier: lite  # cheapest that passes" in after and after.startswith("# yaml-language-server:")
    assert f"passing: {run.out.strip()}" in after
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(changed) == 1, changed  # one line changed: the link
    assert cli(capsys, "validate", "--repo", str(repo.root), "--as-of", AS_OF).code == 0
