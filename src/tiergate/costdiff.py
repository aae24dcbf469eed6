"""What a change does to the monthly bill: the cost model on the merge base and on the head, task by task.

A reviewer approves what they can see. ``check`` already holds both sides of a change (the base
catalog and contracts from the merge-base commit, the head's from the working tree); this module
prices every task the change touches on each side with the one cost model (``cost.call_terms``)
and says, per task and in total, what the month costs before, after, and the difference, with the
reasons read off the change (tier, ceiling, volume, tokens, rates, the catalog's prices).

It also holds the two judgements the gate makes about money, so they are written once:
- which catalog tiers changed their models or prices (``revisions``), which the tier's
  ``revised`` date must follow;
- what the platform team's cost guard says about the change (``guard``). Increases are summed
  over the tasks that got dearer, so a decrease elsewhere cannot offset them and many small
  increases add up; both direct and all-in count, so a cut in an estimated term (trust damage)
  cannot hide a dearer model; and a task whose tier, ceiling or prices rose while its own
  assumptions (volume, tokens, rates) were cut is judged at the base assumptions too; and a task
  whose tier, ceiling or chain prices moved is judged with no model cheaper than on the base
  branch too (``floor_prices``), so a price cut, or a model moved into a tier at a made-up price,
  written into the same change (the pull request controls the head catalog) cannot shrink the increase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Optional

from tiergate.cost import ZERO, call_terms, dec, monthly
from tiergate.models import Catalog, Contract, CostGuard, HumanReview, ModelEntry, Tier, TrustDamage, chain_ranks

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Money:
    """A monthly amount, direct (the authorized tier's primary model) and all-in (every cost term)."""

    direct: Decimal = ZERO
    all_in: Decimal = ZERO

    def __add__(self, other: "Money") -> "Money":
        return Money(self.direct + other.direct, self.all_in + other.all_in)

    def __sub__(self, other: "Money") -> "Money":
        return Money(self.direct - other.direct, self.all_in - other.all_in)

    def rise(self) -> "Money":
        """Only what went up: a fall counts as zero."""
        return Money(max(self.direct, ZERO), max(self.all_in, ZERO))


@dataclass(frozen=True)
class Spend:
    """One task's month on one side of the change."""

    tier: str
    ceiling: str
    volume: int
    money: Money


@dataclass(frozen=True)
class TaskDiff:
    """One task whose monthly cost the change moves. ``past`` None: a new task; ``future`` None: its contract is gone."""

    task: str
    file: str
    owner: str
    past: Optional[Spend]
    future: Optional[Spend]
    reasons: tuple[str, ...]
    repriced: tuple[str, ...] = ()  # catalog tiers in its chain whose models or prices changed
    at_base_assumptions: Optional[Money] = None  # the head's tiers and prices with the base's cost block, when both moved
    assumptions_cut: tuple[str, ...] = ()  # what of its own cost block fell while its tier, ceiling or prices rose
    at_base_prices: Optional[Money] = None  # the head's contract with no model cheaper than on the base (floor_prices), when it rose or was repriced

    @property
    def diff(self) -> Money:
        return (self.future.money if self.future else Money()) - (self.past.money if self.past else Money())

    @property
    def raised(self) -> Money:
        """The increase the guard judges: the largest of the change as made, at the base assumptions and at the base prices."""
        rise = self.diff.rise()
        was = self.past.money if self.past else Money()
        for other in (self.at_base_assumptions, self.at_base_prices):
            if other is not None:
                more = (other - was).rise()
                rise = Money(max(rise.direct, more.direct), max(rise.all_in, more.all_in))
        return rise

    def judged_at(self) -> str:
        """What the guard's figure rests on, when it is not the change as made: "", "assumptions" or "prices"."""
        rise, was = self.diff.rise(), self.past.money if self.past else Money()
        if self.raised == rise:
            return ""
        matches = [name for name, other in (("assumptions", self.at_base_assumptions), ("prices", self.at_base_prices))
                   if other is not None and (other - was).rise() == self.raised]
        return matches[0] if matches else "assumptions and prices"


@dataclass(frozen=True)
class Revision:
    """A catalog tier whose models or prices changed, and whether its ``revised`` date moved."""

    tier: str
    changes: tuple[str, ...]
    revised_before: str
    revised_after: str
    moved: bool  # revised_after is later than revised_before


@dataclass
class CostDiff:
    tasks: list[TaskDiff] = field(default_factory=list)  # by absolute all-in change, largest first
    revisions: list[Revision] = field(default_factory=list)
    priced: bool = True  # False: the head catalog does not load, so nothing could be priced
    approver: str = ""  # who approves a cost increase: the base catalog's guard approver, else its platform owner

    @property
    def past(self) -> Money:
        return sum((t.past.money for t in self.tasks if t.past), Money())

    @property
    def future(self) -> Money:
        return sum((t.future.money for t in self.tasks if t.future), Money())

    @property
    def diff(self) -> Money:
        return self.future - self.past

    def users(self, tier: str) -> list[TaskDiff]:
        return [t for t in self.tasks if tier in t.repriced]


def spend(catalog: Catalog, contract: Contract) -> Optional[Spend]:
    """The month of one contract under one catalog; None when its tier or ceiling is not in that catalog."""
    if chain_ranks(catalog, contract) is None:
        return None
    _, terms = call_terms(catalog, contract)
    volume = contract.cost.monthly_volume
    return Spend(contract.tier, contract.ceiling, volume, Money(terms.direct * volume, terms.all_in * volume))


def chain(catalog: Catalog, contract: Contract) -> list[str]:
    """The tier ids a contract's calls may use, its tier up to its ceiling; [] when the catalog lacks either
    (the one answer to "which tasks use this tier", for the cost diff and the catalog rules alike)."""
    ranks = chain_ranks(catalog, contract)
    return [] if ranks is None else [t.id for t in catalog.tiers[ranks[0] : ranks[1] + 1]]


def _models(tier: Optional[Tier]) -> list[tuple[str, float, float]]:
    return [] if tier is None else [(m.id, m.input_per_mtok, m.output_per_mtok) for m in tier.models]


def revisions(base: Catalog, head: Catalog) -> list[Revision]:
    """Tiers present on both sides whose model list (ids, order, prices) differs."""
    out = []
    for tier in head.tiers:
        old = base.tier(tier.id)
        if old is None or _models(old) == _models(tier):
            continue
        out.append(Revision(tier.id, tuple(_model_changes(old, tier)), old.revised.isoformat(), tier.revised.isoformat(),
                            tier.revised > old.revised))
    return out


def _model_changes(old: Tier, new: Tier) -> Iterable[str]:
    before = {m.id: m for m in old.models}
    after = {m.id: m for m in new.models}
    if old.models[0].id != new.models[0].id:
        yield f"primary model {old.models[0].id} -> {new.models[0].id}"
    for model in new.models:
        was = before.get(model.id)
        if was is None:
            yield f"model {model.id} added"
            continue
        for side, a, b in (("input", was.input_per_mtok, model.input_per_mtok), ("output", was.output_per_mtok, model.output_per_mtok)):
            if a != b:
                yield f"{model.id} {side} ${a:g}/M -> ${b:g}/M"
    for model in old.models:
        if model.id not in after:
            yield f"model {model.id} removed"
    if [m.id for m in old.models if m.id in after] != [m.id for m in new.models if m.id in before] and old.models[0].id == new.models[0].id:
        yield "models reordered"


def _rate(value: Optional[float]) -> str:
    return "unset" if value is None else f"{dec(value) * HUNDRED:f}%".replace(".0%", "%")


def _assumptions(base: Contract, head: Contract) -> tuple[list[str], list[str]]:
    """What changed in the cost block, and which of those changes lower the cost."""
    b, h = base.cost, head.cost
    changed, cut = [], []
    for label, old, new in (("volume", b.monthly_volume, h.monthly_volume), ("input tokens", b.avg_input_tokens, h.avg_input_tokens),
                            ("output tokens", b.avg_output_tokens, h.avg_output_tokens)):
        if old != new:
            changed.append(f"{label} {old:,} -> {new:,}")
            if new < old:
                cut.append(changed[-1])
    for label, old_rate, new_rate in (("escalation rate", b.escalation_rate, h.escalation_rate), ("retry rate", b.retry_rate, h.retry_rate)):
        if old_rate != new_rate:
            changed.append(f"{label} {_rate(old_rate)} -> {_rate(new_rate)}")
            if (new_rate or 0) < (old_rate or 0):
                cut.append(changed[-1])
    for label, old_term, new_term in (("human review", b.human_review, h.human_review), ("trust damage", b.trust_damage, h.trust_damage)):
        if old_term != new_term:
            changed.append(f"{label} changed")
            if _per_call(new_term) < _per_call(old_term):
                cut.append(changed[-1])
    return changed, cut


def _per_call(term: Optional[HumanReview | TrustDamage]) -> Decimal:
    """A human-review or trust-damage block per call (rate × cost), 0 when absent."""
    if term is None:
        return ZERO
    if isinstance(term, HumanReview):
        return dec(term.rate) * dec(term.cost_per_review)
    return dec(term.failure_rate) * dec(term.loss_per_failure)


def _rose(head_catalog: Catalog, base: Contract, head: Contract) -> bool:
    """Did the contract's tier or ceiling rise (both ranked in the head catalog; a tier it lacks ranks lowest)?"""
    def rank(tier: str) -> int:
        found = head_catalog.rank(tier)
        return -1 if found is None else found
    return rank(head.tier) > rank(base.tier) or rank(head.ceiling) > rank(base.ceiling)


def _raised(head_catalog: Catalog, base: Contract, head: Contract, repriced: tuple[str, ...]) -> bool:
    """Did the tier or ceiling rise, or a tier of the chain change its prices?"""
    return _rose(head_catalog, base, head) or bool(repriced)


def task_diff(base_catalog: Catalog, head_catalog: Catalog, file: str, base: Optional[Contract], head: Optional[Contract],
              repriced_tiers: set[str], floored: Optional[Catalog] = None) -> Optional[TaskDiff]:
    """The diff of one contract, or None when the change leaves its month as it was (also at ``floored`` prices)."""
    past = None if base is None else spend(base_catalog, base)
    future = None if head is None else spend(head_catalog, head)
    contract = head or base
    at_floor = None if head is None or floored is None else spend(floored, head)
    if contract is None or (past is None and future is None) or (past is not None and past == future and at_floor == future):
        return None
    repriced = tuple(t for t in (chain(head_catalog, head) if head else []) if t in repriced_tiers)
    if past is None:
        return TaskDiff(contract.task, file, contract.owner, None, future, ("new task" if base is None else "was not priced on the base branch",))
    if future is None:
        return TaskDiff(contract.task, file, contract.owner, past, None, ("contract removed" if head is None else "cannot be priced on the head",))
    assert base is not None and head is not None
    reasons, at_base, cut, at_prices = _moved(base_catalog, head_catalog, base, head, repriced, floored or head_catalog)
    return TaskDiff(contract.task, file, contract.owner, past, future, reasons, repriced, at_base, cut, at_prices)


def _moved(base_catalog: Catalog, head_catalog: Catalog, base: Contract, head: Contract, repriced: tuple[str, ...],
           floored: Catalog) -> tuple[tuple[str, ...], Optional[Money], tuple[str, ...], Optional[Money]]:
    """Why a priced task's month moved; its month at the base assumptions and the assumptions cut, when it also got dearer;
    its month with no model cheaper than on the base branch (``floored``), when its tier, ceiling or chain prices moved."""
    reasons = [f"tier {base.tier} -> {head.tier}"] if base.tier != head.tier else []
    reasons += [f"ceiling {base.ceiling} -> {head.ceiling}"] if base.ceiling != head.ceiling else []
    reasons += [f"{tier} repriced" for tier in repriced]
    before, after = chain(base_catalog, base), chain(head_catalog, head)
    if before != after and base.tier == head.tier and base.ceiling == head.ceiling:
        reasons.append(f"chain {' > '.join(before)} -> {' > '.join(after)}")  # a tier added or removed in between
    changed, cut = _assumptions(base, head)
    reasons += changed
    at_prices = _at_base_prices(floored, base, head) if _raised(head_catalog, base, head, repriced) else None
    if not (_raised(head_catalog, base, head, repriced) or len(after) > len(before)) or not changed:
        return tuple(reasons) or ("cost model inputs changed",), None, (), at_prices
    at_base = spend(head_catalog, head.model_copy(update={"cost": base.cost}))
    return tuple(reasons), None if at_base is None else at_base.money, tuple(cut), at_prices


def _at_base_prices(floored: Catalog, base: Contract, head: Contract) -> Optional[Money]:
    """The head contract priced with no model cheaper than on the base branch, at its own and at the base assumptions
    (the dearer); None when that catalog cannot price it."""
    sides = [s.money for c in (head, head.model_copy(update={"cost": base.cost})) if (s := spend(floored, c)) is not None]
    return None if not sides else Money(max(m.direct for m in sides), max(m.all_in for m in sides))


def floor_prices(base_catalog: Catalog, head_catalog: Catalog) -> Catalog:
    """The head catalog with every model the base catalog prices at no less than the base price (the dearer of its
    base tiers): the pull request writes the head catalog, so a model cut in price, or moved into a tier at a made-up
    price, in the same change cannot make a raise look cheap. The head catalog itself when no price fell."""
    was: dict[str, tuple[float, float]] = {}
    for tier in base_catalog.tiers:
        for m in tier.models:
            old = was.get(m.id, (0.0, 0.0))
            was[m.id] = (max(old[0], m.input_per_mtok), max(old[1], m.output_per_mtok))
    def floor(m: ModelEntry) -> ModelEntry:
        low = was.get(m.id)
        if low is None or (m.input_per_mtok >= low[0] and m.output_per_mtok >= low[1]):
            return m
        return m.model_copy(update={"input_per_mtok": max(m.input_per_mtok, low[0]), "output_per_mtok": max(m.output_per_mtok, low[1])})
    tiers = [t.model_copy(update={"models": [floor(m) for m in t.models]}) for t in head_catalog.tiers]
    if all(a.models == b.models for a, b in zip(tiers, head_catalog.tiers)):
        return head_catalog
    return head_catalog.model_copy(update={"tiers": tiers})


def approver(base_catalog: Catalog) -> str:
    """Who approves a cost increase: named by the base branch's catalog, as every gate approval is."""
    guard_rules = base_catalog.cost_guard
    return guard_rules.approver if guard_rules is not None and guard_rules.approver else base_catalog.platform_owner


def compute(base_catalog: Catalog, head_catalog: Catalog, pairs: Iterable[tuple[str, Optional[Contract], Optional[Contract]]]) -> CostDiff:
    """``pairs``: (contract file, base contract or None, head contract or None) for every contract the change touches."""
    revised = revisions(base_catalog, head_catalog)
    repriced = {r.tier for r in revised}
    floored = floor_prices(base_catalog, head_catalog)
    tasks = [d for file, base, head in pairs if (d := task_diff(base_catalog, head_catalog, file, base, head, repriced, floored)) is not None]
    tasks.sort(key=lambda t: (-abs(t.diff.all_in), -abs(t.diff.direct), t.task, t.file))
    return CostDiff(tasks, revised, approver=approver(base_catalog))


# --- the cost guard --------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    """A scope (one task, or every task that got dearer) whose increase is above the guard."""

    tasks: tuple[TaskDiff, ...]
    increase: Money
    base: Money  # what those tasks cost on the base branch
    over: tuple[str, ...]  # which thresholds, in words
    total: bool  # the scope is the sum over several tasks


def _share(increase: Decimal, base: Decimal) -> Optional[Decimal]:
    """The increase in percent of the base; None (infinite) when there was no base spend."""
    return None if base == 0 else increase / base * HUNDRED


def _over(guard: CostGuard, increase: Money, base: Money) -> tuple[str, ...]:
    over = []
    if guard.monthly_increase_usd is not None:
        limit = dec(guard.monthly_increase_usd)
        over += [f"{name} above {monthly(limit)} a month" for name, amount in (("all-in", increase.all_in), ("direct", increase.direct))
                 if amount > limit]
    if guard.monthly_increase_percent is not None:
        limit = dec(guard.monthly_increase_percent)
        for name, amount, was in (("all-in", increase.all_in, base.all_in), ("direct", increase.direct, base.direct)):
            share = _share(amount, was)
            if amount > 0 and (share is None or share > limit):
                over.append(f"{name} above {guard.monthly_increase_percent:g}% of the base spend" if share is not None else f"{name} new spend (no base to compare)")
    return tuple(over)


def guard(diff: CostDiff, rules: Optional[CostGuard]) -> list[Breach]:
    """Every task above the guard on its own, and the sum of all increases when several tasks rose."""
    if rules is None:
        return []
    risen = [t for t in diff.tasks if t.raised.direct > 0 or t.raised.all_in > 0]
    out = []
    for task in risen:
        base = task.past.money if task.past else Money()
        over = _over(rules, task.raised, base)
        if over:
            out.append(Breach((task,), task.raised, base, over, total=False))
    if len(risen) > 1:
        increase = sum((t.raised for t in risen), Money())
        base = sum((t.past.money for t in risen if t.past), Money())
        over = _over(rules, increase, base)
        if over:
            out.append(Breach(tuple(risen), increase, base, over, total=True))
    return out
