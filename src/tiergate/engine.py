"""The two flows, side by side: ``validate`` (the repository at rest) and ``check`` (a change).

Both are load -> rules -> result. ``validate`` loads everything and runs the at-rest
families. ``check`` compares the working tree with the merge base of HEAD and the base branch;
its work grows with the change, not the repository: only the contracts a change touches (and
what depends on what it touches) are loaded and checked, and a catalog or CODEOWNERS change
touches every contract.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable, Optional

from tiergate import cost, costdiff, gitio
from tiergate.errors import TierGateError
from tiergate.evidence.record import Recorded, read_input, record_run
from tiergate.findings import Finding, Result, TierChange
from tiergate.layout import CATALOG, EVALS, RECORDS_SUFFIX, canonical, is_artifact, is_codeowners, is_contract, is_stray, under
from tiergate.loading import MAX_YAML_BYTES, Document, LoadError, Tree, WorkTree
from tiergate.models import Catalog, Contract, is_external
from tiergate.policy import Policy, artifact_paths, contract_paths, load_contract, load_policy, load_task
from tiergate.rules import AT_REST, ON_CHANGE, budget
from tiergate.rules.context import Change, Context, Pair
from tiergate.runs import drift


def _at_rest(ctx: Context) -> list[Finding]:
    out = list(ctx.policy.findings)
    for family in AT_REST:
        out.extend(family.check(ctx))
    out.extend(f for info in ctx.policy.evidence.loaded() for f in info.findings)
    return out


def validate(tree: Tree, now: dt.datetime) -> tuple[Policy, Result]:
    """Check the whole repository as it stands; the loaded policy comes back for commands that go on to use it."""
    policy = load_policy(tree)
    for path in artifact_paths(tree):
        policy.evidence.artifact(path)
    findings = _at_rest(Context(policy, now))
    return policy, Result(findings, contracts=len(policy.contracts), artifacts=len(policy.evidence.loaded()))


def check(root: Path, base_ref: str, now: dt.datetime) -> Result:
    """The merge gate: every at-rest rule on what the change touches, plus the gate rules."""
    repo = gitio.open_repo(root)
    base_commit = gitio.merge_base(repo, base_ref)
    paths = gitio.changes(repo, base_commit)
    head_tree, base_tree = WorkTree(root), gitio.GitTree(base_commit)
    base = load_policy(base_tree, paths=[], codeowners=False)  # its catalog and eval sets are the bar; ownership is the head's
    if base.catalog is None:
        raise TierGateError(f"{CATALOG} does not load at the merge base {base_commit.hexsha[:12]}, so the gate cannot compare against it; "
                            "land the first catalog with `tiergate validate` passing, then the gate applies to later changes")
    touched = _touched(head_tree, paths)
    head = load_policy(head_tree, paths=touched)
    for path in paths:
        if is_artifact(path.path) and path.status in "AMR" and head_tree.exists(path.path):
            head.evidence.artifact(path.path)
    for contract, _ in head.valid_contracts():
        _load_history(head, contract.task)
    ctx = Context(head, now, peers=lambda needles: _peers(head, needles))
    pairs = list(_pairs(head, base_tree))
    versions = {p.base.slo.eval_set: base.evidence.set_version(p.base.slo.eval_set) for p in pairs if p.base is not None}
    deleted = _deleted(base, paths)
    change = Change(ctx, base.catalog, pairs, paths, versions, deleted, _cost_diff(base.catalog, head, pairs, deleted))
    findings = _at_rest(ctx)
    for family in ON_CHANGE:
        findings.extend(family.check(change))
    result = Result(findings, contracts=len(head.contracts), artifacts=len(head.evidence.loaded()), cost_diff=change.cost)
    result.tier_changes = _tier_changes(pairs, result.findings)
    return result


def _cost_diff(base_catalog: Catalog, head: Policy, pairs: list[Pair], deleted: list[tuple[str, Optional[Contract]]]) -> costdiff.CostDiff:
    """The monthly cost of every touched contract on both sides (only those: the one-contract check stays small)."""
    if head.catalog is None:
        return costdiff.CostDiff(priced=False, approver=costdiff.approver(base_catalog))
    sides = [(p.doc.path, p.base, p.head) for p in pairs] + [(path, contract, None) for path, contract in deleted]
    return costdiff.compute(base_catalog, head.catalog, sides)


def _load_history(policy: Policy, task: str) -> None:
    """Every artifact in the task's evidence folder, so a newer run can contradict a linked one."""
    for path in policy.tree.files(f"{EVALS}/{task}"):
        if is_artifact(path):
            policy.evidence.artifact(path)


