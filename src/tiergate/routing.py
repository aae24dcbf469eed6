"""Route by the compiled table without LiteLLM: standard library only, so any service can vendor it.

    from tiergate.routing import RoutingTable

    table = RoutingTable.load("routing-table.json")       # from `tiergate export --format json`
    route = table.resolve("intent-classification", input_tokens=900)
    route.models            # ["openai/gpt-5-nano", ...]: call the first, fail over in order
    route.max_tokens        # the completion budget to request
    route.escalation_group  # "intent-classification@mid", or None at the ceiling
    route.pin_session       # keep this tier for the rest of a multi-turn session

An unknown task gets the table's fallback (the cheapest model of the lowest tier), never the
most expensive one. An input larger than a tier's context-window guard goes to the first tier of
the task's chain that can take it; if none can, ``ContextTooLarge`` says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

SUPPORTED_SCHEMA_VERSIONS = (1,)


class RoutingError(ValueError):
    """The table cannot be used, or a request cannot be routed within the policy."""


class ContextTooLarge(RoutingError):
    pass


@dataclass(frozen=True)
class Route:
    task: str
    tier: str
    group: Optional[str]  # router group to call; None for the unknown-task fallback
    models: tuple[str, ...]
    max_tokens: int
    pin_session: bool
    context_guard_tokens: int
    escalation_group: Optional[str]  # next group up the chain; None at the ceiling
    escalation_signal: Optional[str]
    fallback: bool = False  # the task is not in the policy


class RoutingTable:
    def __init__(self, data: dict[str, Any]) -> None:
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version not in SUPPORTED_SCHEMA_VERSIONS:
            raise RoutingError(f"routing table schema_version {version!r} is not supported (expected one of {SUPPORTED_SCHEMA_VERSIONS}); "
                               "export it again with a matching tiergate")
        self.data = data
        self.tasks: dict[str, Any] = data["tasks"]

    @classmethod
    def load(cls, path: Union[str, Path]) -> "RoutingTable":
        try:
            return cls(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, KeyError) as err:
            raise RoutingError(f"cannot load routing table {path}: {err}") from None

    @property
    def commit(self) -> Optional[str]:
        return self.data["source"]["commit"]

    def resolve(self, task: str, input_tokens: int = 0) -> Route:
        """The route for ``task``; with ``input_tokens``, the first tier whose context guard takes it."""
        entry = self.tasks.get(task)
        if entry is None:
            return self._fallback(task, input_tokens)
        steps = [entry] + list(entry["chain"])
        for index, step in enumerate(steps):
            if input_tokens <= step["context_guard_tokens"]:
                tier = step.get("tier", entry["tier"])
                upper = steps[index + 1]["group"] if index + 1 < len(steps) else None
                return Route(task=task, tier=tier, group=step["group"], models=tuple(m["id"] for m in step["models"]),
                             max_tokens=entry["max_output_tokens"], pin_session=entry["session_pinning"],
                             context_guard_tokens=step["context_guard_tokens"], escalation_group=upper,
                             escalation_signal=(entry["escalation"] or {}).get("signal"))
        raise ContextTooLarge(f"input of {input_tokens} tokens exceeds the context guard of every tier task '{task}' may use "
                              f"(largest {max(s['context_guard_tokens'] for s in steps)} on '{entry['ceiling']}'); trim or split the input")

    def _fallback(self, task: str, input_tokens: int) -> Route:
        fb = self.data["fallback"]
        if input_tokens > fb["context_guard_tokens"]:
            raise ContextTooLarge(f"unknown task '{task}': input of {input_tokens} tokens exceeds the fallback's context guard "
                                  f"({fb['context_guard_tokens']}); add a contract for the task")
        return Route(task=task, tier=fb["tier"], group=None, models=(fb["model"]["id"],), max_tokens=fb["max_output_tokens"],
                     pin_session=False, context_guard_tokens=fb["context_guard_tokens"], escalation_group=None,
                     escalation_signal=None, fallback=True)
