"""Eval artifacts as committed: load each once, verify it, and keep what later judgements need.

An artifact is trusted only as far as it can be recomputed: its records file must match the
pinned hash, the score must follow from the records, and when the eval set lives in the
repository the records must cover exactly its ids with its expected values. The store keeps
the recomputed score (with the per-sample misses the cost model uses), so nothing reads a
records file twice.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections import OrderedDict
from itertools import islice
from operator import eq
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from pydantic import ValidationError

from tiergate.metrics import RecordError, Score, Tally, canonical, needs_expected
from tiergate.findings import Finding, Rule, finding
from tiergate.layout import EVALS
from tiergate.loading import MAX_JSONL_BYTES, MAX_YAML_BYTES, MISSING, RECORDS_INVALID, Document, LoadError, Tree, check_ref, parse_jsonl, parse_yaml
from tiergate.models import Artifact, is_external
from tiergate.schema_errors import schema_findings

SCORE_TOLERANCE = 5e-7
DATASETS_KEPT = 64

RECORDS_HASH = Rule("TG307", "evidence-records-hash", "error", "The records file does not match the sha256 pinned in the artifact.")
SCORE_MISMATCH = Rule("TG308", "evidence-score-mismatch", "error",
                      "The score recomputed from the records differs from the recorded score or counts.")
EVAL_SET = Rule("TG313", "evidence-eval-set", "error", "The artifact ran on another eval set than the SLO's, or the eval set changed since.")
COVERAGE = Rule("TG314", "evidence-records-coverage", "error",
                "The records do not cover exactly the eval set's ids, or disagree with its expected values.")
RULES = (RECORDS_HASH, SCORE_MISMATCH, EVAL_SET, COVERAGE)


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


LINE_ENDINGS_ADVICE = ("its line endings were converted (CRLF): git rewrote it on checkout (core.autocrlf). Evidence is pinned "
                       "byte for byte; add `evals/** -text` to .gitattributes (`tiergate init` writes one), then check the files "
                       "out again: `git rm -r --cached evals && git reset --hard`")


def crlf_converted(raw: bytes, pinned: Optional[str]) -> bool:
    """True when ``raw`` matches ``pinned`` once CRLF line endings are turned back into LF."""
    return pinned is not None and b"\r\n" in raw and sha256_hex(raw.replace(b"\r\n", b"\n")) == pinned


@dataclass
class Dataset:
    """What coverage needs of an eval set, in a fraction of the memory of its values.

    Each row is kept as two machine words in two parallel arrays sorted by the first: the hash
    of its id, and a slot (a 36-bit fingerprint of its expected value above its 24-bit position
    in the file). That answers membership, agreement and "which rows were seen" (a bitmap over
    positions) for a million-line set in 16 MB, where a dict of the same would take 100 MB.
    A set of up to ``INDEXED_ROWS`` rows (nearly all of them) also gets a dict of the same pairs,
    because a lookup there costs a tenth of a binary search and its memory is small. Hashes are
    per process and randomly keyed, so nobody can aim a collision; the ids are read again only
    to name missing ones.
    """

    path: str
    sha256: str
    keys: array  # hash(id), ascending when there is no index (file order otherwise)
    slots: array  # fingerprint << POSITION_BITS | row, parallel to keys
    crlf: bool = False  # holds CRLF line endings (a checkout that converted them, most likely)
    index: Optional[dict[int, int]] = None  # hash(id) -> slot, for a set of up to INDEXED_ROWS rows

    def slot(self, key: str) -> Optional[int]:
        """The slot of the row whose id is ``key``, or None when the set has no such id."""
        wanted = hash(key)
        if self.index is not None:
            return self.index.get(wanted)
        at = bisect_left(self.keys, wanted)
        return self.slots[at] if at < len(self.keys) and self.keys[at] == wanted else None

    def position(self, key: str) -> Optional[int]:
        slot = self.slot(key)
        return None if slot is None else slot & POSITION_MASK

    @property
    def size(self) -> int:
        return len(self.keys)


POSITION_BITS = 24  # 16.7 million rows: past what the 64 MiB size cap lets a set hold
POSITION_MASK = (1 << POSITION_BITS) - 1
FINGERPRINT_MASK = (1 << 36) - 1  # with the position, 60 bits: fits a signed machine word
INDEXED_ROWS = 100_000  # up to here a set also gets a dict (about 10 MB at the most): lookups at dict speed
KEY_OFFSET = 1 << 63  # hash() is a signed 64-bit value
WORD_MASK = (1 << 64) - 1


def fingerprint(value: Any) -> int:
    """Equal for two values exactly when canonical equality (``metrics.same``) holds, collisions aside."""
    return (hash(value) if type(value) is str else hash(("c", canonical(value)))) & FINGERPRINT_MASK


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
        return self.artifact is not None and self.score is not None and not any(f.severity == "error" for f in self.findings)


def record_id(record: dict[str, Any]) -> Optional[str]:
    value = record.get("id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)


@dataclass(frozen=True)
class Coverage:
    """How a batch of records stands against an eval set: ids not in the set, the first disagreeing
    expected value, and the set rows the other ids are (for the caller's tally of what is missing)."""

    extra: list[str]
    disagreeing: Optional[tuple[str, Any, Any]] = None  # (id, the record's expected, the set's when known)
    rows: tuple[int, ...] = ()


def coverage(dataset: Dataset, ids: list[str], records: list[dict[str, Any]], metric: str) -> Coverage:
    """The one coverage judgement, in one pass over a batch: ``eval record`` refuses on it and the
    store reports it (TG314); which set ids are missing follows from every batch's ``rows``."""
    check = needs_expected(metric)
    found = map(dataset.index.get, map(hash, ids)) if dataset.index is not None else map(dataset.slot, ids)
    extra: list[str] = []
    rows: list[int] = []
    disagreeing: Optional[tuple[str, Any, Any]] = None
    for key, record, slot in zip(ids, records, found):
        if slot is None:
            extra.append(key)
            continue
        rows.append(slot & POSITION_MASK)
        if check and disagreeing is None and "expected" in record and slot >> POSITION_BITS != fingerprint(record["expected"]):
            disagreeing = (key, record["expected"], None)
    return Coverage(extra, disagreeing, tuple(rows))


def _sorted_pairs(keys: array, slots: array) -> tuple[array, array]:
    """Both arrays ordered by key. Each pair is packed into one integer for the sort, which costs
    far less memory than a list of tuples (keys are signed: the offset keeps the order)."""
    packed = [(key + KEY_OFFSET) << 64 | slot for key, slot in zip(keys, slots)]
    del keys, slots
    packed.sort()
    return array("q", ((value >> 64) - KEY_OFFSET for value in packed)), array("q", (value & WORD_MASK for value in packed))


def _first_repeat(keys: array, slots: array) -> Optional[int]:
    """The row of the first id that repeats an earlier one (by file order), or None when all differ."""
    if not any(map(eq, keys, islice(keys, 1, None))):  # the usual case, at C speed
        return None
    first: Optional[int] = None
    at, end = 0, len(keys)
    while at < end:
        run = at + 1
        while run < end and keys[run] == keys[at]:
            run += 1
        if run - at > 1:
            second = sorted(slots[i] & POSITION_MASK for i in range(at, run))[1]
            first = second if first is None else min(first, second)
        at = run
    return first


def record_ids(records: list[dict[str, Any]]) -> tuple[list[str], Optional[int]]:
    """Every record's id as a string, and the 0-based index of the first record without a unique
    string or integer id (None when all are fine). One pass; string ids, the usual case, are free."""
    raw = [record.get("id") for record in records]
    if set(map(type, raw)) == {str} and len(set(raw)) == len(raw):
        return raw, None
    ids: list[str] = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        key = record_id(record)
        if key is None or key in seen:
            return ids, index
        seen.add(key)
        ids.append(key)
    return ids, None


class EvidenceStore:
    """Loads artifacts and eval sets once each, however many contracts link them."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self._artifacts: dict[str, ArtifactInfo] = {}
        # Eval sets are large and each is used by the few artifacts of its task, which load one after
        # another: keep the most recent ones whole, and every set's version (sha256) for good.
        self._datasets: OrderedDict[str, Dataset | LoadError] = OrderedDict()
        self._versions: dict[str, Optional[str]] = {}
        self._runs: dict[tuple[str, str, str], list[ArtifactInfo]] = {}
        self._headers: dict[str, ArtifactInfo] = {}  # parsed, not yet verified

    def loaded(self) -> list[ArtifactInfo]:
        return list(self._artifacts.values())

    def runs(self, task: str, tier: str, model: str) -> list[ArtifactInfo]:
        """Every loaded, intact artifact of one task, tier and model: the history a claim is read against."""
        return list(self._runs.get((task, tier, model), ()))

    def set_version(self, eval_set: str) -> Optional[str]:
        """The sha256 of an in-repo eval set as it stands in this tree; None for an external or unusable one."""
        if is_external(eval_set):
            return None
        try:
            path = check_ref(eval_set, EVALS)
        except LoadError:
            return None
        if path not in self._versions:
            try:
                self.dataset(path)  # records the version
            except LoadError:
                self._versions[path] = None
        return self._versions[path]

    def resolve(self, ref: str, verify: bool = True) -> ArtifactInfo:
        """The artifact a contract links as ``ref``: normalised, confined to evals/, loaded once.

        The one way a link becomes an artifact. Raises LoadError when the reference itself is
        unusable (outside evals/, escaping, missing); the artifact's own problems are findings.
        ``verify=False`` reads only the artifact file (what it claims), not its records: for a
        caller that picks among links by their tier before paying for the one it uses.
        """
        path = check_ref(ref, EVALS)
        if path not in self._artifacts and path not in self._headers and not self.tree.exists(path):
            raise LoadError(MISSING, f"artifact {path} does not exist; check the path or record the run")
        return self.artifact(path) if verify else self._header(path)

    def artifact(self, path: str) -> ArtifactInfo:
        """Load (once) and verify the artifact at a normalised repository path."""
        if path not in self._artifacts:
            info = self._artifacts[path] = self._headers.pop(path, None) or self._parse(path)
            if info.artifact is not None and info.doc is not None:
                info.findings.extend(self._integrity(info.artifact, info.doc, info))
            if info.intact and info.artifact is not None:
                self._runs.setdefault((info.artifact.task, info.artifact.tier, info.artifact.model), []).append(info)
        return self._artifacts[path]

    def _header(self, path: str) -> ArtifactInfo:
        if path in self._artifacts:
            return self._artifacts[path]
        if path not in self._headers:
            self._headers[path] = self._parse(path)
        return self._headers[path]

    def dataset(self, path: str) -> Dataset:
        if path in self._datasets:
            self._datasets.move_to_end(path)
        else:
            try:
                loaded = self._datasets[path] = self._load_dataset(path)
                self._versions[path] = loaded.sha256
            except LoadError as err:
                self._datasets[path] = err
            if len(self._datasets) > DATASETS_KEPT:
                self._datasets.popitem(last=False)
        value = self._datasets[path]
        if isinstance(value, LoadError):
            raise value
        return value

    def _load_dataset(self, path: str) -> Dataset:
        """The set's version and sorted fingerprints, streamed: a large set is never held as values."""
        hasher, crlf, keys, slots = hashlib.sha256(), False, array("q"), array("q")
        for chunk in self.tree.stream(path, MAX_JSONL_BYTES):
            hasher.update(chunk)
            crlf = crlf or b"\r\n" in chunk
            rows = parse_jsonl(chunk)
            ids, bad = record_ids(rows)
            if bad is not None:  # an id missing, or repeated within the piece (found with the others below)
                every = [record_id(row) for row in rows]
                if None in every:
                    why = "eval set line needs an 'id' (string or integer)"
                    raise LoadError(RECORDS_INVALID, why, self._line_of_row(path, len(keys) + every.index(None)))
                ids = every  # type: ignore[assignment]
            first = len(keys)
            keys.extend(map(hash, ids))
            slots.extend(fingerprint(row.get("expected")) << POSITION_BITS | (first + i) for i, row in enumerate(rows))
        index = dict(zip(keys, slots)) if len(keys) <= INDEXED_ROWS else None
        if index is None or len(index) != len(keys):  # a large set, or a repeated id: sorted, repeats are neighbours
            keys, slots = _sorted_pairs(keys, slots)
            repeat = _first_repeat(keys, slots)
            if repeat is not None:
                row = self._line_of_row(path, repeat)
                raise LoadError(RECORDS_INVALID, f"eval set repeats id '{self._id_at(path, repeat)}'", row)
        return Dataset(path, hasher.hexdigest(), keys, slots, crlf, index)

    def _rows(self, path: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, row) for every row of a set, streamed: for the rare message that names one."""
        line = 0
        for chunk in self.tree.stream(path, MAX_JSONL_BYTES):
            pieces = chunk.split(b"\n")
            if chunk.endswith(b"\n"):
                pieces.pop()
            for text in pieces:
                line += 1
                if text.strip():
                    yield line, parse_jsonl(text)[0]

    def _line_of_row(self, path: str, row: int) -> int:
        return next(line for at, (line, _) in enumerate(self._rows(path)) if at == row)

    def _id_at(self, path: str, row: int) -> Optional[str]:
        return next(record_id(value) for at, (_, value) in enumerate(self._rows(path)) if at == row)

    def dataset_values(self, path: str) -> dict[str, Any]:
        """id -> expected, in file order: for ``eval record``, which writes the set's values into records."""
        rows = parse_jsonl(self.tree.read(path, MAX_JSONL_BYTES))
        ids, _ = record_ids(rows)
        return {key: row.get("expected") for key, row in zip(ids, rows)}

    def missing_ids(self, dataset: Dataset, present: Callable[[str], bool], limit: int = 3) -> list[str]:
        """The first ``limit`` ids of the set (in file order) that are not ``present``: for a message."""
        out: list[str] = []
        for chunk in self.tree.stream(dataset.path, MAX_JSONL_BYTES):
            ids, _ = record_ids(parse_jsonl(chunk))
            out += [k for k in ids if not present(k)][: limit - len(out)]
            if len(out) >= limit:
                break
        return out

    def _parse(self, path: str) -> ArtifactInfo:
        """The artifact file alone: its document and model, or why not (no records read)."""
        info = ArtifactInfo(path)
        try:
            info.doc = parse_yaml(self.tree.read(path, MAX_YAML_BYTES), path)
        except LoadError as err:
            info.findings.append(finding(err.rule, path, err.line, err.message, err.column))
            return info
        try:
            info.artifact = info.doc.validated(Artifact)
        except ValidationError as err:
            info.findings.extend(schema_findings(err, info.doc))
        return info

    def _integrity(self, art: Artifact, doc: Document, info: ArtifactInfo) -> list[Finding]:
        """Hash, score and check coverage in one streaming pass over the records: never held whole."""
        here = doc.path
        try:
            records_path = check_ref(art.records.path, EVALS)
            dataset = self._pinned_set(art)
            chunks = self.tree.stream(records_path, MAX_JSONL_BYTES)
            run = _Pass(art.metric, dataset, self)
            for chunk in chunks:
                run.feed(chunk)
        except LoadError as err:
            return [finding(err.rule, here, doc.line("records", "path"), f"records: {err.message}")]
        except _SetProblem as problem:
            return [problem.finding(here, doc)]
        if run.sha256 != art.records.sha256:
            why = LINE_ENDINGS_ADVICE if run.lf_sha256 == art.records.sha256 and run.crlf else \
                "records are append-only; record a new run with `tiergate eval record`"
            return [finding(RECORDS_HASH, here, doc.line("records", "sha256"), f"{records_path} does not match its pinned sha256: {why}")]
        if run.error is not None:
            line, column, rule, message = run.error
            return [finding(rule, records_path, line, message, column)]
        try:
            score = run.tally.score()
        except RecordError as err:
            return [finding(RECORDS_INVALID, records_path, err.index + 1, f"{err} (metric {art.metric})")]
        info.score = score
        problems = run.coverage_findings(here, doc)
        problems.extend(_score_mismatch(art, doc, score))
        return problems

    def _pinned_set(self, art: Artifact) -> Optional[Dataset]:
        """The in-repo eval set the artifact's records must cover, when it is the version they ran on."""
        if is_external(art.eval_set.path):
            return None
        try:
            dataset = self.dataset(check_ref(art.eval_set.path, EVALS))
        except LoadError as err:
            at = f":{err.line}" if err.line else ""
            raise _SetProblem(err.rule, ("eval_set", "path"), f"eval set {art.eval_set.path}{at}: {err.message}") from None
        if dataset.sha256 == art.eval_set.sha256:
            return dataset
        if dataset.crlf and crlf_converted(self.tree.read(dataset.path, MAX_JSONL_BYTES), art.eval_set.sha256):
            raise _SetProblem(EVAL_SET, ("eval_set", "sha256"), f"eval set {dataset.path} does not match: {LINE_ENDINGS_ADVICE}")
        return None  # run on an earlier version of the set: history, judged only where it is linked as evidence


class _SetProblem(Exception):
    def __init__(self, rule: Rule, where: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.rule, self.where, self.message = rule, where, message

    def finding(self, here: str, doc: Document) -> Finding:
        return finding(self.rule, here, doc.line(*self.where), self.message)


class _Pass:
    """One pass over a records file: its sha256 (and the LF-only one, for converted line endings),
    the metric's tally, unique ids, and coverage of the eval set it ran on."""

    def __init__(self, metric: str, dataset: Optional[Dataset], store: "EvidenceStore") -> None:
        self.store = store
        self.hasher, self.lf_hasher = hashlib.sha256(), hashlib.sha256()
        self.crlf = False
        self.tally = Tally(metric)
        self.metric = metric
        self.dataset = dataset
        # Which ids were seen: against an in-repo set a bitmap over its rows; without one, the ids'
        # (per-process, randomly keyed) hashes, where a collision can only make two ids look like
        # duplicates (refused).
        self.seen: set[int] = set()
        self.rows = bytearray((dataset.size + 7) // 8) if dataset is not None else bytearray()
        self.count = 0
        self.lines = 0
        self.duplicate = False
        self.extra: list[str] = []  # the first few ids not in the set, for the message
        self.extra_count = 0
        self.disagreeing: Optional[str] = None
        self.error: Optional[tuple[int, int, Rule, str]] = None  # the first unusable line; hashing goes on

    @property
    def sha256(self) -> str:
        return self.hasher.hexdigest()

    @property
    def lf_sha256(self) -> str:
        return self.lf_hasher.hexdigest()

    def feed(self, chunk: bytes) -> None:
        self.hasher.update(chunk)
        if b"\r\n" in chunk:
            self.crlf = True
        self.lf_hasher.update(chunk.replace(b"\r\n", b"\n"))  # chunks end at a line end: no CRLF is cut in two
        first_line = self.lines
        self.lines += chunk.count(b"\n")
        if self.error is not None:
            return
        try:
            records = parse_jsonl(chunk)
            self.tally.add(records, self.count)
        except LoadError as err:
            self.error = (err.line + first_line, err.column, err.rule, err.message)
            return
        except RecordError as err:
            self.error = (err.index + 1, 0, RECORDS_INVALID, f"{err} (metric {self.metric})")
            return
        self._cover(records)
        self.count += len(records)

    def _cover(self, records: list[dict[str, Any]]) -> None:
        ids, bad = record_ids(records)
        if bad is not None:
            self.duplicate = True
        if self.duplicate:
            return
        if self.dataset is None:
            hashes = set(map(hash, ids))
            if len(hashes) != len(ids) or not self.seen.isdisjoint(hashes):
                self.duplicate = True
            self.seen |= hashes
            return
        found = coverage(self.dataset, ids, records, self.metric)
        rows = self.rows
        for at in found.rows:
            byte, bit = divmod(at, 8)
            if rows[byte] >> bit & 1:
                self.duplicate = True
                return
            rows[byte] |= 1 << bit
        self.extra += found.extra[: max(0, 3 - len(self.extra))]
        self.extra_count += len(found.extra)
        if found.disagreeing is not None and self.disagreeing is None:
            self.disagreeing = found.disagreeing[0]

    def present(self, key: str) -> bool:
        assert self.dataset is not None
        at = self.dataset.position(key)
        return at is not None and bool(self.rows[at // 8] >> (at % 8) & 1)

    def coverage_findings(self, here: str, doc: Document) -> list[Finding]:
        if self.duplicate:
            return [finding(COVERAGE, here, doc.line("records"), "records must have unique string or integer ids")]
        dataset = self.dataset
        if dataset is None:
            return []
        missing = dataset.size - int.from_bytes(self.rows, "little").bit_count()
        extra = self.extra_count
        if missing or extra:
            sample = sorted(self.store.missing_ids(dataset, self.present) if missing else self.extra)[:3]
            return [finding(COVERAGE, here, doc.line("records"),
                            f"records must cover exactly the ids of {dataset.path}: {missing} eval-set ids missing, "
                            f"{extra} ids not in the set (e.g. {', '.join(sample)})")]
        if self.disagreeing is not None:
            return [finding(COVERAGE, here, doc.line("records"),
                            f"record '{self.disagreeing}' has an expected value that differs from {dataset.path}")]
        return []


def _score_mismatch(art: Artifact, doc: Document, score: Score) -> list[Finding]:
    here = doc.path
    if art.samples != score.total:
        return [finding(SCORE_MISMATCH, here, doc.line("samples"), f"samples says {art.samples} but the records hold {score.total}")]
    if art.counts is not None and (art.counts.successes, art.counts.total) != (score.successes, score.total):
        return [finding(SCORE_MISMATCH, here, doc.line("counts"),
                        f"counts say {art.counts.successes}/{art.counts.total} but the records give {score.successes}/{score.total}")]
    if abs(art.score - score.value) > SCORE_TOLERANCE:
        return [finding(SCORE_MISMATCH, here, doc.line("score"),
                        f"score says {art.score:g} but the records give {score.value:g}; scores are computed by `tiergate eval record`, not typed")]
    return []
