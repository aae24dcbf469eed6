"""The cost model: what a task costs per call, per successful request and per month.

Per-token price is an input, not the cost. A call on a cheap tier also pays for its
escalations, its retries, the people who review it and the damage its visible failures do, and
those terms are what a budget cut on token prices never sees. Everything here is computed in
``Decimal``: prices enter through their decimal literal (``0.1`` stays one tenth), per-million
prices divide exactly, and nothing is rounded until it is printed.

Assumptions, stated once (the README repeats them):
- the direct cost of a tier is that of its primary (first) model;
- an escalated call goes to the next tier and may escalate again at the same rate, up to the
  ceiling; a cascade pays for every call it makes;
- a retry re-sends the call on the authorized tier;
- human review and trust damage are properties of the task as deployed, the same whichever
  tier at or above the authorized one serves it;
- a successful request is one without a user-visible failure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Callable, Optional

from tiergate.evidence.judge import Claim, judge, valid
from tiergate.findings import Finding
from tiergate.loading import LoadError
from tiergate.models import Catalog, Contract, Cost, ModelEntry, chain_ranks
from tiergate.policy import Policy

ZERO = Decimal(0)
ONE = Decimal(1)
MILLION = Decimal(1_000_000)
BISECTION_STEPS = 64  # 2**-64: far below any rate anyone types
RATE_QUANTUM = Decimal("0.000001")


def dec(value: float | int) -> Decimal:
    """The decimal a YAML number was written as: ``str`` gives the shortest round-trip literal."""
    return Decimal(str(value))


def per_token(per_million: float) -> Decimal:
    return dec(per_million) / MILLION


def call_cost(model: ModelEntry, input_tokens: int, output_tokens: int) -> Decimal:
    """Direct cost of one call: input and output (thinking included) at the model's prices."""
    return input_tokens * per_token(model.input_per_mtok) + output_tokens * per_token(model.output_per_mtok)


@dataclass(frozen=True)
class Terms:
    """The four cost terms of one call (escalation and retry split); None means not estimated."""

    direct: Decimal
    escalation: Optional[Decimal]
    retry: Optional[Decimal]
    human_review: Optional[Decimal]
    trust_damage: Optional[Decimal]

    def items(self) -> list[tuple[str, Optional[Decimal]]]:
        return [("direct", self.direct), ("escalation", self.escalation), ("retry", self.retry),
                ("human_review", self.human_review), ("trust_damage", self.trust_damage)]

    @property
    def all_in(self) -> Decimal:
        return sum((v for _, v in self.items() if v is not None), ZERO)

    @property
    def failure(self) -> Decimal:
        """What failures cost: retries, human review and trust damage."""
        return sum((v for v in (self.retry, self.human_review, self.trust_damage) if v is not None), ZERO)


@dataclass(frozen=True)
class Cascade:
    """The cascade against routing straight to the ceiling; break_even None: the cascade always pays."""

    ceiling: str
    cascade: Decimal
    straight: Decimal
    rate: Optional[Decimal]
    break_even: Optional[Decimal]

    @property
    def loses(self) -> bool:
        return self.rate is not None and self.break_even is not None and self.rate >= self.break_even


@dataclass(frozen=True)
class Miss:
    """Misses measured on the lowest tier by a failing artifact, recomputed from its records."""

    misses: int
    total: int
    artifact: str

    @property
    def rate(self) -> Decimal:
        return Decimal(self.misses) / Decimal(self.total)


@dataclass(frozen=True)
class TaskCost:
    contract: Contract
    direct_by_tier: dict[str, Decimal]
    terms: Terms
    success_rate: Decimal
    cascade: Optional[Cascade]
    on_top: Decimal
    on_lowest: Decimal
    lowest_miss: Optional[Miss]
    not_estimated: tuple[str, ...]

    @property
    def per_success(self) -> Optional[Decimal]:
        return None if self.success_rate == 0 else self.terms.all_in / self.success_rate

    @property
    def monthly(self) -> Decimal:
        return self.terms.all_in * self.contract.cost.monthly_volume


