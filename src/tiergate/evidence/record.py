"""Recording a run: score its records with the SLO metric and commit them as a new artifact.

The records are pinned to the eval set before anything is written (ids and expected values,
by the same coverage judgement the store applies), and nothing is ever overwritten: evidence
is append-only.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from tiergate.errors import TierGateError
from tiergate.evidence.stats import samples_needed, upper_bound
from tiergate.metrics import RecordError, Score, compute, needs_expected
from tiergate.evidence.store import Dataset, EvidenceStore, coverage, record_ids, sha256_hex
from tiergate.layout import CATALOG, EVALS
from tiergate.loading import MAX_JSONL_BYTES, LoadError, check_ref, parse_jsonl
from tiergate.models import Catalog, Contract, is_external
from tiergate.writes import atomic_write, write_new

ARTIFACT_SCHEMA_COMMENT = "# yaml-language-server: $schema=../../schemas/artifact.schema.json\n"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def _canonical_line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def prepare_records(store: EvidenceStore, contract: Contract, raw: bytes, source: str) -> tuple[list[dict[str, Any]], Optional[Dataset]]:
    """Parse the run's records and, for an in-repo eval set, pin them to it (ids and expected)."""
    try:
        records = parse_jsonl(raw)
    except LoadError as err:
        raise TierGateError(f"{source}:{err.line}: {err.message}") from None
    if not records:
        raise TierGateError(f"{source}: holds no records")
    if is_external(contract.slo.eval_set):
        return records, None
    try:
        dataset = store.dataset(check_ref(contract.slo.eval_set, EVALS))
    except LoadError as err:
        raise TierGateError(f"eval set {contract.slo.eval_set}: {err.message}") from None
    ids, bad = record_ids(records)
    if bad is not None:
        raise TierGateError(f"{source}:{bad + 1}: each record needs a unique 'id' (string or integer)")
    found = coverage(dataset, ids, records, contract.slo.metric)
    present = set(ids)
    missing = store.missing_ids(dataset, present.__contains__, limit=dataset.size)
    if missing or found.extra:
        raise TierGateError(
            f"{source}: records must cover exactly the ids of {dataset.path}: {len(missing)} missing "
            f"(e.g. {', '.join(missing[:3]) or '-'}), {len(found.extra)} unknown (e.g. {', '.join(found.extra[:3]) or '-'})")
    values = store.dataset_values(dataset.path)
    if found.disagreeing is not None:
        key, theirs, _ = found.disagreeing
        raise TierGateError(f"{source}: record '{key}' has expected {theirs!r}, the eval set says {values[key]!r}")
    if needs_expected(contract.slo.metric):
        for key, record in zip(ids, records):
            record["expected"] = values[key]
    return records, dataset


def verdict_of(metric: str, score: Score, threshold: float, confidence: float) -> str:
    """pass, fail (conclusive at ``confidence``), or inconclusive with the sample size that would settle it."""
    if score.value >= threshold:
        return "pass"
    if upper_bound(metric, score, score.total, confidence) < threshold:
        return "fail"
    needed = samples_needed(metric, score, threshold, confidence)
    return f"inconclusive: about {needed} samples at this score would settle it" if needed else \
        "inconclusive: no sample size would settle it at this score"


def link_evidence(root: Path, contract_file: Path, role: str, artifact: str) -> None:
    """Write ``artifact`` into the contract's evidence (``passing``, or appended to ``failing``), in place."""
    link_many(root, contract_file, passing=artifact if role == "passing" else None, failing=[artifact] if role == "failing" else [])


