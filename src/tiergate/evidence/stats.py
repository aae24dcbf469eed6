"""Is a failing score a real failure or noise? One-sided upper confidence bounds.

A lower tier's score below the threshold only proves the tier fails when even the optimistic
end of its confidence interval stays below the threshold:

* proportion metrics (accuracy, exact_match, pass_rate) and macro F1: the Wilson score
  interval's one-sided upper bound at the catalog's confidence level;
* rubric_mean: mean + t(confidence, n-1) x s / sqrt(n), with s the records' sample standard
  deviation and t the exact Student t quantile (inverted from the regularized incomplete beta
  function). A mean needs n >= 2 for any bound: below that the bound is undefined (infinite),
  and an undefined bound is never a conclusive failure.

An approximate quantile that errs low would let noise pass for failure, the permissive way,
so the quantile is computed, not approximated.
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


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz), to 1e-15."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, dof: int) -> float:
    """P(T <= t) for Student's t with ``dof`` degrees of freedom."""
    tail = 0.5 * _incomplete_beta(dof / 2.0, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(confidence: float, dof: int) -> float:
    """The exact one-sided Student t quantile; infinite without degrees of freedom."""
    if dof <= 0:
        return math.inf
    low, high = 0.0, max(1.0, _z(confidence))
    while t_cdf(high, dof) < confidence:
        low, high = high, high * 2.0
        if high > 1e12:
            return math.inf
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, dof) < confidence:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * max(1.0, high):
            break
    return high


def upper_bound(metric: str, score: Score, n: int, confidence: float) -> float:
    """Optimistic end of the score's interval, as if it had been measured on ``n`` samples."""
    if METRICS[metric].proportion or metric == "macro_f1":
        return wilson_upper(score.value, n, confidence)
    if n < 2:
        return math.inf  # one sample says nothing about the spread: undefined, never conclusive
    return score.value + t_quantile(confidence, n - 1) * score.spread / math.sqrt(n)


def samples_needed(metric: str, score: Score, threshold: float, confidence: float) -> Optional[int]:
    """Smallest sample size at which the same score would be a conclusive failure (None: never, up to MAX_SAMPLES)."""
    if score.value >= threshold:
        return None
    settled = lambda n: upper_bound(metric, score, n, confidence) < threshold  # noqa: E731
    high = max(2, score.total)
    while not settled(high):
        if high >= MAX_SAMPLES:
            return None
        high = min(high * 2, MAX_SAMPLES)
    low = 1
    while low < high:
        mid = (low + high) // 2
        if settled(mid):
            high = mid
        else:
            low = mid + 1
    return high
