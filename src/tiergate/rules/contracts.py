"""Contract rules: identity, tiers that exist, routing feasibility, budget inversion."""

from __future__ import annotations

from typing import Iterator

from tiergate.findings import Finding, finding
from tiergate.loading import Document
from tiergate.models import Catalog, Contract
from tiergate.rules.context import Context

def check(ctx: Context) -> Iterator[Finding]:
    first_file: dict[str, str] = {}
    for loaded in ctx.policy.contracts:
        contract, doc = loaded.contract, loaded.doc
        if contract is None or doc is None:
            continue
        if contract.task != loaded.stem:
            yield finding("TG103", doc.path, doc.line("task"),
                          f"task '{contract.task}' must equal the file name '{loaded.stem}'; rename one of them")
        if contract.task in first_file:
            yield finding("TG104", doc.path, doc.line("task"), f"task '{contract.task}' is also defined in {first_file[contract.task]}")
        first_file.setdefault(contract.task, doc.path)
        if ctx.policy.catalog is not None:
            yield from _tiers(ctx.policy.catalog, contract, doc)


def _tiers(catalog: Catalog, contract: Contract, doc: Document) -> Iterator[Finding]:
    known = ", ".join(t.id for t in catalog.tiers)
    rank = catalog.rank(contract.tier)
    if rank is None:
        yield finding("TG105", doc.path, doc.line("tier"), f"tier '{contract.tier}' is not in the catalog; use one of: {known}")
        return
    ceiling = catalog.rank(contract.ceiling)
    if ceiling is None:
        yield finding("TG105", doc.path, doc.line("escalation", "ceiling"), f"ceiling '{contract.ceiling}' is not in the catalog; use one of: {known}")
        return
    if ceiling < rank:
        yield finding("TG106", doc.path, doc.line("escalation", "ceiling"),
                      f"ceiling '{contract.ceiling}' ranks below tier '{contract.tier}'; the ceiling must be the tier or above it")
        return
    yield from _routing(catalog, contract, doc, rank, ceiling)
    if contract.impact == "high" and rank == 0 and ceiling == 0:
        yield finding("TG601", doc.path, doc.line("impact"),
                      f"high-impact task on the lowest tier '{contract.tier}' with no escalation: add an escalation to a higher ceiling, or prove the impact is lower")


def _routing(catalog: Catalog, contract: Contract, doc: Document, rank: int, ceiling: int) -> Iterator[Finding]:
    tier = catalog.tiers[rank]
    routing = contract.routing
    smallest = min(m.context_window for m in tier.models)
    if routing.p95_input_tokens > tier.context_guard:
        yield finding("TG501", doc.path, doc.line("routing", "p95_input_tokens"),
                      f"p95 input of {routing.p95_input_tokens} tokens exceeds 80% of the smallest context window in tier '{tier.id}' "
                      f"({smallest}); trim the input or choose a tier with larger windows")
    for step in catalog.tiers[rank : ceiling + 1]:
        if routing.max_output_tokens < step.min_completion_tokens:
            yield finding("TG502", doc.path, doc.line("routing", "max_output_tokens"),
                          f"max_output_tokens {routing.max_output_tokens} is below tier '{step.id}' minimum completion budget "
                          f"({step.min_completion_tokens}); reasoning models would return empty answers")
        for model in step.models:
            if routing.max_output_tokens > model.max_output_tokens:
                yield finding("TG503", doc.path, doc.line("routing", "max_output_tokens"),
                              f"max_output_tokens {routing.max_output_tokens} exceeds what {model.id} (tier '{step.id}') can produce "
                              f"({model.max_output_tokens})")
