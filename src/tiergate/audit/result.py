"""What an audit found: the grouped rows the engine returned, per task what production did, and the findings.

Plain data with no engine behind it, so the review and the renderers use it without loading one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Optional

from tiergate.findings import Result

Place = Literal["tier", "escalation", "drift"]  # authorized tier, above it within the ceiling, outside the chain
DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class Grouped:
    """One row of the aggregation: a task (None: no task id) and a model (None: none recorded)."""

    task: Optional[str]
    model: Optional[str]
    calls: int
    spend: Optional[float]
    spend_calls: int
    input_tokens: int
    output_tokens: int
    malformed: int
    first_at: Optional[dt.datetime]
    last_at: Optional[dt.datetime]


@dataclass(frozen=True)
class ModelUse:
    model: str
    calls: int
    tier: Optional[str]  # the catalog tier listing the model; None: not in the catalog
    place: Place


@dataclass(frozen=True)
class TaskAudit:
    """Production's side of one task over the window."""

    task: Optional[str]  # None: calls without a task id
    path: Optional[str]  # the contract; None: no contract
    tier: Optional[str]
    calls: int
    input_tokens: int
    output_tokens: int
    logged_spend: Optional[Decimal]  # None unless the log recorded spend for every call
    recomputed_spend: Optional[Decimal]  # None when a model has no catalog price
    models: tuple[ModelUse, ...]
    malformed: int
    above: int = 0  # calls on a model of a tier ranked above the authorized one
    declared_rate: Optional[float] = None  # the contract's escalation_rate
    cheaper: Optional[str] = None  # the next lower tier, where a downgrade would go
    downgrade_saving: Optional[Decimal] = None  # the window's calls on the next lower tier's primary, this much cheaper

    def calls_at(self, place: Place) -> int:
        return sum(m.calls for m in self.models if m.place == place)

    @property
    def escalation_rate(self) -> Optional[float]:
        """The share of calls served above the authorized tier (within the ceiling or past it)."""
        return self.above / self.calls if self.calls else None

    @property
    def drift(self) -> int:
        return self.calls_at("drift")

    @property
    def spend(self) -> Optional[Decimal]:
        """The best figure for money spent: the log's, else the catalog's recomputation."""
        return self.logged_spend if self.logged_spend is not None else self.recomputed_spend

    def average(self, tokens: int) -> Optional[float]:
        return tokens / self.calls if self.calls else None


@dataclass
class AuditResult:
    source: str  # the source's label: never a password
    since: Optional[dt.datetime]
    until: Optional[dt.datetime]
    tasks: list[TaskAudit]
    verdict: Result  # the findings, in the shape every verdict renderer (text, json, github, sarif) takes
    days: Optional[float] = None  # the window's length, from the bounds given or the calls seen
    first_at: Optional[dt.datetime] = None
    last_at: Optional[dt.datetime] = None
    malformed: int = 0

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    @property
    def calls(self) -> int:
        return sum(t.calls for t in self.tasks)

    def by_task(self) -> dict[str, TaskAudit]:
        return {t.task: t for t in self.tasks if t.task is not None}

    def downgrades(self) -> list[TaskAudit]:
        """Contracted tasks whose window would have cost less on the next lower tier, most money saved first."""
        out = [t for t in self.tasks if t.path is not None and t.downgrade_saving is not None and t.downgrade_saving > 0]
        return sorted(out, key=lambda t: (-(t.downgrade_saving or 0), t.task or ""))

    def window(self) -> str:
        """The days audited, both ends included: ``2026-11-01 to 2026-11-30``."""
        first, last = self.since or self.first_at, (self.until - dt.timedelta(microseconds=1)) if self.until else self.last_at
        since = first.date().isoformat() if first else "the first call"
        until = last.date().isoformat() if last else "the last call"
        return f"{since} to {until}"

    def per_month(self, amount: Decimal) -> Optional[Decimal]:
        """``amount`` over the window, scaled to 30 days; None when the window's length is unknown."""
        if not self.days:
            return None
        return amount * Decimal(DAYS_PER_MONTH) / Decimal(str(self.days))
