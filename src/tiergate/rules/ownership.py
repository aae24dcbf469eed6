"""Ownership rules: CODEOWNERS hands every contract to its owner and the gate to the platform."""

from __future__ import annotations

from typing import Iterator, Optional

from tiergate.codeowners import LOCATIONS, CodeownersError, Owners, parse
from tiergate.findings import Finding, finding
from tiergate.loading import MAX_YAML_BYTES, LoadError, decode_utf8
from tiergate.policy import CATALOG
from tiergate.rules.context import Context

PROBES = (CATALOG, ".github/workflows/policy-gate.yml", "src/tiergate/__init__.py")


def find_codeowners(ctx: Context) -> Optional[str]:
    return next((p for p in LOCATIONS if ctx.policy.tree.exists(p)), None)


def check(ctx: Context) -> Iterator[Finding]:
    catalog = ctx.policy.catalog
    if catalog is None:
        return
    path = find_codeowners(ctx)
    if path is None:
        yield finding("TG701", "CODEOWNERS", 0, "no CODEOWNERS file; run `tiergate codeowners --write` to create one")
        return
    try:
        owners = Owners(parse(decode_utf8(ctx.policy.tree.read(path, MAX_YAML_BYTES))))
    except LoadError as err:
        yield finding(err.rule, path, err.line, err.message)
        return
    except CodeownersError as err:
        yield finding("TG704", path, err.line, str(err))
        return
    platform = catalog.platform_owner
    for probe in PROBES + (path,):
        if not owners.owns(probe, platform):
            yield _mismatch("TG703", path, owners, probe, platform)
    for contract, doc in ctx.policy.valid_contracts():
        if not owners.owns(doc.path, contract.owner):
            found = _mismatch("TG702", path, owners, doc.path, contract.owner)
            yield finding("TG702", doc.path, doc.line("owner"), found.message)


def _mismatch(rule: str, path: str, owners: Owners, target: str, expected: str) -> Finding:
    entry = owners.entry_for(target)
    actual = f"gives it to {' '.join(entry.owners) or 'nobody'} (line {entry.line})" if entry else "does not match it"
    return finding(rule, path, entry.line if entry else 0,
                   f"{path} {actual}, but {target} belongs to {expected}; run `tiergate codeowners --write`")
