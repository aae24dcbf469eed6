"""Findings and the registry of rule ids.

Rule ids are part of the public interface: users suppress, grep and document them, so an id
is never reused for another meaning. The registry below is the single source for the README
rule table (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str


_RULES = [
    # Loading: the file could not be read as a safe YAML/JSONL document.
    Rule("TG001", "yaml-syntax", "error", "The file is not valid YAML (or JSON Lines)."),
    Rule("TG002", "yaml-duplicate-key", "error", "A mapping repeats a key; YAML would silently keep the last one."),
    Rule("TG003", "yaml-alias-limit", "error", "Anchors/aliases expand past the size limit (\"billion laughs\"), or a merge key is used."),
    Rule("TG004", "file-too-large", "error", "The file is larger than tiergate reads."),
    Rule("TG005", "file-encoding", "error", "The file is not UTF-8 text."),
    Rule("TG006", "file-shape", "error", "The file is empty, or its top level is not a mapping."),
    Rule("TG007", "path-outside-repo", "error", "A referenced path is absolute, uses `..` to leave its folder, or is a symlink pointing outside the repository."),
    Rule("TG008", "file-missing", "error", "A referenced file does not exist or cannot be read."),
    # Schema and identity.
    Rule("TG101", "schema", "error", "Unknown key, wrong type, missing field or value out of range."),
    Rule("TG102", "no-contracts", "error", "The repository has no contracts under policy/tasks/."),
    Rule("TG103", "task-id-mismatch", "error", "A contract's `task` differs from its file name."),
    Rule("TG104", "task-id-duplicate", "error", "Two contract files declare the same task id."),
    Rule("TG105", "unknown-tier", "error", "A contract names a tier (or ceiling) that the catalog does not define."),
    Rule("TG106", "ceiling-below-tier", "error", "The escalation ceiling ranks below the authorized tier."),
    # Catalog.
    Rule("TG201", "catalog-missing", "error", "policy/tiers.yaml is missing or unusable, so no contract can be checked."),
    Rule("TG202", "model-over-band", "error", "A model's price exceeds its tier's price band."),
    Rule("TG203", "model-in-several-tiers", "error", "A model id is listed in more than one tier."),
    Rule("TG204", "tier-duplicate", "error", "Two tiers share an id."),
    # Evidence.
    Rule("TG301", "evidence-missing", "error", "A linked artifact does not exist, or no passing artifact is linked."),
    Rule("TG302", "evidence-wrong-task", "error", "A linked artifact is for another task."),
    Rule("TG303", "evidence-wrong-tier", "error", "A linked artifact is for another tier than the one it is used for."),
    Rule("TG304", "evidence-wrong-metric", "error", "A linked artifact measured another metric than the contract's SLO."),
    Rule("TG305", "evidence-model-not-in-tier", "error", "The artifact's model is not in its tier in the catalog."),
    Rule("TG306", "evidence-too-few-samples", "error", "The artifact has fewer samples than the SLO's minimum."),
    Rule("TG307", "evidence-records-hash", "error", "The records file does not match the sha256 pinned in the artifact."),
    Rule("TG308", "evidence-score-mismatch", "error", "The score recomputed from the records differs from the recorded score or counts."),
    Rule("TG309", "evidence-passing-misses-slo", "error", "The passing artifact does not meet the SLO threshold."),
    Rule("TG310", "evidence-failing-meets-slo", "error", "A failing artifact actually meets the SLO threshold."),
    Rule("TG311", "evidence-future", "error", "The artifact's run time is in the future."),
    Rule("TG312", "evidence-stale", "warning", "The artifact is older than the catalog's maximum evidence age."),
    Rule("TG313", "evidence-eval-set", "error", "The artifact ran on another eval set than the SLO's, or the eval set changed since."),
    Rule("TG314", "evidence-records-coverage", "error", "The records do not cover exactly the eval set's ids, or disagree with its expected values."),
    Rule("TG315", "evidence-outside-evals", "error", "A linked artifact or records file lies outside evals/."),
    Rule("TG316", "records-invalid", "error", "A records line is not a JSON object with the fields the metric needs."),
    # Burden of proof at rest.
    Rule("TG401", "upgrade-without-failing-evidence", "error", "A contract above the lowest tier lacks a failing artifact for a tier below its own."),
    # Routing feasibility.
    Rule("TG501", "context-window", "error", "p95 input tokens exceed 80% of the smallest context window in the tier."),
    Rule("TG502", "completion-budget", "error", "max output tokens are below the tier's minimum completion budget."),
    Rule("TG503", "max-output-over-model", "error", "max output tokens exceed what a model of the tier can produce."),
    # Budget inversion.
    Rule("TG601", "budget-inversion", "error", "A high-impact task sits on the lowest tier with no escalation path."),
    Rule("TG602", "cascade-past-break-even", "warning", "The escalation rate is at or above the break-even rate: routing straight to the ceiling is cheaper."),
    Rule("TG603", "budget-inversion-cost", "warning", "A high-impact task's all-in cost is mostly failure cost on a cheap tier while a low-impact task sits on the top tier."),
    Rule("TG604", "cost-note-drift", "warning", "The contract's stated per-call cost differs from the computed all-in cost by more than 25%."),
    # Ownership.
    Rule("TG701", "codeowners-missing", "error", "No CODEOWNERS file in .github/, the root or docs/."),
    Rule("TG702", "contract-owner", "error", "CODEOWNERS does not give a contract file to the contract's owner."),
    Rule("TG703", "platform-owner", "error", "CODEOWNERS does not give the catalog, the gate or CODEOWNERS itself to the platform owner."),
    Rule("TG704", "codeowners-syntax", "error", "A CODEOWNERS line uses syntax GitHub ignores or rejects."),
    # Merge gate (`tiergate check`): the change against its base branch.
    Rule("TG801", "tier-upgrade-unproven", "error", "The tier rose without a valid failing artifact for every tier from the old tier up to the new one."),
    Rule("TG802", "failure-inconclusive", "error", "A failing artifact misses the threshold only within noise; more samples are needed."),
    Rule("TG803", "ceiling-raise-unproven", "error", "The escalation ceiling rose without a valid failing artifact of the old ceiling tier."),
    Rule("TG804", "goalposts-moved", "error", "The SLO was tightened in the same change that raises the tier or ceiling."),
    Rule("TG805", "bar-lowered", "warning", "The SLO threshold was lowered or the escalation removed; the owner must approve."),
    Rule("TG806", "evidence-rewritten", "error", "An artifact or records file that exists on the base branch was modified, renamed or deleted."),
    Rule("TG807", "catalog-change", "warning", "A model moved to a lower tier, a price band rose, or a tier was removed; lists the affected tasks."),
    Rule("TG808", "gate-change", "warning", "The change touches src/, .github/, CODEOWNERS or the catalog: the platform owner must review."),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


@dataclass(frozen=True)
class Finding:
    """One problem, located in one file; ``line``/``column`` are 1-based, 0 when unknown."""

    rule: str
    file: str
    line: int
    message: str
    column: int = 0
    severity: Severity = field(default="error")

    @property
    def name(self) -> str:
        return RULES[self.rule].name

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.rule)


def finding(rule: str, file: str, line: int, message: str, column: int = 0) -> Finding:
    """Build a finding whose severity comes from the rule registry, never from the call site."""
    return Finding(rule, file, line, message, column, RULES[rule].severity)


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    contracts: int = 0
    artifacts: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def sorted(self) -> list[Finding]:
        return sorted(set(self.findings), key=Finding.sort_key)
