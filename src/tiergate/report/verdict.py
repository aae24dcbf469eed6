"""Renderers of a verdict (``validate``, ``check``): text, json, markdown and github."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from tiergate.findings import Finding, Result, TierChange
from tiergate.report import Formats
from tiergate.report import costdiff
from tiergate.report import markdown as md
from tiergate.report import sarif


# characters that could end a line or move the cursor: C0/C1 controls but tab, line/paragraph separators, bidi controls
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(text: str) -> str:
    """``text`` on one line of a terminal or a CI log: line breaks and other controls written as escapes (``\\n``)."""
    return _UNPRINTABLE.sub(_escape, text)


def _where(f: Finding) -> str:
    parts = [printable(f.file)]
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
    """One finding on exactly one line, whatever its file name or message holds."""
    return f"{_where(f)}: {f.severity} {f.id} {f.name}: {printable(f.message)}"


def finding_dict(f: Finding) -> dict[str, Any]:
    return {"rule": f.id, "name": f.name, "severity": f.severity, "file": f.file, "line": f.line, "column": f.column, "message": f.message}


def text(result: Result) -> str:
    lines = [line(f) for f in result.sorted()]
    if result.cost_diff is not None and (result.cost_diff.tasks or not result.cost_diff.priced):
        lines.append(costdiff.text(result.cost_diff, printable).rstrip("\n"))
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def as_json(result: Result) -> str:
    """``{"ok", "findings"}``, and for ``check`` also ``tier_changes`` (task, from, to, evidence, verdict) and ``cost``
    (per task and in total: ``past``, ``future``, ``diff``, money as exact decimal strings)."""
    payload: dict[str, Any] = {"ok": result.ok, "findings": [finding_dict(f) for f in result.sorted()]}
    if result.tier_changes is not None:
        payload["tier_changes"] = [{"task": c.task, "from": c.before, "to": c.after, "evidence": list(c.evidence), "verdict": c.verdict}
                                   for c in result.tier_changes]
    if result.cost_diff is not None:
        payload["cost"] = costdiff.as_json(result.cost_diff)
    return json.dumps(payload, indent=2, allow_nan=False) + "\n"


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


def workflow_warning(title: str, message: str) -> str:
    """A warning annotation of the Actions run itself (no file), escaped like the findings' annotations."""
    return f"::warning title={_escape_property(title)}::{_escape_data(message)}"


def github(result: Result) -> str:
    """Annotations for the Actions UI, then the full text report (the UI shows only ten per step).

    The report is wrapped in ``::stop-commands::<token>`` ... ``::<token>::`` with a token drawn afresh on every
    render, so no line of it (a file named ``::warning::x.yaml``, say) can be read by the runner as a command.
    """
    lines = [annotation(f) for f in result.sorted()]
    token = secrets.token_hex(16)
    return "\n".join(lines + [f"::stop-commands::{token}"]) + "\n" + text(result) + f"::{token}::\n"


def _tier_rows(changes: list[TierChange]) -> list[list[str]]:
    return [[c.task, c.before, c.after, ", ".join(md.inline(e) for e in c.evidence) or "-", c.verdict] for c in changes]


def markdown(result: Result, title: str = "tiergate") -> str:
    """The verdict, every tier change (for ``check``) and every finding, as Markdown."""
    lines = [f"## {title}: {'passed' if result.ok else 'failed'}", "", summary_line(result), ""]
    if result.tier_changes:
        lines += ["### Tier changes", "", md.table(_tier_rows(result.tier_changes), ["task", "from", "to", "evidence", "verdict"]), ""]
    if result.cost_diff is not None and (result.cost_diff.tasks or not result.cost_diff.priced):
        lines += [costdiff.markdown(result.cost_diff, costdiff.SUMMARY_ROWS)]
    findings = result.sorted()
    if findings:
        # a path or a message can quote anything a policy file holds: as code, unless it cannot be Markdown (md.inline)
        rows = [[f.severity, f.id, md.inline(f"{f.file}:{f.line}" if f.line else f.file), md.inline(f.message)] for f in findings]
        lines += ["### Findings", "", md.table(rows, ["severity", "rule", "where", "message"]), ""]
    return "\n".join(lines) + "\n"


def step_summary(result: Result) -> str:
    """Markdown for ``GITHUB_STEP_SUMMARY``, written with the ``github`` format."""
    title = "tiergate policy gate" if result.tier_changes is not None else "tiergate validate"
    return markdown(result, title)


def step_outputs(result: Result) -> dict[str, str]:
    """What the GitHub Action exposes: the verdict and the counts (values are plain words and numbers)."""
    errors, warnings = result.counts()
    return {"result": "pass" if result.ok else "fail", "errors": str(errors), "warnings": str(warnings)}


FORMATS: Formats[Result] = Formats({"text": text, "json": as_json, "markdown": markdown, "github": github, "sarif": sarif.verdict},
                                   summary=step_summary,
                                   outputs=step_outputs)
