"""The cost model's token warning: a contract's token estimates against what the latest passing run measured.

``avg_input_tokens`` and ``avg_output_tokens`` drive every cost figure; a run of ``eval run`` (or
an import) measures them. The figures are recomputed from the run's records (pinned by hash), never
read from what the artifact states, and the run must be valid passing evidence for the contract's
tier as it stands (``evidence.judge``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Iterator, Optional

from tiergate.evidence.judge import Claim, judge, valid
from tiergate.evidence.record import measure
from tiergate.evidence.store import ArtifactInfo
from tiergate.findings import Finding, Rule, finding
from tiergate.layout import EVALS, is_artifact
from tiergate.loading import MAX_JSONL_BYTES, MAX_YAML_BYTES, LoadError, parse_jsonl
from tiergate.models import Contract
from tiergate.policy import Policy

TOKEN_DRIFT = Rule("TG322", "token-estimate-drift", "warning",
                   "A contract's avg_input_tokens or avg_output_tokens is more than 25% off what its latest passing run measured.")
RULES = (TOKEN_DRIFT,)
TOLERANCE = Decimal("0.25")


def latest_passing(policy: Policy, contract: Contract, now: dt.datetime) -> Optional[ArtifactInfo]:
    """The newest run of the task on its own tier that is valid passing evidence and carries per-call figures."""
    catalog = policy.catalog
    assert catalog is not None
    claim: Optional[Claim] = None  # made on the first candidate: it hashes the eval set, which most tasks never need here
    best: Optional[ArtifactInfo] = None
    for path in policy.tree.files(f"{EVALS}/{contract.task}"):
        if not is_artifact(path) or not _may_measure(policy, path):
            continue
        header = policy.evidence.resolve(path, verify=False).artifact
        if header is None or header.tier != contract.tier or header.measured is None:
            continue
        if best is not None and best.artifact is not None and header.run_at <= best.artifact.run_at:
            continue
        if claim is None:
            claim = Claim(contract.task, "passing", (contract.tier,), contract.slo, catalog, now,
                          policy.evidence.set_version(contract.slo.eval_set))
        info = policy.evidence.artifact(path)
        if info.intact and info.artifact is not None and valid(judge(info, claim)):
            best = info
    return best


def _may_measure(policy: Policy, path: str) -> bool:
    """A byte prefilter: only an artifact whose text holds ``measured`` can state per-call figures, so the
    others (most of a large repository's) are never parsed here. An unreadable one is left to the store."""
    try:
        return b"measured" in policy.tree.read(path, MAX_YAML_BYTES)
    except LoadError:
        return True


def check(policy: Policy, now: dt.datetime, only: Optional[str] = None) -> Iterator[Finding]:
    if policy.catalog is None:
        return
    for contract, doc in policy.valid_contracts():
        if only not in (None, contract.task):
            continue
        info = latest_passing(policy, contract, now)
        if info is None or info.artifact is None:
            continue
        try:
            figures = measure(parse_jsonl(policy.tree.read(info.artifact.records.path, MAX_JSONL_BYTES)))
        except LoadError:
            continue
        if figures is None:
            continue
        for name in ("avg_input_tokens", "avg_output_tokens"):
            stated, measured = Decimal(getattr(contract.cost, name)), Decimal(str(figures[name]))
            if measured == 0 and stated == 0:
                continue
            if measured == 0 or abs(stated - measured) / measured > TOLERANCE:
                yield finding(TOKEN_DRIFT, doc.path, doc.line("cost", name),
                              f"cost.{name} is {stated}, but the latest passing run {info.path} measured {measured} on average "
                              f"(more than {TOLERANCE:.0%} off): update the estimate, the cost figures follow from it")