def link_many(root: Path, contract_file: Path, passing: Optional[str] = None, failing: tuple[str, ...] | list[str] = (),
              tier: Optional[str] = None) -> None:
    """Set ``evidence.passing``, append to ``evidence.failing`` (and set ``tier``), in place, in one write.

    A round-trip YAML library keeps the owner's comments, key order and layout; string surgery
    on YAML would break as soon as someone formats a list differently.
    """
    from ruamel.yaml import YAML  # only the commands that --link rewrite a contract
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml_rt = YAML(typ="rt")
    yaml_rt.preserve_quotes = True
    yaml_rt.width = 4096
    data = yaml_rt.load(contract_file.read_text(encoding="utf-8"))
    if tier is not None:
        data["tier"] = tier
    evidence = data.get("evidence")
    if evidence is None:
        evidence = data["evidence"] = CommentedMap()
    if passing is not None:
        evidence["passing"] = passing
    if failing:
        listed = evidence.get("failing")
        if listed is None:
            listed = evidence["failing"] = CommentedSeq()
        for artifact in failing:
            if artifact not in listed:
                listed.append(artifact)
    out = io.StringIO()
    yaml_rt.dump(data, out)
    atomic_write(contract_file, out.getvalue(), inside=root)


def read_input(path: str) -> bytes:
    """The run's records file, refused unread when it is over the records size limit."""
    try:
        if os.path.getsize(path) > MAX_JSONL_BYTES:
            raise TierGateError(f"{path} is over the {MAX_JSONL_BYTES}-byte limit")
        return Path(path).read_bytes()
    except OSError as err:
        raise TierGateError(f"cannot read {path}: {err.strerror}") from None


def write_artifact(
    root: Path,
    store: EvidenceStore,
    catalog: Catalog,
    contract: Contract,
    tier_id: str,
    model_id: str,
    raw: bytes,
    source: str,
    run_at: dt.datetime,
    origin: Optional[str] = None,
) -> str:
    """Compute the SLO metric from a run's records and commit them as a new artifact.

    Returns the artifact's repo-relative path. Never overwrites: evidence is append-only.
    """
    tier = catalog.tier(tier_id)
    if tier is None:
        raise TierGateError(f"tier '{tier_id}' is not in {CATALOG}; choose one of: {', '.join(t.id for t in catalog.tiers)}")
    if model_id not in tier.model_ids():
        raise TierGateError(f"model '{model_id}' is not in tier '{tier_id}'; its models are: {', '.join(sorted(tier.model_ids()))}")
    records, dataset = prepare_records(store, contract, raw, source)
    try:
        score = compute(contract.slo.metric, records)
    except RecordError as err:
        raise TierGateError(f"{source}: record {err.index + 1}: {err} (metric {contract.slo.metric})") from None
    stem = f"{run_at.strftime('%Y%m%dT%H%M%SZ')}-{tier_id}-{_slug(model_id.split('/', 1)[-1])}"
    folder = f"{EVALS}/{contract.task}"
    art_rel, rec_rel = f"{folder}/{stem}.yaml", f"{folder}/{stem}.records.jsonl"
    for rel in (art_rel, rec_rel):
        if (root / rel).exists():
            raise TierGateError(f"{rel} already exists; evidence is append-only (use another --run-at)")
    body = ("\n".join(_canonical_line(r) for r in records) + "\n").encode("utf-8")
    data: dict[str, Any] = {
        "task": contract.task,
        "tier": tier_id,
        "model": model_id,
        "metric": contract.slo.metric,
        "score": score.value,
    }
    if score.successes is not None:
        data["counts"] = {"successes": score.successes, "total": score.total}
    data.update(
        samples=score.total,
        run_at=run_at,
        eval_set={"path": contract.slo.eval_set, **({"sha256": dataset.sha256} if dataset else {})},
        records={"path": rec_rel, "sha256": sha256_hex(body)},
    )
    if origin is not None:
        data["source"] = origin
    measured = measure(records)
    if measured is not None:
        data["measured"] = measured
    text = ARTIFACT_SCHEMA_COMMENT + yaml.dump(data, Dumper=_ArtifactDumper, sort_keys=False, allow_unicode=True)
    _write_new(root, rec_rel, body)  # creates evals/<task>/ if needed; refuses a symlinked one
    try:
        _write_new(root, art_rel, text.encode("utf-8"))
    except BaseException:
        (root / rec_rel).unlink(missing_ok=True)
        raise
    return art_rel


