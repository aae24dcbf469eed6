"""The rules: each family is a function from a loaded policy to findings.

Families never print and never raise for a bad policy; a problem is a finding. Adding a rule
means adding its id to ``tiergate.findings.RULES`` and yielding it from one family here.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable

from tiergate.findings import Finding, Result, finding
from tiergate.loading import Tree
from tiergate.policy import TASKS, Policy, artifact_paths, load_policy
from tiergate.rules import catalog, contracts, cost, evidence, ownership
from tiergate.rules.context import Context

Family = Callable[[Context], Iterable[Finding]]
FAMILIES: tuple[Family, ...] = (catalog.check, contracts.check, cost.check, evidence.check, ownership.check)


def run(ctx: Context) -> list[Finding]:
    out = list(ctx.policy.findings)
    for family in FAMILIES:
        out.extend(family(ctx))
    out.extend(f for info in ctx.policy.evidence.loaded() for f in info.findings)
    return out


def validate(tree: Tree, now: dt.datetime) -> Result:
    """Check the whole repository as it stands: every contract and every artifact."""
    return validated(tree, now)[1]


def validated(tree: Tree, now: dt.datetime) -> tuple[Policy, Result]:
    """The loaded policy with its verdict, for commands that go on to use a policy that passed."""
    policy = load_policy(tree)
    for path in artifact_paths(tree):
        policy.evidence.artifact(path)
    ctx = Context(policy, now)
    findings = run(ctx)
    if not policy.contracts:
        findings.append(finding("TG102", TASKS, 0, f"no contracts found; add one YAML file per task under {TASKS}/"))
    return policy, Result(findings, contracts=len(policy.contracts), artifacts=len(policy.evidence.loaded()))
