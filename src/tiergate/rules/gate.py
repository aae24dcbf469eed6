"""Gate rules: what a change does compared with its base branch (``tiergate check`` only).

Burden-of-proof inversion, at merge time: a contract may only get more expensive (a higher
tier or a higher ceiling) when linked evidence shows that each cheaper tier conclusively
misses the SLO *as it stood on the base branch*, so nobody can raise the bar and the tier in
one go and call the old tier's failure evidence. Evidence on the base branch is append-only,
and changes to the catalog or the gate itself are called out for the platform owner.
"""

from __future__ import annotations

from typing import Iterator

from tiergate.costdiff import chain
from tiergate.evidence.judge import INCONCLUSIVE, Claim, judge, valid
from tiergate.findings import Finding, Rule, finding
from tiergate.layout import CATALOG, LOCAL, gate_area, is_evidence, under
from tiergate.loading import LoadError
from tiergate.models import SLO, Catalog, Contract
from tiergate.rules.context import Change, Pair

TIER_UPGRADE_UNPROVEN = Rule("TG801", "tier-upgrade-unproven", "error",
                             "The tier rose without a valid failing artifact for every tier from the old tier up to the new one.")
CEILING_RAISE_UNPROVEN = Rule("TG803", "ceiling-raise-unproven", "error",
                              "The escalation ceiling rose without a valid failing artifact of the old ceiling tier.")
GOALPOSTS_MOVED = Rule("TG804", "goalposts-moved", "error",
                       "The SLO was tightened, or the prompt changed, in the same change that raises the tier or ceiling.")
BAR_LOWERED = Rule("TG805", "bar-lowered", "warning", "The SLO threshold was lowered or the escalation removed; the owner must approve.")
EVIDENCE_REWRITTEN = Rule("TG806", "evidence-rewritten", "error",
                          "An artifact or records file that exists on the base branch was modified, renamed or deleted.")
CATALOG_CHANGE = Rule("TG807", "catalog-change", "warning",
                      "A model moved to a lower tier, a price band rose, or a tier was removed; lists the affected tasks.")
GATE_CHANGE = Rule("TG808", "gate-change", "warning",
                   "The change touches src/, .github/, schemas/, action.yml, pyproject.toml, CODEOWNERS or the catalog: the platform owner must review.")
CONTRACT_DELETED = Rule("TG809", "contract-deleted", "warning",
                        "A contract file was deleted or renamed away: its task loses its contract; its owner must approve.")
OWNER_CHANGED = Rule("TG810", "owner-changed", "warning",
                     "A contract's owner or the catalog's platform_owner changed; the base branch's owner must approve.")
LOCAL_FILES_COMMITTED = Rule("TG323", "local-files-committed", "error",
                              f"The change adds or edits files under {LOCAL}/ (a checkout's own response cache and trials): a "
                              "committed cache would answer for the model in the eval run of whoever checks the branch out.")
RULES = (TIER_UPGRADE_UNPROVEN, CEILING_RAISE_UNPROVEN, GOALPOSTS_MOVED, BAR_LOWERED, EVIDENCE_REWRITTEN, CATALOG_CHANGE, GATE_CHANGE,
         CONTRACT_DELETED, OWNER_CHANGED, LOCAL_FILES_COMMITTED)
SHOWN = 5


def check(change: Change) -> Iterator[Finding]:
    for pair in change.pairs:
        yield from _pair(change, pair)
        yield from _owner(pair)
    yield from _deleted(change)
    yield from _append_only(change)
    yield from _gate_changes(change)
    yield from _local_files(change)
    head_catalog = change.head.policy.catalog
    if head_catalog is not None:
        yield from _catalog_changes(change.base_catalog, head_catalog, change)
        if head_catalog.platform_owner != change.base_platform_owner:
            yield finding(OWNER_CHANGED, CATALOG, 0, f"platform_owner changes from {change.base_platform_owner} to "
                          f"{head_catalog.platform_owner}: GitHub requests reviews from the base branch's CODEOWNERS, so "
                          f"{change.base_platform_owner} must approve")


def _pair(change: Change, pair: Pair) -> Iterator[Finding]:
    head_catalog = change.head.policy.catalog
    if head_catalog is None or head_catalog.rank(pair.head.tier) is None:
        return
    yield from _moved_bar(change, pair)
    new_rank = head_catalog.rank(pair.head.tier)
    assert new_rank is not None
    old_rank = _rank_in(head_catalog, pair.base.tier) if pair.base else -1
    slo = pair.base.slo if pair.base else pair.head.slo
    if new_rank > old_rank:
        why = f"tier raised to '{pair.head.tier}'" + (f" from '{pair.base.tier}'" if pair.base else " (new task)")
        for tier in head_catalog.tiers[max(old_rank, 0):new_rank]:
            yield from _prove(change, pair, slo, tier.id, TIER_UPGRADE_UNPROVEN, pair.doc.line("tier"), why)
    if pair.base is None:
        return
    # Escalation is a cost raise: a ceiling that rises (an escalation block added counts, its old
    # ceiling being the tier) needs every tier it newly passes through to fail, like a tier upgrade
    # to that ceiling. The authorized tier itself is exempt (it passes its SLO by definition: the
    # escalation signal catches its misses call by call), so escalating one step needs no proof.
    old_ceiling, new_ceiling = _rank_in(head_catalog, pair.base.ceiling), head_catalog.rank(pair.head.ceiling)
    if new_ceiling is None or new_ceiling <= old_ceiling:
        return
    what = "escalation added" if pair.base.escalation is None else f"ceiling raised from '{pair.base.ceiling}'"
    for tier in head_catalog.tiers[max(old_ceiling, new_rank + 1):new_ceiling]:
        yield from _prove(change, pair, slo, tier.id, CEILING_RAISE_UNPROVEN, pair.doc.line("escalation", "ceiling"),
                          f"{what} to '{pair.head.ceiling}'")


