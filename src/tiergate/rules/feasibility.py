"""Routing feasibility: a router can actually serve the contract on every tier of its chain."""

from __future__ import annotations

from typing import Iterator

from tiergate.findings import Finding, Rule, finding
from tiergate.loading import Document
from tiergate.models import Catalog, Contract, chain_ranks
from tiergate.rules.context import Context

CONTEXT_WINDOW = Rule("TG501", "context-window", "error", "p95 input tokens exceed 80% of the smallest context window in the tier.")
COMPLETION_BUDGET = Rule("TG502", "completion-budget", "error", "max output tokens are below the tier's minimum completion budget.")
MAX_OUTPUT_OVER_MODEL = Rule("TG503", "max-output-over-model", "error", "max output tokens exceed what a model of the tier can produce.")
RULES = (CONTEXT_WINDOW, COMPLETION_BUDGET, MAX_OUTPUT_OVER_MODEL)


def check(ctx: Context) -> Iterator[Finding]:
    catalog = ctx.policy.catalog
    if catalog is None:
        return
    for contract, doc in ctx.policy.valid_contracts():
        ranks = chain_ranks(catalog, contract)
        if ranks is not None:
            yield from _routing(catalog, contract, doc, *ranks)


def _routing(catalog: Catalog, contract: Contract, doc: Document, rank: int, ceiling: int) -> Iterator[Finding]:
    tier = catalog.tiers[rank]
    routing = contract.routing
    smallest = min(m.context_window for m in tier.models)
    if routing.p95_input_tokens > tier.context_guard:
        yield finding(CONTEXT_WINDOW, doc.path, doc.line("routing", "p95_input_tokens"),
                      f"p95 input of {routing.p95_input_tokens} tokens exceeds 80% of the smallest context window in tier '{tier.id}' "
                      f"({smallest}); trim the input or choose a tier with larger windows")
    for step in catalog.tiers[rank : ceiling + 1]:
        if routing.max_output_tokens < step.min_completion_tokens:
            yield finding(COMPLETION_BUDGET, doc.path, doc.line("routing", "max_output_tokens"),
                          f"max_output_tokens {routing.max_output_tokens} is below tier '{step.id}' minimum completion budget "
                          f"({step.min_completion_tokens}); reasoning models would return empty answers")
        for model in step.models:
            if routing.max_output_tokens > model.max_output_tokens:
                yield finding(MAX_OUTPUT_OVER_MODEL, doc.path, doc.line("routing", "max_output_tokens"),
                              f"max_output_tokens {routing.max_output_tokens} exceeds what {model.id} (tier '{step.id}') can produce "
                              f"({model.max_output_tokens})")
