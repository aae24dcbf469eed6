"""SLO metrics, computed from per-sample records.

Scores are never typed by hand: they are recomputed from the records every time evidence is
checked, so a score is only as good as the records that anyone can re-read.
"""

from __future__ import annotations

import bisect
import json
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal, Optional

MetricName = Literal["accuracy", "exact_match", "macro_f1", "rubric_mean", "pass_rate"]
RUBRIC_MAX = 10.0
SCORE_DIGITS = 6


class RecordError(ValueError):
    """A record lacks what its metric needs; ``index`` is the 0-based record position."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class Score:
    """A recomputed score and what the cost model and the statistics need of the samples.

    ``wrong`` counts samples with a wrong answer (proportions, labels); a mean metric keeps its
    sorted per-sample ``values`` instead, since what counts as a miss depends on a threshold.
    """

    value: float
    successes: Optional[int] = None
    total: int = 0
    spread: float = 0.0  # sample standard deviation, for mean metrics
    wrong: int = 0
    values: tuple[float, ...] = ()

    def misses(self, threshold: float) -> int:
        """Samples a user would see as failed requests: wrong answers, or per-sample scores below ``threshold``."""
        if self.values:
            return bisect.bisect_left(self.values, threshold)
        return self.wrong


@dataclass(frozen=True)
class Metric:
    name: str
    fields: tuple[str, ...]
    max_value: float
    proportion: bool


def _require(records: list[dict[str, Any]], names: tuple[str, ...]) -> None:
    needed = {"id", *names}
    if all(needed <= record.keys() for record in records):
        return
    for index, record in enumerate(records):
        for name in ("id",) + names:
            if name not in record:
                raise RecordError(index, f"record is missing '{name}'")


def _normal(value: Any, strip: bool) -> Any:
    """``value`` with integral floats as ints (``1.0`` is ``1``) and, with ``strip``, outer whitespace off strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip() if strip else value
    if isinstance(value, list):
        return [_normal(v, strip) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v, strip) for k, v in value.items()}
    return value


def canonical(value: Any, strip: bool = False) -> str:
    """The one definition of equality for expected values and outputs: canonical JSON.

    Key order does not matter, ``1`` equals ``1.0``, ``true`` is not ``1`` and ``"1"`` is not
    ``1``. Scoring, eval-set coverage and ``eval record`` all compare through it; exact_match
    also ignores outer whitespace of strings (``strip``).
    """
    return json.dumps(_normal(value, strip), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_NUMBERS = (int, float)


def same(a: Any, b: Any, strip: bool = False) -> bool:
    """``canonical(a, strip) == canonical(b, strip)``, without serialising the common scalar cases.

    Strings and booleans equal only their own type; ints and floats compare by value (``1 == 1.0``),
    which is what canonical JSON gives them; containers go through ``canonical``.
    """
    ta, tb = type(a), type(b)
    if ta is str or tb is str:
        return ta is tb and (a.strip() == b.strip() if strip else a == b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta in _NUMBERS and tb in _NUMBERS:
        return bool(a == b)
    if a is None or b is None:
        return a is b
    return canonical(a, strip) == canonical(b, strip)


def _matches(record: dict[str, Any]) -> bool:
    return same(record["output"], record["expected"], strip=True)


class Tally:
    """A metric's running count over records fed in batches: one pass, nothing held but the tally.

    ``add`` checks and counts one batch (``offset``: the index of its first record in the file, for
    errors); ``score`` gives the Score. ``compute`` is one batch; a large records file streams.
    """

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.spec = METRICS[metric]
        self.total = 0
        self.hits = 0
        self.values: list[float] = []
        self.tp: Counter[str] = Counter()
        self.fp: Counter[str] = Counter()
        self.fn: Counter[str] = Counter()

    def add(self, records: list[dict[str, Any]], offset: int = 0) -> "Tally":
        try:
            _require(records, self.spec.fields)
            getattr(self, f"_{self.metric}")(records)
        except RecordError as err:
            raise RecordError(err.index + offset, str(err)) from None
        self.total += len(records)
        return self

    def _accuracy(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            output, expected = record["output"], record["expected"]
            # two strings compare as themselves (the usual labels); anything else through canonical equality
            self.hits += (output == expected) if type(output) is str and type(expected) is str else same(output, expected)

    def _exact_match(self, records: list[dict[str, Any]]) -> None:
        self.hits += sum(1 for r in records if _matches(r))

    def _pass_rate(self, records: list[dict[str, Any]]) -> None:
        for index, record in enumerate(records):
            if type(record["passed"]) is not bool:
                raise RecordError(index, "'passed' must be true or false")
        self.hits += sum(1 for r in records if r["passed"])

    def _rubric_mean(self, records: list[dict[str, Any]]) -> None:
        for index, record in enumerate(records):
            value = record["score"]
            if type(value) not in (int, float) or not 0 <= value <= RUBRIC_MAX:
                raise RecordError(index, f"'score' must be a number from 0 to {RUBRIC_MAX:g}")
        self.values.extend(float(r["score"]) for r in records)

    def _macro_f1(self, records: list[dict[str, Any]]) -> None:
        for index, record in enumerate(records):
            for name in ("expected", "output"):
                if not isinstance(record[name], (str, int, bool)):
                    raise RecordError(index, f"'{name}' must be a label (string, integer or boolean) for macro_f1")
        for record in records:
            expected, output = canonical(record["expected"]), canonical(record["output"])
            if expected == output:
                self.tp[expected] += 1
            else:
                self.fn[expected] += 1
                self.fp[output] += 1

    def score(self) -> Score:
        if not self.total:
            raise RecordError(0, "records file holds no records")
        if self.spec.proportion:
            return Score(round(self.hits / self.total, SCORE_DIGITS), self.hits, self.total, wrong=self.total - self.hits)
        if self.metric == "rubric_mean":
            values = self.values
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return Score(round(statistics.fmean(values), SCORE_DIGITS), None, len(values), spread, values=tuple(sorted(values)))
        return self._f1()

    def _f1(self) -> Score:
        """Mean per-label F1 over the labels of ``expected`` (the eval set's label set).

        An output outside that set is a wrong answer (a false negative of the expected label), not
        a new class scored 0: otherwise junk labels would sink a lower tier's score.
        """
        tp, fp, fn = self.tp, self.fp, self.fn
        labels = set(tp) | set(fn)
        total = sum(2 * tp[label] / (2 * tp[label] + fp[label] + fn[label]) for label in labels if tp[label])
        return Score(round(total / len(labels), SCORE_DIGITS), None, self.total, wrong=sum(fn.values()))


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", ("expected", "output"), 1.0, True),
    "exact_match": Metric("exact_match", ("expected", "output"), 1.0, True),
    "macro_f1": Metric("macro_f1", ("expected", "output"), 1.0, False),
    "rubric_mean": Metric("rubric_mean", ("score",), RUBRIC_MAX, False),
    "pass_rate": Metric("pass_rate", ("passed",), 1.0, True),
}


def compute(metric: str, records: list[dict[str, Any]]) -> Score:
    """Score ``records`` with ``metric``; RecordError names the first unusable record."""
    return Tally(metric).add(records).score()


def needs_expected(metric: str) -> bool:
    return "expected" in METRICS[metric].fields