def _rank_in(catalog: Catalog, tier_id: str) -> int:
    rank = catalog.rank(tier_id)
    return -1 if rank is None else rank


def _moved_bar(change: Change, pair: Pair) -> Iterator[Finding]:
    base, head, doc = pair.base, pair.head, pair.doc
    if base is None:
        return
    tightened = _tightened(base.slo, head.slo)
    if not tightened and change.changed(base.slo.eval_set):
        tightened = f"eval set {base.slo.eval_set} edited"
    if not tightened:
        tightened = _prompt_moved(change, base, head)
    costlier = (head.tier, head.ceiling) != (base.tier, base.ceiling)
    if tightened and costlier:
        if tightened.startswith("prompt"):
            yield finding(GOALPOSTS_MOVED, doc.path, doc.line("prompt") or doc.line("tier"),
                          f"this change moves the goalposts ({tightened}) and changes the tier or ceiling: the prompt decides what the "
                          "cheaper tier is failed on, so land the prompt change first, on its own, then propose the tier change "
                          "with evidence run on it")
        else:
            yield finding(GOALPOSTS_MOVED, doc.path, doc.line("slo"),
                          f"this change tightens the SLO ({tightened}) and changes the tier or ceiling: land the SLO change first, "
                          "on its own, then propose the tier change with evidence against the new SLO")
    if head.slo.metric == base.slo.metric and head.slo.threshold < base.slo.threshold:
        yield finding(BAR_LOWERED, doc.path, doc.line("slo", "threshold"),
                      f"threshold lowered from {base.slo.threshold:g} to {head.slo.threshold:g}: {head.owner} must approve")
    if base.escalation is not None and head.escalation is None:
        yield finding(BAR_LOWERED, doc.path, doc.line("tier"), f"escalation to '{base.ceiling}' removed: {head.owner} must approve")


def _prompt_moved(change: Change, base: Contract, head: Contract) -> str:
    """The prompt decides the answers a lower tier is failed on: a prompt changed (or added, or one of its
    files edited) in the same change as a raise could be written to make the cheaper tier fail."""
    if base.prompt != head.prompt:
        return "prompt block " + ("added" if base.prompt is None else "removed" if head.prompt is None else "changed")
    files = [] if head.prompt is None else [path for _, path, _ in head.prompt.files()]
    edited = next((f for f in files if change.changed(f)), None)
    return f"prompt file {edited} edited" if edited else ""


def _tightened(base: SLO, head: SLO) -> str:
    if head.metric != base.metric:
        return f"metric {base.metric} -> {head.metric}"
    if head.threshold > base.threshold:
        return f"threshold {base.threshold:g} -> {head.threshold:g}"
    if head.min_samples > base.min_samples:
        return f"min_samples {base.min_samples} -> {head.min_samples}"
    if head.eval_set != base.eval_set:
        return f"eval set {base.eval_set} -> {head.eval_set}"
    return ""


def _prove(change: Change, pair: Pair, slo: SLO, tier_id: str, rule: Rule, line: int, why: str) -> Iterator[Finding]:
    """Yield nothing when a linked failing artifact of ``tier_id`` is valid evidence, else why not."""
    store = change.head.policy.evidence
    # the eval set as it stands on the base branch; a new task's set has no base version yet
    version = change.base_set_versions.get(slo.eval_set) if pair.base else store.set_version(slo.eval_set)
    claim = Claim(pair.head.task, "failing", (tier_id,), slo, change.base_catalog, change.head.now, version, strict=True,
                  tier_word=f"tier '{tier_id}'", set_word="the base branch's")
    reasons: list[tuple[Rule, str]] = []
    for ref in pair.head.evidence.failing:
        try:
            info = store.resolve(ref)
        except LoadError:
            continue  # the proof rules report the broken link
        if not info.intact or info.artifact is None or info.artifact.tier != tier_id:
            continue
        art = info.artifact
        problems = [p for p in judge(info, claim, store.runs(art.task, art.tier, art.model)) if p.blocking]
        if valid(problems):
            return
        reasons.append((problems[0].rule, problems[0].message))
    where = pair.doc.path, line
    if not reasons:
        yield finding(rule, *where, f"{why}, but no failing artifact of tier '{tier_id}' is linked in evidence.failing; "
                      f"run the SLO eval on '{tier_id}', `tiergate eval record`, and link it (the base branch's SLO applies)")
        return
    decisive = [text for kind, text in reasons if kind is not INCONCLUSIVE]
    if decisive:
        yield finding(rule, *where, f"{why}, but the failing evidence for '{tier_id}' is not valid against the base branch: {decisive[0]}")
    else:
        yield finding(INCONCLUSIVE, *where, f"{why}: {reasons[0][1]}")


