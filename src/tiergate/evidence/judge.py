"""Is this artifact valid evidence for this claim? The one place that decides.

``validate`` (a contract's links at rest), the merge gate (a tier upgrade against the base
branch), the cost model (the lowest tier's measured failures) and the quarterly review (is the
passing evidence still usable) all ask the same question, so they all call ``judge``: two
copies of a security judgement drift apart, and drift is how a gate gets walked around.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable, Literal, Optional

from tiergate.evidence.stats import samples_needed, upper_bound
from tiergate.evidence.store import EVAL_SET, ArtifactInfo
from tiergate.findings import Rule
from tiergate.models import SLO, Catalog

Role = Literal["passing", "failing"]
Sink = Callable[["Rule", str], None]

WRONG_TASK = Rule("TG302", "evidence-wrong-task", "error", "A linked artifact is for another task.")
WRONG_TIER = Rule("TG303", "evidence-wrong-tier", "error", "A linked artifact is for another tier than the one it is used for.")
WRONG_METRIC = Rule("TG304", "evidence-wrong-metric", "error", "A linked artifact measured another metric than the contract's SLO.")
MODEL_NOT_IN_TIER = Rule("TG305", "evidence-model-not-in-tier", "error", "The artifact's model is not in its tier in the catalog.")
TOO_FEW_SAMPLES = Rule("TG306", "evidence-too-few-samples", "error", "The artifact has fewer samples than the SLO's minimum.")
PASSING_MISSES = Rule("TG309", "evidence-passing-misses-slo", "error", "The passing artifact does not meet the SLO threshold.")
FAILING_MEETS = Rule("TG310", "evidence-failing-meets-slo", "error", "A failing artifact actually meets the SLO threshold.")
FUTURE = Rule("TG311", "evidence-future", "error", "The artifact's run time is in the future.")
STALE = Rule("TG312", "evidence-stale", "warning", "The artifact is older than the catalog's maximum evidence age.")
NOT_PRIMARY = Rule("TG317", "failing-not-primary", "error",
                   "A failing artifact ran on a model other than its tier's primary (first) model, the one routers call.")
CONTRADICTED = Rule("TG318", "evidence-contradicted", "error",
                    "A newer run of the same task, tier, model and eval-set version passes the SLO: the failing run is cherry-picked.")
INCONCLUSIVE = Rule("TG802", "failure-inconclusive", "error",
                    "A failing artifact misses the threshold only within noise; more samples are needed.")
RULES = (WRONG_TASK, WRONG_TIER, WRONG_METRIC, MODEL_NOT_IN_TIER, TOO_FEW_SAMPLES, PASSING_MISSES, FAILING_MEETS, FUTURE, STALE,
         NOT_PRIMARY, CONTRADICTED, INCONCLUSIVE)


@dataclass(frozen=True)
class Claim:
    """What a linked artifact is meant to prove, and against which bar.

    ``tiers`` are the tiers the artifact may be for; ``slo`` and ``catalog`` are the bar (the
    base branch's at merge time). ``strict`` is the merge gate: there stale evidence and a
    failure within noise disqualify, where at rest they only warn or are not asked.
    """

    task: str
    role: Role
    tiers: tuple[str, ...]
    slo: SLO
    catalog: Catalog
    now: dt.datetime
    set_version: Optional[str] = None  # sha256 of the eval set in force (the base branch's at merge time); None: external
    strict: bool = False
    tier_word: str = ""  # how messages name the expected tier(s), e.g. "the authorized tier 'mid'"
    set_word: str = "the current"  # how messages name the version in force


@dataclass(frozen=True)
class Problem:
    rule: Rule
    message: str
    blocking: bool  # the artifact cannot back the claim


def judge(info: ArtifactInfo, claim: Claim, history: Iterable[ArtifactInfo] = ()) -> list[Problem]:
    """Every reason the intact artifact ``info`` does not back ``claim``; empty when it does.

    ``history`` holds the other runs of the same task, tier and model in the repository: a
    failing run is rejected when a newer one on the same eval-set version passes.
    """
    art, score = info.artifact, info.score
    assert art is not None and score is not None, "judge() takes intact artifacts (ArtifactInfo.intact)"
    name, slo = info.path, claim.slo
    out: list[Problem] = []

    def problem(rule: Rule, message: str) -> None:
        out.append(Problem(rule, message, rule.severity == "error" or claim.strict))

    if art.task != claim.task:
        problem(WRONG_TASK, f"{name} is evidence for task '{art.task}', not '{claim.task}'")
    if art.tier not in claim.tiers:
        problem(WRONG_TIER, f"{name} is for tier '{art.tier}'; {claim.role} evidence here must be for {claim.tier_word or _tiers(claim.tiers)}")
    tier = claim.catalog.tier(art.tier)
    if (tier is None and art.tier in claim.tiers) or (tier is not None and art.model not in tier.model_ids()):
        problem(MODEL_NOT_IN_TIER, f"{name} ran on {art.model}, which is not a model of tier '{art.tier}' in the catalog")
    if art.metric != slo.metric:
        problem(WRONG_METRIC, f"{name} measured {art.metric}; the SLO metric is {slo.metric}")
    if art.eval_set.path != slo.eval_set:
        problem(EVAL_SET, f"{name} ran on {art.eval_set.path}; the SLO's eval set is {slo.eval_set}")
    elif claim.set_version is not None and art.eval_set.sha256 != claim.set_version:
        problem(EVAL_SET, f"{name} ran on another version of {slo.eval_set} than {claim.set_word} one (sha256 differs); "
                          "re-run the eval on it and link the new artifact")
    if art.samples < slo.min_samples:
        problem(TOO_FEW_SAMPLES, f"{name} has {art.samples} samples; the SLO needs at least {slo.min_samples}")
    _age(claim, name, art.run_at, problem)
    meets = art.score >= slo.threshold
    if claim.role == "passing" and not meets:
        problem(PASSING_MISSES, f"{name} scored {art.score:g} {art.metric}, below the SLO threshold {slo.threshold:g}")
    if claim.role == "failing" and meets:
        problem(FAILING_MEETS, f"{name} scored {art.score:g}, which meets the SLO threshold {slo.threshold:g}: "
                               f"tier '{art.tier}' passes, so it is not failing evidence")
    if claim.role == "failing":
        _failing(claim, info, history, problem)
    if claim.role == "failing" and claim.strict and not meets:
        _conclusive(claim, info, problem)
    return out


def _failing(claim: Claim, info: ArtifactInfo, history: Iterable[ArtifactInfo], problem: Sink) -> None:
    """Failing evidence proves a tier fails only on the model routers call, and only if no later run disagrees."""
    art = info.artifact
    assert art is not None
    tier = claim.catalog.tier(art.tier)
    if tier is not None and art.model in tier.model_ids() and art.model != tier.models[0].id:
        problem(NOT_PRIMARY, f"{info.path} ran on {art.model}, but tier '{art.tier}' routes to its primary model {tier.models[0].id} "
                             "first: failing evidence must come from the primary model")
    for other in history:
        later = other.artifact
        if (later is None or other.path == info.path or later.run_at <= art.run_at or later.metric != art.metric
                or later.eval_set.path != art.eval_set.path or later.eval_set.sha256 != art.eval_set.sha256):
            continue
        if later.score >= claim.slo.threshold:
            problem(CONTRADICTED, f"{info.path} is contradicted by the newer {other.path} (same task, tier, model and eval set), "
                                  f"which scored {later.score:g} and meets the threshold {claim.slo.threshold:g}: link the latest run")
            return


def _tiers(tiers: tuple[str, ...]) -> str:
    return "tier " + " or ".join(f"'{t}'" for t in tiers) if tiers else "a tier below the authorized one"


def _age(claim: Claim, name: str, run_at: dt.datetime, problem: Sink) -> None:
    if run_at > claim.now:
        problem(FUTURE, f"{name} claims a run at {run_at.isoformat()}, which is in the future")
        return
    age = (claim.now - run_at).days
    limit = claim.catalog.defaults.max_evidence_age_days
    if age > limit:
        problem(STALE, f"{name} is {age} days old (limit {limit}); re-run the eval and link the new artifact")


def _conclusive(claim: Claim, info: ArtifactInfo, problem: Sink) -> None:
    score = info.score
    assert score is not None
    confidence, threshold = claim.catalog.defaults.confidence_level, claim.slo.threshold
    bound = upper_bound(claim.slo.metric, score, score.total, confidence)
    if bound < threshold:
        return
    needed = samples_needed(claim.slo.metric, score, threshold, confidence)
    more = f"about {needed} samples at this score would settle it" if needed else "no sample size would settle it at this score"
    problem(INCONCLUSIVE, f"{info.path} scored {score.value:g} on {score.total} samples, but its {confidence:.0%} upper bound "
                          f"{bound:.4f} reaches the threshold {threshold:g}: the failure is within noise; {more}")


def valid(problems: list[Problem]) -> bool:
    return not any(p.blocking for p in problems)

