"""Metrics recomputed from records, checked against hand-computed values."""

from __future__ import annotations

import pytest

from tiergate.metrics import RecordError, compute


def rec(expected, output, i=0):
    return {"id": str(i), "expected": expected, "output": output}


def test_accuracy_is_exact_and_typed():
    records = [rec("a", "a", 1), rec("b", "a", 2), rec(1, "1", 3), rec("c", "c", 4)]
    score = compute("accuracy", records)
    assert (score.value, score.successes, score.total) == (0.5, 2, 4)


def test_exact_match_ignores_key_order_and_outer_whitespace():
    records = [rec({"a": 1, "b": 2}, {"b": 2, "a": 1}, 1), rec(" x ", "x", 2), rec({"a": 1}, {"a": 2}, 3)]
    assert compute("exact_match", records).successes == 2


def test_macro_f1_by_hand():
    # labels a, b: a -> tp=2 fp=1 fn=0 -> f1=0.8 ; b -> tp=1 fp=0 fn=1 -> f1=2/3
    records = [rec("a", "a", 1), rec("a", "a", 2), rec("b", "a", 3), rec("b", "b", 4)]
    assert compute("macro_f1", records).value == round((0.8 + 2 / 3) / 2, 6)


def test_rubric_mean_and_pass_rate():
    assert compute("rubric_mean", [{"id": "1", "score": 7}, {"id": "2", "score": 8.5}]).value == 7.75
    assert compute("pass_rate", [{"id": "1", "passed": True}, {"id": "2", "passed": False}]).value == 0.5


@pytest.mark.parametrize(
    "metric,records",
    [
        ("rubric_mean", [{"id": "1", "score": 11}]),
        ("pass_rate", [{"id": "1", "passed": "yes"}]),
        ("accuracy", [{"id": "1", "output": "a"}]),
        ("macro_f1", [{"id": "1", "expected": ["a"], "output": "a"}]),
        ("accuracy", []),
    ],
)
def test_unusable_records(metric, records):
    with pytest.raises(RecordError):
        compute(metric, records)
