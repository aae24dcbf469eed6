"""Eval artifacts: integrity checks on what is committed, and recording new runs.

An artifact is trusted only as far as it can be recomputed: its records file must match the
pinned hash, the score must follow from the records, and when the eval set lives in the
repository the records must cover exactly its ids with its expected values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import ValidationError

from tiergate.errors import TierGateError
from tiergate.findings import Finding, finding
from tiergate.loading import (
    MAX_JSONL_BYTES,
    MAX_YAML_BYTES,
    Document,
    LoadError,
    Tree,
    check_ref,
    parse_jsonl,
    parse_yaml,
)
from tiergate.metrics import RecordError, Score, compute, needs_expected
from tiergate.models import Artifact, Catalog, Contract, is_external
from tiergate.schema_errors import schema_findings

EVALS = "evals"
SCORE_TOLERANCE = 5e-7
ARTIFACT_SCHEMA_COMMENT = "# yaml-language-server: $schema=../../schemas/artifact.schema.json\n"


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass
class Dataset:
    path: str
    sha256: str
    expected: dict[str, Any]  # id -> expected (None when the set carries no expected values)
    order: list[str]


@dataclass
class ArtifactInfo:
    """An artifact as found: the parsed model (if any), the recomputed score, and its problems."""

    path: str
    artifact: Optional[Artifact] = None
    doc: Optional[Document] = None
    score: Optional[Score] = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.artifact is not None and not any(f.severity == "error" for f in self.findings)


def record_id(record: dict[str, Any]) -> Optional[str]:
    value = record.get("id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)


class EvidenceStore:
    """Loads artifacts and eval sets once each, however many contracts link them."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self._artifacts: dict[str, ArtifactInfo] = {}
        self._datasets: dict[str, Dataset | LoadError] = {}

    def loaded(self) -> list[ArtifactInfo]:
        return list(self._artifacts.values())

    def artifact(self, path: str) -> ArtifactInfo:
        if path not in self._artifacts:
            self._artifacts[path] = self._load_artifact(path)
        return self._artifacts[path]

    def dataset(self, path: str) -> Dataset:
        if path not in self._datasets:
            try:
                self._datasets[path] = self._load_dataset(path)
            except LoadError as err:
                self._datasets[path] = err
        value = self._datasets[path]
        if isinstance(value, LoadError):
            raise value
        return value

    def _load_dataset(self, path: str) -> Dataset:
        raw = self.tree.read(path, MAX_JSONL_BYTES)
        rows = parse_jsonl(raw)
        expected: dict[str, Any] = {}
        for index, row in enumerate(rows):
            key = record_id(row)
            if key is None:
                raise LoadError("TG316", "eval set line needs an 'id' (string or integer)", index + 1)
            if key in expected:
                raise LoadError("TG316", f"eval set repeats id '{key}'", index + 1)
            expected[key] = row.get("expected")
        return Dataset(path, sha256_hex(raw), expected, list(expected))

    def _load_artifact(self, path: str) -> ArtifactInfo:
        info = ArtifactInfo(path)
        try:
            info.doc = parse_yaml(self.tree.read(path, MAX_YAML_BYTES), path)
        except LoadError as err:
            info.findings.append(finding(err.rule, path, err.line, err.message, err.column))
            return info
        try:
            info.artifact = Artifact.model_validate(info.doc.data)
        except ValidationError as err:
            info.findings.extend(schema_findings(err, info.doc))
            return info
        info.findings.extend(self._integrity(info.artifact, info.doc, info))
        return info

    def _integrity(self, art: Artifact, doc: Document, info: ArtifactInfo) -> list[Finding]:
        here = doc.path
        try:
            records_path = check_ref(art.records.path, EVALS)
            raw = self.tree.read(records_path, MAX_JSONL_BYTES)
        except LoadError as err:
            return [finding(err.rule, here, doc.line("records", "path"), f"records: {err.message}")]
        if sha256_hex(raw) != art.records.sha256:
            return [finding("TG307", here, doc.line("records", "sha256"),
                            f"{records_path} does not match its pinned sha256: records are append-only; record a new run with `tiergate eval record`")]
        try:
            records = parse_jsonl(raw)
            score = compute(art.metric, records)
        except LoadError as err:
            return [finding(err.rule, records_path, err.line, err.message, err.column)]
        except RecordError as err:
            return [finding("TG316", records_path, err.index + 1, f"{err} (metric {art.metric})")]
        info.score = score
        problems = self._coverage(art, doc, records)
        problems.extend(_score_mismatch(art, doc, score))
        return problems

    def _coverage(self, art: Artifact, doc: Document, records: list[dict[str, Any]]) -> list[Finding]:
        here = doc.path
        ids = [record_id(r) for r in records]
        if len(set(ids)) != len(ids) or None in ids:
            return [finding("TG314", here, doc.line("records"), "records must have unique string or integer ids")]
        if is_external(art.eval_set.path):
            return []
        try:
            dataset = self.dataset(check_ref(art.eval_set.path, EVALS))
        except LoadError as err:
            return [finding(err.rule, here, doc.line("eval_set", "path"), f"eval set {art.eval_set.path}: {err.message}")]
        if dataset.sha256 != art.eval_set.sha256:
            return [finding("TG313", here, doc.line("eval_set", "sha256"),
                            f"eval set {dataset.path} changed since this run (sha256 differs); re-run the eval on the current set")]
        return _compare_to_dataset(art, doc, records, ids, dataset)