def call_terms(catalog: Catalog, contract: Contract) -> tuple[list[Decimal], Terms]:
    """The direct cost of one call on every tier, and the contract's cost terms per call: the model itself,
    without the counterfactuals (``price`` adds those; the cost diff of ``check`` needs only this)."""
    cost = contract.cost
    ranks = chain_ranks(catalog, contract)
    assert ranks is not None, "call_terms() needs a contract that passed TG105/TG106"
    rank, ceiling = ranks
    direct = [call_cost(t.models[0], cost.avg_input_tokens, cost.avg_output_tokens) for t in catalog.tiers]
    rate = None if cost.escalation_rate is None else dec(cost.escalation_rate)
    retry = None if cost.retry_rate is None else dec(cost.retry_rate)
    review = None if cost.human_review is None else dec(cost.human_review.rate) * dec(cost.human_review.cost_per_review)
    damage = None if cost.trust_damage is None else dec(cost.trust_damage.failure_rate) * dec(cost.trust_damage.loss_per_failure)
    chain = direct[rank + 1 : ceiling + 1]
    escalation = ZERO if not chain else None if rate is None else rate * _chain(chain, rate)
    return direct, Terms(direct[rank], escalation, None if retry is None else retry * direct[rank], review, damage)


def price(catalog: Catalog, contract: Contract, lowest_miss: Optional[Miss] = None) -> TaskCost:
    """Cost one contract; its tier and ceiling must exist in the catalog, ceiling at or above the tier."""
    cost = contract.cost
    direct, terms = call_terms(catalog, contract)
    rank, ceiling = chain_ranks(catalog, contract) or (0, 0)
    rate = None if cost.escalation_rate is None else dec(cost.escalation_rate)
    retry = None if cost.retry_rate is None else dec(cost.retry_rate)
    review, damage = terms.human_review, terms.trust_damage
    chain = direct[rank + 1 : ceiling + 1]
    fixed = (review or ZERO) + (damage or ZERO)
    retry_factor = ONE + (retry or ZERO)
    missing = tuple(name for name, value in terms.items() if value is None)
    top, low = direct[-1], direct[0]
    return TaskCost(
        contract=contract,
        direct_by_tier={t.id: d for t, d in zip(catalog.tiers, direct)},
        terms=terms,
        success_rate=ONE - (dec(cost.trust_damage.failure_rate) if cost.trust_damage else ZERO),
        cascade=_cascade(catalog.tiers[ceiling].id, direct[rank], chain, rate, retry_factor, fixed, terms) if chain else None,
        on_top=terms.all_in if rank == len(direct) - 1 else retry_factor * top + fixed,
        on_lowest=terms.all_in if rank == 0 else retry_factor * low + (review or ZERO) + _lowest_damage(cost, lowest_miss, damage),
        lowest_miss=lowest_miss,
        not_estimated=missing,
    )


def _chain(steps: list[Decimal], rate: Decimal) -> Decimal:
    """Expected cost of an escalated call: the next tier, plus its own escalations up the chain."""
    total = ZERO
    for step in reversed(steps):
        total = step + rate * total
    return total


def _cascade(ceiling: str, first: Decimal, chain: list[Decimal], rate: Optional[Decimal], retry_factor: Decimal,
             fixed: Decimal, terms: Terms) -> Cascade:
    straight = retry_factor * chain[-1] + fixed

    def excess(e: Decimal) -> Decimal:
        """Cascade minus straight at escalation rate e; rises with e, so one root at most."""
        return retry_factor * first + e * _chain(chain, e) - retry_factor * chain[-1]

    return Cascade(ceiling, terms.all_in, straight, rate, _root(excess))


def _root(excess: Callable[[Decimal], Decimal]) -> Optional[Decimal]:
    """The escalation rate where the cascade starts to lose: 0 if it never pays, None if it always does."""
    if excess(ZERO) >= 0:
        return ZERO
    if excess(ONE) < 0:
        return None
    low, high = ZERO, ONE
    for _ in range(BISECTION_STEPS):
        mid = (low + high) / 2
        low, high = (mid, high) if excess(mid) < 0 else (low, mid)
    return high.quantize(RATE_QUANTUM)


def _lowest_damage(cost: Cost, miss: Optional[Miss], damage: Optional[Decimal]) -> Decimal:
    """Trust damage on the lowest tier: its measured misses, each a visible failure, when both are known."""
    if miss is None or cost.trust_damage is None:
        return damage or ZERO
    return miss.rate * dec(cost.trust_damage.loss_per_failure)


# --- gathering ------------------------------------------------------------------------


