"""``tiergate eval run``: ask a tier's model every sample of the task's eval set, score, record.

The run is all or nothing for ``evals/``: records are built in memory while the calls go on
(each answer is cached on disk as it arrives, outside ``evals/``), and only a complete run over
the whole eval set is handed to ``evidence.record`` (the path ``eval record`` takes), which pins
it to the set and writes the artifact. Ctrl-C, a failed call or a bad answer from the judge stop
the run before anything is written there; running the same command again resumes from the cache.

A ``--limit``ed run is a trial: its records go to ``.tiergate/trials/`` and it is never recorded
as evidence (it could not be: the coverage judgement refuses records that miss eval-set ids).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional, TextIO

from tiergate.errors import TierGateError
from tiergate.evidence.record import Recorded, measure, record_run, verdict_of
from tiergate.layout import CACHE, EVALS, TRIALS
from tiergate.loading import MAX_JSONL_BYTES, LoadError, WorkTree, check_ref, parse_jsonl
from tiergate.metrics import RecordError, Score, compute
from tiergate.models import Catalog, Contract, ModelEntry, Tier, is_external
from tiergate.policy import Policy, load_task
from tiergate.runs import prompt as prompts
from tiergate.runs.prompt import judge_problem
from tiergate.runs.cache import ResponseCache
from tiergate.runs.client import CallFailed, Client, Reply, Send, Target, target
from tiergate.runs.scorers import JudgeCall, JudgeUnparsable, checker, label_fields, pass_fields
from tiergate.writes import atomic_write

MAX_CONCURRENCY = 256


@dataclass(frozen=True)
class Options:
    """What the command line asks of one run."""

    task: str
    tier: str
    model: Optional[str] = None
    limit: Optional[int] = None
    concurrency: int = 8
    cache: bool = True
    link: Optional[str] = None
    run_at: Optional[dt.datetime] = None


@dataclass
class Outcome:
    """A finished run: the artifact (or the trial's records), its score against the SLO and what it measured."""

    task: str
    tier: str
    model: str
    metric: str
    threshold: float
    score: Score
    verdict: str
    measured: dict[str, Any]
    path: str  # the artifact, or for a trial the records under .tiergate/trials/
    trial: bool
    recorded: Optional[Recorded] = None
    confidence: float = 0.95


@dataclass
class Progress:
    """done / total, errors, score so far, spend so far: a bar on a terminal, plain lines otherwise."""

    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    label: str = ""
    done: int = 0
    errors: int = 0
    hits: float = 0.0
    spend: Decimal = Decimal(0)
    _shown: float = 0.0
    _step: int = 0

    def __post_init__(self) -> None:
        self.tty = self.stream.isatty()

    def add(self, reply: Reply, cost: Decimal, good: float) -> None:
        self.done += 1
        self.errors += reply.error is not None
        self.hits += good
        self.spend += cost
        now = time.monotonic()
        if self.tty and (now - self._shown > 0.1 or self.done == self.total):
            self._shown = now
            width = 30
            filled = width * self.done // max(1, self.total)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self._figures()}")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()
        elif not self.tty and (self.done * 10 // max(1, self.total) > self._step or self.done == self.total):
            self._step = self.done * 10 // max(1, self.total)
            self.stream.write(f"{self.label} {self._figures()}\n")

    def _figures(self) -> str:
        share = self.hits / self.done if self.done else 0.0
        return f"{self.done}/{self.total} done, {self.errors} errors, score so far {share:.3g}, spend ${self.spend:.6f}"


def _refuse_a_committed_cache(root: Path) -> None:
    """A cache the branch brings in git answers for the model: cache lines are keyed by what anyone can hash, so a
    pull request could commit the answers this run would record (TG323 refuses such a change at the gate)."""
    from tiergate.gitio import tracked

    committed = tracked(root, CACHE)
    if committed:
        raise TierGateError(f"{committed[0]} is committed in git ({len(committed)} file(s) under {CACHE}/): a cache a checkout brings "
                            "answers for the model; run with --no-cache (the answers are asked again and replace it)")


def _eval_rows(policy: Policy, contract: Contract) -> list[dict[str, Any]]:
    if is_external(contract.slo.eval_set):
        raise TierGateError(f"the eval set {contract.slo.eval_set} is outside the repository; tiergate runs only in-repo eval sets "
                            "(run it where the set lives and use `tiergate eval import` or `eval record`)")
    try:
        path = check_ref(contract.slo.eval_set, EVALS)
        rows = parse_jsonl(policy.tree.read(path, MAX_JSONL_BYTES))
    except LoadError as err:
        raise TierGateError(f"eval set {contract.slo.eval_set}:{err.line}: {err.message}") from None
    if not rows:
        raise TierGateError(f"eval set {contract.slo.eval_set} holds no samples")
    return rows


def pick_model(catalog: Catalog, tier_id: str, model_id: Optional[str]) -> tuple[Tier, ModelEntry]:
    """The tier's primary model, or ``--model``, which must be one of the tier's."""
    tier = catalog.tier(tier_id)
    if tier is None:
        raise TierGateError(f"tier '{tier_id}' is not in the catalog; choose one of: {', '.join(t.id for t in catalog.tiers)}")
    if model_id is None:
        return tier, tier.models[0]
    found = next((m for m in tier.models if m.id == model_id), None)
    if found is None:
        raise TierGateError(f"model '{model_id}' is not in tier '{tier_id}'; its models are: {', '.join(m.id for m in tier.models)}")
    return tier, found


def judge_call(catalog: Catalog, contract: Contract, rubric: Optional[str], environ: Optional[dict[str, str]] = None) -> Optional[JudgeCall]:
    """rubric_mean's judge, refused unless its model is in a tier at or above the task's (the TG321 judgement)."""
    prompt = contract.prompt
    if prompt is None or prompt.judge is None:
        return None
    problem = judge_problem(catalog, contract)
    if problem is not None:
        raise TierGateError(f"policy/tasks/{contract.task}.yaml: {problem}")
    entry = next(m for t in catalog.tiers for m in t.models if m.id == prompt.judge.model)
    return JudgeCall(target(entry, environ), rubric or "", prompt.judge.temperature)


class Runner:
    """One configured run of a task on one model: the scorer, the judge and the client are built once."""

    def __init__(self, root: Path, policy: Policy, catalog: Catalog, contract: Contract, send: Optional[Send] = None,
                 cache: bool = True, environ: Optional[dict[str, str]] = None) -> None:
        self.root, self.policy, self.catalog, self.contract = root, policy, catalog, contract
        self.spec = prompts.spec(policy.tree, contract)
        self.rows = _eval_rows(policy, contract)
        if cache:
            _refuse_a_committed_cache(root)
        self.client = Client(ResponseCache(root, read=cache), send)
        self.environ = environ
        self.judge = judge_call(catalog, contract, self.spec.rubric, environ)
        metric = contract.slo.metric
        assert contract.prompt is not None
        self.check = checker(contract.prompt.checker, self.spec.parse) if metric == "pass_rate" and contract.prompt.checker else None
        self.params: dict[str, Any] = {"temperature": self.spec.temperature, "max_tokens": self.spec.max_tokens}
        if self.spec.response_format is not None:
            self.params["response_format"] = {"type": "json_schema", "json_schema": {"name": contract.task.replace("-", "_"),
                                                                                      "schema": self.spec.response_format}}

    async def _one(self, where: Target, sample: dict[str, Any], progress: Progress) -> dict[str, Any]:
        question = prompts.messages(self.spec, sample)
        reply = await self.client.call(where, question, self.params)
        metric = self.contract.slo.metric
        if metric == "rubric_mean":
            assert self.judge is not None
            fields = await self.judge.fields(self.client, reply, question)
        elif metric == "pass_rate":
            assert self.check is not None
            fields = pass_fields(self.check, reply, sample)
        else:
            fields = label_fields(self.spec, reply, label_only=metric == "macro_f1")
        cost = where.cost(reply)
        record = {"id": sample["id"], **fields, "answer": reply.text, "finish_reason": reply.finish_reason,
                  "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens, "latency_ms": reply.latency_ms,
                  "cost_usd": float(cost), "cached": reply.cached}
        judge_cost = Decimal(str(fields["judge"]["cost_usd"])) if "judge" in fields else Decimal(0)
        progress.add(reply, cost + judge_cost, _good(metric, record, sample))
        return record

    async def _all(self, where: Target, rows: list[dict[str, Any]], concurrency: int, progress: Progress) -> list[dict[str, Any]]:
        """``concurrency`` workers take the samples in turn: at most that many calls in flight, and no queue of
        thousands of waiting tasks (a semaphore's waiters make each acquire cost more as they pile up)."""
        out: list[Optional[dict[str, Any]]] = [None] * len(rows)
        todo = iter(enumerate(rows))

        async def worker() -> None:
            for index, row in todo:
                out[index] = await self._one(where, row, progress)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(rows)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
        return [record for record in out if record is not None]

    def collect(self, model: ModelEntry, limit: Optional[int], concurrency: int, label: str = "") -> list[dict[str, Any]]:
        """Every sample's record, in eval-set order; stops (TierGateError) on Ctrl-C, a failed call or a bad judge answer."""
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise TierGateError(f"--concurrency must be from 1 to {MAX_CONCURRENCY}")
        if limit is not None and limit < 1:
            raise TierGateError("--limit must be at least 1")
        rows = self.rows[:limit] if limit is not None else self.rows
        where = target(model, self.environ)
        progress = Progress(len(rows), label=label or f"{self.contract.task} on {model.id}")
        try:
            return asyncio.run(self._all(where, rows, concurrency, progress))
        except KeyboardInterrupt:
            raise TierGateError(f"interrupted after {progress.done} of {len(rows)} calls; nothing was recorded in {EVALS}/; "
                                "the answers so far are cached: run the same command again to resume") from None
        except CallFailed as err:
            raise TierGateError(f"a call failed: {err}; nothing was recorded (a provider error is not evidence); the "
                                f"{progress.done} answers so far are cached: fix the cause and run the same command again") from None
        except JudgeUnparsable as err:
            raise TierGateError(f"{err}; nothing was recorded: fix the rubric (or the judge) so it answers with a number") from None
        finally:
            self.client.cache.close()


def _good(metric: str, record: dict[str, Any], sample: dict[str, Any]) -> float:
    """For the progress line only: this sample's share of the score so far (the recorded score is metrics.py's)."""
    if metric == "pass_rate":
        return float(record.get("passed") is True)
    if metric == "rubric_mean":
        return float(record.get("score", 0.0))
    from tiergate.metrics import same

    return float(record.get("error") is None and same(record.get("output"), sample.get("expected"), strip=metric == "exact_match"))


def records_bytes(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records).encode()


def run(root: Path, options: Options, now: dt.datetime, send: Optional[Send] = None,
        environ: Optional[dict[str, str]] = None) -> Outcome:
    """``tiergate eval run``: one task, one tier's model, the whole eval set (or a trial of ``--limit`` samples)."""
    policy, catalog, contract, contract_file = load_task(WorkTree(root), options.task)
    tier, model = pick_model(catalog, options.tier, options.model)
    if options.limit is not None and options.link is not None:
        raise TierGateError("--limit makes a trial run, which is never evidence: drop --link (or --limit)")
    if options.link == "failing" and model.id != tier.models[0].id:
        raise TierGateError(f"failing evidence must come from the primary model of tier '{tier.id}', {tier.models[0].id}, the one "
                            "routers call (TG317): run without --model, or without --link")
    runner = Runner(root, policy, catalog, contract, send, options.cache, environ)
    records = runner.collect(model, options.limit, options.concurrency)
    return finish(root, runner, tier.id, model.id, records, options, now, contract_file)


def finish(root: Path, runner: Runner, tier: str, model: str, records: list[dict[str, Any]], options: Options,
           now: dt.datetime, contract_file: str) -> Outcome:
    """Record a complete run through ``evidence.record`` (or keep a trial's records out of evals/)."""
    contract, catalog = runner.contract, runner.catalog
    raw = records_bytes(records)
    measured = measure(records) or {}
    run_at = options.run_at or now.replace(microsecond=0)
    confidence = catalog.defaults.confidence_level
    if options.limit is not None:
        stem = f"{run_at.strftime('%Y%m%dT%H%M%SZ')}-{contract.task}-{tier}-{model.replace('/', '-')}"
        rel = f"{TRIALS}/{stem}.records.jsonl"
        atomic_write(root / rel, raw.decode("utf-8"), inside=root, create_folders=True)
        score = _trial_score(contract, records, runner)
        verdict = verdict_of(contract.slo.metric, score, contract.slo.threshold, confidence)
        return Outcome(contract.task, tier, model, contract.slo.metric, contract.slo.threshold, score,
                       f"trial of {len(records)} of {len(runner.rows)} samples, not evidence ({verdict})", measured, rel, True,
                       confidence=confidence)
    done = record_run(root, runner.policy.evidence, catalog, contract, contract_file, tier, model, raw,
                      f"eval run of {contract.task} on {model}", run_at, options.link, origin="run")
    info = runner.policy.evidence.artifact(done.path)
    assert info.score is not None
    return Outcome(contract.task, tier, model, contract.slo.metric, contract.slo.threshold, info.score, done.verdict, measured,
                   done.path, False, done, confidence)


def _trial_score(contract: Contract, records: list[dict[str, Any]], runner: Runner) -> Score:
    """A trial's score, with expected values from the eval set as a recorded run would have them."""
    expected = {row["id"]: row.get("expected") for row in runner.rows}
    filled = [{**r, "expected": expected.get(r["id"])} for r in records]
    try:
        return compute(contract.slo.metric, filled)
    except RecordError as err:
        raise TierGateError(f"trial record {err.index + 1}: {err}") from None
