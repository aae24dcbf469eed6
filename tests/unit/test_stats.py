"""Confidence bounds behind "is this failure real or noise", checked against hand-computed values."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from tiergate.evidence import stats
from tiergate.evidence.stats import samples_needed, t_quantile, upper_bound, wilson_upper
from tiergate.metrics import Score

Z95 = 1.6449  # one-sided 95%: NormalDist().inv_cdf(0.95) = 1.64485...


def wilson_by_formula(p: float, n: int, confidence: float) -> float:
    """(p + z²/2n + z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), written out independently of the code."""
    z = NormalDist().inv_cdf(confidence)
    return (p + z**2 / (2 * n) + z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))) / (1 + z**2 / n)


def proportion(successes: int, total: int) -> Score:
    return Score(successes / total, successes, total, wrong=total - successes)


def test_z_is_the_one_sided_quantile():
    assert NormalDist().inv_cdf(0.95) == pytest.approx(Z95, abs=1e-4)


@pytest.mark.parametrize("p,n,confidence", [(0.8, 200, 0.95), (0.93, 500, 0.95), (0.5, 30, 0.9), (0.2, 10, 0.99)])
def test_wilson_upper_follows_the_documented_formula(p, n, confidence):
    assert wilson_upper(p, n, confidence) == pytest.approx(wilson_by_formula(p, n, confidence), rel=1e-12)


@pytest.mark.parametrize(
    "p,n,expected",
    [
        (0.8, 200, 0.842381),  # by hand: (0.806764 + 1.6449 * 0.0285817) / 1.0135277
        (0.0, 200, 0.013347),  # p = 0 reduces to z² / (n + z²) = 2.705543 / 202.705543
        (0.0, 1, 0.730134),  # 2.705543 / 3.705543
        (0.5, 1, 0.927239),  # (0.5 + z²/2 + z/2 · sqrt(1 + z²)) / (1 + z²)
    ],
)
def test_wilson_upper_literal_values(p, n, expected):
    assert wilson_upper(p, n, 0.95) == pytest.approx(expected, abs=2e-6)


def test_wilson_upper_at_the_edges():
    for n in (1, 2, 200, 10_000):
        z2 = NormalDist().inv_cdf(0.95) ** 2
        assert wilson_upper(0.0, n, 0.95) == pytest.approx(z2 / (n + z2), rel=1e-12)
        assert wilson_upper(0.0, n, 0.95) > 0  # zero successes still leave room above zero
        assert wilson_upper(1.0, n, 0.95) == 1.0  # never above 1, even with rounding
    assert wilson_upper(0.8, 1, 0.95) < 1.0


def test_wilson_upper_narrows_with_more_samples_and_widens_with_confidence():
    bounds = [wilson_upper(0.8, n, 0.95) for n in (10, 100, 1_000, 10_000)]
    assert bounds == sorted(bounds, reverse=True) and all(b > 0.8 for b in bounds)
    assert wilson_upper(0.8, 200, 0.99) > wilson_upper(0.8, 200, 0.95) > wilson_upper(0.8, 200, 0.9)


@pytest.mark.parametrize("dof,published", [(30, 1.6973), (60, 1.6706), (120, 1.6577)])
def test_t_quantile_matches_the_t_table(dof, published):
    assert t_quantile(0.95, dof) == pytest.approx(published, abs=1e-3)


def test_t_quantile_lies_above_z_and_approaches_it():
    z = NormalDist().inv_cdf(0.95)
    values = [t_quantile(0.95, dof) for dof in (5, 10, 30, 100, 1_000, 100_000)]
    assert values == sorted(values, reverse=True) and all(v > z for v in values)
    assert values[-1] == pytest.approx(z, abs=1e-4)


@pytest.mark.parametrize("metric", ["accuracy", "exact_match", "pass_rate", "macro_f1"])
def test_upper_bound_of_proportions_is_wilson_at_the_given_size(metric):
    score = proportion(160, 200)
    assert upper_bound(metric, score, 200, 0.95) == wilson_upper(0.8, 200, 0.95)
    # "as if it had been measured on n samples": n, not score.total, is the sample size
    assert upper_bound(metric, score, 800, 0.95) == wilson_upper(0.8, 800, 0.95)


def test_upper_bound_of_rubric_mean_is_mean_plus_t_times_standard_error():
    score = Score(7.5, None, 50, spread=1.2)
    expected = 7.5 + t_quantile(0.95, 49) * 1.2 / math.sqrt(50)
    assert upper_bound("rubric_mean", score, 50, 0.95) == pytest.approx(expected, rel=1e-12)
    assert upper_bound("rubric_mean", score, 50, 0.95) == pytest.approx(7.5 + 1.6766 * 1.2 / math.sqrt(50), abs=2e-4)
    assert upper_bound("rubric_mean", score, 200, 0.95) == pytest.approx(7.5 + t_quantile(0.95, 199) * 1.2 / math.sqrt(200))
    # a mean is not a proportion: the Wilson bound would be capped at 1
    assert upper_bound("rubric_mean", score, 50, 0.95) > 7.5


@pytest.mark.parametrize(
    "metric,score,threshold",
    [
        ("accuracy", proportion(190, 200), 0.95),  # exactly at the threshold
        ("accuracy", proportion(195, 200), 0.9),
        ("rubric_mean", Score(8.0, None, 40, spread=1.0), 7.5),
    ],
)
def test_samples_needed_is_none_for_a_score_that_meets_the_threshold(metric, score, threshold):
    assert samples_needed(metric, score, threshold, 0.95) is None


@pytest.mark.parametrize(
    "metric,score,threshold",
    [
        ("accuracy", proportion(170, 200), 0.9),  # 200 samples are already enough: search below them
        ("accuracy", proportion(44, 50), 0.9),  # 50 are not: search above them
        ("pass_rate", proportion(9, 10), 0.95),
        ("macro_f1", Score(0.7, None, 30, wrong=9), 0.75),
        ("rubric_mean", Score(7.0, None, 20, spread=2.0), 7.3),
    ],
)
def test_samples_needed_is_the_smallest_conclusive_size(metric, score, threshold):
    needed = samples_needed(metric, score, threshold, 0.95)
    assert needed is not None and needed > 2
    assert upper_bound(metric, score, needed, 0.95) < threshold
    assert upper_bound(metric, score, needed - 1, 0.95) >= threshold


def test_samples_needed_finds_sizes_below_and_above_the_measured_one():
    assert samples_needed("accuracy", proportion(170, 200), 0.9, 0.95) < 200
    assert samples_needed("accuracy", proportion(44, 50), 0.9, 0.95) > 50
    assert samples_needed("accuracy", proportion(170, 200), 0.9, 0.99) > samples_needed("accuracy", proportion(170, 200), 0.9, 0.95)


def test_samples_needed_is_none_when_no_size_below_the_cap_settles_it():
    score, threshold = proportion(180, 200), 0.9 + 1e-7
    assert upper_bound("accuracy", score, stats.MAX_SAMPLES, 0.95) >= threshold
    assert samples_needed("accuracy", score, threshold, 0.95) is None
    rubric = Score(7.0, None, 20, spread=2.0)
    assert upper_bound("rubric_mean", rubric, stats.MAX_SAMPLES, 0.95) >= 7.0 + 1e-4
    assert samples_needed("rubric_mean", rubric, 7.0 + 1e-4, 0.95) is None
