"""Ownership rules: CODEOWNERS hands every contract to its owner and the gate to the platform."""

from __future__ import annotations

from typing import Iterator

from tiergate.codeowners import Owners
from tiergate.findings import Finding, Rule, finding
from tiergate.layout import DEFAULT_CODEOWNERS, PLATFORM_PROBES
from tiergate.rules.context import Context

CODEOWNERS_MISSING = Rule("TG701", "codeowners-missing", "error", "No CODEOWNERS file in .github/, the root or docs/.")
CONTRACT_OWNER = Rule("TG702", "contract-owner", "error", "CODEOWNERS does not give a contract file to the contract's owner.")
PLATFORM_OWNER = Rule("TG703", "platform-owner", "error",
                      "CODEOWNERS does not give the catalog, the gate or CODEOWNERS itself to the platform owner.")
CODEOWNERS_SYNTAX = Rule("TG704", "codeowners-syntax", "error", "A CODEOWNERS line uses syntax GitHub ignores or rejects.")
RULES = (CODEOWNERS_MISSING, CONTRACT_OWNER, PLATFORM_OWNER, CODEOWNERS_SYNTAX)


def check(ctx: Context) -> Iterator[Finding]:
    catalog, file = ctx.policy.catalog, ctx.policy.codeowners
    if catalog is None:
        return
    if file is None:
        yield finding(CODEOWNERS_MISSING, DEFAULT_CODEOWNERS, 0, "no CODEOWNERS file; run `tiergate codeowners --write` to create one")
        return
    if file.unreadable is not None:
        yield finding(file.unreadable.rule, file.path, file.unreadable.line, file.unreadable.message)
        return
    if file.invalid is not None:
        yield finding(CODEOWNERS_SYNTAX, file.path, file.invalid.line, str(file.invalid))
        return
    owners = file.owners
    assert owners is not None
    platform = catalog.platform_owner
    for probe in PLATFORM_PROBES + (file.path,):
        if not owners.owns(probe, platform):
            yield _mismatch(PLATFORM_OWNER, file.path, owners, probe, platform, file.path)
    for contract, doc in ctx.policy.valid_contracts():
        if not owners.owns(doc.path, contract.owner):
            yield _mismatch(CONTRACT_OWNER, file.path, owners, doc.path, contract.owner, doc.path, doc.line("owner"))


def _mismatch(rule: Rule, path: str, owners: Owners, target: str, expected: str, where: str, line: int = -1) -> Finding:
    entry = owners.entry_for(target)
    actual = f"gives it to {' '.join(entry.owners) or 'nobody'} (line {entry.line})" if entry else "does not match it"
    at = line if line >= 0 else (entry.line if entry else 0)
    return finding(rule, where, at, f"{path} {actual}, but {target} belongs to {expected}; run `tiergate codeowners --write`")
