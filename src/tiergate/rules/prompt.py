"""Prompt rules: the files a contract's prompt block names, and the judge of a rubric_mean SLO.

These read the prompt block as data. A checker entry point (``module:function``) is never
imported or run here, nor anywhere ``validate`` or ``check`` goes: only ``tiergate eval run``
calls it, on the machine of whoever runs the eval.
"""

from __future__ import annotations

from typing import Iterator

from tiergate.findings import Finding, Rule, finding
from tiergate.layout import PROMPTS
from tiergate.rules.context import Context
from tiergate.runs.prompt import file_problem, judge_problem

PROMPT_FILE = Rule("TG320", "prompt-file", "error",
                   f"A prompt template or judge rubric is not a regular file under {PROMPTS}/ (missing, outside it, `..`, or a symlink).")
JUDGE_TIER = Rule("TG321", "judge-below-task-tier", "error",
                  "A rubric_mean judge model is not in a tier at or above the task's tier.")
RULES = (PROMPT_FILE, JUDGE_TIER)


def check(ctx: Context) -> Iterator[Finding]:
    catalog = ctx.policy.catalog
    for contract, doc in ctx.policy.valid_contracts():
        prompt = contract.prompt
        if prompt is None:
            continue
        for what, ref, where in prompt.files():
            problem = file_problem(ctx.policy.tree, ref, f"prompt.{what}")
            if problem is not None:
                yield finding(PROMPT_FILE, doc.path, doc.line(*where), problem)
        problem = judge_problem(catalog, contract) if catalog is not None else None
        if problem is not None:
            yield finding(JUDGE_TIER, doc.path, doc.line("prompt", "judge", "model"), problem)
