"""Renderers of an audit: text, json, markdown, github and sarif, through the one ``Formats`` interface.

The findings are an ordinary ``findings.Result`` (``AuditResult.verdict``), so the verdict's renderers
apply to them as is: github is ``report.verdict.github`` of it, sarif ``report.sarif.render`` of its
findings. Client-set values (task ids, model names) are escaped for the terminal and shown as inline
code in Markdown.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Optional

from tabulate import tabulate

from tiergate.audit.checks import shown
from tiergate.audit.result import AuditResult, TaskAudit
from tiergate.audit.rules import RULES
from tiergate.cost import percent, per_call, plain
from tiergate.layout import TASK_ID
from tiergate.report import Formats
from tiergate.report import markdown as md
from tiergate.report import sarif, verdict

IDENT = re.compile(TASK_ID)
AUTOMATION_ID = "tiergate/audit/"
HEADERS = ["task", "tier", "calls", "spend (log)", "spend (catalog)", "above tier", "drift calls", "avg in", "avg out", "models"]
NO_TASK = "(no task id)"


def _money(amount: Optional[Decimal]) -> str:
    return per_call(amount) if amount is not None else "-"


def _avg(t: TaskAudit, tokens: int) -> str:
    value = t.average(tokens)
    return "-" if value is None else f"{value:,.0f}"


def _row(t: TaskAudit) -> list[str]:
    rate = t.escalation_rate
    return [shown(t.task) if t.task is not None else NO_TASK, t.tier or "(no contract)", f"{t.calls:,}", _money(t.logged_spend),
            _money(t.recomputed_spend), "-" if rate is None or t.path is None else percent(Decimal(str(rate))),
            f"{t.drift:,}" if t.path else "-",
            _avg(t, t.input_tokens), _avg(t, t.output_tokens), ", ".join(shown(u.model) for u in t.models[:3])
            + (", ..." if len(t.models) > 3 else "")]


def summary_line(audit: AuditResult) -> str:
    errors, warnings = audit.verdict.counts()
    state = "FAILED" if errors else "ok"
    return (f"{state}: {errors} error(s), {warnings} warning(s); {audit.calls:,} call(s) over {len(audit.tasks)} task id(s), "
            f"{audit.verdict.contracts} contract(s), {audit.window()}, from {verdict.printable(audit.source)}")


def text(audit: AuditResult) -> str:
    rows = [[verdict.printable(cell) for cell in _row(t)] for t in audit.tasks]
    out = [tabulate(rows, headers=HEADERS, tablefmt="simple", disable_numparse=True), ""] if rows else []
    out += [verdict.line(f) for f in audit.verdict.sorted()]
    out.append(summary_line(audit))
    return "\n".join(out) + "\n"


def _task_dict(audit: AuditResult, t: TaskAudit) -> dict[str, Any]:
    def money(amount: Optional[Decimal]) -> Optional[str]:
        return None if amount is None else plain(amount)

    saving = t.downgrade_saving
    return {
        "task": t.task, "contract": t.path, "tier": t.tier, "calls": t.calls, "malformed": t.malformed,
        "spend": {"logged": money(t.logged_spend), "recomputed": money(t.recomputed_spend)},
        "input_tokens": t.input_tokens, "output_tokens": t.output_tokens,
        "calls_above_tier": t.above, "escalation_rate": t.escalation_rate, "drift_calls": t.drift,
        "models": [{"model": u.model, "calls": u.calls, "tier": u.tier, "place": u.place} for u in t.models],
        "downgrade_saving": money(saving), "downgrade_saving_per_30_days": money(audit.per_month(saving) if saving is not None else None),
    }


def as_json(audit: AuditResult) -> str:
    """Money as exact decimal strings (as ``tiergate cost`` does); rates as numbers; times in ISO 8601 UTC."""
    def iso(moment: Any) -> Optional[str]:
        return moment.isoformat() if moment is not None else None

    payload = {
        "ok": audit.ok, "source": audit.source,
        "window": {"since": iso(audit.since), "until": iso(audit.until), "first_call": iso(audit.first_at),
                   "last_call": iso(audit.last_at), "days": audit.days},
        "calls": audit.calls, "malformed": audit.malformed,
        "tasks": [_task_dict(audit, t) for t in audit.tasks],
        "findings": [verdict.finding_dict(f) for f in audit.verdict.sorted()],
    }
    return json.dumps(payload, indent=2, allow_nan=False) + "\n"


def _cell(value: str) -> str:
    """A client-set value (task id, models) in Markdown: as is when it is a task id, else inline code."""
    return value if IDENT.fullmatch(value) else md.code(value)


def markdown(audit: AuditResult) -> str:
    lines = [f"## tiergate audit: {'passed' if audit.ok else 'failed'}", "", md.code(summary_line(audit)), ""]
    if audit.tasks:
        rows = [[_cell(c) if i in (0, 9) else c for i, c in enumerate(_row(t))] for t in audit.tasks]
        lines += ["### Production by task", "", md.table(rows, HEADERS), ""]
    findings = audit.verdict.sorted()
    if findings:
        rows = [[f.severity, f.id, md.code(f.file), md.code(f.message)] for f in findings]
        lines += ["### Findings", "", md.table(rows, ["severity", "rule", "where", "message"]), ""]
    return "\n".join(lines) + "\n"


def github(audit: AuditResult) -> str:
    return verdict.github(audit.verdict)


def step_outputs(audit: AuditResult) -> dict[str, str]:
    return verdict.step_outputs(audit.verdict)


def as_sarif(audit: AuditResult) -> str:
    """SARIF for code scanning, as its own analysis (``tiergate/audit/``), so a scheduled audit's upload never
    closes the gate's alerts; every audit rule is listed."""
    return sarif.render(audit.verdict.findings, RULES, AUTOMATION_ID)


