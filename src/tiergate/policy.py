"""Loading a repository's policy: the catalog, the contracts, CODEOWNERS and the evidence store.

Everything here turns files into models or into findings; nothing decides whether the policy
is good (that is ``rules``). The same loader reads the working tree and, for the merge gate,
a git revision, through the ``Tree`` interface. Rule families never read files: what they
need is loaded here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from pydantic import ValidationError

from tiergate import codeowners
from tiergate.codeowners import CodeownersError, Owners
from tiergate.evidence.store import EvidenceStore
from tiergate.findings import Finding, finding
from tiergate.errors import TierGateError
from tiergate.layout import (CATALOG, CODEOWNERS_LOCATIONS, EVALS, PLATFORM_PATTERNS, TASK_ID, TASKS, contract_path, is_artifact, is_contract,
                             is_stray, task_stem)
from tiergate.loading import MAX_YAML_BYTES, Document, LoadError, Tree, parse_yaml
from tiergate.models import Catalog, Contract
from tiergate.schema_errors import schema_findings

@dataclass
class Loaded:
    """One contract file: its model when it parsed, and its document for line numbers."""

    path: str
    contract: Optional[Contract] = None
    doc: Optional[Document] = None

    @property
    def stem(self) -> str:
        return task_stem(self.path)


@dataclass
class CodeownersFile:
    """The CODEOWNERS file GitHub would use: its path and matcher, or why it cannot be used."""

    path: str
    owners: Optional[Owners] = None
    unreadable: Optional[LoadError] = None
    invalid: Optional[CodeownersError] = None
    absent_areas: frozenset[str] = frozenset()  # platform areas (src/, .github/, ...) this repository does not have


@dataclass
class Policy:
    tree: Tree
    catalog: Optional[Catalog] = None
    catalog_doc: Optional[Document] = None
    catalog_present: bool = True
    contracts: list[Loaded] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)  # files under policy/tasks/ that are not contracts
    codeowners: Optional[CodeownersFile] = None  # None: no CODEOWNERS in any location
    findings: list[Finding] = field(default_factory=list)  # files that did not load
    complete: bool = False  # every contract of the tree is loaded (validate), not just a change's (check)
    evidence: EvidenceStore = field(init=False)

    def __post_init__(self) -> None:
        self.evidence = EvidenceStore(self.tree)

    def valid_contracts(self) -> list[tuple[Contract, Document]]:
        return [(c.contract, c.doc) for c in self.contracts if c.contract is not None and c.doc is not None]


def _load_yaml(tree: Tree, path: str, sink: list[Finding]) -> Optional[Document]:
    try:
        return parse_yaml(tree.read(path, MAX_YAML_BYTES), path)
    except LoadError as err:
        sink.append(finding(err.rule, path, err.line, err.message, err.column))
        return None


def load_catalog(policy: Policy) -> None:
    if not policy.tree.exists(CATALOG):
        policy.catalog_present = False
        return
    doc = _load_yaml(policy.tree, CATALOG, policy.findings)
    if doc is None:
        return
    try:
        policy.catalog = doc.validated(Catalog)
        policy.catalog_doc = doc
    except ValidationError as err:
        policy.findings.extend(schema_findings(err, doc))


def load_codeowners(policy: Policy) -> None:
    path = next((p for p in CODEOWNERS_LOCATIONS if policy.tree.exists(p)), None)
    if path is None:
        return
    areas = [p.strip("/") for p in PLATFORM_PATTERNS]
    absent = frozenset(a for a in areas if not policy.tree.exists(a) and not policy.tree.files(a))  # files(): folders in git trees
    policy.codeowners = CodeownersFile(path, absent_areas=absent)
    try:  # GitHub's own size limit (3 MB), not the YAML one; a line GitHub skips is in owners.skipped
        policy.codeowners.owners = codeowners.load(policy.tree, path)
    except LoadError as err:
        policy.codeowners.unreadable = err


def contract_paths(tree: Tree) -> list[str]:
    return [p for p in tree.files(TASKS) if is_contract(p)]


def artifact_paths(tree: Tree) -> list[str]:
    return [p for p in tree.files(EVALS) if is_artifact(p)]


def load_contract(policy: Policy, path: str) -> Loaded:
    loaded = Loaded(path)
    loaded.doc = _load_yaml(policy.tree, path, policy.findings)
    if loaded.doc is not None:
        try:
            loaded.contract = loaded.doc.validated(Contract)
        except ValidationError as err:
            policy.findings.extend(schema_findings(err, loaded.doc))
    return loaded


def load_policy(tree: Tree, paths: Optional[list[str]] = None, codeowners: bool = True) -> Policy:
    """Load the catalog, CODEOWNERS (unless not wanted: the base side of a change never checks it)
    and the given paths under policy/tasks/ (all of them when None).

    Contract files are loaded; any other path there is recorded as a stray for the identity rules.
    """
    policy = Policy(tree, complete=paths is None)
    load_catalog(policy)
    if codeowners:
        load_codeowners(policy)
    for path in tree.files(TASKS) if paths is None else paths:
        if is_contract(path):
            policy.contracts.append(load_contract(policy, path))
        elif is_stray(path):
            policy.strays.append(path)
    return policy


def load_task(tree: Tree, task: str) -> tuple[Policy, Catalog, Contract, str]:
    """The catalog and one task's contract, for the commands that act on a task (``eval record``, ``run``,
    ``profile``, ``import``); anything unusable stops the command with the first problem, located."""
    policy = load_policy(tree, paths=[], codeowners=False)
    loaded = load_contract(policy, contract_path(task)) if re.fullmatch(TASK_ID, task or "") else None
    if loaded is None or policy.catalog is None or loaded.contract is None:
        raise TierGateError(_load_failure(policy, task))
    return policy, policy.catalog, loaded.contract, loaded.path


def _load_failure(policy: Policy, task: str) -> str:
    if not policy.catalog_present:
        return f"{CATALOG}:0: the tier catalog is missing; create it (see README) and run `tiergate validate`"
    if not policy.findings:
        return f"task '{task}' is not a valid task id (lowercase letters, digits and dashes)"
    first = policy.findings[0]
    return f"{first.file}:{first.line}: {first.message} ({len(policy.findings)} problem(s); run `tiergate validate`)"
