"""The cost diff of ``check`` for people and machines: a table (text, Markdown), a chart, and JSON.

Pieces, not a ``Formats`` of their own: the verdict renderers (``report.verdict``) and the pull
request comment (``pr.comment``) put them where the verdict goes. Rows are in the diff's order
(largest absolute all-in change first), so a table cut short for GitHub's size limit drops the
smallest changes. Every value quoted from a policy file goes through ``report.markdown``.
"""

from __future__ import annotations

from typing import Any, Optional

from tabulate import tabulate

from tiergate.cost import monthly, plain, signed
from tiergate.costdiff import CostDiff, Money, Spend, TaskDiff
from tiergate.report import markdown as md
from tiergate.report import mermaid
from tiergate.report.mermaid import Series

HEADERS = ["task", "tier", "why", "all-in before", "all-in after", "all-in change", "direct before", "direct after", "direct change"]
NOTHING = "-"
FREE_COLUMNS = 3  # task, tier, why: read from policy files; the money columns are tiergate's own
CHART_BARS = 10  # tasks in the chart: the largest changes
SUMMARY_ROWS = 1_000  # GitHub takes at most 1 MiB of step summary per step; a row is a few hundred characters


def _tier(task: TaskDiff) -> str:
    past, future = task.past, task.future
    def chain(side: Spend) -> str:
        return side.tier if side.tier == side.ceiling else f"{side.tier} (up to {side.ceiling})"
    if past is None or future is None:
        return chain(future or past)  # type: ignore[arg-type]
    return chain(future) if chain(past) == chain(future) else f"{chain(past)} -> {chain(future)}"


def _money(side: Optional[Spend], direct: bool) -> str:
    if side is None:
        return NOTHING
    return monthly(side.money.direct if direct else side.money.all_in)


def _row(task: TaskDiff) -> list[str]:
    diff = task.diff
    return [task.task, _tier(task), "; ".join(task.reasons),
            _money(task.past, False), _money(task.future, False), signed(diff.all_in),
            _money(task.past, True), _money(task.future, True), signed(diff.direct)]


def _total(diff: CostDiff) -> list[str]:
    past, future, change = diff.past, diff.future, diff.diff
    return [f"total ({len(diff.tasks)} task(s))", "", "", monthly(past.all_in), monthly(future.all_in), signed(change.all_in),
            monthly(past.direct), monthly(future.direct), signed(change.direct)]


def headline(diff: CostDiff) -> str:
    """One line: what the change does to the month."""
    if not diff.priced:
        return "cost not computed: the catalog does not load on this branch (see the findings)"
    if not diff.tasks:
        return "no cost change: no task's monthly cost moves"
    past, future = diff.past.all_in, diff.future.all_in
    return (f"monthly cost of the {len(diff.tasks)} affected task(s): {monthly(past)} -> {monthly(future)} all-in "
            f"({signed(diff.diff.all_in)}; direct {signed(diff.diff.direct)})")


def text(diff: CostDiff, printable: Any) -> str:
    """The table for a terminal or a CI log; ``printable`` makes each cell one safe line."""
    if not diff.tasks:
        return headline(diff) + "\n"
    rows = [[printable(cell) for cell in row] for row in [_row(t) for t in diff.tasks] + [_total(diff)]]
    return (f"Cost change (USD a month, largest change first)\n{tabulate(rows, headers=HEADERS, tablefmt='simple', disable_numparse=True)}"
            f"\n{headline(diff)}\n")


def markdown(diff: CostDiff, rows: Optional[int] = None, chart: bool = True) -> str:
    """A Markdown section: headline, the table (the first ``rows`` tasks when given, saying so) and the chart."""
    lines = ["### Cost change (USD a month)", "", md.one_line(headline(diff)), ""]
    if not diff.tasks:
        return "\n".join(lines) + "\n"
    shown = diff.tasks if rows is None else diff.tasks[:rows]
    body = [[md.inline(cell) if i < FREE_COLUMNS else cell for i, cell in enumerate(_row(t))] for t in shown] + [_total(diff)]
    lines += [md.table(body, HEADERS), ""]
    if len(shown) < len(diff.tasks):
        lines += [f"{len(diff.tasks) - len(shown)} smaller change(s) not shown here; the total counts every task "
                  "(`tiergate check --format json` lists every one).", ""]
    if chart:
        lines += [_chart(diff), ""]
    return "\n".join(lines) + "\n"


def _chart(diff: CostDiff) -> str:
    """Mermaid bars of all-in spend before, a line after, for the largest changes (GitHub renders Mermaid in Markdown)."""
    tasks = diff.tasks[:CHART_BARS]
    before = [side.money.all_in if (side := task.past) else 0 for task in tasks]
    after = [side.money.all_in if (side := task.future) else 0 for task in tasks]
    shown = f" (the largest {len(tasks)} of {len(diff.tasks)} changes)" if len(tasks) < len(diff.tasks) else ""
    chart = mermaid.bar_chart("Monthly all-in spend", [task.task for task in tasks], [Series(before), Series(after, "line")],
                              y_axis="USD a month")
    return f"Bars: before; line: after{shown}.\n\n" + chart.rstrip("\n")


# --- JSON: money as exact decimal strings ----------------------------------------------------------


def _money_json(money: Money) -> dict[str, str]:
    return {"monthly_direct": plain(money.direct), "monthly_all_in": plain(money.all_in)}


def _side_json(side: Optional[Spend]) -> Optional[dict[str, Any]]:
    if side is None:
        return None
    return {"tier": side.tier, "ceiling": side.ceiling, "monthly_volume": side.volume, **_money_json(side.money)}


def as_json(diff: CostDiff) -> dict[str, Any]:
    """``tasks`` (each with ``past``, ``future``, ``diff``), ``total`` (the same three), ``revisions`` of the catalog."""
    return {
        "currency": "USD",
        "tasks": [{"task": t.task, "file": t.file, "owner": t.owner, "reasons": list(t.reasons), "past": _side_json(t.past),
                   "future": _side_json(t.future), "diff": _money_json(t.diff)} for t in diff.tasks],
        "total": {"tasks": len(diff.tasks), "past": _money_json(diff.past), "future": _money_json(diff.future),
                  "diff": _money_json(diff.diff)},
        "priced": diff.priced,
        "revisions": [{"tier": r.tier, "changes": list(r.changes), "revised_before": r.revised_before, "revised_after": r.revised_after,
                       "moved": r.moved} for r in diff.revisions],
    }
