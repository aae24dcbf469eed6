"""Identity rules: there are contracts, each is named by its file, and names tiers that exist."""

from __future__ import annotations

from typing import Iterator

from tiergate.findings import Finding, Rule, finding
from tiergate.layout import TASKS
from tiergate.models import FALLBACK_GROUP
from tiergate.rules.context import Context

NO_CONTRACTS = Rule("TG102", "no-contracts", "error", "The repository has no contracts under policy/tasks/.")
TASK_ID_MISMATCH = Rule("TG103", "task-id-mismatch", "error", "A contract's `task` differs from its file name.")
TASK_ID_DUPLICATE = Rule("TG104", "task-id-duplicate", "error", "Two contract files declare the same task id.")
UNKNOWN_TIER = Rule("TG105", "unknown-tier", "error", "A contract names a tier (or ceiling) that the catalog does not define.")
CEILING_BELOW_TIER = Rule("TG106", "ceiling-below-tier", "error", "The escalation ceiling ranks below the authorized tier.")
STRAY_FILE = Rule("TG107", "not-a-contract-file", "error",
                  "A file under policy/tasks/ is not named <task-id>.yaml (another suffix, case, folder or file); it would not be governed.")
SAMPLES_BELOW_FLOOR = Rule("TG108", "min-samples-below-floor", "error",
                           "A contract's min_samples is below the catalog's floor (defaults.min_samples_floor, 30 unless set).")
RESERVED_TASK_ID = Rule("TG109", "task-id-reserved", "error", f"A task takes a name tiergate reserves ({FALLBACK_GROUP}, the unknown-task router group).")
RULES = (NO_CONTRACTS, TASK_ID_MISMATCH, TASK_ID_DUPLICATE, UNKNOWN_TIER, CEILING_BELOW_TIER, STRAY_FILE, SAMPLES_BELOW_FLOOR,
         RESERVED_TASK_ID)


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.policy.complete and not ctx.policy.contracts:
        yield finding(NO_CONTRACTS, TASKS, 0, f"no contracts found; add one YAML file per task under {TASKS}/")
    for path in ctx.policy.strays:
        yield finding(STRAY_FILE, path, 0, f"{path} is not a contract file: contracts are {TASKS}/<task-id>.yaml (lowercase letters, "
                      "digits and dashes, suffix .yaml, no subfolders); rename it or move it out of the folder, since a file here "
                      "that tiergate does not read is a task nobody governs")
    first_file: dict[str, str] = {}
    catalog = ctx.policy.catalog
    for loaded in ctx.policy.contracts:
        contract, doc = loaded.contract, loaded.doc
        if contract is None or doc is None:
            continue
        if contract.task != loaded.stem:
            yield finding(TASK_ID_MISMATCH, doc.path, doc.line("task"),
                          f"task '{contract.task}' must equal the file name '{loaded.stem}'; rename one of them")
        if contract.task == FALLBACK_GROUP:
            yield finding(RESERVED_TASK_ID, doc.path, doc.line("task"),
                          f"'{FALLBACK_GROUP}' is the router group for tasks the policy does not know; name the task otherwise")
        if contract.task in first_file:
            yield finding(TASK_ID_DUPLICATE, doc.path, doc.line("task"), f"task '{contract.task}' is also defined in {first_file[contract.task]}")
        first_file.setdefault(contract.task, doc.path)
        if catalog is None:
            continue
        floor = catalog.defaults.min_samples_floor
        if contract.slo.min_samples < floor:
            yield finding(SAMPLES_BELOW_FLOOR, doc.path, doc.line("slo", "min_samples"),
                          f"min_samples {contract.slo.min_samples} is below the catalog's floor of {floor}: so few samples cannot "
                          "tell a tier that fails from noise; raise it")
        known = ", ".join(t.id for t in catalog.tiers)
        rank, ceiling = catalog.rank(contract.tier), catalog.rank(contract.ceiling)
        if rank is None:
            yield finding(UNKNOWN_TIER, doc.path, doc.line("tier"), f"tier '{contract.tier}' is not in the catalog; use one of: {known}")
        elif ceiling is None:
            yield finding(UNKNOWN_TIER, doc.path, doc.line("escalation", "ceiling"),
                          f"ceiling '{contract.ceiling}' is not in the catalog; use one of: {known}")
        elif ceiling < rank:
            yield finding(CEILING_BELOW_TIER, doc.path, doc.line("escalation", "ceiling"),
                          f"ceiling '{contract.ceiling}' ranks below tier '{contract.tier}'; the ceiling must be the tier or above it")
