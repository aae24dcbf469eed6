"""``tiergate eval import``: an Inspect AI log or a promptfoo results file becomes records, then ``eval record``.

Nothing here decides whether the run is evidence: the records go to ``evidence.record.record_run``,
exactly the path ``eval record`` takes, so they must cover exactly the contract's eval set (no
subset, no extra ids, the set's expected values), and the log's own model must be a model of the
tier. What is refused here is what a log says that records could not: a run that did not finish,
samples that errored (an error is the tool's, not the model's answer), the same sample scored
several times (epochs), several models or prompts in one file. The model is the one the log
names, never one given on the command line.

Inspect logs are read with ``inspect_ai.log.read_eval_log`` (the ``tiergate[inspect]`` extra);
promptfoo's ``--output results.json`` is plain JSON: ``{evalId, results: {version: 3, results: [...]}}``,
the format of promptfoo's ``EvaluateSummaryV3``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from tiergate.cost import call_cost
from tiergate.errors import TierGateError
from tiergate.evidence.record import read_input, record_run
from tiergate.loading import WorkTree
from tiergate.metrics import RUBRIC_MAX
from tiergate.models import Contract, ModelEntry
from tiergate.policy import load_task
from tiergate.runs.execute import Outcome, pick_model, records_bytes

MAX_AMOUNT = 10**12  # tokens or milliseconds per sample: far past any real run, well inside a float's exact integers
PROMPTFOO_ERROR = 2  # failureReason: 0 none, 1 an assertion failed, 2 the provider or test errored


@dataclass(frozen=True)
class Request:
    tool: str
    log: str
    task: str
    tier: str
    model: Optional[str] = None
    scorer: Optional[str] = None
    run_at: Optional[dt.datetime] = None
    link: Optional[str] = None


@dataclass(frozen=True)
class Sample:
    """One sample as a tool logged it, reduced to what a record needs."""

    id: str
    answer: Optional[str]
    value: Any  # the tool's verdict: "C"/"I"/..., true/false, or a number
    input_tokens: int
    output_tokens: int
    latency_ms: float


def _fields(contract: Contract, sample: Sample, model: ModelEntry, source: str) -> dict[str, Any]:
    metric = contract.slo.metric
    record: dict[str, Any] = {"id": sample.id}
    if metric == "pass_rate":
        record["passed"] = sample.value == "C" or sample.value is True or (type(sample.value) in (int, float) and sample.value == 1)
        record["output"] = sample.answer
    elif metric == "rubric_mean":
        if type(sample.value) not in (int, float) or not 0 <= sample.value <= RUBRIC_MAX:
            raise TierGateError(f"{source}: sample '{sample.id}' has score {sample.value!r}; rubric_mean needs a number from 0 to "
                                f"{RUBRIC_MAX:g}")
        record["score"] = float(sample.value)
        record["output"] = sample.answer
    else:
        record["output"] = sample.answer
    record.update(input_tokens=sample.input_tokens, output_tokens=sample.output_tokens, latency_ms=round(sample.latency_ms, 3),
                  cost_usd=float(call_cost(model, sample.input_tokens, sample.output_tokens)), error=None)
    return record


def _unique(samples: Iterable[Sample], source: str) -> list[Sample]:
    seen: set[str] = set()
    out = []
    for sample in samples:
        if sample.id in seen:
            raise TierGateError(f"{source}: sample '{sample.id}' appears more than once (epochs or repeats); evidence scores each "
                                "sample of the eval set once: run with one epoch")
        seen.add(sample.id)
        out.append(sample)
    return out


def _inspect(path: str, scorer: Optional[str]) -> tuple[str, list[Sample], Optional[dt.datetime]]:
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        raise TierGateError("importing an Inspect log needs inspect_ai: pip install 'tiergate[inspect]'") from None
    try:
        log = read_eval_log(path)
    except Exception as err:  # noqa: BLE001 - any unreadable log is one message
        raise TierGateError(f"{path}: not a readable Inspect log ({type(err).__name__}: {err})") from None
    if log.status != "success":
        raise TierGateError(f"{path}: the Inspect run ended with status '{log.status}'; only a finished run is evidence")
    samples = []
    for sample in log.samples or []:
        if sample.error is not None:
            raise TierGateError(f"{path}: sample '{sample.id}' errored ({sample.error.message[:120]}); an error is not an answer: "
                                "fix the cause and run again")
        if sample.epoch != 1:
            raise TierGateError(f"{path}: sample '{sample.id}' has epoch {sample.epoch}; evidence scores each sample once: one epoch")
        names = sorted(sample.scores or {})
        name = scorer or (names[0] if len(names) == 1 else None)
        if name is None or name not in (sample.scores or {}):
            raise TierGateError(f"{path}: sample '{sample.id}' has scores {', '.join(names) or 'none'}; name one with --scorer")
        score = sample.scores[name]  # type: ignore[index]
        usage = sample.output.usage if sample.output is not None else None
        answer = score.answer if score.answer is not None else (sample.output.completion if sample.output is not None else None)
        samples.append(Sample(str(sample.id), answer, score.value, int(getattr(usage, "input_tokens", 0) or 0),
                              int(getattr(usage, "output_tokens", 0) or 0), float(sample.total_time or 0) * 1000))
    created = _when(log.eval.created)
    return str(log.eval.model), _unique(samples, path), created


def _promptfoo(path: str) -> tuple[str, list[Sample], Optional[dt.datetime]]:
    try:
        data = json.loads(read_input(path))
    except ValueError as err:
        raise TierGateError(f"{path}: not JSON ({err})") from None
    summary = data.get("results") if isinstance(data, dict) else None
    if not isinstance(summary, dict) or summary.get("version") != 3 or not isinstance(summary.get("results"), list):
        raise TierGateError(f"{path}: not a promptfoo results file (expected {{evalId, results: {{version: 3, results: [...]}}}}, "
                            "as `promptfoo eval --output results.json` writes)")
    providers, prompts, samples = set(), set(), []
    for index, result in enumerate(summary["results"]):
        where = f"{path}: results[{index}]"
        if not isinstance(result, dict):
            raise TierGateError(f"{where} is not an object")
        if result.get("failureReason") == PROMPTFOO_ERROR:
            raise TierGateError(f"{where} is an error ({str(result.get('error'))[:120]}), not an answer; errors are not evidence: "
                                "fix the cause and run again")
        provider = result.get("provider")
        provider_id = provider.get("id") if isinstance(provider, dict) else provider
        if not isinstance(provider_id, str):
            raise TierGateError(f"{where}.provider is {json.dumps(provider_id)[:80]}, not a provider id such as 'openai:gpt-5-nano'")
        providers.add(provider_id)
        prompts.add(json.dumps(result.get("promptIdx")))  # any JSON value, compared as written
        variables = _object(_object(result.get("testCase"), f"{where}.testCase").get("vars"), f"{where}.testCase.vars") \
            or _object(result.get("vars"), f"{where}.vars")
        if not isinstance(variables.get("id"), (str, int)) or isinstance(variables.get("id"), bool):
            raise TierGateError(f"{where} has no test variable 'id'; load the eval set as the tests (`tests: file://<eval set>`) so "
                                "each result names its sample")
        response = _object(result.get("response"), f"{where}.response")
        output = response.get("output")
        usage = _object(response.get("tokenUsage"), f"{where}.response.tokenUsage")
        value: Any = result.get("success") is True
        if isinstance(result.get("score"), (int, float)) and not isinstance(result.get("score"), bool):
            value = (value, _amount(result["score"], f"{where}.score") * RUBRIC_MAX)  # promptfoo scores are 0-1
        samples.append(Sample(str(variables["id"]), output if isinstance(output, str) or output is None else json.dumps(output),
                              value, int(_amount(usage.get("prompt"), f"{where}.response.tokenUsage.prompt", whole=True)),
                              int(_amount(usage.get("completion"), f"{where}.response.tokenUsage.completion", whole=True)),
                              _amount(result.get("latencyMs"), f"{where}.latencyMs")))
    if len(providers) != 1 or len(prompts) != 1:
        raise TierGateError(f"{path}: holds {len(providers)} provider(s) and {len(prompts)} prompt(s); import one model's run of "
                            "one prompt (filter the results, or run promptfoo once per model)")
    provider = str(next(iter(providers)))
    model = provider.replace(":", "/", 1) if "/" not in provider.split(":", 1)[0] else provider
    when = _when(summary.get("timestamp"))
    return model, _unique(samples, path), when


def _object(value: Any, where: str) -> dict[str, Any]:
    """A JSON object a results file may leave out (null or absent: empty); anything else is one clear error."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TierGateError(f"{where} is {type(value).__name__} {json.dumps(value)[:80]}, not an object; is this promptfoo's "
                            "`--output results.json`?")
    return value


