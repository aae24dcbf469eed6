"""Renderers of a verdict (``validate``, ``check``): text, json, markdown and github."""

from __future__ import annotations

import json
from typing import Any

from tiergate.findings import Finding, Result, TierChange
from tiergate.report import Formats
from tiergate.report import markdown as md


def _where(f: Finding) -> str:
    parts = [f.file]
    if f.line:
        parts.append(str(f.line))
        if f.column:
            parts.append(str(f.column))
    return ":".join(parts)


def summary_line(result: Result) -> str:
    errors, warnings = result.counts()
    verdict = "FAILED" if errors else "ok"
    return f"{verdict}: {errors} error(s), {warnings} warning(s) in {result.contracts} contract(s), {result.artifacts} artifact(s)"


def line(f: Finding) -> str:
    return f"{_where(f)}: {f.severity} {f.id} {f.name}: {f.message}"


def finding_dict(f: Finding) -> dict[str, Any]:
    return {"rule": f.id, "name": f.name, "severity": f.severity, "file": f.file, "line": f.line, "column": f.column, "message": f.message}


def text(result: Result) -> str:
    lines = [line(f) for f in result.sorted()]
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def as_json(result: Result) -> str:
    payload: dict[str, Any] = {"ok": result.ok, "findings": [finding_dict(f) for f in result.sorted()]}
    return json.dumps(payload, indent=2) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    props = [f"file={_escape_property(f.file)}"]
    if f.line:
        props.append(f"line={f.line}")
        if f.column:
            props.append(f"col={f.column}")
    props.append(f"title={_escape_property(f'{f.id} {f.name}')}")
    return f"::{f.severity} {','.join(props)}::{_escape_data(f.message)}"


def github(result: Result) -> str:
    """Annotations for the Actions UI, then the full text report (the UI shows only ten per step)."""
    lines = [annotation(f) for f in result.sorted()]
    return "\n".join(lines) + ("\n" if lines else "") + text(result)


def _tier_rows(changes: list[TierChange]) -> list[list[str]]:
    return [[c.task, c.before, c.after, ", ".join(c.evidence) or "-", c.verdict] for c in changes]


def markdown(result: Result, title: str = "tiergate") -> str:
    """The verdict, every tier change (for ``check``) and every finding, as Markdown."""
    lines = [f"## {title}: {'passed' if result.ok else 'failed'}", "", summary_line(result), ""]
    if result.tier_changes:
        lines += ["### Tier changes", "", md.table(_tier_rows(result.tier_changes), ["task", "from", "to", "evidence", "verdict"]), ""]
    findings = result.sorted()
    if findings:
        rows = [[f.severity, f.id, f"{f.file}:{f.line}" if f.line else f.file, f.message] for f in findings]
        lines += ["### Findings", "", md.table(rows, ["severity", "rule", "where", "message"]), ""]
    return "\n".join(lines) + "\n"


def step_summary(result: Result) -> str:
    """Markdown for ``GITHUB_STEP_SUMMARY``, written with the ``github`` format."""
    title = "tiergate policy gate" if result.tier_changes is not None else "tiergate validate"
    return markdown(result, title)


FORMATS: Formats[Result] = Formats({"text": text, "json": as_json, "markdown": markdown, "github": github}, summary=step_summary)
