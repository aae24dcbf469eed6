"""Renderers for ``tiergate cost``: a computed CostReport in, text out. No arithmetic but display."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Optional, Sequence

from tabulate import tabulate

from tiergate.cost import CostReport, CostView, TaskCost, Totals, monthly, per_call, percent, plain
from tiergate.findings import Finding
from tiergate.report import Formats
from tiergate.report import markdown as md
from tiergate.report.verdict import finding_dict, line, printable

NOT_ESTIMATED = "not estimated"
TERM_LABELS = {"direct": "direct", "escalation": "escalation", "retry": "retry",
               "human_review": "human review", "trust_damage": "trust damage"}


def _call(amount: Optional[Decimal]) -> str:
    return NOT_ESTIMATED if amount is None else per_call(amount)


def _break_even(item: TaskCost) -> str:
    cascade = item.cascade
    if cascade is None:
        return "-"
    return "never loses" if cascade.break_even is None else percent(cascade.break_even)


def _task_rows(report: CostReport) -> list[list[str]]:
    rows = []
    for item in report.tasks:
        c = item.contract
        rate = c.cost.escalation_rate
        rows.append([
            c.task, c.task_class, c.tier, c.ceiling,
            per_call(item.terms.direct), per_call(item.terms.all_in),
            "never succeeds" if item.per_success is None else per_call(item.per_success),
            monthly(item.monthly),
            "-" if item.cascade is None else NOT_ESTIMATED if rate is None else percent(Decimal(str(rate))),
            _break_even(item),
            "-" if item.cascade is None else per_call(item.cascade.straight),
        ])
    return rows


TASK_HEADERS = ["task", "class", "tier", "ceiling", "direct/call", "all-in/call", "per success", "monthly",
                "escalation", "break-even", "straight to ceiling/call"]


def _tier_rows(report: CostReport) -> list[list[str]]:
    return [[item.contract.task] + [per_call(item.direct_by_tier[t]) + ("*" if t == item.contract.tier else "") for t in report.tiers]
            for item in report.tasks]


def _saving(counterfactual: Decimal, actual: Decimal) -> tuple[str, str]:
    saved = counterfactual - actual
    return monthly(saved), (percent(saved / counterfactual) if counterfactual else "-")


def _total_rows(report: CostReport) -> list[list[str]]:
    scopes: list[tuple[str, Totals]] = sorted(report.by_class.items()) + [("overall", report.overall)]
    rows = []
    for name, totals in scopes:
        rows.append([name, str(totals.tasks), monthly(totals.actual),
                     monthly(totals.top), *_saving(totals.top, totals.actual),
                     monthly(totals.lowest), *_saving(totals.lowest, totals.actual)])
    return rows


def _total_headers(report: CostReport) -> list[str]:
    top, low = report.tiers[-1], report.tiers[0]
    return ["scope", "tasks", "as assigned", f"all on {top}", "saving", "%", f"all on {low}", "saving", "%"]


def _gaps(report: CostReport) -> list[str]:
    lines = []
    for item in report.tasks:
        missing = [TERM_LABELS[name] for name in item.not_estimated]
        if missing:
            lines.append(f"{item.contract.task}: {', '.join(missing)} {NOT_ESTIMATED} (counted as $0)")
    return lines


def _lowest_basis(item: TaskCost, lowest: str) -> str:
    miss = item.lowest_miss
    if item.contract.tier == lowest:
        return "already on the lowest tier"
    if miss is None:
        return "no usable failing artifact of the lowest tier: its failures are not measured"
    return f"{percent(miss.rate)} of requests failed ({miss.misses}/{miss.total} in {miss.artifact})"


def _detail_rows(item: TaskCost) -> list[list[str]]:
    volume = item.contract.cost.monthly_volume
    rows = [[TERM_LABELS[name], _call(value), NOT_ESTIMATED if value is None else monthly(value * volume)]
            for name, value in item.terms.items()]
    rows.append(["all-in", per_call(item.terms.all_in), monthly(item.monthly)])
    success = "never succeeds" if item.per_success is None else per_call(item.per_success)
    rows.append([f"per successful request (success rate {percent(item.success_rate)})", success, ""])
    return rows


@dataclass(frozen=True)
class Style:
    """How one output format lays out tables, headings and lines that quote policy text (task ids, notes, paths)."""

    table: Callable[[Sequence[Sequence[str]], Sequence[str]], str]
    heading: Callable[[str], str]
    free: Callable[[str], str]  # one line of prose: it must not break the layout around it
    bullets: Callable[[list[str]], str] = field(default=lambda lines: "\n".join(f"- {line}" for line in lines))  # of free lines


def _text_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    return tabulate([[printable(str(v)) for v in row] for row in rows], headers=[printable(h) for h in headers],
                    tablefmt="simple", disable_numparse=True)


def _text_heading(title: str) -> str:
    title = printable(title)
    return f"{title}\n{'=' * len(title)}"


TEXT = Style(_text_table, _text_heading, printable)
MARKDOWN = Style(md.table, lambda title: f"## {md.one_line(title)}", md.inline)  # a note or a finding can quote anything


def _detail(item: TaskCost, lowest: str, style: Style) -> str:
    c = item.contract
    out = [style.free(f"{c.task} ({c.task_class}, {c.impact} impact, {c.tier} up to {c.ceiling}), {c.cost.monthly_volume:,} calls a month"),
           style.table(_detail_rows(item), ["term", "per call", "monthly"])]
    if item.cascade is not None:
        out.append(style.free(f"cascade {per_call(item.cascade.cascade)} per call against {per_call(item.cascade.straight)} straight to "
                              f"{item.cascade.ceiling}; break-even escalation rate {_break_even(item)}"))
    out.append(style.free(f"on {lowest}: {per_call(item.on_lowest)} per call, {_lowest_basis(item, lowest)}"))
    if c.cost.note:
        out.append(style.free(f"note: {c.cost.note}"))
    return "\n\n".join(out)


def _render(report: CostReport, findings: list[Finding], detail: bool, style: Style) -> str:
    table, heading = style.table, style.heading
    parts = [heading("Cost per call (USD)"), table(_task_rows(report), TASK_HEADERS),
             heading("Direct cost per call on each tier (* = authorized)"), table(_tier_rows(report), ["task"] + report.tiers)]
    if detail:
        for item in report.tasks:
            parts += [heading(f"Breakdown: {item.contract.task}"), _detail(item, report.tiers[0], style)]
    parts += [heading("Monthly totals"), table(_total_rows(report), _total_headers(report))]
    gaps = _gaps(report)
    if gaps:
        parts += [heading("Not estimated"), style.bullets([style.free(g) for g in gaps])]
    if findings:
        parts += [heading("Findings"), style.bullets([style.free(line(f)) for f in findings])]
    return "\n\n".join(parts) + "\n"


def render(view: CostView, style: Style) -> str:
    """The cost report laid out in ``style``: the one layout every format of ``tiergate cost`` shares."""
    return _render(view.report, view.findings, view.detail, style)


def as_text(view: CostView) -> str:
    return render(view, TEXT)


def as_markdown(view: CostView) -> str:
    return render(view, MARKDOWN)


def as_html(view: CostView) -> str:
    """One self-contained page with the same tables plus SVG charts (``report.html``, which builds on this module)."""
    from tiergate.report.html import page

    return page(view)


def _money(amount: Optional[Decimal]) -> Optional[str]:
    return None if amount is None else plain(amount)


def _task_json(item: TaskCost) -> dict[str, Any]:
    c = item.contract
    cascade = item.cascade
    miss = item.lowest_miss
    return {
        "task": c.task, "class": c.task_class, "impact": c.impact, "tier": c.tier, "ceiling": c.ceiling,
        "monthly_volume": c.cost.monthly_volume,
        "direct_per_call_by_tier": {tier: plain(v) for tier, v in item.direct_by_tier.items()},
        "terms_per_call": {name: _money(value) for name, value in item.terms.items()},
        "not_estimated": list(item.not_estimated),
        "all_in_per_call": plain(item.terms.all_in),
        "success_rate": plain(item.success_rate),
        "per_successful_request": _money(item.per_success),
        "monthly": plain(item.monthly),
        "cascade": None if cascade is None else {
            "ceiling": cascade.ceiling, "escalation_rate": _money(cascade.rate), "cascade_per_call": plain(cascade.cascade),
            "straight_to_ceiling_per_call": plain(cascade.straight), "break_even_rate": _money(cascade.break_even),
            "cascade_loses": cascade.loses,
        },
        "counterfactual_per_call": {"top_tier": plain(item.on_top), "lowest_tier": plain(item.on_lowest)},
        "lowest_tier_failures": None if miss is None else {"misses": miss.misses, "total": miss.total, "artifact": miss.artifact},
    }


def _totals_json(totals: Totals) -> dict[str, Any]:
    return {"tasks": totals.tasks, "monthly": plain(totals.actual), "all_on_top_tier": plain(totals.top),
            "all_on_lowest_tier": plain(totals.lowest), "saving_vs_top_tier": plain(totals.top - totals.actual),
            "saving_vs_lowest_tier": plain(totals.lowest - totals.actual)}


def as_json(view: CostView) -> str:
    """Money as exact decimal strings (never floats); rates as decimal strings in [0, 1]."""
    report, findings = view.report, view.findings
    payload = {
        "currency": "USD",
        "tiers": report.tiers,
        "tasks": [_task_json(item) for item in report.tasks],
        "totals": {"by_class": {name: _totals_json(t) for name, t in sorted(report.by_class.items())},
                   "overall": _totals_json(report.overall)},
        "findings": [finding_dict(f) for f in findings],
    }
    return json.dumps(payload, indent=2) + "\n"


FORMATS: Formats[CostView] = Formats({"text": as_text, "json": as_json, "markdown": as_markdown, "html": as_html})
