"""Renderers for the review: the due list (table, json, markdown) and the body of the review issue.

In Markdown, everything that comes from a policy file and is not a constrained identifier (evidence paths quoted
in reasons, the SLO, e-mail owners) is shown as inline code (``markdown.code``; ``markdown.inline`` leaves plain
prose such as "review was due 2027-01-19" as it is): it cannot forge a checkbox that ``ticked`` would read back on
the next run, a heading, a link, raw HTML or a mention. Only owners that are GitHub handles are mentioned, once
each, in their own heading; an e-mail owner is listed as text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from itertools import groupby

from tabulate import tabulate

from tiergate.report import Formats
from tiergate.report import markdown as md
from tiergate.report.verdict import printable
from tiergate.review.due import DueItem, DueView

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


def issue_body(items: list[DueItem], total: int, as_of: dt.date, quarter: str, keep_ticked: set[str] = frozenset(),
               observed: str = "") -> str:
    """The issue for ``quarter``; boxes of tasks in ``keep_ticked`` stay ticked if still listed."""
    lines = [marker(quarter), f"**{title(quarter)}**: {_count(items, total, as_of)}.", ""]
    if not items:
        lines += ["Nothing is due. This issue is updated by the scheduled review; close it when you like.", ""]
        return "\n".join(lines + ([observed] if observed else []) + [_footer()])
    lines += [
        "Models and prices move every quarter, so an assignment that was right six months ago may now be wrong in either "
        "direction. Re-test each task below on its tier **and on the cheaper tier listed**: a downgrade found here is as "
        "much the point as an upgrade.", "",
    ]
    for owner, group in groupby(items, key=lambda i: i.contract.owner):
        lines += [f"### {md.owner(owner)}", ""]
        for item in group:
            box = "x" if item.task in keep_ticked else " "
            cheaper = f"; re-test on **{_ident(item.cheaper)}**" if item.cheaper else ""
            lines.append(f"- [{box}] **{_ident(item.task)}** ({_ident(item.contract.tier)}, {md.code(item.slo)}){cheaper}: "
                         f"{_free(item.reasons)}")
        lines.append("")
    lines += ["### All due assignments", "", md.table([_row_markdown(item) for item in items], HEADERS), ""]
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


def _footer() -> str:
    return ("<sub>Written by `tiergate review open-issue`. Due dates come from the policy, so re-running it is safe; "
            "ticked boxes are kept, other edits are overwritten.</sub>\n")
