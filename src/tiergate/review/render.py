"""Renderers for the review: the due list (table, json, markdown) and the body of the review issue.

In Markdown, everything that comes from a policy file and is not a constrained identifier (evidence paths quoted
in reasons, the SLO, e-mail owners) is shown as inline code (``markdown.code``; ``markdown.inline`` leaves plain
prose such as "review was due 2027-01-19" as it is): it cannot forge a checkbox that ``ticked`` would read back on
the next run, a heading, a link, raw HTML or a mention. Only owners that are GitHub handles are mentioned, once
each, in their own heading; an e-mail owner is listed as text. The issue's charts (``report.mermaid``) keep only
inert characters in their labels, and the tables beside them show every name in full.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from itertools import groupby

from typing import TYPE_CHECKING, Optional

from tabulate import tabulate

from tiergate.cost import monthly, percent
from tiergate.report import Formats
from tiergate.report import markdown as md
from tiergate.report import mermaid
from tiergate.report.verdict import printable
from tiergate.review.due import DueItem, DueView

if TYPE_CHECKING:
    from tiergate.review.spend import Spend

LABEL = "tier-review"
HEADERS = ["task", "class", "tier", "SLO", "reviewed", "why due", "cheaper tier to re-test"]
TICKED = re.compile(r"^- \[[xX]\] \*\*([a-z0-9][a-z0-9-]*)\*\*", re.MULTILINE)
IDENT = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # task and tier ids, as the models constrain them


def _row(item: DueItem) -> list[str]:
    c = item.contract
    return [c.task, c.task_class, c.tier, item.slo, c.reviewed.isoformat() if c.reviewed else "never",
            "; ".join(item.reasons), item.cheaper or "- (lowest tier)"]


def _count(items: list[DueItem], total: int, as_of: dt.date) -> str:
    return f"{len(items)} of {total} assignment(s) due for re-evaluation as of {as_of.isoformat()}"


def _ident(value: str) -> str:
    """A task or tier id in Markdown: as is when it is one (always, for a contract that loaded), else inline code."""
    return value if IDENT.match(value) else md.code(value)


def _free(values: "tuple[str, ...] | list[str]") -> str:
    return "; ".join(md.inline(v) for v in values)


def _row_markdown(item: DueItem) -> list[str]:
    c = item.contract
    return [_ident(c.task), _ident(c.task_class), _ident(c.tier), md.code(item.slo), c.reviewed.isoformat() if c.reviewed else "never",
            _free(item.reasons), _ident(item.cheaper) if item.cheaper else "- (lowest tier)"]


def due_text(view: DueView) -> str:
    items, total, as_of = view.items, view.total, view.as_of
    rows = [[printable(v) for v in [item.contract.owner] + _row(item)] for item in items]
    table = tabulate(rows, headers=["owner"] + HEADERS, tablefmt="simple", disable_numparse=True) + "\n\n" if rows else ""
    return table + production(view, "text") + _count(items, total, as_of) + "\n"


def due_markdown(view: DueView) -> str:
    items, total, as_of = view.items, view.total, view.as_of
    rows = [[md.owner(item.contract.owner)] + _row_markdown(item) for item in items]
    table = md.table(rows, ["owner"] + HEADERS) + "\n\n" if rows else ""
    return table + production(view, "markdown") + _count(items, total, as_of) + "\n"


def due_json(view: DueView) -> str:
    items, total, as_of = view.items, view.total, view.as_of
    payload = {
        "as_of": as_of.isoformat(), "count": len(items), "total": total,
        "due": [{"task": i.task, "file": i.path, "owner": i.contract.owner, "class": i.contract.task_class, "tier": i.contract.tier,
                 "slo": {"metric": i.contract.slo.metric, "threshold": i.contract.slo.threshold},
                 "reviewed": i.contract.reviewed.isoformat() if i.contract.reviewed else None,
                 "reasons": list(i.reasons), "cheaper_tier": i.cheaper} for i in items],
    }
    if view.observed is not None:
        from tiergate.audit.render import review_json

        payload["production"] = review_json(view.observed)
    return json.dumps(payload, indent=2) + "\n"


def production(view: DueView, fmt: str) -> str:
    """The audit's section (observed spend, escalation, drift; downgrade candidates by money saved), when --audit ran."""
    if view.observed is None:
        return ""
    from tiergate.audit.render import review_markdown, review_text

    return (review_text if fmt == "text" else review_markdown)(view.observed) + "\n"


FORMATS: Formats[DueView] = Formats({"text": due_text, "json": due_json, "markdown": due_markdown})


# --- the review issue ---------------------------------------------------------------------


def marker(quarter: str) -> str:
    """Hidden in the body; how a later run finds this quarter's issue among all labelled ones."""
    return f"<!-- tiergate-tier-review: {quarter} -->"


def title(quarter: str) -> str:
    return f"Tier review {quarter}"


def ticked(body: str) -> set[str]:
    return set(TICKED.findall(body or ""))


BODY_LIMIT = 65_536  # GitHub refuses a longer issue body; measured here in UTF-8 bytes, never fewer than characters


def _fits(body: str) -> bool:
    return len(body.encode("utf-8")) <= BODY_LIMIT


