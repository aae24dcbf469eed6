"""`tiergate eval import`: Inspect AI logs written by the real inspect_ai, promptfoo results files, and what is refused.

The Inspect logs come from inspect_ai itself, running a tiny task on its built-in mock model
(`mockllm/model`, given fixed answers and usage so nothing is counted or fetched); the tests skip
without inspect_ai unless `TIERGATE_REQUIRE_INSPECT=1` (`.ci/run` sets it). The promptfoo file
follows promptfoo's results format version 3 (`promptfoo eval --output results.json`), as its
`OutputFile` type in src/types/index.ts defines it: `{evalId, results: EvaluateSummaryV3, config,
shareableUrl, metadata}` with `results.version: 3` (the version that dropped V2's table), each
result an `EvaluateResult` (`failureReason` 0 none, 1 assertion, 2 error).
"""

from __future__ import annotations

import json
import os

import pytest
import yaml

from conftest import PROJECT, cli

pytestmark = pytest.mark.filterwarnings("ignore:The 'initial' parameter is deprecated:DeprecationWarning")  # inside inspect_ai

DATASET = "evals/datasets/intent-classification.jsonl"
INTENT = "policy/tasks/intent-classification.yaml"
MOCK = """      - id: mockllm/model
        input_per_mtok: 0.05
        output_per_mtok: 0.40
        context_window: 400000
        max_output_tokens: 128000
"""
MID = "  - id: mid\n"


def rows() -> list[dict]:
    return [json.loads(line) for line in (PROJECT / DATASET).read_text().splitlines()]


def inspect_log(folder, samples, right_every=5, epochs=1):
    """Run a real Inspect task on mockllm/model: answer right except every ``right_every``-th sample."""
    from inspect_ai import Task, eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import exact
    from inspect_ai.solver import generate

    dataset = [Sample(id=row["id"], input=row["input"], target=row["expected"]) for row in samples]
    outputs = []
    for _ in range(epochs):
        for i, row in enumerate(samples):
            output = ModelOutput.from_content(model="mockllm/model", content=row["expected"] if i % right_every else "~wrong~")
            output.usage = ModelUsage(input_tokens=30, output_tokens=2, total_tokens=32)  # given: the mock never counts (no tokenizer fetch)
            outputs.append(output)
    model = get_model("mockllm/model", custom_outputs=outputs)
    log = inspect_eval(Task(dataset=dataset, solver=generate(), scorer=exact()), model=model, log_dir=str(folder), display="none",
                       epochs=epochs, max_connections=1)[0]
    assert log.status == "success"
    return log.location


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    if os.environ.get("TIERGATE_REQUIRE_INSPECT") != "1":
        pytest.importorskip("inspect_ai")
    folder = tmp_path_factory.mktemp("inspect-logs")
    old = os.environ.get("INSPECT_LOG_DIR")
    os.environ["INSPECT_LOG_DIR"] = str(folder)
    try:
        every = rows()
        yield {"full": inspect_log(folder, every), "subset": inspect_log(folder, every[:150]),
               "epochs": inspect_log(folder, every[:40], epochs=2)}
    finally:
        if old is None:
            os.environ.pop("INSPECT_LOG_DIR", None)
        else:
            os.environ["INSPECT_LOG_DIR"] = old


@pytest.fixture
def mock_in_lite(repo):
    repo.replace("policy/tiers.yaml", MID, MOCK + MID)  # the mock model is the lite tier's last model here
    return repo


def do_import(capsys, repo, tool, log, tier="lite", *extra):
    return cli(capsys, "eval", "import", "--from", tool, str(log), "--task", "intent-classification", "--tier", tier,
               "--repo", str(repo.root), "--format", "json", *extra)


def evidence(repo) -> set[str]:
    return {str(p.relative_to(repo.root)) for p in (repo.root / "evals").rglob("*") if p.is_file()}


def test_an_inspect_log_becomes_an_artifact_like_eval_record(logs, mock_in_lite, capsys, validate):
    done = do_import(capsys, mock_in_lite, "inspect", logs["full"], "lite")
    assert done.code == 0, done.err
    out = json.loads(done.out)
    art = yaml.safe_load(mock_in_lite.read(out["path"]))
    assert (art["model"], art["tier"], art["source"], art["samples"]) == ("mockllm/model", "lite", "inspect", 200)
    assert art["counts"] == {"successes": 160, "total": 200} and out["verdict"] == "fail"
    assert art["measured"]["avg_input_tokens"] == 30 and art["measured"]["total_cost_usd"] == pytest.approx(200 * (30 * 0.05 + 2 * 0.4) / 1e6)
    assert validate().code == 0  # every artifact is verified: this one is intact


