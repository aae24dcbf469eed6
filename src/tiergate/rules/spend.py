"""Spend rules: what a change does to the monthly bill (``tiergate check`` only).

The numbers come from ``costdiff`` (the cost model on the merge base and on the head); these
rules say what a reviewer must know about them. A catalog price change names every task it
moves and must move the tier's ``revised`` date (reviews key off it). The platform team's cost
guard is read from the **base** catalog, like the base SLO: a pull request cannot loosen the
guard that judges it, in the same change.
"""

from __future__ import annotations

from typing import Iterator, Optional

from tiergate.cost import ZERO, monthly, signed
from tiergate.costdiff import Breach, CostDiff, Revision, TaskDiff, chain, guard
from tiergate.findings import Finding, Rule, finding
from tiergate.layout import CATALOG
from tiergate.loading import Document
from tiergate.rules.context import Change

PRICE_CHANGE = Rule("TG811", "price-change", "warning",
                    "A catalog tier's models or prices changed; lists every task using the tier with its monthly cost change.")
REVISED_NOT_MOVED = Rule("TG812", "tier-revised-not-moved", "error",
                         "A tier's models or prices changed but its `revised` date did not move forward (or moved past today).")
COST_GUARD = Rule("TG813", "cost-guard", "warning",
                  "The change raises the monthly cost above the catalog's cost guard; names the amount, the tasks and the approver.")
COST_GUARD_BLOCKING = Rule("TG814", "cost-guard-blocking", "error",
                           "As TG813, for a cost guard with `severity: error`: the increase blocks the merge.")
ASSUMPTIONS_CUT = Rule("TG815", "assumptions-cut-with-raise", "warning",
                       "The tier, ceiling or prices of a task rose while the same change cut its volume, tokens or rates; "
                       "the guard judges the increase at the base assumptions too.")
RULES = (PRICE_CHANGE, REVISED_NOT_MOVED, COST_GUARD, COST_GUARD_BLOCKING, ASSUMPTIONS_CUT)
SHOWN = 10


def check(change: Change) -> Iterator[Finding]:
    diff = change.cost
    docs = {pair.doc.path: pair.doc for pair in change.pairs}
    yield from _revisions(change, diff)
    approver = diff.approver
    for task in diff.tasks:
        if task.assumptions_cut and task.at_base_assumptions is not None:
            yield _cut(task, docs.get(task.file), approver)
    rules = change.base_catalog.cost_guard
    for breach in guard(diff, rules):
        assert rules is not None
        rule = COST_GUARD_BLOCKING if rules.severity == "error" else COST_GUARD
        yield _breach(rule, breach, docs, approver)


def listing(tasks: list[TaskDiff], shown: int = SHOWN, raised: bool = False) -> str:
    """``a +$1.00, b -$2.00 and 3 more``: tasks with their all-in monthly change (or the increase the guard
    judged, ``raised``), in the order given."""
    names = [f"{t.task} {signed(t.raised.all_in if raised else t.diff.all_in)}" for t in tasks[:shown]]
    more = f" and {len(tasks) - shown} more (the cost table lists every one)" if len(tasks) > shown else ""
    return ", ".join(names) + more


def _tier_index(change: Change, tier: str) -> Optional[int]:
    catalog = change.head.policy.catalog
    return None if catalog is None else catalog.rank(tier)


def _catalog_line(change: Change, tier: str, *keys: str) -> int:
    doc, index = change.head.policy.catalog_doc, _tier_index(change, tier)
    return 0 if doc is None or index is None else doc.line("tiers", index, *keys)


def _users(change: Change, diff: CostDiff, tier: str) -> str:
    """Every task whose chain uses ``tier`` (loaded: a catalog change loads every contract), with its change."""
    catalog = change.head.policy.catalog
    moved = {t.task: t for t in diff.users(tier)}
    using = [] if catalog is None else [c.task for c, _ in change.head.policy.valid_contracts() if tier in chain(catalog, c)]
    if not using:
        return "no task uses it"
    still = sorted(set(using) - set(moved))
    parts = [listing(sorted(moved.values(), key=lambda t: (-abs(t.diff.all_in), t.task)))] if moved else []
    if still:
        parts.append(", ".join(still[:SHOWN]) + (f" and {len(still) - SHOWN} more" if len(still) > SHOWN else "") + " unchanged")
    total = sum((t.diff.all_in for t in moved.values()), ZERO)
    return f"{len(using)} task(s) use it, {signed(total)} a month all-in: " + "; ".join(parts)


def _revisions(change: Change, diff: CostDiff) -> Iterator[Finding]:
    for revision in diff.revisions:
        what = "; ".join(revision.changes[:SHOWN]) + (f" and {len(revision.changes) - SHOWN} more" if len(revision.changes) > SHOWN else "")
        yield finding(PRICE_CHANGE, CATALOG, _catalog_line(change, revision.tier, "models"),
                      f"tier '{revision.tier}' changed ({what}): {_users(change, diff, revision.tier)}")
        problem = _revised_problem(change, revision)
        if problem:
            yield finding(REVISED_NOT_MOVED, CATALOG, _catalog_line(change, revision.tier, "revised"), problem)


def _revised_problem(change: Change, revision: Revision) -> str:
    today = change.head.today.isoformat()
    fix = f"set `revised: {today}` (the day the prices changed) so reviews of the tasks on it fall due"
    if not revision.moved:
        return (f"tier '{revision.tier}' models or prices changed but `revised` is {revision.revised_after} "
                f"(base branch: {revision.revised_before}); {fix}")
    if revision.revised_after > today:
        return f"tier '{revision.tier}' `revised` {revision.revised_after} is after today ({today}); {fix}"
    return ""


def _cut(task: TaskDiff, doc: Optional[Document], approver: str) -> Finding:
    assert task.at_base_assumptions is not None
    base = task.past.money.all_in if task.past else 0
    at_base = signed(task.at_base_assumptions.all_in - base)
    return finding(ASSUMPTIONS_CUT, task.file, doc.line("cost") if doc else 0,
                   f"task '{task.task}' gets dearer ({', '.join(r for r in task.reasons if r not in task.assumptions_cut)}) while this "
                   f"change cuts its assumptions ({', '.join(task.assumptions_cut)}): {signed(task.diff.all_in)} a month as written, "
                   f"{at_base} at the base branch's assumptions; the cost guard judges the larger; {task.owner} and {approver} "
                   "should confirm the new numbers (land an assumption change on its own, with its evidence)")


def _breach(rule: Rule, breach: Breach, docs: dict[str, Document], approver: str) -> Finding:
    increase, base = breach.increase, breach.base
    amounts = f"{signed(increase.all_in)} all-in ({signed(increase.direct)} direct) a month on a base of {monthly(base.all_in)}"
    over = "; ".join(breach.over)
    action = f"{approver} must approve" + (" (the guard blocks the merge: raise it in its own change, or lower the cost)"
                                           if rule is COST_GUARD_BLOCKING else "")
    if breach.total:
        return finding(rule, CATALOG, 0, f"{len(breach.tasks)} tasks together rise by {amounts}: {over} (cost guard in {CATALOG}); "
                       f"{listing(sorted(breach.tasks, key=lambda t: -t.raised.all_in), raised=True)}; {action}")
    task = breach.tasks[0]
    doc = docs.get(task.file)
    basis = task.judged_at()
    judged = f" (judged at the base branch's {basis})" if basis else ""
    return finding(rule, task.file, doc.line("tier") if doc else 0,
                   f"task '{task.task}' rises by {amounts}{judged}: {over} (cost guard in {CATALOG}); {action}")