def lowest_tier_miss(policy: Policy, contract: Contract, now: dt.datetime) -> Optional[Miss]:
    """The newest valid failing artifact of the lowest tier, with the misses counted when it was verified."""
    catalog = policy.catalog
    if catalog is None or catalog.rank(contract.tier) in (None, 0):
        return None
    lowest = catalog.tiers[0].id
    claim = Claim(contract.task, "failing", (lowest,), contract.slo, catalog, now, policy.evidence.set_version(contract.slo.eval_set))
    best: Optional[tuple[dt.datetime, Miss]] = None
    for ref in contract.evidence.failing:
        try:
            header = policy.evidence.resolve(ref, verify=False).artifact  # only the lowest tier's run is needed
            if header is None or header.tier != lowest:
                continue
            info = policy.evidence.resolve(ref)
        except LoadError:
            continue
        art, score = info.artifact, info.score
        if not info.intact or art is None or score is None:
            continue
        if not valid(judge(info, claim, policy.evidence.runs(art.task, art.tier, art.model))):
            continue
        if best is None or art.run_at > best[0]:
            best = (art.run_at, Miss(score.misses(contract.slo.threshold), score.total, info.path))
    return None if best is None else best[1]


@dataclass
class Totals:
    """Monthly spend of a group of tasks as assigned, all on the top tier, all on the lowest tier."""

    actual: Decimal = ZERO
    top: Decimal = ZERO
    lowest: Decimal = ZERO
    tasks: int = 0

    def add(self, item: TaskCost) -> None:
        volume = item.contract.cost.monthly_volume
        self.actual += item.monthly
        self.top += item.on_top * volume
        self.lowest += item.on_lowest * volume
        self.tasks += 1


@dataclass
class CostReport:
    tiers: list[str]
    tasks: list[TaskCost]
    by_class: dict[str, Totals] = field(default_factory=dict)
    overall: Totals = field(default_factory=Totals)


def build(policy: Policy, now: dt.datetime, only: Optional[str] = None) -> CostReport:
    """Cost every contract (or task ``only``) that loads and names known tiers; the rest are validate's business."""
    catalog = policy.catalog
    assert catalog is not None
    report = CostReport([t.id for t in catalog.tiers], [])
    for contract, _ in sorted(policy.valid_contracts(), key=lambda pair: pair[0].task):
        if chain_ranks(catalog, contract) is None or only not in (None, contract.task):
            continue
        item = price(catalog, contract, lowest_tier_miss(policy, contract, now))
        report.tasks.append(item)
        report.by_class.setdefault(contract.task_class, Totals()).add(item)
        report.overall.add(item)
    return report


def by_tier(report: CostReport) -> dict[str, Totals]:
    """Monthly spend grouped by the tier each task is on: every catalog tier, cheapest first, empty ones too."""
    out = {tier: Totals() for tier in report.tiers}
    for item in report.tasks:
        out[item.contract.tier].add(item)
    return out


@dataclass(frozen=True)
class CostView:
    """What ``tiergate cost`` shows: the computed report, its findings, and whether to break each task down."""

    report: CostReport
    findings: list[Finding]
    detail: bool


# --- printing: the only place money is rounded ---------------------------------------------

CALL_QUANTUM = Decimal("0.00000001")
CENT = Decimal("0.01")
PLAIN_QUANTUM = Decimal("1e-12")
# Room for the largest month the models allow (10^12 calls of 10^9 tokens at $10,000 per million, about 10^21
# dollars) with 12 decimals: the default 28 digits would make quantize fail on it.
WIDE = Context(prec=60)


def per_call(amount: Decimal) -> str:
    """A per-call amount to the hundred-millionth of a dollar, trailing zeros dropped: $0.000018."""
    text = format(abs(amount).quantize(CALL_QUANTUM, rounding=ROUND_HALF_UP), "f").rstrip("0")
    whole, _, cents = text.partition(".")
    return f"{'-' if amount < 0 else ''}${whole}.{cents.ljust(2, '0')}"


def monthly(amount: Decimal) -> str:
    """A monthly amount in cents with thousands separators: $1,350.00."""
    return f"{'-' if amount < 0 else ''}${abs(amount).quantize(CENT, rounding=ROUND_HALF_UP):,}"


def signed(amount: Decimal) -> str:
    """A monthly change with its sign, in cents: +$12.50, -$3.00, and $0.00 for what rounds to nothing."""
    text = monthly(abs(amount))
    return "$0.00" if text == "$0.00" else f"{'-' if amount < 0 else '+'}{text}"


def percent(share: Decimal, places: int = 1) -> str:
    return f"{(share * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)}%"


def plain(amount: Decimal) -> str:
    """Exact to 1e-12 (quotients such as cost per success do not terminate), never in exponent form:
    for JSON, where money travels as strings."""
    text = format(amount.quantize(PLAIN_QUANTUM, rounding=ROUND_HALF_UP, context=WIDE), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
