"""``tiergate eval profile``: the task's eval set on each tier, cheapest first, and the cheapest tier that passes.

Each tier runs its primary model (the one routers call, the only one whose failure is failing
evidence), through the same ``Runner`` as ``eval run``. Without ``--link`` nothing is written to
``evals/`` (the answers are cached, so a later ``--link`` costs nothing); with ``--link`` every
run is recorded through ``evidence.record`` and the contract gets, in one in-place edit, the
recommended tier, its passing run, and the conclusive failures of the tiers below it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Optional

from tiergate.errors import TierGateError
from tiergate.evidence.record import link_many, measure, record_run, verdict_of
from tiergate.evidence.stats import upper_bound
from tiergate.loading import WorkTree
from tiergate.metrics import Score
from tiergate.policy import load_task
from tiergate.runs.client import Send
from tiergate.runs.execute import Runner, _trial_score, records_bytes


@dataclass(frozen=True)
class Row:
    """One tier's run, as the profile table shows it."""

    tier: str
    model: str
    score: Score
    bound: float  # the one-sided upper confidence bound the gate judges a failure by
    verdict: str
    cost_per_call: Decimal
    cost_per_success: Optional[Decimal]
    p95_latency_ms: float
    errors: int
    artifact: Optional[str] = None


@dataclass
class Profile:
    task: str
    metric: str
    threshold: float
    confidence: float
    rows: list[Row] = field(default_factory=list)
    recommended: Optional[str] = None
    linked: bool = False
    notes: list[str] = field(default_factory=list)


def tiers_to_run(ranks: list[str], contract_tier: str, listed: Optional[str]) -> list[str]:
    """The listed tiers in rank order, or every tier from the lowest up to the contract's."""
    if listed is None:
        return ranks[: ranks.index(contract_tier) + 1]
    names = [name.strip() for name in listed.split(",") if name.strip()]
    unknown = [name for name in names if name not in ranks]
    if unknown or not names:
        raise TierGateError(f"--tiers names {', '.join(unknown) or 'nothing'}; the catalog's tiers are: {', '.join(ranks)}")
    return sorted(set(names), key=ranks.index)


def profile(root: Path, task: str, tiers: Optional[str], concurrency: int, now: dt.datetime, link: bool = False,
            cache: bool = True, send: Optional[Send] = None, environ: Optional[dict[str, str]] = None) -> Profile:
    policy, catalog, contract, contract_file = load_task(WorkTree(root), task)
    runner = Runner(root, policy, catalog, contract, send, cache, environ)
    slo, confidence = contract.slo, catalog.defaults.confidence_level
    out = Profile(task, slo.metric, slo.threshold, confidence)
    run_at = now.replace(microsecond=0)
    for tier_id in tiers_to_run([t.id for t in catalog.tiers], contract.tier, tiers):
        tier = catalog.tier(tier_id)
        assert tier is not None
        model = tier.models[0]
        records = runner.collect(model, None, concurrency, label=f"{task} on {tier_id} ({model.id})")
        artifact = None
        if link:
            done = record_run(root, policy.evidence, catalog, contract, contract_file, tier_id, model.id, records_bytes(records),
                              f"eval profile of {task} on {model.id}", run_at, origin="run")
            artifact, info = done.path, policy.evidence.artifact(done.path)
            assert info.score is not None
            score = info.score
        else:
            score = _trial_score(contract, records, runner)
        measured = measure(records) or {}
        spend = Decimal(str(measured.get("total_cost_usd", 0)))
        good = score.total - score.misses(slo.threshold)
        out.rows.append(Row(tier_id, model.id, score, upper_bound(slo.metric, score, score.total, confidence),
                            verdict_of(slo.metric, score, slo.threshold, confidence), spend / max(1, score.total),
                            spend / good if good else None, float(measured.get("p95_latency_ms", 0.0)), int(measured.get("errors", 0)),
                            artifact))
    passing = next((row for row in out.rows if row.verdict == "pass"), None)
    out.recommended = passing.tier if passing else None
    if link:
        _link(root, contract_file, out, passing, contract.tier)
    return out


def _link(root: Path, contract_file: str, out: Profile, passing: Optional[Row], current: str) -> None:
    below = [row for row in out.rows if passing is None or out.rows.index(row) < out.rows.index(passing)]
    failing = [row.artifact for row in below if row.verdict == "fail" and row.artifact]
    for row in below:
        if row.verdict != "fail":
            out.notes.append(f"{row.tier} is {row.verdict}: not linked as failing evidence")
    tier = passing.tier if passing is not None and passing.tier != current else None
    link_many(root, root / contract_file, passing=passing.artifact if passing else None, failing=failing, tier=tier)
    out.linked = True
    if tier is not None:
        out.notes.append(f"tier set from {current} to {tier}")
    if passing is None:
        out.notes.append("no tier passes: the contract's tier and passing evidence are unchanged")