def test_an_inspect_log_of_a_model_outside_the_tier_is_refused(logs, mock_in_lite, capsys):
    before = evidence(mock_in_lite)
    done = do_import(capsys, mock_in_lite, "inspect", logs["full"], "mid")
    assert done.code == 2 and "model 'mockllm/model' is not in tier 'mid'" in done.err
    assert evidence(mock_in_lite) == before


def test_the_model_is_the_logs_own_not_the_command_lines(logs, mock_in_lite, capsys):
    done = do_import(capsys, mock_in_lite, "inspect", logs["full"], "lite", "--model", "openai/gpt-5-nano")
    assert done.code == 2 and "ran on mockllm/model, not openai/gpt-5-nano" in done.err


def test_an_inspect_log_that_does_not_cover_the_eval_set_is_refused(logs, mock_in_lite, capsys):
    before = evidence(mock_in_lite)
    done = do_import(capsys, mock_in_lite, "inspect", logs["subset"])
    assert done.code == 2 and "must cover exactly the ids" in done.err and "50 missing" in done.err
    assert evidence(mock_in_lite) == before


def test_an_inspect_log_with_several_epochs_is_refused(logs, mock_in_lite, capsys):
    done = do_import(capsys, mock_in_lite, "inspect", logs["epochs"])
    assert done.code == 2 and ("epoch" in done.err)


def promptfoo_file(tmp_path, samples, provider="openai:gpt-5-nano", wrong_every=5, errors=(), prompts=1):
    results = []
    for index, row in enumerate(samples):
        for prompt in range(prompts):
            answer = row["expected"] if index % wrong_every else "~wrong~"
            error = index in errors
            results.append({
                "id": f"r-{index}-{prompt}", "promptIdx": prompt, "testIdx": index, "promptId": f"p{prompt}",
                "testCase": {"vars": {"id": row["id"], "input": row["input"], "expected": row["expected"]},
                             "assert": [{"type": "equals", "value": "{{expected}}"}]},
                "vars": {"id": row["id"], "input": row["input"], "expected": row["expected"]},
                "provider": {"id": provider, "label": ""},
                "prompt": {"raw": f"Classify: {row['input']}", "label": "classify"},
                "response": None if error else {"output": answer, "tokenUsage": {"total": 22, "prompt": 20, "completion": 2},
                                                "cost": 0.0000018},
                "error": "API error: 503" if error else None,
                "failureReason": 2 if error else (0 if answer == row["expected"] else 1),
                "success": not error and answer == row["expected"], "score": 1 if answer == row["expected"] else 0,
                "latencyMs": 120, "namedScores": {}, "metadata": {},
            })
    data = {"evalId": "eval-Qx1-2026-11-15T10:00:00", "results": {
        "version": 3, "timestamp": "2026-11-15T10:00:00.000Z", "results": results,
        "prompts": [{"raw": "Classify: {{input}}", "label": "classify", "provider": provider}],
        "stats": {"successes": sum(r["success"] for r in results), "failures": sum(not r["success"] for r in results),
                  "errors": len(errors), "tokenUsage": {"total": 22 * len(results), "prompt": 20 * len(results),
                                                        "completion": 2 * len(results), "cached": 0}}},
        "config": {"tests": f"file://{DATASET}"}, "shareableUrl": None,
        "metadata": {"promptfooVersion": "0.119.0", "exportedAt": "2026-11-15T10:05:00.000Z"}}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return path


def test_a_promptfoo_results_file_becomes_an_artifact(repo, capsys, tmp_path, validate):
    done = do_import(capsys, repo, "promptfoo", promptfoo_file(tmp_path, rows()))
    assert done.code == 0, done.err
    art = yaml.safe_load(repo.read(json.loads(done.out)["path"]))
    assert (art["model"], art["source"], art["counts"]) == ("openai/gpt-5-nano", "promptfoo", {"successes": 160, "total": 200})
    assert art["measured"]["p95_latency_ms"] == 120
    assert validate().code == 0


def test_an_import_keeps_the_logs_own_run_time(repo, capsys, tmp_path):
    log = promptfoo_file(tmp_path, rows())
    redated = do_import(capsys, repo, "promptfoo", log, "lite", "--run-at", "2026-11-19T10:00:00Z")
    assert redated.code == 2 and "would re-date it" in redated.err
    done = do_import(capsys, repo, "promptfoo", log, "lite", "--run-at", "2026-11-15T10:00:00Z")
    assert done.code == 0 and yaml.safe_load(repo.read(json.loads(done.out)["path"]))["run_at"].isoformat().startswith("2026-11-15T10:00")


