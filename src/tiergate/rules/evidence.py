"""Evidence rules: each linked artifact must back the claim it is linked for.

A passing artifact justifies the authorized tier; failing artifacts justify each step above
the lowest tier (burden-of-proof inversion, checked at rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Literal, Optional

from tiergate.evidence import EVALS, ArtifactInfo
from tiergate.findings import Finding, finding
from tiergate.loading import Document, LoadError, check_ref
from tiergate.models import Catalog, Contract
from tiergate.rules.context import Context

Role = Literal["passing", "failing"]


@dataclass
class Link:
    """One evidence reference inside a contract and where it is written."""

    ref: str
    role: Role
    line: int
    info: Optional[ArtifactInfo] = None


def check(ctx: Context) -> Iterator[Finding]:
    catalog = ctx.policy.catalog
    if catalog is None:
        return
    for contract, doc in ctx.policy.valid_contracts():
        if catalog.rank(contract.tier) is None:
            continue
        yield from check_contract(ctx, catalog, contract, doc)


def links(contract: Contract, doc: Document) -> list[Link]:
    out = []
    if contract.evidence.passing is not None:
        out.append(Link(contract.evidence.passing, "passing", doc.line("evidence", "passing")))
    for i, ref in enumerate(contract.evidence.failing):
        out.append(Link(ref, "failing", doc.line("evidence", "failing", i)))
    return out


def check_contract(ctx: Context, catalog: Catalog, contract: Contract, doc: Document) -> Iterator[Finding]:
    rank = catalog.rank(contract.tier)
    assert rank is not None
    proven_below: set[str] = set()
    if contract.evidence.passing is None:
        yield finding("TG301", doc.path, doc.line("evidence"),
                      f"no passing artifact linked for tier '{contract.tier}'; run the eval, `tiergate eval record`, and set evidence.passing")
    for link in links(contract, doc):
        problems = list(_link_problems(ctx, catalog, contract, doc, link))
        yield from problems
        if link.role == "failing" and link.info and link.info.artifact and not any(p.severity == "error" for p in problems):
            proven_below.add(link.info.artifact.tier)
    for tier in catalog.tiers[:rank]:
        if tier.id not in proven_below:
            yield finding("TG401", doc.path, doc.line("tier"),
                          f"tier '{contract.tier}' is above '{tier.id}' but no valid failing artifact of '{tier.id}' is linked; "
                          f"the default is the smallest tier: link an eval that shows '{tier.id}' misses the SLO")


def _link_problems(ctx: Context, catalog: Catalog, contract: Contract, doc: Document, link: Link) -> Iterator[Finding]:
    where = doc.path, link.line
    try:
        path = check_ref(link.ref, EVALS)
    except LoadError as err:
        yield finding(err.rule, *where, err.message)
        return
    if not ctx.policy.tree.exists(path):
        yield finding("TG301", *where, f"{link.role} artifact {path} does not exist; check the path or record the run")
        return
    link.info = info = ctx.policy.evidence.artifact(path)
    broken = [f for f in info.findings if f.severity == "error"]
    if info.artifact is None or broken:
        first = broken[0] if broken else None
        rule = first.rule if first else "TG101"
        yield finding(rule, *where, f"{link.role} artifact {path} is not valid: {first.message if first else 'unreadable'}")
        return
    yield from _claims(ctx, catalog, contract, link, where)


def _claims(ctx: Context, catalog: Catalog, contract: Contract, link: Link, where: tuple[str, int]) -> Iterator[Finding]:
    assert link.info is not None and link.info.artifact is not None and link.info.score is not None
    art, name = link.info.artifact, link.info.path
    slo = contract.slo
    if art.task != contract.task:
        yield finding("TG302", *where, f"{name} is evidence for task '{art.task}', not '{contract.task}'")
    yield from _tier_claim(catalog, contract, link, where)
    if art.metric != slo.metric:
        yield finding("TG304", *where, f"{name} measured {art.metric}; the SLO metric is {slo.metric}")
    if art.eval_set.path != slo.eval_set:
        yield finding("TG313", *where, f"{name} ran on {art.eval_set.path}; the SLO's eval set is {slo.eval_set}")
    if art.samples < slo.min_samples:
        yield finding("TG306", *where, f"{name} has {art.samples} samples; the SLO needs at least {slo.min_samples}")
    yield from _age(ctx, catalog, link, where)
    meets = art.score >= slo.threshold
    if link.role == "passing" and not meets:
        yield finding("TG309", *where, f"{name} scored {art.score:g} {art.metric}, below the SLO threshold {slo.threshold:g}; it cannot justify tier '{contract.tier}'")
    if link.role == "failing" and meets:
        yield finding("TG310", *where, f"{name} scored {art.score:g}, which meets the SLO threshold {slo.threshold:g}: tier '{art.tier}' passes, so it is not failing evidence")


def _tier_claim(catalog: Catalog, contract: Contract, link: Link, where: tuple[str, int]) -> Iterator[Finding]:
    assert link.info is not None and link.info.artifact is not None
    art, name = link.info.artifact, link.info.path
    tier = catalog.tier(art.tier)
    rank, own = catalog.rank(art.tier), catalog.rank(contract.tier)
    if link.role == "passing" and art.tier != contract.tier:
        yield finding("TG303", *where, f"{name} is for tier '{art.tier}'; the passing artifact must be for the authorized tier '{contract.tier}'")
    if link.role == "failing" and (rank is None or own is None or rank >= own):
        yield finding("TG303", *where, f"{name} is for tier '{art.tier}'; failing artifacts must be for tiers below '{contract.tier}'")
    if tier is not None and art.model not in tier.model_ids():
        yield finding("TG305", *where, f"{name} ran on {art.model}, which is not a model of tier '{art.tier}' in the catalog")


def _age(ctx: Context, catalog: Catalog, link: Link, where: tuple[str, int]) -> Iterator[Finding]:
    assert link.info is not None and link.info.artifact is not None
    run_at = link.info.artifact.run_at
    if run_at > ctx.now:
        yield finding("TG311", *where, f"{link.info.path} claims a run at {run_at.isoformat()}, which is in the future")
        return
    age = (ctx.now - run_at).days
    limit = catalog.defaults.max_evidence_age_days
    if age > limit:
        yield finding("TG312", *where, f"{link.info.path} is {age} days old (limit {limit}); re-run the eval and link the new artifact")
