"""Catalog rules: the catalog loads, tier ids are unique, prices fit bands, a model lives in one tier."""

from __future__ import annotations

from typing import Iterator

from tiergate.findings import Finding, Rule, finding
from tiergate.layout import CATALOG
from tiergate.rules.context import Context

CATALOG_MISSING = Rule("TG201", "catalog-missing", "error", "policy/tiers.yaml is missing or unusable, so no contract can be checked.")
MODEL_OVER_BAND = Rule("TG202", "model-over-band", "error", "A model's price exceeds its tier's price band.")
MODEL_IN_SEVERAL_TIERS = Rule("TG203", "model-in-several-tiers", "error", "A model id is listed in more than one tier.")
TIER_DUPLICATE = Rule("TG204", "tier-duplicate", "error", "Two tiers share an id.")
RULES = (CATALOG_MISSING, MODEL_OVER_BAND, MODEL_IN_SEVERAL_TIERS, TIER_DUPLICATE)


def check(ctx: Context) -> Iterator[Finding]:
    if not ctx.policy.catalog_present:
        yield finding(CATALOG_MISSING, CATALOG, 0, f"the tier catalog is missing; create {CATALOG} (see README)")
    catalog, doc = ctx.policy.catalog, ctx.policy.catalog_doc
    if catalog is None or doc is None:
        return
    seen_tiers: set[str] = set()
    seen_models: dict[str, str] = {}
    for i, tier in enumerate(catalog.tiers):
        if tier.id in seen_tiers:
            yield finding(TIER_DUPLICATE, CATALOG, doc.line("tiers", i, "id"), f"tier '{tier.id}' is defined twice; rename or merge one")
        seen_tiers.add(tier.id)
        band = tier.price_band
        for j, model in enumerate(tier.models):
            over = []
            if model.input_per_mtok > band.max_input_per_mtok:
                over.append(f"input ${model.input_per_mtok:g}/M > ${band.max_input_per_mtok:g}/M")
            if model.output_per_mtok > band.max_output_per_mtok:
                over.append(f"output ${model.output_per_mtok:g}/M > ${band.max_output_per_mtok:g}/M")
            if over:
                yield finding(MODEL_OVER_BAND, CATALOG, doc.line("tiers", i, "models", j, "id"),
                              f"model {model.id} is priced above tier '{tier.id}' band ({'; '.join(over)}); move it to a higher tier")
            if model.id in seen_models:
                yield finding(MODEL_IN_SEVERAL_TIERS, CATALOG, doc.line("tiers", i, "models", j, "id"),
                              f"model {model.id} is already in tier '{seen_models[model.id]}'; a model belongs to one tier")
            seen_models.setdefault(model.id, tier.id)
