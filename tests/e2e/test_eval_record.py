"""`tiergate eval record`: scores are computed from records and pinned to the eval set."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import cli

DATASET = "evals/datasets/intent-classification.jsonl"


def dataset_rows(repo):
    return [json.loads(line) for line in repo.read(DATASET).splitlines()]


def write_records(tmp_path, rows, name="run.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def record(capsys, repo, records, *extra, tier="mid", model="anthropic/claude-sonnet-4-5"):
    return cli(capsys, "eval", "record", "--task", "intent-classification", "--tier", tier, "--model", model,
               "--records", records, "--run-at", "2026-11-10T08:30:00Z", "--repo", str(repo.root), *extra)


def test_record_computes_and_pins(repo, capsys, tmp_path, validate):
    rows = dataset_rows(repo)
    outputs = [{"id": r["id"], "output": r["expected"] if i % 10 else "bug"} for i, r in enumerate(rows)]
    run = record(capsys, repo, write_records(tmp_path, outputs))
    assert run.code == 0, run.err
    path = run.out.strip()
    assert path == "evals/intent-classification/20261110T083000Z-mid-claude-sonnet-4-5.yaml"
    art = yaml.safe_load(repo.read(path))
    wrong = sum(1 for i, r in enumerate(rows) if i % 10 == 0 and r["expected"] != "bug")
    assert art["counts"] == {"successes": 200 - wrong, "total": 200}
    assert art["score"] == round((200 - wrong) / 200, 6)
    records = [json.loads(line) for line in repo.read(art["records"]["path"]).splitlines()]
    assert records[0]["expected"] == rows[0]["expected"]  # filled in from the eval set
    assert validate().code == 0  # an unlinked, intact artifact is fine


def test_record_refuses_to_overwrite(repo, capsys, tmp_path):
    rows = [{"id": r["id"], "output": r["expected"]} for r in dataset_rows(repo)]
    source = write_records(tmp_path, rows)
    assert record(capsys, repo, source).code == 0
    again = record(capsys, repo, source)
    assert again.code == 2 and "append-only" in again.err


def test_record_rejects_a_cherry_picked_subset(repo, capsys, tmp_path):
    rows = [{"id": r["id"], "output": r["expected"]} for r in dataset_rows(repo)][:150]
    run = record(capsys, repo, write_records(tmp_path, rows))
    assert run.code == 2 and "50 missing" in run.err
    assert not any(repo.path("evals/intent-classification").glob("*-mid-*"))


def test_record_rejects_a_disagreeing_expected(repo, capsys, tmp_path):
    rows = [{"id": r["id"], "output": "bug", "expected": "bug"} for r in dataset_rows(repo)]
    run = record(capsys, repo, write_records(tmp_path, rows))
    assert run.code == 2 and "the eval set says" in run.err


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"tier": "ultra"}, "not in policy/tiers.yaml"),
        ({"model": "openai/gpt-5-nano"}, "is not in tier 'mid'"),
    ],
)
def test_record_checks_tier_and_model(repo, capsys, tmp_path, kwargs, needle):
    rows = [{"id": r["id"], "output": r["expected"]} for r in dataset_rows(repo)]
    run = record(capsys, repo, write_records(tmp_path, rows), **kwargs)
    assert run.code == 2 and needle in run.err


@pytest.mark.parametrize("when,needle", [("2099-01-01T00:00:00Z", "in the future"), ("2026-11-10T08:30:00", "needs a timezone"), ("soon", "not ISO 8601")])
def test_record_checks_run_at(repo, capsys, tmp_path, when, needle):
    rows = [{"id": r["id"], "output": r["expected"]} for r in dataset_rows(repo)]
    run = cli(capsys, "eval", "record", "--task", "intent-classification", "--tier", "mid", "--model", "anthropic/claude-sonnet-4-5",
              "--records", write_records(tmp_path, rows), "--run-at", when, "--repo", str(repo.root))
    assert run.code == 2 and needle in run.err


def test_record_reports_bad_jsonl_line(repo, capsys, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "output": "bug"}\n{"id": "b", "output": \n')
    run = record(capsys, repo, str(path))
    assert run.code == 2 and f"{path}:2:" in run.err


def test_record_unknown_task_and_missing_file(repo, capsys, tmp_path):
    run = cli(capsys, "eval", "record", "--task", "nope", "--tier", "lite", "--model", "openai/gpt-5-nano",
              "--records", str(tmp_path / "none.jsonl"), "--repo", str(repo.root))
    assert run.code == 2 and "policy/tasks/nope.yaml" in run.err
    run = cli(capsys, "eval", "record", "--task", "../etc", "--tier", "lite", "--model", "openai/gpt-5-nano",
              "--records", str(tmp_path / "none.jsonl"), "--repo", str(repo.root))
    assert run.code == 2 and "not a valid task id" in run.err


def test_record_external_eval_set_keeps_records_as_given(repo, capsys, tmp_path):
    rows = [{"id": f"s{i}", "score": 9} for i in range(60)]
    run = cli(capsys, "eval", "record", "--task", "architecture-review", "--tier", "frontier", "--model", "gemini/gemini-2.5-pro",
              "--records", write_records(tmp_path, rows), "--run-at", "2026-11-10T08:30:00Z", "--repo", str(repo.root))
    assert run.code == 0, run.err
    art = yaml.safe_load(repo.read(run.out.strip()))
    assert art["score"] == 9 and "sha256" not in art["eval_set"] and "counts" not in art


def _figures(rows, **first):
    out = [{"id": r["id"], "output": r["expected"], "input_tokens": 120, "output_tokens": 20, "latency_ms": 90, "cost_usd": 0.00001,
            "error": None} for r in rows]
    out[0].update(first)
    return out


@pytest.mark.parametrize("first", [{"input_tokens": 10**400}, {"latency_ms": 10**300}, {"judge": {"cost_usd": "0.01"}},
                                   {"cost_usd": -1}, {"input_tokens": "120"}],
                         ids=["tokens past a float", "latency past a float", "judge cost a string", "negative cost", "tokens a string"])
def test_figures_that_cannot_be_averaged_leave_measured_out_and_the_gate_reads_on(repo, capsys, tmp_path, validate, first):
    """Records are data: a figure measure cannot average makes the run unmeasured, never an internal error; and an
    artifact that states `measured` over such records (written by hand) does not stop validate either."""
    run = record(capsys, repo, write_records(tmp_path, _figures(dataset_rows(repo), **first)), "--link", "passing",
                 tier="lite", model="openai/gpt-5-nano")
    assert run.code == 0, run.err
    path = run.out.strip()
    assert "measured" not in yaml.safe_load(repo.read(path))
    repo.write(path, repo.read(path) + "measured: {calls: 200, errors: 0, avg_input_tokens: 120, avg_output_tokens: 20, "
                                       "p95_latency_ms: 90, total_cost_usd: 0.002, cached: 0}\n")
    done = validate()
    assert done.code in (0, 1) and "internal error" not in done.err, done.err


def test_ordinary_figures_are_measured(repo, capsys, tmp_path):
    run = record(capsys, repo, write_records(tmp_path, _figures(dataset_rows(repo))), tier="lite", model="openai/gpt-5-nano")
    assert run.code == 0 and yaml.safe_load(repo.read(run.out.strip()))["measured"]["avg_input_tokens"] == 120