def _deleted(base: Policy, paths: list[gitio.Change]) -> list[tuple[str, Optional[Contract]]]:
    """Contract files the change deletes or renames away, with their base contract (for its owner)."""
    gone = [p.path for p in paths if p.status == "D" and is_contract(p.path)]
    gone += [p.old_path for p in paths if p.status == "R" and p.old_path and is_contract(p.old_path) and p.old_path != p.path]
    return [(path, load_contract(base, path).contract) for path in sorted(set(gone))]


def _touched(tree: Tree, paths: list[gitio.Change]) -> list[str]:
    out = {p.path for p in paths if (is_contract(p.path) or is_stray(p.path)) and p.status != "D"}
    everything = any(p.path == CATALOG or is_codeowners(p.path) or is_codeowners(p.old_path or "") for p in paths)
    evidence = {name for p in paths for name in (p.path, p.old_path) if name and under(name, EVALS)}
    if everything or evidence:
        needles = [p.encode() for p in evidence] + [p.removesuffix(RECORDS_SUFFIX).encode() for p in evidence]
        for path in contract_paths(tree):
            if everything or _mentions(tree, path, needles, unreadable=True, every=False):
                out.add(path)
    return sorted(out)


def _mentions(tree: Tree, path: str, needles: list[bytes], unreadable: bool, every: bool) -> bool:
    """A byte prefilter: could the file at ``path`` name ``needles`` (any, or ``every`` one)?"""
    try:
        text = tree.read(path, MAX_YAML_BYTES)
    except LoadError:
        return unreadable
    test = all if every else any
    return test(needle in text for needle in needles)


def _peers(policy: Policy, needles: list[bytes]) -> list[tuple[Contract, Document]]:
    """The contracts a partial load left out whose bytes hold every needle, parsed quietly (no evidence).

    A file lacking a needle (a word its impact or tier would need) cannot be the other side of
    a cross-contract rule, so it is skipped unparsed: the gate stays proportional to the change.
    An unreadable file is skipped too: it is its own problem, reported when it is touched.
    """
    if policy.complete:
        return []
    scratch = Policy(policy.tree, catalog=policy.catalog)
    seen = {loaded.path for loaded in policy.contracts}
    for path in contract_paths(policy.tree):
        if path not in seen and _mentions(policy.tree, path, needles, unreadable=False, every=True):
            scratch.contracts.append(load_contract(scratch, path))
    return scratch.valid_contracts()


def _pairs(head: Policy, base_tree: Tree) -> Iterable[Pair]:
    scratch = Policy(base_tree)
    for contract, doc in head.valid_contracts():
        base_contract: Optional[Contract] = None
        if base_tree.exists(doc.path):
            base_contract = load_contract(scratch, doc.path).contract  # unreadable base: judged as new, strictest
        if base_contract is not None and base_contract.task != contract.task:
            base_contract = None
        yield Pair(contract, doc, base_contract)


