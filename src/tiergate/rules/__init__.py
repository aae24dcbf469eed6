"""The rule families and the registry of every rule.

A family is a module with ``RULES`` (its declared ``Rule`` objects) and ``check``, a function
from a context to findings. Families never print, never raise for a bad policy and never read
files. ``AT_REST`` run in ``validate`` and, on what a change touches, in ``check``;
``ON_CHANGE`` run only in ``check``. A new rule is declared in its family and yielded there;
the registry below picks it up.
"""

from __future__ import annotations

from types import ModuleType

from tiergate import loading, schema_errors
from tiergate.audit import rules as audit_rules
from tiergate.evidence import judge, store
from tiergate.findings import Rule
from tiergate.rules import budget, catalog, feasibility, gate, identity, ownership, prompt, proof, spend
from tiergate.runs import drift

AT_REST: tuple[ModuleType, ...] = (catalog, identity, feasibility, budget, proof, ownership, prompt)
ON_CHANGE: tuple[ModuleType, ...] = (gate, spend)
# Rules found while loading files and verifying artifacts, declared beside that code.
_LOADERS: tuple[ModuleType, ...] = (loading, schema_errors, store, judge)
# Rules of capabilities that run apart from validate and check (tiergate audit; tiergate cost's token warning), declared beside their code.
CAPABILITIES: tuple[ModuleType, ...] = (audit_rules, drift)


def _registry() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for module in _LOADERS + AT_REST + ON_CHANGE + CAPABILITIES:
        for rule in module.RULES:
            if rules.setdefault(rule.id, rule) is not rule:
                raise ValueError(f"rule id {rule.id} is declared twice ({rules[rule.id].name}, {rule.name})")
    return dict(sorted(rules.items()))


REGISTRY: dict[str, Rule] = _registry()
