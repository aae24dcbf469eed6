"""The audit's judgements: production's grouped rows against the contracts and the catalog.

Everything here works on the few rows the engine grouped (one per task and model), never on
calls. Money is ``Decimal`` (the catalog's prices as written, ``cost.call_cost``'s arithmetic);
a ratio is judged only over at least ``MIN_CALLS`` calls, below which a rate is noise.

Task ids come from clients (tags and metadata anyone calling the proxy can set): they are shown
escaped and shortened, never trusted to name a file, and at most ``NAMED`` unknown ones are
listed one by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Iterator, Optional

from tiergate.audit import rules as R
from tiergate.audit.result import AuditResult, Grouped, ModelUse, Place, TaskAudit
from tiergate.cost import call_cost, percent, per_call
from tiergate.findings import Finding, Result, finding
from tiergate.layout import CONTRACT_FILE, TASKS
from tiergate.loading import Document
from tiergate.models import Catalog, Contract, ModelEntry, chain_ranks
from tiergate.policy import Policy

TOLERANCE = Decimal("0.25")
MIN_CALLS = 30
NAMED = 20
SHOWN_CHARS = 64
MODELS_SHOWN = 5


@dataclass(frozen=True)
class Priced:
    """A catalog model and the rank of the tier that lists it."""

    rank: int
    model: ModelEntry


def model_index(catalog: Catalog) -> dict[str, Priced]:
    """How the log may name a catalog model: its id, the provider id the router calls (``litellm_params.model``),
    or the id without its provider prefix (LiteLLM logs ``gpt-5-nano`` for ``openai/gpt-5-nano``) when only one
    catalog model has that name."""
    index: dict[str, Priced] = {}
    bare: dict[str, list[Priced]] = {}
    for rank, tier in enumerate(catalog.tiers):
        for entry in tier.models:
            priced = Priced(rank, entry)
            index.setdefault(entry.id, priced)
            index.setdefault(entry.provider_model, priced)
            for name in (entry.id, entry.provider_model):
                bare.setdefault(name.split("/", 1)[1], []).append(priced)
    for name, found in bare.items():
        if len({p.model.id for p in found}) == 1:
            index.setdefault(name, found[0])
    return index


def shown(task: str) -> str:
    """A client-set id as it may appear in a message: one line, no controls, at most SHOWN_CHARS characters."""
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in task[:SHOWN_CHARS])
    return text + ("..." if len(task) > SHOWN_CHARS else "")


def judge(policy: Policy, label: str, rows: list[Grouped], since: Optional[dt.datetime], until: Optional[dt.datetime]) -> AuditResult:
    """Per task what production did, and every finding; ``label`` names the source in messages."""
    catalog = policy.catalog
    assert catalog is not None
    index = model_index(catalog)
    contracts = {c.task: (c, d) for c, d in policy.valid_contracts()}
    by_task: dict[Optional[str], list[Grouped]] = {}
    for row in rows:
        by_task.setdefault(row.task, []).append(row)
    tasks = [_task(catalog, index, task, contracts.get(task) if task else None, group) for task, group in by_task.items()]
    tasks = [t for t in tasks if t.calls]  # a task id seen only on malformed rows is counted in TG908, not listed
    tasks.sort(key=lambda t: (t.task is not None, t.task or ""))
    firsts = [r.first_at for r in rows if r.first_at is not None]
    lasts = [r.last_at for r in rows if r.last_at is not None]
    result = AuditResult(label, since, until, tasks, Result(contracts=len(contracts)),
                         first_at=min(firsts, default=None), last_at=max(lasts, default=None),
                         malformed=sum(r.malformed for r in rows))
    result.days = _days(result)
    result.verdict.findings.extend(_findings(result, contracts, label))
    return result


def _days(result: AuditResult) -> Optional[float]:
    start = result.since or result.first_at
    end = result.until or result.last_at
    if start is None or end is None:
        return None
    days = (_naive(end) - _naive(start)).total_seconds() / 86400
    return days if days >= 1 else None


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _place(priced: Optional[Priced], rank: Optional[int], ceiling: Optional[int]) -> Place:
    if priced is None or rank is None or ceiling is None or not rank <= priced.rank <= ceiling:
        return "drift"
    return "tier" if priced.rank == rank else "escalation"


def _task(catalog: Catalog, index: dict[str, Priced], task: Optional[str], contract: Optional[tuple[Contract, Document]],
          group: list[Grouped]) -> TaskAudit:
    ranks = chain_ranks(catalog, contract[0]) if contract else None
    rank, ceiling = ranks if ranks else (None, None)
    calls: dict[str, int] = {}
    recomputed: Optional[Decimal] = Decimal(0)
    above = 0
    for row in group:
        if row.model is None or not row.calls:
            continue
        calls[row.model] = calls.get(row.model, 0) + row.calls
        priced = index.get(row.model)
        if priced is None:
            recomputed = None
        elif recomputed is not None:
            recomputed += call_cost(priced.model, row.input_tokens, row.output_tokens)
        if priced is not None and rank is not None and priced.rank > rank:
            above += row.calls
    uses = tuple(sorted((ModelUse(m, n, catalog.tiers[index[m].rank].id if m in index else None,
                                  _place(index.get(m), rank, ceiling)) for m, n in calls.items()), key=lambda u: (-u.calls, u.model)))
    total = sum(calls.values())
    logged = sum((Decimal(repr(r.spend)) for r in group if r.spend is not None), Decimal(0))
    fully_logged = total > 0 and sum(r.spend_calls for r in group) == total
    audit = TaskAudit(task, contract[1].path if contract else None, contract[0].tier if contract else None, total,
                      sum(r.input_tokens for r in group), sum(r.output_tokens for r in group),
                      logged if fully_logged else None, recomputed if total else None, uses, sum(r.malformed for r in group), above)
    cheaper = catalog.tiers[rank - 1].id if rank else None
    return replace(audit, downgrade_saving=_saving(catalog, rank, audit), cheaper=cheaper,
                   declared_rate=contract[0].cost.escalation_rate if contract else None)


def _saving(catalog: Catalog, rank: Optional[int], audit: TaskAudit) -> Optional[Decimal]:
    """What the window's tokens would have cost less on the next lower tier's primary model."""
    if rank is None or rank == 0 or audit.spend is None or not audit.calls:
        return None
    lower = catalog.tiers[rank - 1].models[0]
    return audit.spend - call_cost(lower, audit.input_tokens, audit.output_tokens)


# --- findings ------------------------------------------------------------------------------


def _findings(result: AuditResult, contracts: dict[str, tuple[Contract, Document]], label: str) -> Iterator[Finding]:
    if result.malformed:
        yield finding(R.MALFORMED, label, 0, f"{result.malformed:,} row(s) in the window had no usable time, model or token "
                                             "counts, or negative ones; they are left out of every figure below")
    if not result.calls:
        yield finding(R.NO_DATA, label, 0, f"no calls {_window(result)}: check the source, the mapping (audit: in the catalog) "
                                           "and --since/--until")
        return
    seen = {t.task for t in result.tasks if t.calls}
    unknown = [t for t in result.tasks if t.calls and t.task is not None and t.path is None]
    for t in result.tasks:
        if not t.calls:
            continue
        if t.task is None:
            yield finding(R.UNATTRIBUTED, label, 0, f"{t.calls:,} call(s) carry no task id ({_models(t.models)}); "
                                                    "tag each request with its task (see the README's audit section)")
        elif t.path is not None:
            contract, doc = contracts[t.task]
            yield from _contract(result, t, contract, doc)
    yield from _unknown(unknown, label)
    for task, (contract, doc) in sorted(contracts.items()):
        if task not in seen:
            yield finding(R.IDLE, doc.path, doc.line("task"), f"no calls for task '{task}' {_window(result)} "
                                                              f"(the contract expects {contract.cost.monthly_volume:,} a month)")


def _window(result: AuditResult) -> str:
    if result.since is None and result.until is None:
        return "in the source"
    return f"from {result.window()}"


def _models(uses: Iterable[ModelUse]) -> str:
    uses = list(uses)
    text = ", ".join(f"{shown(u.model)}: {u.calls:,}" for u in uses[:MODELS_SHOWN])
    return text + (f", and {len(uses) - MODELS_SHOWN} more" if len(uses) > MODELS_SHOWN else "")


def _unknown(unknown: list[TaskAudit], label: str) -> Iterator[Finding]:
    unknown.sort(key=lambda t: (-t.calls, t.task or ""))
    for t in unknown[:NAMED]:
        assert t.task is not None
        where = f"{TASKS}/{t.task}.yaml" if CONTRACT_FILE.match(f"{TASKS}/{t.task}.yaml") else label
        yield finding(R.UNKNOWN_TASK, where, 0, f"{t.calls:,} call(s) for task '{shown(t.task)}', which has no contract "
                                                f"({_models(t.models)}); write one, or route it to tiergate-fallback")
    rest = unknown[NAMED:]
    if rest:
        yield finding(R.UNKNOWN_TASK, label, 0, f"{sum(t.calls for t in rest):,} more call(s) for {len(rest):,} more task id(s) "
                                                "with no contract (task ids are client-set: check who sends them)")


def _off(observed: Decimal, expected: Decimal) -> bool:
    """More than TOLERANCE away from ``expected`` (any difference counts when nothing was expected)."""
    if expected == 0:
        return observed != 0
    return abs(observed - expected) > TOLERANCE * expected


def _contract(result: AuditResult, t: TaskAudit, contract: Contract, doc: Document) -> Iterator[Finding]:
    drift = [u for u in t.models if u.place == "drift"]
    if drift:
        chain = f"'{contract.tier}'" + (f" up to '{contract.ceiling}'" if contract.ceiling != contract.tier else "")
        yield finding(R.DRIFT, doc.path, doc.line("tier"),
                      f"{t.drift:,} of {t.calls:,} call(s) went to models outside the authorized chain {chain}: "
                      + ", ".join(f"{shown(u.model)} ({u.tier or 'not in the catalog'}): {u.calls:,}" for u in drift[:MODELS_SHOWN]))
    if t.logged_spend is not None and t.recomputed_spend is not None and _off(t.logged_spend, t.recomputed_spend):
        yield finding(R.SPEND_GAP, doc.path, doc.line("cost"), f"the log records {per_call(t.logged_spend)} for {t.calls:,} call(s); "
                                                f"the catalog's prices give {per_call(t.recomputed_spend)}: check the prices "
                                                "in the catalog against the proxy's")
    if t.calls < MIN_CALLS:
        return
    yield from _escalation(t, contract, doc)
    yield from _tokens(t, contract, doc)
    yield from _volume(result, t, contract, doc)


def _escalation(t: TaskAudit, contract: Contract, doc: Document) -> Iterator[Finding]:
    if contract.ceiling == contract.tier or t.escalation_rate is None:
        return  # without a chain above the tier, every call above it is drift (TG901)
    observed = Decimal(t.above) / Decimal(t.calls)
    declared = contract.cost.escalation_rate
    if declared is None and t.above:
        yield finding(R.ESCALATION, doc.path, doc.line("cost"), f"{percent(observed)} of calls were served above '{contract.tier}'; "
                                                                "the cost block has no escalation_rate: add it")
    elif declared is not None and observed > Decimal(str(declared)) * (1 + TOLERANCE):
        yield finding(R.ESCALATION, doc.path, doc.line("cost", "escalation_rate"),
                      f"{percent(observed)} of {t.calls:,} calls were served above '{contract.tier}'; the contract says "
                      f"escalation_rate {declared:g}")


def _tokens(t: TaskAudit, contract: Contract, doc: Document) -> Iterator[Finding]:
    for key, total in (("avg_input_tokens", t.input_tokens), ("avg_output_tokens", t.output_tokens)):
        declared = Decimal(getattr(contract.cost, key))
        observed = Decimal(total) / Decimal(t.calls)
        if _off(observed, declared):
            yield finding(R.TOKENS, doc.path, doc.line("cost", key),
                          f"calls averaged {observed:.0f} {key.split('_')[1]} tokens over {t.calls:,} call(s); the cost block "
                          f"says {key} {declared}")


def _volume(result: AuditResult, t: TaskAudit, contract: Contract, doc: Document) -> Iterator[Finding]:
    monthly = result.per_month(Decimal(t.calls))
    if monthly is None:
        return
    declared = Decimal(contract.cost.monthly_volume)
    if _off(monthly, declared):
        yield finding(R.VOLUME, doc.path, doc.line("cost", "monthly_volume"),
                      f"{t.calls:,} calls in {result.days:.1f} days is {monthly:,.0f} per 30 days; the cost block says "
                      f"monthly_volume {declared:,}")
