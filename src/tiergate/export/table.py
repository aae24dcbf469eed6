"""The compiled routing table: the policy reduced to what a router needs, and nothing it must guess.

The table is the canonical export; the LiteLLM, CSV and Markdown exporters are pure functions of
it. Its JSON Schema (``schemas/table.schema.json``) is generated from these models, and
``schema_version`` changes whenever a field changes meaning or disappears. Adding a field does not
change it: ``litellm_params`` / ``model_info`` on a model and ``fallback.group`` were added in
version 1, and readers that ignore them route exactly as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from tiergate.cost import per_token, plain, price
from tiergate.models import FALLBACK_GROUP, Catalog, Contract, Impact, ModelEntry, SettingValue, Signal, TaskClass, Tier
from tiergate.layout import CATALOG
from tiergate.policy import Policy

SCHEMA_VERSION = 1  # fields added since (model litellm_params/model_info, fallback.group) left it at 1: nothing changed meaning
ESCALATION_SEPARATOR = "@"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutedModel(Frozen):
    id: str = Field(description="LiteLLM-style provider/model id")
    input_per_mtok: float
    output_per_mtok: float
    input_per_token: float
    output_per_token: float
    context_window: int
    max_output_tokens: int
    litellm_params: dict[str, SettingValue] = Field(
        default_factory=dict, exclude_if=lambda v: not v,
        description="the catalog's deployment settings for this model (absent when none), passed into each of its LiteLLM "
                    "deployments; secrets are os.environ/NAME references; a model key is the provider id to call instead of id")
    model_info: dict[str, SettingValue] = Field(
        default_factory=dict, exclude_if=lambda v: not v,
        description="the catalog's model_info extras for this model (absent when none), merged into each deployment's model_info")


class Step(Frozen):
    """One tier a task may run on, and the router group that serves it."""

    tier: str
    group: str = Field(description="router model group: the task id, or <task>@<tier> for an escalation step")
    models: list[RoutedModel] = Field(description="preference order; the first is the primary")
    context_guard_tokens: int = Field(description="largest input this tier may take: 80% of its smallest context window")


class SLOEntry(Frozen):
    metric: str
    threshold: float
    min_samples: int
    eval_set: str


class EscalationEntry(Frozen):
    signal: Signal
    threshold: Optional[float]


class TaskEntry(Frozen):
    task_class: TaskClass = Field(alias="class")
    description: str
    owner: str
    impact: Impact
    slo: SLOEntry
    reviewed: Optional[dt.date]
    tier: str
    ceiling: str
    escalation: Optional[EscalationEntry] = Field(description="the signal that moves a call one step up the chain")
    max_output_tokens: int
    session_pinning: bool
    group: str
    models: list[RoutedModel]
    context_guard_tokens: int
    chain: list[Step] = Field(description="the tiers above the authorized one, up to and including the ceiling, in order")
    all_in_per_call: str = Field(description="USD, exact decimal string, from the cost model")


class Fallback(Frozen):
    """Where a task the policy does not know goes: the cheapest model of the lowest tier, never the top."""

    group: str = Field(description=f"router model group serving it ({FALLBACK_GROUP}); a service calls it for an unknown task")
    tier: str
    model: RoutedModel
    max_output_tokens: int
    context_guard_tokens: int


class Source(Frozen):
    commit: Optional[str] = Field(description="git commit of the repository, null outside git")
    policy_sha256: str = Field(description="sha256 over the catalog and every contract file (path and content)")


class CompiledTable(Frozen):
    schema_version: Literal[1]
    source: Source
    fallback: Fallback
    tasks: dict[str, TaskEntry]


def _model(entry: ModelEntry) -> RoutedModel:
    return RoutedModel(id=entry.id, input_per_mtok=entry.input_per_mtok, output_per_mtok=entry.output_per_mtok,
                       input_per_token=float(per_token(entry.input_per_mtok)), output_per_token=float(per_token(entry.output_per_mtok)),
                       context_window=entry.context_window, max_output_tokens=entry.max_output_tokens,
                       litellm_params=dict(entry.litellm_params), model_info=dict(entry.model_info))


def group_name(task: str, tier: str, authorized: str) -> str:
    return task if tier == authorized else f"{task}{ESCALATION_SEPARATOR}{tier}"


def _step(task: str, tier: Tier, authorized: str) -> Step:
    return Step(tier=tier.id, group=group_name(task, tier.id, authorized), models=[_model(m) for m in tier.models],
                context_guard_tokens=tier.context_guard)


def _task(catalog: Catalog, contract: Contract) -> TaskEntry:
    rank, ceiling = catalog.rank(contract.tier), catalog.rank(contract.ceiling)
    assert rank is not None and ceiling is not None
    home = _step(contract.task, catalog.tiers[rank], contract.tier)
    esc = contract.escalation
    return TaskEntry.model_validate({
        "class": contract.task_class, "description": contract.description, "owner": contract.owner, "impact": contract.impact,
        "slo": SLOEntry(**contract.slo.model_dump()), "reviewed": contract.reviewed,
        "tier": contract.tier, "ceiling": contract.ceiling,
        "escalation": None if esc is None else EscalationEntry(signal=esc.signal, threshold=esc.threshold),
        "max_output_tokens": contract.routing.max_output_tokens, "session_pinning": contract.routing.session_pinning,
        "group": home.group, "models": home.models, "context_guard_tokens": home.context_guard_tokens,
        "chain": [_step(contract.task, t, contract.tier) for t in catalog.tiers[rank + 1 : ceiling + 1]],
        "all_in_per_call": plain(price(catalog, contract).terms.all_in),
    })


def _fallback(catalog: Catalog) -> Fallback:
    lowest = catalog.tiers[0]
    cheapest = min(lowest.models, key=lambda m: (per_token(m.input_per_mtok) + per_token(m.output_per_mtok)))
    return Fallback(group=FALLBACK_GROUP, tier=lowest.id, model=_model(cheapest), max_output_tokens=lowest.min_completion_tokens,
                    context_guard_tokens=lowest.context_guard)


def policy_digest(policy: Policy) -> str:
    """One hash for the policy content: each file's path and sha256, in path order."""
    outer = hashlib.sha256()
    docs = [(CATALOG, policy.catalog_doc)] + [(loaded.path, loaded.doc) for loaded in policy.contracts]
    for path, doc in sorted(docs, key=lambda pair: pair[0]):
        inner = doc.sha256 if doc is not None else hashlib.sha256(policy.tree.read(path, 1 << 30)).hexdigest()
        outer.update(f"{path}\0{inner}\n".encode())
    return outer.hexdigest()


def compile_table(policy: Policy, commit: Optional[str]) -> CompiledTable:
    """The table of a policy that passed validation (every contract loads, every tier exists)."""
    catalog = policy.catalog
    assert catalog is not None
    # a task named like the fallback group is refused by validation (TG109), which export runs first
    tasks = {contract.task: _task(catalog, contract) for contract, _ in sorted(policy.valid_contracts(), key=lambda p: p[0].task)}
    return CompiledTable(schema_version=SCHEMA_VERSION, source=Source(commit=commit, policy_sha256=policy_digest(policy)),
                         fallback=_fallback(catalog), tasks=tasks)
