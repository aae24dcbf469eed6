"""`tiergate check`: judge a change against the merge base with its base branch.

Work grows with the change, not the repository: only the contracts a change touches (and
what depends on what it touches) are parsed and checked. A catalog or CODEOWNERS change
touches every contract that could be affected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from tiergate import gitio
from tiergate.codeowners import LOCATIONS
from tiergate.errors import TierGateError
from tiergate.evidence import EVALS
from tiergate.findings import Finding, Result, finding
from tiergate.loading import LoadError, Tree, WorkTree
from tiergate.models import Catalog, Contract
from tiergate.policy import CATALOG, DATASETS, RECORDS_SUFFIX, TASKS, YAML_SUFFIXES, Policy, contract_paths, load_contract, load_policy
from tiergate.rules import run
from tiergate.rules.context import Context
from tiergate.rules.gate import Pair, check_pair

GATE_PREFIXES = ("src/", ".github/")


@dataclass
class TierChange:
    task: str
    before: str
    after: str
    evidence: str
    verdict: str


@dataclass
class GateResult(Result):
    tier_changes: list[TierChange] = field(default_factory=list)


def check(root: Path, base_ref: str, now: dt.datetime) -> GateResult:
    repo = gitio.open_repo(root)
    base_commit = gitio.merge_base(repo, base_ref)
    changes = gitio.changes(repo, base_commit)
    head_tree, base_tree = WorkTree(root), gitio.GitTree(base_commit)
    base = load_policy(base_tree, paths=[])
    if base.catalog is None:
        raise TierGateError(f"{CATALOG} does not load at the merge base {base_commit.hexsha[:12]}, so the gate cannot compare against it; "
                            "land the first catalog with `tiergate validate` passing, then the gate applies to later changes")
    head = load_policy(head_tree, paths=[])
    touched = _touched(head_tree, changes)
    for path in touched:
        head.contracts.append(load_contract(head, path))
    for change in changes:
        if _is_artifact(change.path) and change.status in "AMR" and head_tree.exists(change.path):
            head.evidence.artifact(change.path)
    ctx = Context(head, now)
    findings = run(ctx)
    pairs = list(_pairs(head, base_tree))
    for pair in pairs:
        findings.extend(check_pair(ctx, base.catalog, pair))
    findings.extend(_append_only(base_tree, changes))
    findings.extend(_gate_changes(changes, (head.catalog or base.catalog).platform_owner))
    if head.catalog is not None:
        findings.extend(_catalog_changes(base.catalog, head.catalog, head))
    result = GateResult(findings, contracts=len(touched), artifacts=len(head.evidence.loaded()))
    result.tier_changes = _tier_changes(pairs, result)
    return result


def _is_artifact(path: str) -> bool:
    return path.startswith(EVALS + "/") and path.endswith(YAML_SUFFIXES) and not path.startswith(DATASETS)


def _is_contract(path: str) -> bool:
    return path.startswith(TASKS + "/") and path.endswith(YAML_SUFFIXES)


def _touched(tree: Tree, changes: list[gitio.Change]) -> list[str]:
    paths = {c.path for c in changes if _is_contract(c.path) and c.status != "D"}
    everything = any(c.path == CATALOG or c.path in LOCATIONS or (c.old_path or "") in LOCATIONS for c in changes)
    evidence = {p for c in changes for p in (c.path, c.old_path) if p and p.startswith(EVALS + "/")}
    if everything or evidence:
        needles = [p.encode() for p in evidence] + [p.removesuffix(RECORDS_SUFFIX).encode() for p in evidence]
        for path in contract_paths(tree):
            if everything or _mentions(tree, path, needles):
                paths.add(path)
    return sorted(paths)


def _mentions(tree: Tree, path: str, needles: list[bytes]) -> bool:
    try:
        text = tree.read(path, 1 << 20)
    except LoadError:
        return True  # unreadable: let the loader report it
    return any(needle in text for needle in needles)


def _pairs(head: Policy, base_tree: Tree) -> Iterator[Pair]:
    scratch = Policy(base_tree)
    for contract, doc in head.valid_contracts():
        base_contract: Optional[Contract] = None
        if base_tree.exists(doc.path):
            base_contract = load_contract(scratch, doc.path).contract  # unreadable base: judged as new, strictest
        if base_contract is not None and base_contract.task != contract.task:
            base_contract = None
        yield Pair(contract, doc, base_contract)


def _append_only(base_tree: Tree, changes: list[gitio.Change]) -> Iterator[Finding]:
    for change in changes:
        old = change.old_path if change.status == "R" else change.path
        if change.status == "A" or old is None:
            continue
        if not (old.startswith(EVALS + "/") and not old.startswith(DATASETS)) or not base_tree.exists(old):
            continue
        verb = {"M": "modified", "D": "deleted", "R": f"renamed to {change.path}"}[change.status]
        yield finding("TG806", old, 0, f"{old} exists on the base branch and was {verb}: evidence is append-only; "
                      "restore it and record a new run with `tiergate eval record`")


def _gate_changes(changes: list[gitio.Change], platform: str) -> Iterator[Finding]:
    """One finding per gate area touched (src/, .github/, CODEOWNERS, the catalog)."""
    areas: dict[str, list[str]] = {}
    for change in changes:
        for path in {change.path, change.old_path or change.path}:
            area = next((p for p in GATE_PREFIXES if path.startswith(p)), path if path == CATALOG or path in LOCATIONS else None)
            if area:
                areas.setdefault(area, []).append(path)
    for area, paths in sorted(areas.items()):
        shown = ", ".join(sorted(paths)[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        yield finding("TG808", area, 0, f"{shown}: part of the gate or the catalog, so {platform} must review this change")


def _catalog_changes(base: Catalog, head: Catalog, policy: Policy) -> Iterator[Finding]:
    def affected(tier_id: str) -> str:
        names = sorted(c.task for c, _ in policy.valid_contracts()
                       if tier_id in [t.id for t in head.tiers[head.rank(c.tier) or 0 : (head.rank(c.ceiling) or 0) + 1]])
        return ", ".join(names) or "none"

    base_home = {m.id: t.id for t in base.tiers for m in t.models}
    for tier in base.tiers:
        now = head.tier(tier.id)
        if now is None:
            users = sorted(c.task for c, _ in policy.valid_contracts() if tier.id in (c.tier, c.ceiling))
            yield finding("TG807", CATALOG, 0, f"tier '{tier.id}' was removed; affected tasks: {', '.join(users) or 'none'}")
            continue
        old_band, new_band = tier.price_band, now.price_band
        if new_band.max_input_per_mtok > old_band.max_input_per_mtok or new_band.max_output_per_mtok > old_band.max_output_per_mtok:
            yield finding("TG807", CATALOG, 0, f"tier '{tier.id}' price band raised; affected tasks: {affected(tier.id)}")
    for tier in head.tiers:
        for model in tier.models:
            old = base_home.get(model.id)
            if old is not None and base.rank(old) is not None and head.rank(tier.id) is not None and (head.rank(tier.id) or 0) < (base.rank(old) or 0):
                yield finding("TG807", CATALOG, 0, f"model {model.id} moved down from '{old}' to '{tier.id}'; affected tasks: {affected(tier.id)}")


def _tier_changes(pairs: list[Pair], result: Result) -> list[TierChange]:
    out = []
    for pair in pairs:
        before = pair.base.tier if pair.base else "(new)"
        if before == pair.head.tier and (pair.base is None or pair.base.ceiling == pair.head.ceiling):
            continue
        if pair.base is not None and pair.base.tier == pair.head.tier:
            before, after = f"ceiling {pair.base.ceiling}", f"ceiling {pair.head.ceiling}"
        else:
            after = pair.head.tier
        errors = [f for f in result.findings if f.file == pair.doc.path and f.severity == "error"]
        out.append(TierChange(pair.head.task, before, after, ", ".join(pair.head.evidence.failing) or "-",
                              "rejected: " + ", ".join(sorted({f.rule for f in errors})) if errors else "accepted"))
    return out
