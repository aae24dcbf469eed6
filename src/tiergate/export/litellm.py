"""A LiteLLM proxy ``config.yaml`` from the compiled table.

One model group per task (its authorized tier) and one per escalation step (``<task>@<tier>``);
each group's fallbacks are the rest of its chain, cut at the ceiling. Never
``default_fallbacks``: it would carry every task past its own ceiling. ``max_input_tokens`` is the
context-window guard, so with ``enable_pre_call_checks`` an oversized input is refused by a tier
and moves up the task's ``context_window_fallbacks`` instead of being truncated or failing.

A catalog model's ``litellm_params`` (api_base, rpm, timeout, ...) go into each of its deployments
after tiergate's own ``model``, ``api_key``, ``max_tokens`` and ``order``; its ``model`` replaces
the provider id called and its ``api_key`` (an ``os.environ/`` reference) the default one. Its
``model_info`` extras follow tiergate's keys. One more group, ``tiergate-fallback``, serves tasks
the policy does not know with the lowest tier's cheapest model, and has no fallbacks.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import yaml

from tiergate.export.table import CompiledTable, RoutedModel, Step, TaskEntry
from tiergate.models import env_name

KEYLESS_PROVIDERS = {"bedrock", "sagemaker", "vertex_ai", "ollama", "ollama_chat"}  # credentials come from the platform
PREFIX = "tiergate_"  # LiteLLM reserves plain keys such as model_info.tier


def api_key_ref(model_id: str) -> Optional[str]:
    """An ``os.environ/…`` reference (never a value): OPENAI_API_KEY for openai/…, and so on."""
    provider = model_id.split("/", 1)[0]
    if provider in KEYLESS_PROVIDERS:
        return None
    return f"os.environ/{env_name(model_id)}"


def deployment_id(task: str, tier: str, model_id: str) -> str:
    return f"{task}.{tier}.{re.sub(r'[^a-z0-9.-]+', '-', model_id.lower())}"


def _steps(entry: TaskEntry) -> list[Step]:
    home = Step(tier=entry.tier, group=entry.group, models=entry.models, context_guard_tokens=entry.context_guard_tokens)
    return [home, *entry.chain]


def _params(model: RoutedModel, max_tokens: int, order: int) -> dict[str, Any]:
    """tiergate's keys first; the catalog's settings after them, never over them (the catalog refuses a clash on load)."""
    settings = dict(model.litellm_params)
    provider_id = settings.pop("model", model.id)
    params: dict[str, Any] = {"model": provider_id}
    key = settings.pop("api_key", None) or api_key_ref(provider_id)
    if key:
        params["api_key"] = key
    params |= {"max_tokens": max_tokens, "order": order}
    for name, value in settings.items():
        params.setdefault(name, list(value) if isinstance(value, list) else value)
    return params


def _info(model: RoutedModel, ident: str, guard: int, facts: dict[str, Any]) -> dict[str, Any]:
    info = {
        "id": ident,
        "input_cost_per_token": model.input_per_token,
        "output_cost_per_token": model.output_per_token,
        "max_input_tokens": guard,
        "max_output_tokens": model.max_output_tokens,
        **{f"{PREFIX}{name}": value for name, value in facts.items()},
    }
    for name, value in model.model_info.items():
        info.setdefault(name, list(value) if isinstance(value, list) else value)
    return info


def _deployments(task: str, entry: TaskEntry, step: Step, digest: str) -> list[dict[str, Any]]:
    out = []
    for position, model in enumerate(step.models, start=1):
        facts = {
            "task": task,
            "tier": step.tier,
            "authorized_tier": entry.tier,
            "ceiling": entry.ceiling,
            "class": entry.task_class,
            "owner": entry.owner,
            "impact": entry.impact,
            "slo": f"{entry.slo.metric} >= {entry.slo.threshold:g} (n >= {entry.slo.min_samples})",
            "escalation_signal": entry.escalation.signal if entry.escalation else None,
            "session_pinning": entry.session_pinning,
            "policy_sha256": digest,
        }
        out.append({"model_name": step.group, "litellm_params": _params(model, entry.max_output_tokens, position),
                    "model_info": _info(model, deployment_id(task, step.tier, model.id), step.context_guard_tokens, facts)})
    return out


def _fallback(table: CompiledTable) -> dict[str, Any]:
    """The unknown-task group: one deployment, the lowest tier's minimum completion budget, nowhere to escalate."""
    fallback = table.fallback
    facts = {"tier": fallback.tier, "ceiling": fallback.tier, "fallback": True, "policy_sha256": table.source.policy_sha256}
    return {"model_name": fallback.group, "litellm_params": _params(fallback.model, fallback.max_output_tokens, 1),
            "model_info": _info(fallback.model, deployment_id(fallback.group, fallback.tier, fallback.model.id),
                                fallback.context_guard_tokens, facts)}


def _chains(table: CompiledTable) -> list[dict[str, list[str]]]:
    out = []
    for entry in table.tasks.values():
        groups = [step.group for step in _steps(entry)]
        out.extend({group: groups[i + 1 :]} for i, group in enumerate(groups[:-1]))
    return out


class _Dumper(yaml.SafeDumper):
    """Writes repeated lists out in full: proxies and humans read it, anchors only confuse them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(table: CompiledTable) -> str:
    model_list = [d for task, entry in table.tasks.items() for step in _steps(entry)
                  for d in _deployments(task, entry, step, table.source.policy_sha256)]
    model_list.append(_fallback(table))
    chains = _chains(table)
    config = {
        "model_list": model_list,
        "router_settings": {"enable_pre_call_checks": True, "fallbacks": chains, "context_window_fallbacks": chains},
    }
    header = (f"# Generated by `tiergate export --format litellm`; do not edit.\n"
              f"# policy sha256 {table.source.policy_sha256}, commit {table.source.commit or 'none'}\n"
              f"# a task the policy does not know: call model group {table.fallback.group} "
              f"({table.fallback.tier} tier, {table.fallback.model.id}), never a task's group\n")
    return header + yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