@dataclass(frozen=True)
class Recorded:
    """What ``eval record`` (or a run, or an import) made: the artifact, its score against the SLO, and the link it wrote."""

    path: str
    metric: str
    score: float
    threshold: float
    samples: int
    verdict: str  # pass | fail | inconclusive: ... (with the sample size that would settle it)
    linked: Optional[str] = None  # "passing" or "failing" when --link wrote it into the contract


def record_run(root: Path, store: EvidenceStore, catalog: Catalog, contract: Contract, contract_file: str, tier: str, model: str,
               raw: bytes, source: str, run_at: dt.datetime, link: Optional[str] = None, origin: Optional[str] = None) -> Recorded:
    """The one way records become evidence: score and pin them (``write_artifact``), verify what was written
    as the gate will, state the verdict, and link it when asked. ``eval record``, ``eval run`` and
    ``eval import`` all end here."""
    path = write_artifact(root, store, catalog, contract, tier, model, raw, source, run_at, origin)
    info = store.artifact(path)
    assert info.score is not None and info.artifact is not None, f"{path} was just written and must verify"
    verdict = verdict_of(contract.slo.metric, info.score, contract.slo.threshold, catalog.defaults.confidence_level)
    if link is not None:
        link_evidence(root, root / contract_file, link, path)
    return Recorded(path, contract.slo.metric, info.score.value, contract.slo.threshold, info.score.total, verdict, link)


CALL_FIELDS = ("input_tokens", "output_tokens", "latency_ms", "cost_usd")


MAX_FIGURE = 10**15  # tokens, milliseconds or dollars of one call: past any real one, well inside what a float sums


def _number(value: Any) -> bool:
    """A per-call figure measure can average: a real number from 0 to ``MAX_FIGURE`` (records are data: a
    10**400 token count would overflow the average, a string would not add)."""
    return type(value) in (int, float) and 0 <= value <= MAX_FIGURE


def _judge_cost(record: dict[str, Any]) -> Any:
    judge = record.get("judge")
    return judge.get("cost_usd", 0) if isinstance(judge, dict) else 0


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile: the value 95% of the calls stay at or under."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure(records: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """Averages, p95 latency and spend over records that carry per-call figures (None when any lacks them).

    A record's ``judge`` (rubric_mean) adds its cost to the spend: the judge is part of what the eval cost.
    The cost model's token warning recomputes these from the records, never from what an artifact says.
    """
    if not records or not all(all(_number(r.get(name)) for name in CALL_FIELDS) and _number(_judge_cost(r)) for r in records):
        return None
    count = len(records)
    spend = sum(r["cost_usd"] + _judge_cost(r) for r in records)
    return {
        "calls": count,
        "errors": sum(1 for r in records if r.get("error")),
        "avg_input_tokens": round(sum(r["input_tokens"] for r in records) / count, 3),
        "avg_output_tokens": round(sum(r["output_tokens"] for r in records) / count, 3),
        "p95_latency_ms": round(p95([float(r["latency_ms"]) for r in records]), 3),
        "total_cost_usd": round(spend, 8),
        "cached": sum(1 for r in records if r.get("cached") is True),
    }


class _ArtifactDumper(yaml.SafeDumper):
    """Writes times as ISO 8601 with a 'Z', which YAML still reads back as a timestamp."""


def _represent_datetime(dumper: yaml.SafeDumper, value: dt.datetime) -> yaml.Node:
    text = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


_ArtifactDumper.add_representer(dt.datetime, _represent_datetime)


def _write_new(root: Path, rel: str, body: bytes) -> None:
    """Create ``root/rel``, never replacing anything and never through a symlinked folder (``writes.write_new``)."""
    write_new(root / rel, body, inside=root)
