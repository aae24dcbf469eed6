"""Attacks through arithmetic: a permissive t quantile, inconsistent equality, junk labels."""

from __future__ import annotations

import math

import pytest

from tiergate.evidence.stats import t_quantile, upper_bound
from tiergate.metrics import canonical, compute, same

# Published one-sided Student t critical values (any t table: dof, confidence, value to 3 places).
T_TABLE = [(1, 0.95, 6.314), (1, 0.99, 31.821), (2, 0.95, 2.920), (2, 0.99, 6.965), (3, 0.95, 2.353), (4, 0.99, 3.747),
           (5, 0.95, 2.015), (10, 0.99, 2.764), (20, 0.975, 2.086), (30, 0.95, 1.697), (120, 0.99, 2.358)]


@pytest.mark.parametrize("dof,confidence,expected", T_TABLE)
def test_t_quantile_matches_the_published_table(dof, confidence, expected):
    assert abs(t_quantile(confidence, dof) - expected) < 5e-4


def test_two_close_rubric_scores_are_not_a_conclusive_failure():
    """7 and 7.2 against 7.7: the exact bound is 7.73, so the failure is within noise."""
    score = compute("rubric_mean", [{"id": "1", "score": 7}, {"id": "2", "score": 7.2}])
    bound = upper_bound("rubric_mean", score, 2, 0.95)
    assert abs(bound - 7.7314) < 1e-3 and bound >= 7.7


def test_a_single_rubric_sample_has_no_bound():
    score = compute("rubric_mean", [{"id": "1", "score": 1}])
    assert math.isinf(upper_bound("rubric_mean", score, 1, 0.95))


def test_one_definition_of_equality():
    assert same(1, 1.0) and same({"a": 1, "b": [2.0]}, {"b": [2], "a": 1.0})
    assert not same(True, 1) and not same("1", 1) and not same(" x", "x")
    assert canonical(" x ", strip=True) == canonical("x")


def test_accuracy_and_coverage_agree_on_numbers():
    records = [{"id": "1", "expected": 1, "output": 1.0}, {"id": "2", "expected": True, "output": 1}]
    assert compute("accuracy", records).successes == 1


def test_junk_labels_cannot_sink_macro_f1():
    """Wrong answers count once; inventing a new label per miss must not add zero-F1 classes."""
    honest = [{"id": str(i), "expected": e, "output": o} for i, (e, o) in enumerate([("a", "a"), ("a", "b"), ("b", "b"), ("b", "a")])]
    junk = [{"id": str(i), "expected": e, "output": o} for i, (e, o) in enumerate([("a", "a"), ("a", "zz1"), ("b", "b"), ("b", "zz2")])]
    # labels a and b only: each tp=1, fn=1; honest misses add fp to the other label, junk ones to no label
    assert compute("macro_f1", honest).value == 0.5
    assert compute("macro_f1", junk).value == round(2 / 3, 6)
    assert compute("macro_f1", junk).wrong == 2


@pytest.mark.parametrize("a,b", [(1, 1.0), (1, True), ("1", 1), (" x", "x"), (None, 0), (None, None), (0.0, -0.0), (2, 2.5),
                                 ({"a": 1}, {"a": 1.0}), ([1, "x"], [1.0, "x"]), (False, 0), ("", None), ([True], [1])])
def test_the_fast_comparison_is_canonical_equality(a, b):
    assert same(a, b) == (canonical(a) == canonical(b))
    assert same(a, b, strip=True) == (canonical(a, strip=True) == canonical(b, strip=True))
