"""Prompt rules: the files a contract's prompt block names, and the judge of a rubric_mean SLO.

These read the prompt block as data. A checker entry point (``module:function``) is never
imported or run here, nor anywhere ``validate`` or ``check`` goes: only ``tiergate eval run``
calls it, on the machine of whoever runs the eval.
"""

from __future__ import annotations

from typing import Iterator, Optional

from tiergate.findings import Finding, Rule, finding
from tiergate.layout import PROMPTS, is_prompt_file
from tiergate.loading import LoadError
from tiergate.models import Catalog, Contract
from tiergate.rules.context import Context

PROMPT_FILE = Rule("TG320", "prompt-file", "error",
                   f"A prompt template or judge rubric is not a regular file under {PROMPTS}/ (missing, outside it, `..`, or a symlink).")
JUDGE_TIER = Rule("TG321", "judge-below-task-tier", "error",
                  "A rubric_mean judge model is not in a tier at or above the task's tier.")
RULES = (PROMPT_FILE, JUDGE_TIER)
MAX_PROMPT_BYTES = 256 * 1024


def file_problem(tree: object, ref: str, what: str) -> Optional[str]:
    """Why ``ref`` cannot be a prompt file, or None: the one judgement ``validate`` and ``eval run`` share."""
    if not is_prompt_file(ref) or ref.startswith("/") or "\\" in ref:
        return f"{what} '{ref}' must be a file under {PROMPTS}/, named by its path from the repository root (no '..', not absolute)"
    try:
        tree.read(ref, MAX_PROMPT_BYTES)  # type: ignore[attr-defined]  # refuses links, folders and special files
    except LoadError as err:
        return f"{what}: {err.message}"
    return None


def judge_problem(catalog: Catalog, contract: Contract) -> Optional[str]:
    """The judge must be a catalog model of a tier ranked at or above the task's tier: a weaker judge is not evidence."""
    prompt = contract.prompt
    if prompt is None or prompt.judge is None:
        return None
    task_rank = catalog.rank(contract.tier)
    judge_rank = next((rank for rank, tier in enumerate(catalog.tiers) if prompt.judge.model in tier.model_ids()), None)
    if judge_rank is None:
        return f"prompt.judge.model {prompt.judge.model} is not a model of any tier in the catalog"
    if task_rank is not None and judge_rank < task_rank:
        return (f"prompt.judge.model {prompt.judge.model} is in tier '{catalog.tiers[judge_rank].id}', below the task's tier "
                f"'{contract.tier}': the judge must be on a tier at or above it")
    return None


def check(ctx: Context) -> Iterator[Finding]:
    catalog = ctx.policy.catalog
    for contract, doc in ctx.policy.valid_contracts():
        prompt = contract.prompt
        if prompt is None:
            continue
        files = [("template", prompt.template, ("prompt", "template"))]
        if prompt.judge is not None:
            files.append(("judge.rubric", prompt.judge.rubric, ("prompt", "judge", "rubric")))
        for what, ref, where in files:
            problem = None if ref is None else file_problem(ctx.policy.tree, ref, f"prompt.{what}")
            if problem is not None:
                yield finding(PROMPT_FILE, doc.path, doc.line(*where), problem)
        problem = judge_problem(catalog, contract) if catalog is not None else None
        if problem is not None:
            yield finding(JUDGE_TIER, doc.path, doc.line("prompt", "judge", "model"), problem)
