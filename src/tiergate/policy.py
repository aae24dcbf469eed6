"""Loading a repository's policy: the catalog, the contracts and their evidence.

Everything here turns files into models or into findings; nothing decides whether the policy
is good (that is ``rules``). The same loader reads the working tree and, for the merge gate,
a git revision, through the ``Tree`` interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Optional

from pydantic import ValidationError

from tiergate.evidence import EVALS, EvidenceStore
from tiergate.findings import Finding, finding
from tiergate.loading import MAX_YAML_BYTES, Document, LoadError, Tree, parse_yaml
from tiergate.models import Catalog, Contract
from tiergate.schema_errors import schema_findings

CATALOG = "policy/tiers.yaml"
TASKS = "policy/tasks"
DATASETS = f"{EVALS}/datasets/"
YAML_SUFFIXES = (".yaml", ".yml")
RECORDS_SUFFIX = ".records.jsonl"


@dataclass
class Loaded:
    """One contract file: its model when it parsed, and its document for line numbers."""

    path: str
    contract: Optional[Contract] = None
    doc: Optional[Document] = None

    @property
    def stem(self) -> str:
        return PurePosixPath(self.path).stem


@dataclass
class Policy:
    tree: Tree
    catalog: Optional[Catalog] = None
    catalog_doc: Optional[Document] = None
    contracts: list[Loaded] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
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
        policy.findings.append(finding("TG201", CATALOG, 0, "the tier catalog is missing; create policy/tiers.yaml (see README)"))
        return
    doc = _load_yaml(policy.tree, CATALOG, policy.findings)
    if doc is None:
        return
    try:
        policy.catalog = Catalog.model_validate(doc.data)
        policy.catalog_doc = doc
    except ValidationError as err:
        policy.findings.extend(schema_findings(err, doc))


def contract_paths(tree: Tree) -> list[str]:
    return [p for p in tree.files(TASKS) if p.endswith(YAML_SUFFIXES)]


def artifact_paths(tree: Tree) -> list[str]:
    return [p for p in tree.files(EVALS) if p.endswith(YAML_SUFFIXES) and not p.startswith(DATASETS)]


def load_contract(policy: Policy, path: str) -> Loaded:
    loaded = Loaded(path)
    loaded.doc = _load_yaml(policy.tree, path, policy.findings)
    if loaded.doc is not None:
        try:
            loaded.contract = Contract.model_validate(loaded.doc.data)
        except ValidationError as err:
            policy.findings.extend(schema_findings(err, loaded.doc))
    return loaded


def load_policy(tree: Tree, paths: Optional[list[str]] = None) -> Policy:
    """Load the catalog and the given contracts (all of them when ``paths`` is None)."""
    policy = Policy(tree, complete=paths is None)
    load_catalog(policy)
    for path in contract_paths(tree) if paths is None else paths:
        policy.contracts.append(load_contract(policy, path))
    return policy