FORMATS: Formats[AuditResult] = Formats({"text": text, "json": as_json, "markdown": markdown, "github": github, "sarif": as_sarif},
                                        summary=markdown, outputs=step_outputs)


# --- the review's production section (review due --audit, review open-issue --audit) ---------------------

REVIEW_ROWS = 50
REVIEW_HEADERS = ["task", "tier", "calls", "spend", "escalation (observed / contract)", "drift calls", "cheaper tier",
                  "saving per 30 days on it"]


def _review_rows(audit: AuditResult) -> list[list[str]]:
    """Contracted tasks with traffic, downgrade candidates first (most money saved), then the rest by spend."""
    ranked = audit.downgrades()
    rest = sorted((t for t in audit.tasks if t.path is not None and t not in ranked), key=lambda t: (-(t.spend or 0), t.task or ""))
    rows = []
    for t in ranked + rest:
        assert t.task is not None
        rate, declared = t.escalation_rate, t.declared_rate
        saving = audit.per_month(t.downgrade_saving) if t.downgrade_saving is not None and t.downgrade_saving > 0 else None
        rows.append([t.task, t.tier or "-", f"{t.calls:,}", _money(t.spend),
                     f"{'-' if rate is None else percent(Decimal(str(rate)))} / {'-' if declared is None else percent(Decimal(str(declared)))}",
                     f"{t.drift:,}", t.cheaper or "-", _money(saving) if saving is not None else "-"])
    return rows


def _review_intro(audit: AuditResult) -> str:
    return (f"{audit.calls:,} call(s) from {audit.window()}; {audit.verdict.counts()[0]} drift or data error(s) "
            f"(run `tiergate audit` for the findings). Savings assume the window's tokens on the cheaper tier's primary model.")


def review_text(audit: AuditResult) -> str:
    rows = [[verdict.printable(c) for c in row] for row in _review_rows(audit)]
    table = tabulate(rows, headers=REVIEW_HEADERS, tablefmt="simple", disable_numparse=True) + "\n" if rows else ""
    return f"\nObserved in production ({verdict.printable(audit.source)}): {_review_intro(audit)}\n{table}"


def review_markdown(audit: AuditResult) -> str:
    """At most ``REVIEW_ROWS`` tasks (the biggest savings, then the biggest spend): the issue has a size limit."""
    rows = [[md.code(c) if i == 0 else c for i, c in enumerate(row)] for row in _review_rows(audit)]
    more = f"\n{len(rows) - REVIEW_ROWS:,} more task(s): `tiergate review due --audit SOURCE` lists them all.\n" if len(rows) > REVIEW_ROWS else ""
    table = md.table(rows[:REVIEW_ROWS], REVIEW_HEADERS) + "\n" + more if rows else ""
    return f"### Observed in production\n\n{_review_intro(audit)}\n\n{table}"


def review_json(audit: AuditResult) -> dict[str, Any]:
    ranked = [t.task for t in audit.downgrades()]
    return {"source": audit.source, "window": audit.window(), "calls": audit.calls, "ok": audit.ok,
            "tasks": [_task_dict(audit, t) for t in audit.tasks if t.path is not None], "downgrade_candidates": ranked}
