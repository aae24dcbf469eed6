"""The quarterly review: which assignments are due for re-evaluation, and why.

Due dates come from the policy (last review, cadence, catalog revisions, evidence age), never
from when a job happened to run, so a late or repeated scheduled run gives the same answer.
The point of a review is to find downgrades as much as upgrades, so every item also names the
cheaper tier worth re-testing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from tiergate.evidence.judge import STALE, Claim, judge
from tiergate.loading import LoadError
from tiergate.models import Catalog, Contract
from tiergate.policy import Policy

if TYPE_CHECKING:
    from tiergate.review.spend import Spend
    from tiergate.audit.result import AuditResult


@dataclass(frozen=True)
class DueItem:
    contract: Contract
    path: str
    reasons: tuple[str, ...]
    cheaper: Optional[str]  # the next lower tier, worth re-testing for a downgrade

    @property
    def task(self) -> str:
        return self.contract.task

    @property
    def slo(self) -> str:
        slo = self.contract.slo
        return f"{slo.metric} >= {slo.threshold:g}"


@dataclass(frozen=True)
class DueView:
    """What ``tiergate review due`` shows: the due items out of ``total`` contracts, as of a day; for the review
    issue also the money (spend by tier, downgrade candidates)."""

    items: list[DueItem]
    total: int
    as_of: dt.date
    spend: "Optional[Spend]" = None
    observed: Optional["AuditResult"] = None  # production over the review's window (review ... --audit SOURCE)


def quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def cadence(catalog: Catalog, contract: Contract) -> int:
    return contract.review_cadence_days or catalog.defaults.review_cadence_days


def reasons(policy: Policy, contract: Contract, as_of: dt.date) -> list[str]:
    """Every reason ``contract`` is due on ``as_of``; empty when it is not."""
    catalog = policy.catalog
    assert catalog is not None
    out: list[str] = []
    reviewed = contract.reviewed
    if reviewed is None:
        out.append("never reviewed")
    else:
        due = reviewed + dt.timedelta(days=cadence(catalog, contract))
        if due <= as_of:
            out.append(f"review was due {due.isoformat()} (every {cadence(catalog, contract)} days)")
        out.extend(_revised_tiers(catalog, contract, reviewed))
    out.extend(_evidence(policy, contract, as_of))
    return out


def _revised_tiers(catalog: Catalog, contract: Contract, reviewed: dt.date) -> list[str]:
    rank, ceiling = catalog.rank(contract.tier), catalog.rank(contract.ceiling)
    if rank is None or ceiling is None:
        return []
    return [f"tier '{tier.id}' revised {tier.revised.isoformat()}, after the last review"
            for tier in catalog.tiers[rank : max(rank, ceiling) + 1] if tier.revised > reviewed]


def _evidence(policy: Policy, contract: Contract, as_of: dt.date) -> list[str]:
    catalog = policy.catalog
    assert catalog is not None
    passing = contract.evidence.passing
    if passing is None:
        return ["no passing evidence"]
    try:
        info = policy.evidence.resolve(passing)
    except LoadError:
        info = None
    if info is None or not info.intact or info.artifact is None:
        return [f"passing evidence {passing} is missing or unusable (see `tiergate validate`)"]
    end_of_day = dt.datetime.combine(as_of, dt.time(23, 59, 59), tzinfo=dt.timezone.utc)
    version = policy.evidence.set_version(contract.slo.eval_set)
    problems = judge(info, Claim(contract.task, "passing", (contract.tier,), contract.slo, catalog, end_of_day, version))
    if any(p.rule is STALE for p in problems):
        limit = catalog.defaults.max_evidence_age_days
        return [f"passing evidence from {info.artifact.run_at.date().isoformat()} is older than {limit} days"]
    if any(p.blocking for p in problems):
        return [f"passing evidence {passing} does not back tier '{contract.tier}' (see `tiergate validate`)"]
    return []


def due_list(policy: Policy, as_of: dt.date) -> list[DueItem]:
    """Due assignments, grouped by owner then task, for contracts that load and name known tiers."""
    catalog = policy.catalog
    assert catalog is not None
    out = []
    for contract, doc in policy.valid_contracts():
        rank = catalog.rank(contract.tier)
        if rank is None:
            continue  # validate reports the unknown tier
        why = reasons(policy, contract, as_of)
        if why:
            out.append(DueItem(contract, doc.path, tuple(why), catalog.tiers[rank - 1].id if rank > 0 else None))
    return sorted(out, key=lambda item: (item.contract.owner.lower(), item.task))


def due_view(policy: Policy, as_of: dt.date, with_spend: bool = False, observed: Optional["AuditResult"] = None) -> DueView:
    """The due list; ``with_spend`` also prices every contract (the issue's charts), which the due list alone skips;
    ``observed`` is production's side (review ... --audit SOURCE)."""
    items = due_list(policy, as_of)
    if not with_spend:
        return DueView(items, len(policy.valid_contracts()), as_of, observed=observed)
    from tiergate.review.spend import spend  # it imports this module

    return DueView(items, len(policy.valid_contracts()), as_of, spend(policy, items, as_of), observed)
