"""Catalog rules: the catalog loads, tier ids are unique, prices fit bands, a model lives in one tier,
and its deployment settings hold no literal secret."""

from __future__ import annotations

import re
from typing import Iterator

from tiergate.findings import Finding, Rule, finding
from tiergate.layout import CATALOG
from tiergate.loading import Document
from tiergate.models import ENV_PREFIX, ModelEntry, env_name, is_env_ref, secret_looking
from tiergate.rules.context import Context

CATALOG_MISSING = Rule("TG201", "catalog-missing", "error", "policy/tiers.yaml is missing or unusable, so no contract can be checked.")
MODEL_OVER_BAND = Rule("TG202", "model-over-band", "error", "A model's price exceeds its tier's price band.")
MODEL_IN_SEVERAL_TIERS = Rule("TG203", "model-in-several-tiers", "error", "A model id is listed in more than one tier.")
TIER_DUPLICATE = Rule("TG204", "tier-duplicate", "error", "Two tiers share an id.")
LITERAL_SECRET = Rule("TG205", "literal-secret", "error",
                      "A model's `litellm_params` or `model_info` gives a secret-looking key (`api_key`, or a name containing key, "
                      "secret, token, password or credential) a literal value, or a URL carries credentials; use an `os.environ/NAME` "
                      "reference.")
RULES = (CATALOG_MISSING, MODEL_OVER_BAND, MODEL_IN_SEVERAL_TIERS, TIER_DUPLICATE, LITERAL_SECRET)

_URL_CREDENTIALS = re.compile(r"://[^/?#@\s]*:[^/?#@\s]*@")  # scheme://user:password@host


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
            yield from _literal_secrets(doc, i, j, model)


def _literal_secrets(doc: Document, i: int, j: int, model: ModelEntry) -> Iterator[Finding]:
    """Never quotes the value: the finding is printed in CI logs and pull-request annotations."""
    for section, settings in (("litellm_params", model.litellm_params), ("model_info", model.model_info)):
        for key, value in settings.items():
            line = doc.locate(("tiers", i, "models", j, section, key), key=True)[0]  # the key's line, even above a block value
            if secret_looking(key) and not is_env_ref(value):
                name = env_name(model.provider_model) if key == "api_key" else re.sub(r"[^A-Z0-9]", "_", key.upper())
                yield finding(LITERAL_SECRET, CATALOG, line,
                              f"{section}.{key} of model {model.id} is a literal value; a secret here is readable by everyone who can "
                              f"read the repository and lands in every export: write `{key}: {ENV_PREFIX}{name}`, set {name} where the "
                              "router runs, and rotate the secret if it was real")
            elif any(_URL_CREDENTIALS.search(text) for text in (value if isinstance(value, list) else [value]) if isinstance(text, str)):
                yield finding(LITERAL_SECRET, CATALOG, line,
                              f"{section}.{key} of model {model.id} carries credentials in a URL (user:password@); put the URL without "
                              f"them in {ENV_PREFIX}NAME or pass the secret as its own os.environ/ setting, and rotate it if it was real")
