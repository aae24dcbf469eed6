"""Ownership rules: CODEOWNERS, as GitHub reads it, hands every contract and its evidence to the
contract's owner and the gate to the platform owner.

Ownership is computed with last-match-wins over the whole file, on the lines GitHub honours
(``codeowners.parse``); every line GitHub skips is reported. A governed folder must be its
owner's all through: a later line that takes only part of it (``/src/tiergate/rules/``,
``/evals/<task>/2027*``) takes that part away.
"""

from __future__ import annotations

from typing import Iterator, Optional

from tiergate.codeowners import Entry, Owners
from tiergate.loading import Document
from tiergate.models import Contract, is_external
from tiergate.findings import Finding, Rule, finding
from tiergate.layout import DATASETS, DEFAULT_CODEOWNERS, PROMPTS, PLATFORM_PATTERNS, PLATFORM_PROBES, canonical, evidence_folder, under
from tiergate.rules.context import Context

CODEOWNERS_MISSING = Rule("TG701", "codeowners-missing", "error", "No CODEOWNERS file in .github/, the root or docs/.")
CONTRACT_OWNER = Rule("TG702", "contract-owner", "error",
                      "CODEOWNERS does not give a contract file, or its evidence folder in evals/, to the contract's owner.")
PLATFORM_OWNER = Rule("TG703", "platform-owner", "error",
                      "CODEOWNERS does not give the catalog, schemas/, the gate or CODEOWNERS itself to the platform owner.")
CODEOWNERS_SYNTAX = Rule("TG704", "codeowners-syntax", "error", "A CODEOWNERS line uses syntax GitHub ignores or rejects.")
EVAL_SET_OWNER = Rule("TG705", "eval-set-owner", "error",
                      "CODEOWNERS gives a contract's in-repo eval set to someone other than the contract's owner or the platform owner.")
PROMPT_OWNER = Rule("TG706", "prompt-owner", "error",
                    "CODEOWNERS gives a contract's prompt template or judge rubric to someone other than the contract's owner or the platform owner.")
RULES = (CODEOWNERS_MISSING, CONTRACT_OWNER, PLATFORM_OWNER, CODEOWNERS_SYNTAX, EVAL_SET_OWNER, PROMPT_OWNER)

WRITE = "run `tiergate codeowners --write`"


def check(ctx: Context) -> Iterator[Finding]:
    catalog, file = ctx.policy.catalog, ctx.policy.codeowners
    if catalog is None:
        return
    if file is None:
        yield finding(CODEOWNERS_MISSING, DEFAULT_CODEOWNERS, 0, f"no CODEOWNERS file; {WRITE} to create one")
        return
    if file.unreadable is not None:
        yield finding(file.unreadable.rule, file.path, file.unreadable.line, file.unreadable.message)
        return
    if file.invalid is not None:
        yield finding(CODEOWNERS_SYNTAX, file.path, file.invalid.line, str(file.invalid))
        return
    owners = file.owners
    assert owners is not None
    for skipped in owners.skipped:
        text = skipped.text if len(skipped.text) <= 80 else skipped.text[:77] + "..."
        yield finding(CODEOWNERS_SYNTAX, file.path, skipped.line,
                      f"GitHub skips line {skipped.line} `{text}`: {skipped.reason}; fix the line or remove it")
    platform = catalog.platform_owner
    areas = [(p.lstrip("/"), probe) for p, probe in zip(PLATFORM_PATTERNS, PLATFORM_PROBES)
             if p.strip("/") not in file.absent_areas] + [(file.path, file.path)]
    for area, probe in areas:
        for entry, partial in owners.takers(area, platform):
            named = f"{area} (such as {probe})" if area.endswith("/") and not partial else area
            message = _message(file.path, owners, area, named, platform, entry, partial)
            yield finding(PLATFORM_OWNER, file.path, entry.line if entry else 0, message)
    for contract, doc in ctx.policy.valid_contracts():
        folder = evidence_folder(contract.task)
        for target, named in ((doc.path, doc.path), (folder, f"the evidence folder {folder}")):
            for entry, partial in owners.takers(target, contract.owner):
                yield finding(CONTRACT_OWNER, doc.path, doc.line("owner"), _message(file.path, owners, target, named, contract.owner, entry, partial))
        yield from _eval_set(file.path, owners, contract, doc, platform)


def _eval_set(path: str, owners: Owners, contract: Contract, doc: Document, platform: str) -> Iterator[Finding]:
    """An in-repo eval set decides what every run scores; a prompt file what every run is asked and how it
    is judged: each belongs to the contract's owner or the platform, never to whoever else edits it."""
    target = contract.slo.eval_set
    if not is_external(target) and under(target, DATASETS):
        yield from _scoring_file(EVAL_SET_OWNER, path, owners, contract, platform, target, f"the eval set {target}",
                                 doc, ("slo", "eval_set"))
    for what, ref, where in contract.prompt.files() if contract.prompt is not None else []:
        if under(ref, PROMPTS):
            yield from _scoring_file(PROMPT_OWNER, path, owners, contract, platform, ref, f"the prompt {what} {ref}", doc, where)


def _scoring_file(rule: Rule, path: str, owners: Owners, contract: Contract, platform: str, target: str, named: str,
                  doc: Document, where: tuple[str, ...]) -> Iterator[Finding]:
    """Line marks are built only for a finding: asking a document for a line parses it again with marks."""
    target = canonical(target)  # the file, however the contract spells it
    mine, theirs = owners.takers(target, contract.owner), owners.takers(target, platform)
    if mine and theirs:
        entry, partial = mine[0]
        yield finding(rule, doc.path, doc.line(*where), _message(path, owners, target, named, contract.owner, entry, partial)
                      + ("" if contract.owner == platform else f" (or to the platform owner {platform})"))


def _message(path: str, owners: Owners, target: str, named: str, owner: str, entry: Optional[Entry], partial: bool) -> str:
    """What takes ``target`` from ``owner``, and the fix that works where that line is."""
    if entry is None:
        return f"{path} does not match {named}, but it belongs to {owner}; {WRITE}"
    what = f"part of {named}" if partial else named
    who = " ".join(entry.owners) or "nobody"
    if owners.after_block(entry):
        fix = "remove it or move it above the block"
        if owners.block_only().takers(target, owner):
            fix += f", then {WRITE}"
        return (f"{path} line {entry.line} (outside the tiergate managed block) gives {what} to {who} after the block "
                f"(`{entry.pattern}`), but it belongs to {owner}; {fix}")
    return f"{path} line {entry.line} (`{entry.pattern}`) gives {what} to {who}, but it belongs to {owner}; {WRITE}"
