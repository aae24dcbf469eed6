"""The human table: CSV for spreadsheets, Markdown (via tabulate) for pull requests and wikis."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tabulate import tabulate

from tiergate.cost import per_call
from tiergate.export.table import CompiledTable, TaskEntry

HEADERS = ["task", "class", "tier", "models", "SLO", "escalation → ceiling", "owner", "reviewed", "all-in cost per call (USD)"]


def _row(task: str, entry: TaskEntry, exact: bool) -> list[str]:
    slo = f"{entry.slo.metric} >= {entry.slo.threshold:g} (n >= {entry.slo.min_samples})"
    escalation = f"{entry.escalation.signal} → {entry.ceiling}" if entry.escalation else f"none → {entry.ceiling}"
    cost = entry.all_in_per_call if exact else per_call(Decimal(entry.all_in_per_call))
    return [task, entry.task_class, entry.tier, ", ".join(m.id for m in entry.models), slo, escalation, entry.owner,
            entry.reviewed.isoformat() if entry.reviewed else "never", cost]


def render_csv(table: CompiledTable) -> str:
    """Exact decimal USD in the cost column, so a spreadsheet can sum it without drift."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    writer.writerows(_row(task, entry, exact=True) for task, entry in table.tasks.items())
    return out.getvalue()


def render_markdown(table: CompiledTable) -> str:
    rows = [_row(task, entry, exact=False) for task, entry in table.tasks.items()]
    return tabulate(rows, headers=HEADERS, tablefmt="github", disable_numparse=True) + "\n"
