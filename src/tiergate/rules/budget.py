"""Budget rules: a high-impact task with no way up, a cascade past its break-even, budget
inversion by cost, a stale cost note.

The cost rules are warnings: cost is an owner's judgement call, but one the owner should make
with the numbers in front of them. Budget inversion compares two tasks, so during ``check``
(which loads only the contracts a change touches) the context's ``peers`` supply, parsed
without their evidence, only the contracts that could be the other side of an inversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator

from tiergate.cost import TaskCost, per_call, percent, price
from tiergate.findings import Finding, Rule, finding
from tiergate.loading import Document
from tiergate.models import Catalog, Contract, chain_ranks
from tiergate.rules.context import Context

BUDGET_INVERSION = Rule("TG601", "budget-inversion", "error", "A high-impact task sits on the lowest tier with no escalation path.")
PAST_BREAK_EVEN = Rule("TG602", "cascade-past-break-even", "warning",
                       "The escalation rate is at or above the break-even rate: routing straight to the ceiling is cheaper.")
INVERSION_COST = Rule("TG603", "budget-inversion-cost", "warning",
                      "A high-impact task's all-in cost is mostly failure cost on a cheap tier while a low-impact task sits on the top tier.")
NOTE_DRIFT = Rule("TG604", "cost-note-drift", "warning",
                  "The contract's stated per-call cost differs from the computed all-in cost by more than 25%.")
RULES = (BUDGET_INVERSION, PAST_BREAK_EVEN, INVERSION_COST, NOTE_DRIFT)

NOTE_TOLERANCE = Decimal("0.25")
FAILURE_DOMINATES = Decimal("0.5")
NAMES_SHOWN = 3


@dataclass(frozen=True)
class Priced:
    cost: TaskCost
    doc: Document
    touched: bool


def check(ctx: Context) -> Iterator[Finding]:
    catalog = ctx.policy.catalog
    if catalog is None:
        return
    for contract, doc in ctx.policy.valid_contracts():
        if chain_ranks(catalog, contract) == (0, 0) and contract.impact == "high":
            yield finding(BUDGET_INVERSION, doc.path, doc.line("impact"),
                          f"high-impact task on the lowest tier '{contract.tier}' with no escalation: add an escalation to a higher "
                          "ceiling, or prove the impact is lower")
    touched = _priced(catalog, ctx.policy.valid_contracts(), touched=True)
    for item in touched:
        yield from _break_even(item)
        yield from _stated(item)
    yield from _inversions(catalog, touched, ctx)


def _priced(catalog: Catalog, contracts: list[tuple[Contract, Document]], touched: bool) -> list[Priced]:
    return [Priced(price(catalog, contract), doc, touched) for contract, doc in contracts if chain_ranks(catalog, contract)]


def _break_even(item: Priced) -> Iterator[Finding]:
    cascade = item.cost.cascade
    if cascade is None or not cascade.loses:
        return
    assert cascade.rate is not None and cascade.break_even is not None
    yield finding(PAST_BREAK_EVEN, item.doc.path, item.doc.line("cost", "escalation_rate"),
                  f"escalation rate {percent(cascade.rate)} is at or above the break-even rate {percent(cascade.break_even)}: "
                  f"route directly to {cascade.ceiling} ({per_call(cascade.straight)} per call all-in against "
                  f"{per_call(cascade.cascade)} for the cascade)")


def _stated(item: Priced) -> Iterator[Finding]:
    stated = item.cost.contract.cost.stated_per_call
    if stated is None:
        return
    computed = item.cost.terms.all_in
    claimed = Decimal(str(stated))
    if computed == claimed or (computed != 0 and abs(claimed - computed) / computed <= NOTE_TOLERANCE):
        return
    yield finding(NOTE_DRIFT, item.doc.path, item.doc.line("cost", "stated_per_call"),
                  f"stated cost {per_call(claimed)} per call differs from the computed all-in {per_call(computed)} by more than "
                  f"{percent(NOTE_TOLERANCE, 0)}; update stated_per_call and the note (see `tiergate cost --task {item.cost.contract.task}`)")


def _inverted(catalog: Catalog, item: Priced) -> bool:
    """High impact, below the top tier, and most of what it costs is failure."""
    cost = item.cost
    rank = catalog.rank(cost.contract.tier)
    all_in = cost.terms.all_in
    return (cost.contract.impact == "high" and rank is not None and rank < len(catalog.tiers) - 1
            and all_in > 0 and cost.terms.failure / all_in > FAILURE_DOMINATES)


def _idle_on_top(catalog: Catalog, item: Priced) -> bool:
    return item.cost.contract.impact == "low" and item.cost.contract.tier == catalog.tiers[-1].id


def _inversions(catalog: Catalog, touched: list[Priced], ctx: Context) -> Iterator[Finding]:
    if not any(_inverted(catalog, i) or _idle_on_top(catalog, i) for i in touched):
        return
    needles = [b"high"] if not any(_inverted(catalog, i) for i in touched) else [b"low", catalog.tiers[-1].id.encode()]
    everyone = touched + _priced(catalog, ctx.peers(needles), touched=False)
    highs = [i for i in everyone if _inverted(catalog, i)]
    lows = [i for i in everyone if _idle_on_top(catalog, i)]
    if not highs or not lows:
        return
    top = catalog.tiers[-1].id
    for high in highs:
        if high.touched:
            cost = high.cost
            yield finding(INVERSION_COST, high.doc.path, high.doc.line("impact"),
                          f"budget inversion: high-impact task '{cost.contract.task}' on '{cost.contract.tier}' spends "
                          f"{percent(cost.terms.failure / cost.terms.all_in, 0)} of its {per_call(cost.terms.all_in)} all-in cost "
                          f"per call on failures (retries, human review, trust damage) while low-impact {_names(lows)} on '{top}'; "
                          "move budget to where failures are expensive")
    if not any(h.touched for h in highs):
        for low in lows:
            if low.touched:
                yield finding(INVERSION_COST, low.doc.path, low.doc.line("impact"),
                              f"budget inversion: low-impact task '{low.cost.contract.task}' sits on '{top}' while high-impact "
                              f"{_names(highs)} on a cheaper tier spending most of its cost on failures; "
                              "move budget to where failures are expensive")


def _names(items: list[Priced]) -> str:
    names = sorted(f"'{i.cost.contract.task}'" for i in items)
    more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
    if len(names) == 1:
        return f"task {names[0]} sits"
    return f"tasks {', '.join(names[:NAMES_SHOWN])}{more} sit"