def test_promptfoo_errors_are_not_evidence(repo, capsys, tmp_path):
    before = evidence(repo)
    done = do_import(capsys, repo, "promptfoo", promptfoo_file(tmp_path, rows(), errors=(3,)))
    assert done.code == 2 and "errors are not evidence" in done.err
    assert evidence(repo) == before


def test_a_cherry_picked_promptfoo_subset_is_refused(repo, capsys, tmp_path):
    done = do_import(capsys, repo, "promptfoo", promptfoo_file(tmp_path, [r for i, r in enumerate(rows()) if i % 5]))
    assert done.code == 2 and "must cover exactly the ids" in done.err


def test_a_promptfoo_file_with_two_prompts_or_another_model_is_refused(repo, capsys, tmp_path):
    two = do_import(capsys, repo, "promptfoo", promptfoo_file(tmp_path, rows(), prompts=2))
    assert two.code == 2 and "2 prompt(s)" in two.err
    other = do_import(capsys, repo, "promptfoo", promptfoo_file(tmp_path, rows(), provider="openai:gpt-4o"))
    assert other.code == 2 and "model 'openai/gpt-4o' is not in tier 'lite'" in other.err


def test_a_file_that_is_not_a_promptfoo_results_file_is_one_line(repo, capsys, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"results": {"version": 2, "table": {}}}')
    done = do_import(capsys, repo, "promptfoo", bad)
    assert done.code == 2 and "not a promptfoo results file" in done.err and "Traceback" not in done.err


def _mutated(tmp_path, change):
    """The legitimate promptfoo file with ``change`` applied to its first result."""
    path = promptfoo_file(tmp_path, rows())
    data = json.loads(path.read_text())
    change(data["results"]["results"][0])
    path.write_text(json.dumps(data))
    return path


HOSTILE_RESULTS = {
    "testCase a list": (lambda r: r.update(testCase=[1]), "results[0].testCase is"),
    "vars a list": (lambda r: (r["testCase"].update(vars=["x"]), r.update(vars=["x"])), "results[0].testCase.vars is"),
    "response a list": (lambda r: r.update(response=[1]), "results[0].response is"),
    "tokenUsage a string": (lambda r: r["response"].update(tokenUsage="lots"), "results[0].response.tokenUsage is"),
    "score without success": (lambda r: r.pop("success"), None),
    "provider id a list": (lambda r: r.update(provider={"id": ["openai:gpt-5-nano"]}), "results[0].provider is"),
    "promptIdx a list": (lambda r: r.update(promptIdx=[0]), "1 provider(s) and 2 prompt(s)"),
    "tokens a string": (lambda r: r["response"]["tokenUsage"].update(prompt="x"), "tokenUsage.prompt is \"x\""),
    "tokens infinite": (lambda r: r["response"]["tokenUsage"].update(prompt=1e999), "tokenUsage.prompt is Infinity"),
    "tokens negative": (lambda r: r["response"]["tokenUsage"].update(completion=-5), "tokenUsage.completion is -5"),
    "tokens fractional": (lambda r: r["response"]["tokenUsage"].update(completion=2.5), "tokenUsage.completion is 2.5"),
    "latency a word": (lambda r: r.update(latencyMs="slow"), "results[0].latencyMs is \"slow\""),
    "latency NaN": (lambda r: r.update(latencyMs=float("nan")), "results[0].latencyMs is NaN"),
    "score NaN": (lambda r: r.update(score=float("nan")), "results[0].score is NaN"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_RESULTS))
def test_a_malformed_promptfoo_result_is_one_line_naming_the_field(repo, capsys, tmp_path, name):
    change, said = HOSTILE_RESULTS[name]
    before = evidence(repo)
    done = do_import(capsys, repo, "promptfoo", _mutated(tmp_path, change))
    if said is None:  # still a well-formed file: a result promptfoo did not mark a success is a failure
        assert done.code == 0, done.err
        return
    assert done.code == 2 and "internal error" not in done.err and said in done.err and str(tmp_path) in done.err, done.err
    assert len(done.err.strip().splitlines()) == 1 and evidence(repo) == before


def test_a_promptfoo_result_may_leave_out_usage_latency_and_the_test_case(repo, capsys, tmp_path):
    def bare(result):
        del result["testCase"], result["latencyMs"]
        result["response"].pop("tokenUsage")
    done = do_import(capsys, repo, "promptfoo", _mutated(tmp_path, bare))
    assert done.code == 0, done.err
