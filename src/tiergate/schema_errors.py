"""Pydantic validation errors turned into located findings."""

from __future__ import annotations

from pydantic import ValidationError

from tiergate.findings import Finding, Rule, finding
from tiergate.loading import Document

SCHEMA = Rule("TG101", "schema", "error", "Unknown key, wrong type, missing field or value out of range.")
RULES = (SCHEMA,)

_MESSAGES = {
    "extra_forbidden": "unknown key '{key}'; remove it or check its spelling",
    "missing": "missing required field '{key}'",
}


def schema_findings(err: ValidationError, doc: Document) -> list[Finding]:
    """One TG101 finding per pydantic error, at the line of the offending key or value."""
    out = []
    for item in err.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        key = loc[-1] if loc else ""
        where = ".".join(str(p) for p in loc) or "(top level)"
        template = _MESSAGES.get(kind)
        if template:
            text = f"{template.format(key=key)} (at {where})"
        else:
            msg = item["msg"].removeprefix("Value error, ")
            text = f"{where}: {msg}"
        line, column = doc.locate(loc, key=kind == "extra_forbidden")
        out.append(finding(SCHEMA, doc.path, line, text, column))
    return out