def _amount(value: Any, where: str, whole: bool = False) -> float:
    """A count or measure a results file may leave out (0): a finite number, not negative (whole for token counts)."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
            or value > MAX_AMOUNT or (whole and value != int(value)):
        raise TierGateError(f"{where} is {json.dumps(value)[:80]}, not a {'whole ' if whole else ''}number from 0 to {MAX_AMOUNT:,}")
    return float(value)


def _when(value: Any) -> Optional[dt.datetime]:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(dt.timezone.utc).replace(microsecond=0) if when.tzinfo else None


def _promptfoo_value(contract: Contract, sample: Sample) -> Sample:
    """promptfoo's pass flag for pass_rate and proportions, its 0-1 score (x10) for rubric_mean."""
    passed, score = sample.value if isinstance(sample.value, tuple) else (sample.value, None)
    value = score if contract.slo.metric == "rubric_mean" else passed
    return Sample(sample.id, sample.answer, value, sample.input_tokens, sample.output_tokens, sample.latency_ms)


def import_log(root: Path, request: Request, now: dt.datetime) -> Outcome:
    if not os.path.isfile(request.log):
        raise TierGateError(f"{request.log}: no such file")
    policy, catalog, contract, contract_file = load_task(WorkTree(root), request.task)
    if request.tool == "inspect":
        model_id, samples, when = _inspect(request.log, request.scorer)
    else:
        model_id, samples, when = _promptfoo(request.log)
        samples = [_promptfoo_value(contract, s) for s in samples]
    if request.model is not None and request.model != model_id:
        raise TierGateError(f"{request.log} ran on {model_id}, not {request.model}: the model is the one the log names")
    if not samples:
        raise TierGateError(f"{request.log}: holds no samples")
    tier, model = pick_model(catalog, request.tier, model_id)
    records = [_fields(contract, s, model, request.log) for s in samples]
    if request.run_at is not None and when is not None and request.run_at != when:
        raise TierGateError(f"{request.log} says the run was at {when.isoformat()}; --run-at {request.run_at.isoformat()} would "
                            "re-date it (and its place among the task's runs): drop --run-at")
    run_at = request.run_at or when or now.replace(microsecond=0)
    if run_at > now:
        raise TierGateError(f"{request.log}: the run time {run_at.isoformat()} is in the future")
    done = record_run(root, policy.evidence, catalog, contract, contract_file, tier.id, model.id, records_bytes(records), request.log,
                      run_at, request.link, origin=request.tool)
    info = policy.evidence.artifact(done.path)
    assert info.score is not None
    from tiergate.evidence.record import measure

    return Outcome(contract.task, tier.id, model.id, contract.slo.metric, contract.slo.threshold, info.score, done.verdict,
                   measure(records) or {}, done.path, False, done, catalog.defaults.confidence_level)