def _tier_changes(pairs: list[Pair], findings: list[Finding]) -> list[TierChange]:
    out = []
    for pair in pairs:
        base, head = pair.base, pair.head
        if base is not None and (base.tier, base.ceiling) == (head.tier, head.ceiling):
            continue
        if base is not None and base.tier == head.tier:
            before, after = f"ceiling {base.ceiling}", f"ceiling {head.ceiling}"
        else:
            before, after = (base.tier if base else "(new)"), head.tier
        errors = sorted({f.rule.id for f in findings if f.file == pair.doc.path and f.severity == "error"})
        out.append(TierChange(head.task, before, after, tuple(head.evidence.failing), "rejected: " + ", ".join(errors) if errors else "accepted"))
    return out


def cost_view(policy: Policy, now: dt.datetime, only: Optional[str] = None) -> cost.CostView:
    """``tiergate cost``: every task costed (or task ``only``, broken down), with the cost findings."""
    files = {c.task: doc.path for c, doc in policy.valid_contracts()}
    if only is not None and only not in files:
        raise TierGateError(f"no valid contract for task '{only}'; known tasks: {', '.join(sorted(files)) or 'none'}")
    findings = [f for f in budget.check(Context(policy, now)) if f.rule is not budget.BUDGET_INVERSION]
    findings += drift.check(policy, now, only)
    findings = sorted((f for f in findings if only is None or f.file == files[only]), key=Finding.sort_key)
    return cost.CostView(cost.build(policy, now, only), findings, only is not None)


def record(root: Path, task: str, tier: str, model: str, records_file: str, run_at: dt.datetime, link: Optional[str] = None) -> Recorded:
    """``tiergate eval record``: load the task's contract, score the records file, write the artifact (and link it)."""
    policy, catalog, contract, path = load_task(WorkTree(root), task)
    return record_run(root, policy.evidence, catalog, contract, path, tier, model, read_input(records_file), records_file, run_at, link)


def codeowners_block(root: Path, policy: Policy) -> tuple[str, str]:
    """``tiergate codeowners``: the CODEOWNERS file GitHub reads here (or where to create it) and its managed block."""
    from tiergate import codeowners

    assert policy.catalog is not None
    target = codeowners.target(root)
    valid = policy.valid_contracts()
    owned = [(doc.path, contract.owner) for contract, doc in valid]
    uses = [(canonical(c.slo.eval_set), c.owner) for c, _ in valid if not is_external(c.slo.eval_set)]  # one spelling per file
    uses += [(canonical(path), c.owner) for c, _ in valid if c.prompt is not None for _, path, _ in c.prompt.files()]
    sets = codeowners.set_owners((path, owner) for path, owner in uses if policy.tree.exists(path))
    return target, codeowners.managed_block(policy.catalog.platform_owner, target, owned, sets,
                                              present=policy.tree.exists, files=policy.tree.files)


def write_codeowners(root: Path, policy: Policy) -> tuple[str, bool]:
    """``tiergate codeowners --write``: regenerate the managed block in place; (the file, whether it changed)."""
    from tiergate import codeowners
    from tiergate.writes import atomic_write, writable

    target, block = codeowners_block(root, policy)
    writable(root / target, inside=root)  # before reading it: a symlinked CODEOWNERS is neither read nor written
    try:
        old = (root / target).read_text(encoding="utf-8") if (root / target).exists() else ""
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "it is not UTF-8"
        raise TierGateError(f"cannot read {target}: {reason}; fix or remove it and run again") from None
    try:
        new = codeowners.updated(old, block)
    except codeowners.CodeownersError as err:
        raise TierGateError(f"{target}:{err.line}: {err}") from None
    if len(new.encode("utf-8")) >= codeowners.MAX_BYTES:
        raise TierGateError(f"{target} would be {len(new.encode('utf-8')):,} bytes, and GitHub ignores a CODEOWNERS file that is not "
                            f"under 3 MB ({codeowners.MAX_BYTES:,} bytes); nothing was written. The block groups contracts by "
                            "prefix: name each team's tasks with a common prefix (billing-…) so one line covers them")
    if new != old:
        atomic_write(root / target, new, inside=root)
    return target, new != old
