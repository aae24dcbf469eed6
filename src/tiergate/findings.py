"""Rules and findings: what a rule is, what one problem it found looks like, and a verdict.

Rule ids are part of the public interface: users suppress, grep and document them, so an id
is never reused for another meaning. Each rule is declared once, as a ``Rule`` object next to
the code that finds it; code refers to the object, never to its id string, so a mistyped
rule is an import-time error rather than an internal error on the one path that uses it.
``tiergate.rules.REGISTRY`` assembles every declared rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Optional

if TYPE_CHECKING:
    from tiergate.costdiff import CostDiff

Severity = Literal["error", "warning"]
RULE_ID = re.compile(r"^TG[0-9]{3}$")
RULE_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """One rule: a stable id, a short name, its severity and the one-line help the docs show."""

    id: str
    name: str
    severity: Severity
    summary: str

    def __post_init__(self) -> None:
        if not RULE_ID.match(self.id) or not RULE_NAME.match(self.name) or self.severity not in ("error", "warning"):
            raise ValueError(f"malformed rule declaration {self.id!r} {self.name!r} {self.severity!r}")


@dataclass(frozen=True)
class Finding:
    """One problem, located in one file; ``line``/``column`` are 1-based, 0 when unknown."""

    rule: Rule
    file: str
    line: int
    message: str
    column: int = 0

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.rule.id, self.message)


def finding(rule: Rule, file: str, line: int, message: str, column: int = 0) -> Finding:
    """Build a finding; its severity is the rule's, never the call site's."""
    return Finding(rule, file, line, message, column)


@dataclass(frozen=True)
class TierChange:
    """A contract whose tier or escalation ceiling the change moved, and what the gate said."""

    task: str
    before: str
    after: str
    evidence: tuple[str, ...]
    verdict: str  # "accepted", or "rejected: TG801, ..."


@dataclass
class Result:
    """The verdict of ``validate`` or ``check``: findings plus what was looked at."""

    findings: list[Finding] = field(default_factory=list)
    contracts: int = 0
    artifacts: int = 0
    tier_changes: Optional[list[TierChange]] = None  # None for validate; a list (maybe empty) for check
    cost_diff: "Optional[CostDiff]" = None  # check only: what the change does to the monthly cost of the tasks it touches

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def sorted(self) -> list[Finding]:
        return sorted(set(self.findings), key=Finding.sort_key)

    def counts(self) -> tuple[int, int]:
        """(errors, warnings) over the distinct findings."""
        findings = self.sorted()
        errors = sum(1 for f in findings if f.severity == "error")
        return errors, len(findings) - errors
