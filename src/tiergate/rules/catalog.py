"""Catalog rules: tier ids are unique, prices fit bands, a model lives in one tier."""

from __future__ import annotations

from typing import Iterator

from tiergate.findings import Finding, finding
from tiergate.policy import CATALOG
from tiergate.rules.context import Context


def check(ctx: Context) -> Iterator[Finding]:
    catalog, doc = ctx.policy.catalog, ctx.policy.catalog_doc
    if catalog is None or doc is None:
        return
    seen_tiers: set[str] = set()
    seen_models: dict[str, str] = {}
    for i, tier in enumerate(catalog.tiers):
        if tier.id in seen_tiers:
            yield finding("TG204", CATALOG, doc.line("tiers", i, "id"), f"tier '{tier.id}' is defined twice; rename or merge one")
        seen_tiers.add(tier.id)
        band = tier.price_band
        for j, model in enumerate(tier.models):
            over = []
            if model.input_per_mtok > band.max_input_per_mtok:
                over.append(f"input ${model.input_per_mtok:g}/M > ${band.max_input_per_mtok:g}/M")
            if model.output_per_mtok > band.max_output_per_mtok:
                over.append(f"output ${model.output_per_mtok:g}/M > ${band.max_output_per_mtok:g}/M")
            if over:
                yield finding("TG202", CATALOG, doc.line("tiers", i, "models", j, "id"),
                              f"model {model.id} is priced above tier '{tier.id}' band ({'; '.join(over)}); move it to a higher tier")
            if model.id in seen_models:
                yield finding("TG203", CATALOG, doc.line("tiers", i, "models", j, "id"),
                              f"model {model.id} is already in tier '{seen_models[model.id]}'; a model belongs to one tier")
            seen_models.setdefault(model.id, tier.id)