def _compare_to_dataset(art: Artifact, doc: Document, records: list[dict[str, Any]], ids: list[Any], dataset: Dataset) -> list[Finding]:
    missing = set(dataset.expected) - set(ids)
    extra = set(ids) - set(dataset.expected)
    line = doc.line("records")
    if missing or extra:
        detail = f"{len(missing)} eval-set ids missing, {len(extra)} ids not in the set"
        sample = sorted(missing or extra)[:3]
        return [finding("TG314", doc.path, line, f"records must cover exactly the ids of {dataset.path}: {detail} (e.g. {', '.join(sample)})")]
    if needs_expected(art.metric):
        for record, key in zip(records, ids):
            if record["expected"] != dataset.expected[key]:
                return [finding("TG314", doc.path, line, f"record '{key}' has an expected value that differs from {dataset.path}")]
    return []


def _score_mismatch(art: Artifact, doc: Document, score: Score) -> list[Finding]:
    here = doc.path
    if art.samples != score.total:
        return [finding("TG308", here, doc.line("samples"), f"samples says {art.samples} but the records hold {score.total}")]
    if art.counts is not None and (art.counts.successes, art.counts.total) != (score.successes, score.total):
        return [finding("TG308", here, doc.line("counts"),
                        f"counts say {art.counts.successes}/{art.counts.total} but the records give {score.successes}/{score.total}")]
    if abs(art.score - score.value) > SCORE_TOLERANCE:
        return [finding("TG308", here, doc.line("score"),
                        f"score says {art.score:g} but the records give {score.value:g}; scores are computed by `tiergate eval record`, not typed")]
    return []


# --- recording a run -------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def _canonical_line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def prepare_records(store: EvidenceStore, contract: Contract, raw: bytes, source: str) -> tuple[list[dict[str, Any]], Optional[Dataset]]:
    """Parse the run's records and, for an in-repo eval set, pin them to it (ids and expected)."""
    try:
        records = parse_jsonl(raw)
    except LoadError as err:
        raise TierGateError(f"{source}:{err.line}: {err.message}") from None
    if not records:
        raise TierGateError(f"{source}: holds no records")
    if is_external(contract.slo.eval_set):
        return records, None
    try:
        dataset = store.dataset(check_ref(contract.slo.eval_set, EVALS))
    except LoadError as err:
        raise TierGateError(f"eval set {contract.slo.eval_set}: {err.message}") from None
    by_id: dict[str, dict[str, Any]] = {}
    for index, record in enumerate(records):
        key = record_id(record)
        if key is None or key in by_id:
            raise TierGateError(f"{source}:{index + 1}: each record needs a unique 'id' (string or integer)")
        by_id[key] = record
    missing = [k for k in dataset.order if k not in by_id]
    extra = [k for k in by_id if k not in dataset.expected]
    if missing or extra:
        raise TierGateError(
            f"{source}: records must cover exactly the ids of {dataset.path}: "
            f"{len(missing)} missing (e.g. {', '.join(missing[:3]) or '-'}), {len(extra)} unknown (e.g. {', '.join(extra[:3]) or '-'})"
        )
    if needs_expected(contract.slo.metric):
        for key, record in by_id.items():
            if "expected" in record and record["expected"] != dataset.expected[key]:
                raise TierGateError(f"{source}: record '{key}' has expected {record['expected']!r}, the eval set says {dataset.expected[key]!r}")
            record["expected"] = dataset.expected[key]
    return records, dataset


