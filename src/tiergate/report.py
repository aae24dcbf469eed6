"""Reporters: findings in, text out. The only code that formats findings for people or CI."""

from __future__ import annotations

import json
from typing import Any, Callable

from tabulate import tabulate

from tiergate.findings import Finding, Result


def _where(f: Finding) -> str:
    parts = [f.file]
    if f.line:
        parts.append(str(f.line))
        if f.column:
            parts.append(str(f.column))
    return ":".join(parts)


def _summary(result: Result) -> str:
    findings = result.sorted()
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    verdict = "FAILED" if errors else "ok"
    return f"{verdict}: {errors} error(s), {warnings} warning(s) in {result.contracts} contract(s), {result.artifacts} artifact(s)"


def line(f: Finding) -> str:
    return f"{_where(f)}: {f.severity} {f.rule} {f.name}: {f.message}"


def finding_dict(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "name": f.name, "severity": f.severity, "file": f.file, "line": f.line, "column": f.column, "message": f.message}


def text(result: Result) -> str:
    lines = [line(f) for f in result.sorted()]
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def as_json(result: Result) -> str:
    payload = {
        "ok": result.ok,
        "findings": [finding_dict(f) for f in result.sorted()],
    }
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
    props.append(f"title={_escape_property(f'{f.rule} {f.name}')}")
    return f"::{f.severity} {','.join(props)}::{_escape_data(f.message)}"


def github(result: Result) -> str:
    """Annotations for the Actions UI, then the full text report (the UI shows only ten per step)."""
    lines = [annotation(f) for f in result.sorted()]
    return "\n".join(lines) + ("\n" if lines else "") + text(result)


REPORTERS: dict[str, Callable[[Result], str]] = {"text": text, "json": as_json, "github": github}


def step_summary(title: str, result: Result, tier_changes: list[Any]) -> str:
    """Markdown for ``GITHUB_STEP_SUMMARY``: the verdict, every tier change, every finding."""
    lines = [f"## {title}: {'passed' if result.ok else 'failed'}", "", _summary(result), ""]
    if tier_changes:
        rows = [(c.task, c.before, c.after, c.evidence, c.verdict) for c in tier_changes]
        lines += ["### Tier changes", "", tabulate(rows, headers=["task", "from", "to", "evidence", "verdict"], tablefmt="github"), ""]
    findings = result.sorted()
    if findings:
        rows = [(f.severity, f.rule, f"{f.file}:{f.line}" if f.line else f.file, f.message) for f in findings]
        lines += ["### Findings", "", tabulate(rows, headers=["severity", "rule", "where", "message"], tablefmt="github"), ""]
    return "\n".join(lines) + "\n"