def issue_body(items: list[DueItem], total: int, as_of: dt.date, quarter: str, keep_ticked: set[str] = frozenset(),
               spend: "Optional[Spend]" = None, observed: str = "") -> str:
    """The issue for ``quarter``; boxes of tasks in ``keep_ticked`` stay ticked if still listed.

    Kept under GitHub's ``BODY_LIMIT``: when everything does not fit, the table of all due assignments goes first,
    then the checklist is cut to the items that fit (owners and tasks in the usual order); the body says so and
    points to ``tiergate review due`` for the full list.
    """
    def body(listed: int, table: bool) -> str:
        return _issue_body(items, total, as_of, quarter, keep_ticked, spend, listed, table, observed)

    for table in (True, False):
        whole = body(len(items), table)
        if _fits(whole):
            return whole
    low, high = 0, len(items)  # the longest prefix of the checklist that fits: body(0, False) always does
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if _fits(body(mid, False)) else (low, mid - 1)
    return body(low, False)


def _issue_body(items: list[DueItem], total: int, as_of: dt.date, quarter: str, keep_ticked: set[str],
                spend: "Optional[Spend]", listed: int, table: bool, observed: str = "") -> str:
    lines = [marker(quarter), f"**{title(quarter)}**: {_count(items, total, as_of)}.", ""]
    if not items:
        lines += ["Nothing is due. This issue is updated by the scheduled review; close it when you like.", ""]
        return "\n".join(lines + ([observed] if observed else []) + [_footer()])
    lines += [
        "Models and prices move every quarter, so an assignment that was right six months ago may now be wrong in either "
        "direction. Re-test each task below on its tier **and on the cheaper tier listed**: a downgrade found here is as "
        "much the point as an upgrade.", "",
    ]
    if spend is not None:
        lines += _spend_sections(spend)
    if listed < len(items):
        lines += [f"**{len(items) - listed} more due assignment(s) are not listed here**, to keep this issue under GitHub's "
                  f"{BODY_LIMIT:,}-character limit: `tiergate review due` lists them all.", ""]
    for owner, group in groupby(items[:listed], key=lambda i: i.contract.owner):
        lines += [f"### {md.owner(owner)}", ""]
        for item in group:
            box = "x" if item.task in keep_ticked else " "
            cheaper = f"; re-test on **{_ident(item.cheaper)}**" if item.cheaper else ""
            lines.append(f"- [{box}] **{_ident(item.task)}** ({_ident(item.contract.tier)}, {md.code(item.slo)}){cheaper}: "
                         f"{_free(item.reasons)}")
        lines.append("")
    if table:
        lines += ["### All due assignments", "", md.table([_row_markdown(item) for item in items], HEADERS), ""]
    else:
        lines += ["### All due assignments", "", f"Left out to keep this issue under GitHub's {BODY_LIMIT:,}-character limit: "
                  "`tiergate review due --format markdown` prints the table.", ""]
    lines += [observed] if observed else []  # production's section (review open-issue --audit)
    lines += [
        "### What to do", "",
        "1. Run the task's eval set on its tier and, where one is listed, on the cheaper tier.",
        "2. Record each run: `tiergate eval record --task <task> --tier <tier> --model <model> --records run.jsonl`.",
        "3. Open a pull request that links the new artifacts (`evidence.passing`; `evidence.failing` for a cheaper tier "
        "that missed), moves the task down if the cheaper tier passed, and sets `reviewed:` to today. The policy gate "
        "checks it and the code owners approve it.",
        "4. Tick the task's box here once the pull request is merged.", "",
    ]
    return "\n".join(lines + [_footer()])


def _spend_sections(spend: "Spend") -> list[str]:
    """Spend by tier (a pie and its table) and the biggest downgrade candidates (a bar chart and its table)."""
    total = spend.total
    lines = ["### Monthly spend by tier", ""]
    if total > 0:
        lines.append(mermaid.pie_chart("Monthly all-in spend by tier (USD)", [(t.tier, t.monthly) for t in spend.by_tier]))
    rows = [[_ident(t.tier), str(t.tasks), monthly(t.monthly), percent(t.monthly / total) if total else "-"] for t in spend.by_tier]
    lines += [md.table(rows, ["tier", "tasks", "monthly", "share"]), "",
              f"{monthly(total)} a month in all, as `tiergate cost` computes it (all-in: direct, escalations, retries, "
              "human review, trust damage).", "", "### Biggest downgrade candidates", ""]
    if not spend.candidates:
        return lines + ["No task due for review would cost less on the cheaper tier at today's prices.", ""]
    lines += [mermaid.bar_chart("Monthly saving on the cheaper tier (USD)", [c.task for c in spend.candidates],
                                [mermaid.Series([c.saving for c in spend.candidates])], horizontal=True)]
    rows = [[_ident(c.task), _ident(c.tier), _ident(c.cheaper), monthly(c.monthly), monthly(c.saving)] for c in spend.candidates]
    lines += [md.table(rows, ["task", "tier", "re-test on", "monthly now", "saving a month"]), "",
              "The saving prices the same contract on the cheaper tier (same ceiling and failure rates); the re-test says "
              "whether the cheaper tier holds the SLO.", ""]
    return lines


def _footer() -> str:
    return ("<sub>Written by `tiergate review open-issue`. Due dates come from the policy, so re-running it is safe; "
            "ticked boxes are kept, other edits are overwritten.</sub>\n")
