"""Gate rules: what a change does to a contract compared with its base branch.

Burden-of-proof inversion, at merge time: a contract may only get more expensive (a higher
tier or a higher ceiling) when linked evidence shows that each cheaper tier conclusively
misses the SLO *as it stood on the base branch*, so nobody can raise the bar and the tier in
one go and call the old tier's failure evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

from tiergate.evidence import ArtifactInfo
from tiergate.findings import Finding, finding
from tiergate.loading import Document, LoadError, check_ref
from tiergate.models import SLO, Catalog, Contract
from tiergate.policy import Policy
from tiergate.rules.context import Context
from tiergate.stats import samples_needed, upper_bound


@dataclass
class Pair:
    """A touched contract on the head side and, unless it is new, on the base side."""

    head: Contract
    doc: Document
    base: Optional[Contract]


def check_pair(ctx: Context, base_catalog: Catalog, pair: Pair) -> Iterator[Finding]:
    head_catalog = ctx.policy.catalog
    if head_catalog is None or head_catalog.rank(pair.head.tier) is None:
        return
    yield from _moved_bar(pair)
    new_rank = head_catalog.rank(pair.head.tier)
    old_rank = _rank_in(head_catalog, pair.base.tier) if pair.base else -1
    slo = pair.base.slo if pair.base else pair.head.slo
    raised = new_rank is not None and new_rank > old_rank
    if raised:
        start = max(old_rank, 0)
        for tier in head_catalog.tiers[start:new_rank]:
            yield from _prove(ctx, base_catalog, pair, slo, tier.id, "TG801", pair.doc.line("tier"),
                              f"tier raised to '{pair.head.tier}'" + (f" from '{pair.base.tier}'" if pair.base else " (new task)"))
    if pair.base is not None and pair.base.escalation is not None:
        old_ceiling, new_ceiling = _rank_in(head_catalog, pair.base.ceiling), head_catalog.rank(pair.head.ceiling)
        # a ceiling at or below the new tier moved with the tier, whose rise is proven above
        if new_ceiling is not None and new_ceiling > old_ceiling > (new_rank or 0):
            yield from _prove(ctx, base_catalog, pair, slo, pair.base.ceiling, "TG803", pair.doc.line("escalation", "ceiling"),
                              f"ceiling raised from '{pair.base.ceiling}' to '{pair.head.ceiling}'")


def _rank_in(catalog: Catalog, tier_id: str) -> int:
    rank = catalog.rank(tier_id)
    return -1 if rank is None else rank


def _moved_bar(pair: Pair) -> Iterator[Finding]:
    base, head, doc = pair.base, pair.head, pair.doc
    if base is None:
        return
    tightened = _tightened(base.slo, head.slo)
    costlier = (head.tier, head.ceiling) != (base.tier, base.ceiling)
    if tightened and costlier:
        yield finding("TG804", doc.path, doc.line("slo"),
                      f"this change tightens the SLO ({tightened}) and changes the tier or ceiling: land the SLO change first, "
                      "on its own, then propose the tier change with evidence against the new SLO")
    if head.slo.metric == base.slo.metric and head.slo.threshold < base.slo.threshold:
        yield finding("TG805", doc.path, doc.line("slo", "threshold"),
                      f"threshold lowered from {base.slo.threshold:g} to {head.slo.threshold:g}: {head.owner} must approve")
    if base.escalation is not None and head.escalation is None:
        yield finding("TG805", doc.path, doc.line("tier"), f"escalation to '{base.ceiling}' removed: {head.owner} must approve")


def _tightened(base: SLO, head: SLO) -> str:
    if head.metric != base.metric:
        return f"metric {base.metric} -> {head.metric}"
    if head.threshold > base.threshold:
        return f"threshold {base.threshold:g} -> {head.threshold:g}"
    if head.min_samples > base.min_samples:
        return f"min_samples {base.min_samples} -> {head.min_samples}"
    if head.eval_set != base.eval_set:
        return f"eval set {base.eval_set} -> {head.eval_set}"
    return ""


def _prove(ctx: Context, base_catalog: Catalog, pair: Pair, slo: SLO, tier_id: str, rule: str, line: int, why: str) -> Iterator[Finding]:
    """Yield nothing when a linked failing artifact of ``tier_id`` is valid evidence, else why not."""
    reasons: list[tuple[str, str]] = []
    for ref in pair.head.evidence.failing:
        info = _artifact(ctx.policy, ref)
        if info is None or info.artifact is None or info.artifact.tier != tier_id:
            continue
        problem = _invalid(ctx, base_catalog, pair, slo, info)
        if problem is None:
            return
        reasons.append(problem)
    if not reasons:
        yield finding(rule, pair.doc.path, line, f"{why}, but no failing artifact of tier '{tier_id}' is linked in evidence.failing; "
                      f"run the SLO eval on '{tier_id}', `tiergate eval record`, and link it")
        return
    inconclusive = [text for kind, text in reasons if kind == "TG802"]
    if inconclusive and len(inconclusive) == len(reasons):
        yield finding("TG802", pair.doc.path, line, f"{why}: {inconclusive[0]}")
    else:
        text = next(text for kind, text in reasons if kind != "TG802")
        yield finding(rule, pair.doc.path, line, f"{why}, but the failing evidence for '{tier_id}' is not valid: {text}")


def _artifact(policy: Policy, ref: str) -> Optional[ArtifactInfo]:
    try:
        path = check_ref(ref, "evals")
    except LoadError:
        return None
    if not policy.tree.exists(path):
        return None
    info = policy.evidence.artifact(path)
    return info if info.intact else None


def _invalid(ctx: Context, base_catalog: Catalog, pair: Pair, slo: SLO, info: ArtifactInfo) -> Optional[tuple[str, str]]:
    art, score, name = info.artifact, info.score, info.path
    assert art is not None and score is not None
    tier = base_catalog.tier(art.tier)
    age_limit = base_catalog.defaults.max_evidence_age_days
    checks = [
        (art.task != pair.head.task, f"{name} is for task '{art.task}'"),
        (art.metric != slo.metric, f"{name} measured {art.metric}, the base SLO metric is {slo.metric}"),
        (art.eval_set.path != slo.eval_set, f"{name} ran on {art.eval_set.path}, the base SLO eval set is {slo.eval_set}"),
        (art.samples < slo.min_samples, f"{name} has {art.samples} samples, the base SLO needs {slo.min_samples}"),
        (art.score >= slo.threshold, f"{name} scored {art.score:g}, which meets the base threshold {slo.threshold:g}"),
        (tier is None or art.model not in tier.model_ids(), f"{name} ran on {art.model}, not a model of '{art.tier}' in the base catalog"),
        (art.run_at > ctx.now, f"{name} is dated in the future"),
        ((ctx.now - art.run_at).days > age_limit, f"{name} is older than {age_limit} days"),
    ]
    for failed, text in checks:
        if failed:
            return ("TG801", text)
    confidence = base_catalog.defaults.confidence_level
    bound = upper_bound(art.metric, score, score.total, confidence)
    if bound >= slo.threshold:
        needed = samples_needed(art.metric, score, slo.threshold, confidence)
        more = f"about {needed} samples at this score would settle it" if needed else "no sample size would settle it at this score"
        return ("TG802", f"{name} scored {art.score:g} on {score.total} samples, but its {confidence:.0%} upper bound {bound:.4f} "
                         f"reaches the threshold {slo.threshold:g}: the failure is within noise; {more}")
    return None