def _owner(pair: Pair) -> Iterator[Finding]:
    if pair.base is not None and pair.base.owner != pair.head.owner:
        yield finding(OWNER_CHANGED, pair.doc.path, pair.doc.line("owner"),
                      f"owner changes from {pair.base.owner} to {pair.head.owner}: GitHub requests reviews from the base branch's "
                      f"CODEOWNERS, so {pair.base.owner} must approve (and CODEOWNERS must follow: `tiergate codeowners --write`)")


def _deleted(change: Change) -> Iterator[Finding]:
    for path, contract in change.deleted:
        who = f"task '{contract.task}' owned by {contract.owner}" if contract else "a contract that did not load on the base branch"
        yield finding(CONTRACT_DELETED, path, 0, f"{path} ({who}) was deleted or renamed away: the task loses its contract and "
                      f"routers fall back to the default; {contract.owner if contract else change.base_platform_owner} must approve")


def _append_only(change: Change) -> Iterator[Finding]:
    for path in change.paths:
        old = path.old_path if path.status == "R" else path.path
        if path.status == "A" or old is None or not is_evidence(old):
            continue
        verb = {"M": "modified", "D": "deleted", "R": f"renamed to {path.path}"}[path.status]
        yield finding(EVIDENCE_REWRITTEN, old, 0, f"{old} exists on the base branch and was {verb}: evidence is append-only; "
                      "restore it and record a new run with `tiergate eval record`")


def _gate_changes(change: Change) -> Iterator[Finding]:
    """One finding per gate area touched (``layout.gate_area``)."""
    areas: dict[str, list[str]] = {}
    for path in change.paths:
        for name in {path.path, path.old_path or path.path}:
            area = gate_area(name)
            if area:
                areas.setdefault(area, []).append(name)
    for area, names in sorted(areas.items()):
        shown = ", ".join(sorted(names)[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
        yield finding(GATE_CHANGE, area, 0, f"{shown}: part of the gate or the catalog, so {change.base_platform_owner} must review this change")


def _local_files(change: Change) -> Iterator[Finding]:
    """``.tiergate/`` is gitignored; a pull request that commits it anyway brings answers (cache lines are keyed by
    what anyone can hash) that a reviewer's ``eval run`` of the branch would take for the model's."""
    names = sorted(p.path for p in change.paths if p.status != "D" and under(p.path, LOCAL))
    if names:
        shown = ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
        yield finding(LOCAL_FILES_COMMITTED, names[0], 0, f"{shown}: {LOCAL}/ is this checkout's own (response cache, trials) and "
                      f"is never committed; remove it from the change (`git rm -r --cached {LOCAL}`) and keep /{LOCAL}/ in .gitignore")


def _users(contracts: list[Contract], catalog: Catalog, tier_id: str) -> str:
    names = sorted(c.task for c in contracts if tier_id in chain(catalog, c))
    return ", ".join(names) or "none"


def _catalog_changes(base: Catalog, head: Catalog, change: Change) -> Iterator[Finding]:
    contracts = [c for c, _ in change.head.policy.valid_contracts()]
    base_home = {m.id: t.id for t in base.tiers for m in t.models}
    for tier in base.tiers:
        now = head.tier(tier.id)
        if now is None:
            users = sorted(c.task for c in contracts if tier.id in (c.tier, c.ceiling))
            yield finding(CATALOG_CHANGE, CATALOG, 0, f"tier '{tier.id}' was removed; affected tasks: {', '.join(users) or 'none'}")
            continue
        old_band, new_band = tier.price_band, now.price_band
        if new_band.max_input_per_mtok > old_band.max_input_per_mtok or new_band.max_output_per_mtok > old_band.max_output_per_mtok:
            yield finding(CATALOG_CHANGE, CATALOG, 0, f"tier '{tier.id}' price band raised; affected tasks: {_users(contracts, head, tier.id)}")
    for tier in head.tiers:
        new_rank = head.rank(tier.id)
        for model in tier.models:
            old = base_home.get(model.id)
            old_rank = None if old is None else base.rank(old)
            if old_rank is not None and new_rank is not None and new_rank < old_rank:
                yield finding(CATALOG_CHANGE, CATALOG, 0,
                              f"model {model.id} moved down from '{old}' to '{tier.id}'; affected tasks: {_users(contracts, head, tier.id)}")
