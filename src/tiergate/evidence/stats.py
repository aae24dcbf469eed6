"""Is a failing score a real failure or noise? One-sided upper confidence bounds.

A lower tier's score below the threshold only proves the tier fails when even the optimistic
end of its confidence interval stays below the threshold:

* proportion metrics (accuracy, exact_match, pass_rate) and macro F1: the Wilson score
  interval's one-sided upper bound at the catalog's confidence level;
* rubric_mean: mean + t(confidence, n-1) x s / sqrt(n), with s the records' sample standard
  deviation (Student t from a Cornish-Fisher expansion, exact enough for n >= 5).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Optional

from tiergate.metrics import METRICS, Score

MAX_SAMPLES = 10_000_000


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(confidence)


def wilson_upper(p: float, n: int, confidence: float) -> float:
    z = _z(confidence)
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + margin) / denom)


def t_quantile(confidence: float, dof: int) -> float:
    z = _z(confidence)
    if dof <= 0:
        return math.inf
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / dof + g2 / dof**2 + g3 / dof**3


def upper_bound(metric: str, score: Score, n: int, confidence: float) -> float:
    """Optimistic end of the score's interval, as if it had been measured on ``n`` samples."""
    if METRICS[metric].proportion or metric == "macro_f1":
        return wilson_upper(score.value, n, confidence)
    return score.value + t_quantile(confidence, n - 1) * score.spread / math.sqrt(n)


def samples_needed(metric: str, score: Score, threshold: float, confidence: float) -> Optional[int]:
    """Smallest sample size at which the same score would be a conclusive failure (None: never)."""
    if score.value >= threshold:
        return None
    high = max(2, score.total)
    while upper_bound(metric, score, high, confidence) >= threshold:
        high *= 2
        if high > MAX_SAMPLES:
            return None
    low = 2
    while low < high:
        mid = (low + high) // 2
        if upper_bound(metric, score, mid, confidence) < threshold:
            high = mid
        else:
            low = mid + 1
    return high
