"""Proof rules: each linked artifact must back the claim it is linked for, at rest.

A passing artifact justifies the authorized tier; failing artifacts justify each step above
the lowest tier (burden-of-proof inversion). Whether one artifact backs one claim is
``evidence.judge``'s decision; this family only states the claims and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Optional

from tiergate.evidence.judge import Claim, Role, judge
from tiergate.findings import Finding, Rule, finding
from tiergate.loading import MISSING, Document, LoadError
from tiergate.models import Catalog, Contract
from tiergate.rules.context import Context
from tiergate.schema_errors import SCHEMA

EVIDENCE_MISSING = Rule("TG301", "evidence-missing", "error", "A linked artifact does not exist, or no passing artifact is linked.")
UPGRADE_WITHOUT_FAILING = Rule("TG401", "upgrade-without-failing-evidence", "error",
                               "A contract above the lowest tier lacks a failing artifact for a tier below its own.")
RULES = (EVIDENCE_MISSING, UPGRADE_WITHOUT_FAILING)


@dataclass(frozen=True)
class Link:
    """One evidence reference inside a contract and where it is written."""

    ref: str
    role: Role
    where: tuple[Any, ...]  # its place in the document; the line is looked up only for a finding

    def line(self, doc: Document) -> int:
        return doc.line(*self.where)


def links(contract: Contract, doc: Document) -> list[Link]:
    out = []
    if contract.evidence.passing is not None:
        out.append(Link(contract.evidence.passing, "passing", ("evidence", "passing")))
    for i, ref in enumerate(contract.evidence.failing):
        out.append(Link(ref, "failing", ("evidence", "failing", i)))
    return out


def check(ctx: Context) -> Iterator[Finding]:
    catalog = ctx.policy.catalog
    if catalog is None:
        return
    for contract, doc in ctx.policy.valid_contracts():
        if catalog.rank(contract.tier) is not None:
            yield from _contract(ctx, catalog, contract, doc)


def _contract(ctx: Context, catalog: Catalog, contract: Contract, doc: Document) -> Iterator[Finding]:
    rank = catalog.rank(contract.tier)
    assert rank is not None
    below = tuple(t.id for t in catalog.tiers[:rank])
    if contract.evidence.passing is None:
        yield finding(EVIDENCE_MISSING, doc.path, doc.line("evidence"),
                      f"no passing artifact linked for tier '{contract.tier}'; run the eval, `tiergate eval record`, and set evidence.passing")
    proven_below: set[str] = set()
    version = ctx.policy.evidence.set_version(contract.slo.eval_set)
    for link in links(contract, doc):
        tiers = (contract.tier,) if link.role == "passing" else below
        word = f"the authorized tier '{contract.tier}'" if link.role == "passing" else f"a tier below '{contract.tier}'"
        claim = Claim(contract.task, link.role, tiers, contract.slo, catalog, ctx.now, version, tier_word=word)
        problems, proven = _link(ctx, claim, doc, link)
        yield from problems
        if link.role == "failing" and proven is not None and not any(p.severity == "error" for p in problems):
            proven_below.add(proven)
    for tier_id in below:
        if tier_id not in proven_below:
            yield finding(UPGRADE_WITHOUT_FAILING, doc.path, doc.line("tier"),
                          f"tier '{contract.tier}' is above '{tier_id}' but no valid failing artifact of '{tier_id}' is linked; "
                          f"the default is the smallest tier: link an eval that shows '{tier_id}' misses the SLO")


def _link(ctx: Context, claim: Claim, doc: Document, link: Link) -> tuple[list[Finding], Optional[str]]:
    """The findings on one link, and the tier it is evidence for when the artifact is intact."""
    try:
        info = ctx.policy.evidence.resolve(link.ref)
    except LoadError as err:
        if err.rule is MISSING:
            return [finding(EVIDENCE_MISSING, doc.path, link.line(doc), f"{link.role} {err.message}")], None
        return [finding(err.rule, doc.path, link.line(doc), err.message)], None
    if not info.intact or info.artifact is None:
        broken = [f for f in info.findings if f.severity == "error"]
        first = broken[0] if broken else None
        return [finding(first.rule if first else SCHEMA, doc.path, link.line(doc),
                        f"{link.role} artifact {info.path} is not valid: {first.message if first else 'unreadable'}")], None
    art = info.artifact
    history = ctx.policy.evidence.runs(art.task, art.tier, art.model)
    return [finding(p.rule, doc.path, link.line(doc), p.message) for p in judge(info, claim, history)], art.tier
