"""What the review issue shows about money: monthly spend by tier, and which due tasks would save most one tier down.

The figures come from the cost model (``cost.build`` and ``cost.price``), so the issue and ``tiergate cost`` never
disagree. A downgrade candidate is a due task above the lowest tier; its saving is its monthly all-in cost now
minus the same contract priced on the cheaper tier the issue asks to re-test (same ceiling, same failure
assumptions: the re-test is what tells whether they hold).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from tiergate import cost
from tiergate.models import chain_ranks
from tiergate.policy import Policy
from tiergate.review.due import DueItem

MAX_CANDIDATES = 10


@dataclass(frozen=True)
class TierSpend:
    """One catalog tier: how many tasks are on it and what they cost a month, all-in."""

    tier: str
    tasks: int
    monthly: Decimal


@dataclass(frozen=True)
class Candidate:
    """A due task above the lowest tier, and what it would save a month on the cheaper tier."""

    task: str
    tier: str
    cheaper: str
    monthly: Decimal
    saving: Decimal


@dataclass(frozen=True)
class Spend:
    by_tier: list[TierSpend]  # every catalog tier, cheapest first
    candidates: list[Candidate]  # biggest saving first, at most MAX_CANDIDATES

    @property
    def total(self) -> Decimal:
        return sum((t.monthly for t in self.by_tier), cost.ZERO)


def spend(policy: Policy, items: list[DueItem], as_of: dt.date) -> Spend:
    """Spend by tier over every contract ``tiergate cost`` prices, and the due tasks that would save most."""
    catalog = policy.catalog
    assert catalog is not None
    now = dt.datetime.combine(as_of, dt.time(23, 59, 59), tzinfo=dt.timezone.utc)
    report = cost.build(policy, now)
    priced = {item.contract.task: item for item in report.tasks}
    candidates = []
    for due in items:
        item = priced.get(due.task)
        if item is None or due.cheaper is None:
            continue
        moved = item.contract.model_copy(update={"tier": due.cheaper})
        if chain_ranks(catalog, moved) is None:
            continue
        saving = item.monthly - cost.price(catalog, moved).monthly
        if saving > 0:
            candidates.append(Candidate(due.task, item.contract.tier, due.cheaper, item.monthly, saving))
    candidates.sort(key=lambda c: (-c.saving, c.task))
    by_tier = [TierSpend(tier, totals.tasks, totals.actual) for tier, totals in cost.by_tier(report).items()]
    return Spend(by_tier, candidates[:MAX_CANDIDATES])
