"""SARIF 2.1.0: findings as a static-analysis log that GitHub code scanning (and any SARIF viewer) reads.

Built from a list of findings and the rules they come from, so every kind of result that produces ``Finding``s
(``validate``, ``check``, later others) renders through the same code and only names its own automation id.

What code scanning needs, and why each choice here:
- every rule in ``tool.driver.rules`` (not only those that fired), each with a help text and a link to the rule
  table, so an alert always has its explanation next to it; results point at their rule by ``ruleIndex``;
- a location on every result: paths relative to the repository root under ``uriBaseId`` ``%SRCROOT%``, percent-
  encoded (a file named ``a#b:c.yaml`` is one path, not a URI with a fragment or a scheme), and ``startLine`` of
  at least 1 (a finding about a whole file points at its first line);
- ``partialFingerprints`` that survive unrelated edits: a hash of the rule, the file and the message with its
  line references taken out, never the line itself, so a contract that grows a comment at the top keeps its
  alert instead of closing it and opening a new one; an occurrence count keeps two equal findings apart;
- ``automationDetails.id`` per command (``tiergate/validate/``, ``tiergate/check/``), so the uploads of the
  two commands do not close each other's alerts;
- at most ``MAX_RESULTS`` results (GitHub's limit per run): errors first, and a note in the run's
  ``properties`` and its invocation when some were left out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import quote

from tiergate import HOMEPAGE, __version__
from tiergate.findings import Finding, Result, Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
MAX_RESULTS = 25_000  # GitHub code scanning keeps at most this many results of one run
FINGERPRINT = "tiergateFinding/v1"
LEVELS = {"error": "error", "warning": "warning", "note": "note"}
_LEVEL_ORDER = {"error": 0, "warning": 1, "note": 2}
# references to lines inside a message ("first at line 12", "line 3", "x.yaml:12:"): not part of a finding's identity
_LINE_REFERENCE = re.compile(r"\blines? \d+(?:-\d+)?|:\d+(?=[:\s)]|$)")


def rules_url() -> str:
    """The README's rule table for this version: ids are stable, and the text matches the tool that found it."""
    return f"{HOMEPAGE}/blob/v{__version__}/README.md#rules"


def level(severity: str) -> str:
    return LEVELS.get(severity, "warning")


def artifact_uri(path: str) -> str:
    """A repository path as a relative URI reference: every byte but unreserved characters and ``/`` percent-encoded.

    ``:`` is encoded too, so a first segment such as ``c:x.yaml`` cannot read as a scheme, and ``#``, ``?`` and
    ``%`` cannot start a fragment, a query or an escape. Non-ASCII names are encoded as UTF-8, and a name that is
    not UTF-8 on disk (read with Python's surrogate escapes) as its own bytes.
    """
    return quote(path.replace("\\", "/").lstrip("/").encode("utf-8", "surrogateescape"), safe="/")


def normalised(message: str) -> str:
    """The message as a finding's identity: line references replaced and whitespace collapsed."""
    return " ".join(_LINE_REFERENCE.sub(" line ", message).split())


def fingerprints(findings: list[Finding]) -> list[str]:
    """One stable fingerprint per finding, in order: hash of rule, file and normalised message, then ``:n`` for the
    n-th finding with that hash (in sort order, which a line shift does not change between equal findings)."""
    seen: Counter[str] = Counter()
    out = []
    for f in findings:
        key = "\0".join((f.id, f.file, normalised(f.message))).encode("utf-8", "surrogateescape")  # names not UTF-8 on disk
        digest = hashlib.sha256(key).hexdigest()
        seen[digest] += 1
        out.append(f"{digest}:{seen[digest]}")
    return out


def _text(text: str) -> dict[str, str]:
    return {"text": text}


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    """One ``reportingDescriptor``: the fields code scanning shows on every alert of the rule."""
    url = rules_url()
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": _text(rule.summary),
        "fullDescription": _text(f"{rule.id} {rule.name} ({rule.severity}): {rule.summary}"),
        "help": {"text": f"{rule.summary}\n\nSee the rule table in the tiergate README: {url}",
                 "markdown": f"{rule.summary}\n\nSee [{rule.id} in the tiergate rule table]({url})."},
        "helpUri": url,
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {"tags": ["tiergate", "policy"]},
    }


def _region(f: Finding) -> dict[str, int]:
    region = {"startLine": max(f.line, 1)}
    if f.line >= 1 and f.column >= 1:
        region["startColumn"] = f.column
    return region


def _result(f: Finding, index: int, fingerprint: str) -> dict[str, Any]:
    return {
        "ruleId": f.id,
        "ruleIndex": index,
        "level": level(f.severity),
        "message": _text(f.message),
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(f.file), "uriBaseId": SRCROOT},
                                            "region": _region(f)}}],
        "partialFingerprints": {FINGERPRINT: fingerprint},
    }


def _rule_list(findings: list[Finding], rules: Iterable[Rule]) -> list[Rule]:
    """Every rule of the registry, plus any rule a finding names that the registry lacks (so each has an index)."""
    known = {rule.id: rule for rule in rules}
    for f in findings:
        known.setdefault(f.id, f.rule)
    return [known[key] for key in sorted(known)]


def _truncation(total: int, limit: int) -> Optional[dict[str, Any]]:
    if total <= limit:
        return None
    return {"truncated": True, "results": total, "reported": limit,
            "note": f"{total - limit} of {total} results left out (code scanning keeps {limit} a run): errors come first; "
                    "run the command with --format text for all of them"}


def log(findings: Iterable[Finding], rules: Iterable[Rule], automation_id: str, limit: int = MAX_RESULTS) -> dict[str, Any]:
    """The SARIF log of ``findings`` (deduplicated and sorted) with ``rules`` as the driver's rules."""
    ordered = sorted(set(findings), key=Finding.sort_key)
    prints = dict(zip(ordered, fingerprints(ordered)))
    catalogue = _rule_list(ordered, rules)
    index = {rule.id: i for i, rule in enumerate(catalogue)}
    kept = sorted(ordered, key=lambda f: (_LEVEL_ORDER.get(level(f.severity), 3), f.sort_key()))[:limit]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "tiergate", "version": __version__, "semanticVersion": __version__,
                            "informationUri": HOMEPAGE, "rules": [rule_descriptor(rule) for rule in catalogue]}},
        "automationDetails": {"id": automation_id},
        "originalUriBaseIds": {SRCROOT: {"description": _text("The root of the governance repository.")}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.id], prints[f]) for f in kept],
    }
    cut = _truncation(len(ordered), limit)
    if cut is not None:
        run["properties"] = cut
        run["invocations"] = [{"executionSuccessful": True,
                               "toolExecutionNotifications": [{"level": "warning", "message": _text(cut["note"])}]}]
    return {"$schema": SCHEMA, "version": VERSION, "runs": [run]}


def render(findings: Iterable[Finding], rules: Iterable[Rule], automation_id: str, limit: int = MAX_RESULTS) -> str:
    return json.dumps(log(findings, rules, automation_id, limit), indent=2, allow_nan=False) + "\n"


def automation_id(result: Result) -> str:
    """``tiergate/check/`` for the gate, ``tiergate/validate/`` for the repository at rest: two separate analyses."""
    return f"tiergate/{'check' if result.tier_changes is not None else 'validate'}/"


def verdict(result: Result) -> str:
    """``validate`` and ``check`` as SARIF, with every rule of the registry."""
    from tiergate.rules import REGISTRY

    return render(result.findings, REGISTRY.values(), automation_id(result))

