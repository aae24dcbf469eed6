"""The audit's judgements on grouped rows (no engine): model matching, places in the chain, thresholds, bounds."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import PROJECT
from tiergate.audit import checks
from tiergate.audit.result import Grouped
from tiergate.loading import WorkTree
from tiergate.policy import load_policy

START, END = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def policy():
    return load_policy(WorkTree(PROJECT))


def row(task, model, calls, tin=120, tout=20, spend=None, malformed=0):
    return Grouped(task, model, calls, spend, calls if spend is not None else 0, tin * calls, tout * calls, malformed,
                   dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 29))


def rules(result, path=None):
    return sorted(f.rule.id for f in result.verdict.findings if path is None or f.file == path)


INTENT = "policy/tasks/intent-classification.yaml"


def test_models_are_matched_by_id_provider_id_or_unique_bare_name(policy):
    index = checks.model_index(policy.catalog)
    assert index["openai/gpt-5-nano"].rank == 0 and index["gpt-5-nano"].rank == 0
    assert index["claude-opus-4-1"].model.id == "anthropic/claude-opus-4-1"
    assert "gpt-6" not in index


def test_a_lower_tier_model_is_drift_too(policy):
    result = checks.judge(policy, "src", [row("code-generation", "openai/gpt-5-nano", 40, 6000, 1200)], START, END)
    [task] = result.tasks
    assert task.drift == 40 and "TG901" in rules(result, "policy/tasks/code-generation.yaml")


def test_escalation_within_tolerance_passes_and_above_it_warns(policy):
    ok = checks.judge(policy, "src", [row("intent-classification", "openai/gpt-5-nano", 964),
                                      row("intent-classification", "anthropic/claude-sonnet-4-5", 36)], START, END)
    assert "TG902" not in rules(ok, INTENT)  # 3.6% against 3% is within 25%
    over = checks.judge(policy, "src", [row("intent-classification", "openai/gpt-5-nano", 960),
                                        row("intent-classification", "anthropic/claude-sonnet-4-5", 40)], START, END)
    assert "TG902" in rules(over, INTENT)  # 4.0% is more than 3.75%


def test_rates_and_averages_need_thirty_calls(policy):
    few = checks.judge(policy, "src", [row("intent-classification", "openai/gpt-5-nano", 20, 900, 200),
                                       row("intent-classification", "anthropic/claude-sonnet-4-5", 9, 900, 200)], START, END)
    assert not {"TG902", "TG904", "TG910"} & set(rules(few, INTENT))
    many = checks.judge(policy, "src", [row("intent-classification", "openai/gpt-5-nano", 30, 900, 200)], START, END)
    assert rules(many, INTENT).count("TG904") == 2


def test_spend_gap_needs_every_call_logged(policy):
    exact = 30 * (120 * 0.05 + 20 * 0.40) / 1e6
    fine = checks.judge(policy, "src", [row("intent-classification", "openai/gpt-5-nano", 30, spend=exact)], START, END)
    assert "TG903" not in rules(fine, INTENT)
    gap = checks.judge(policy, "src", [row("intent-classification", "openai/gpt-5-nano", 30, spend=exact * 1.3)], START, END)
    assert "TG903" in rules(gap, INTENT)
    partly = row("intent-classification", "openai/gpt-5-nano", 30, spend=exact * 3)
    partly = Grouped(*[getattr(partly, f) for f in ("task", "model", "calls", "spend")], 10, partly.input_tokens, partly.output_tokens,
                     0, partly.first_at, partly.last_at)
    assert "TG903" not in rules(checks.judge(policy, "src", [partly], START, END), INTENT)


def test_no_calls_is_one_error_and_no_idle_list(policy):
    result = checks.judge(policy, "src", [row(None, None, 0, malformed=3)], START, END)
    assert rules(result) == ["TG908", "TG909"] and not result.ok


def test_unknown_task_ids_are_bounded_and_never_a_path(policy):
    rows = [row(f"t-{i:03d}", "openai/gpt-5-nano", 100 - i) for i in range(25)] + [row("../../etc/passwd", "openai/gpt-5-nano", 1000)]
    result = checks.judge(policy, "src", rows, START, END)
    unknown = [f for f in result.verdict.findings if f.rule.id == "TG905"]
    assert len(unknown) == 21 and unknown[0].file == "src" and "'../../etc/passwd'" in unknown[0].message
    assert unknown[1].file == "policy/tasks/t-000.yaml"
    assert unknown[-1].file == "src" and "6 more task id(s)" in unknown[-1].message


def test_downgrade_saving_is_the_same_tokens_on_the_cheaper_primary(policy):
    result = checks.judge(policy, "src", [row("rag-answer", "anthropic/claude-sonnet-4-5", 100, 3500, 300)], START, END)
    [task] = result.tasks
    from decimal import Decimal

    sonnet = Decimal(100 * 3500) * Decimal("3.00") / 10**6 + Decimal(100 * 300) * Decimal("15.00") / 10**6
    nano = Decimal(100 * 3500) * Decimal("0.05") / 10**6 + Decimal(100 * 300) * Decimal("0.40") / 10**6
    assert task.cheaper == "lite" and task.downgrade_saving == sonnet - nano
    assert result.downgrades() == [task] and result.per_month(task.downgrade_saving) == task.downgrade_saving