def write_artifact(
    root: Path,
    store: EvidenceStore,
    catalog: Catalog,
    contract: Contract,
    tier_id: str,
    model_id: str,
    raw: bytes,
    source: str,
    run_at: dt.datetime,
) -> str:
    """Compute the SLO metric from a run's records and commit them as a new artifact.

    Returns the artifact's repo-relative path. Never overwrites: evidence is append-only.
    """
    tier = catalog.tier(tier_id)
    if tier is None:
        raise TierGateError(f"tier '{tier_id}' is not in policy/tiers.yaml; choose one of: {', '.join(t.id for t in catalog.tiers)}")
    if model_id not in tier.model_ids():
        raise TierGateError(f"model '{model_id}' is not in tier '{tier_id}'; its models are: {', '.join(sorted(tier.model_ids()))}")
    records, dataset = prepare_records(store, contract, raw, source)
    try:
        score = compute(contract.slo.metric, records)
    except RecordError as err:
        raise TierGateError(f"{source}: record {err.index + 1}: {err} (metric {contract.slo.metric})") from None
    stem = f"{run_at.strftime('%Y%m%dT%H%M%SZ')}-{tier_id}-{_slug(model_id.split('/', 1)[-1])}"
    folder = f"{EVALS}/{contract.task}"
    art_rel, rec_rel = f"{folder}/{stem}.yaml", f"{folder}/{stem}.records.jsonl"
    for rel in (art_rel, rec_rel):
        if (root / rel).exists():
            raise TierGateError(f"{rel} already exists; evidence is append-only (use another --run-at)")
    body = ("\n".join(_canonical_line(r) for r in records) + "\n").encode("utf-8")
    data: dict[str, Any] = {
        "task": contract.task,
        "tier": tier_id,
        "model": model_id,
        "metric": contract.slo.metric,
        "score": score.value,
    }
    if score.successes is not None:
        data["counts"] = {"successes": score.successes, "total": score.total}
    data.update(
        samples=score.total,
        run_at=run_at,
        eval_set={"path": contract.slo.eval_set, **({"sha256": dataset.sha256} if dataset else {})},
        records={"path": rec_rel, "sha256": sha256_hex(body)},
    )
    text = ARTIFACT_SCHEMA_COMMENT + yaml.dump(data, Dumper=_ArtifactDumper, sort_keys=False, allow_unicode=True)
    (root / folder).mkdir(parents=True, exist_ok=True)
    _write_new(root / rec_rel, body)
    try:
        _write_new(root / art_rel, text.encode("utf-8"))
    except BaseException:
        (root / rec_rel).unlink(missing_ok=True)
        raise
    return art_rel


class _ArtifactDumper(yaml.SafeDumper):
    """Writes times as ISO 8601 with a 'Z', which YAML still reads back as a timestamp."""


def _represent_datetime(dumper: yaml.SafeDumper, value: dt.datetime) -> yaml.Node:
    text = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


_ArtifactDumper.add_representer(dt.datetime, _represent_datetime)


def _write_new(path: Path, body: bytes) -> None:
    try:
        with open(path, "xb") as handle:
            handle.write(body)
    except OSError as err:
        raise TierGateError(f"cannot write {path}: {err.strerror}") from None
