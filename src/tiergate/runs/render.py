"""Renderers for ``eval run`` / ``eval import`` (an Outcome) and ``eval profile`` (a Profile): text, json, markdown.

The result types are imported for type checking only: ``--help`` loads these renderers for the
format names, and must not load the run client with them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Optional

from tabulate import tabulate

from tiergate.cost import per_call
from tiergate.report import Formats

if TYPE_CHECKING:
    from tiergate.runs.execute import Outcome
    from tiergate.runs.profile import Profile

HEADERS = ["tier", "model", "score", "upper bound", "verdict", "cost/call", "cost/success", "p95 latency", "errors"]


def _money(amount: Optional[Decimal]) -> str:
    return "never succeeds" if amount is None else per_call(amount)


def outcome_text(done: Outcome) -> str:
    m = done.measured
    lines = [done.path,
             f"{done.metric} {done.score.value:g} on {done.score.total} samples of {done.model} ({done.tier}) against the SLO "
             f"threshold {done.threshold:g}: {done.verdict}"]
    if m:
        lines.append(f"measured: {m['calls']} calls ({m['cached']} cached), {m['errors']} errors, avg {m['avg_input_tokens']:g} in / "
                     f"{m['avg_output_tokens']:g} out tokens, p95 latency {m['p95_latency_ms']:g} ms, spend ${m['total_cost_usd']:.6f}")
    if done.recorded is not None and done.recorded.linked:
        lines.append(f"linked as {done.recorded.linked} evidence in policy/tasks/{done.task}.yaml")
    return "\n".join(lines) + "\n"


def outcome_json(done: Outcome) -> str:
    return json.dumps({"path": done.path, "trial": done.trial, "task": done.task, "tier": done.tier, "model": done.model,
                       "metric": done.metric, "score": done.score.value, "samples": done.score.total, "threshold": done.threshold,
                       "verdict": done.verdict, "measured": done.measured,
                       "linked": done.recorded.linked if done.recorded else None}, indent=2) + "\n"


def _rows(view: Profile) -> list[list[str]]:
    return [[row.tier + (" *" if row.tier == view.recommended else ""), row.model, f"{row.score.value:g}", f"{row.bound:.4f}",
             row.verdict, per_call(row.cost_per_call), _money(row.cost_per_success), f"{row.p95_latency_ms:.0f} ms", str(row.errors)]
            for row in view.rows]


def _tail(view: Profile) -> list[str]:
    lines = [f"recommendation: {view.recommended} (the cheapest tier that passes)" if view.recommended else
             "recommendation: none: no tier profiled passes the SLO"]
    lines += view.notes
    if view.linked:
        lines.append(f"recorded every run and linked the evidence in policy/tasks/{view.task}.yaml")
    return lines


def profile_text(view: Profile) -> str:
    head = (f"{view.task}: {view.metric} >= {view.threshold:g}, {view.rows[0].score.total if view.rows else 0} samples, "
            f"{view.confidence:.0%} upper bound")
    return "\n".join([head, tabulate(_rows(view), HEADERS, tablefmt="simple"), *_tail(view)]) + "\n"


def profile_markdown(view: Profile) -> str:
    head = f"**{view.task}**: {view.metric} ≥ {view.threshold:g} ({view.confidence:.0%} upper bound)"
    return "\n\n".join([head, tabulate(_rows(view), HEADERS, tablefmt="github"), "\n".join(f"- {t}" for t in _tail(view))]) + "\n"


def _row_json(row: Any) -> dict[str, Any]:
    return {"tier": row.tier, "model": row.model, "score": row.score.value, "samples": row.score.total, "upper_bound": row.bound,
            "verdict": row.verdict, "cost_per_call": str(row.cost_per_call),
            "cost_per_success": None if row.cost_per_success is None else str(row.cost_per_success),
            "p95_latency_ms": row.p95_latency_ms, "errors": row.errors, "artifact": row.artifact}


def profile_json(view: Profile) -> str:
    return json.dumps({"task": view.task, "metric": view.metric, "threshold": view.threshold, "confidence": view.confidence,
                       "tiers": [_row_json(r) for r in view.rows], "recommended": view.recommended, "linked": view.linked,
                       "notes": view.notes}, indent=2) + "\n"


OUTCOME: "Formats[Outcome]" = Formats({"text": outcome_text, "json": outcome_json})
PROFILE: "Formats[Profile]" = Formats({"text": profile_text, "json": profile_json, "markdown": profile_markdown})
