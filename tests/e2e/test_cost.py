"""The cost model: exact money, hand-computed cases, break-even, totals, findings and `tiergate cost`."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import AS_OF, cli
from gitrepo import init
from tiergate.cost import call_cost, monthly, per_call, per_token, price
from tiergate.models import Catalog, Contract, ModelEntry

D = Decimal
INTENT = "policy/tasks/intent-classification.yaml"
ENTITY = "policy/tasks/entity-extraction.yaml"
ARCH = "policy/tasks/architecture-review.yaml"


def model(input_per_mtok: float, output_per_mtok: float) -> ModelEntry:
    return ModelEntry(id="p/m", input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok,
                      context_window=100_000, max_output_tokens=8_000)


def catalog(*prices: tuple[float, float]) -> Catalog:
    tiers = [{"id": f"t{i}", "revised": "2026-09-01", "min_completion_tokens": 16,
              "price_band": {"max_input_per_mtok": 100, "max_output_per_mtok": 100},
              "models": [{"id": f"p/m{i}", "input_per_mtok": a, "output_per_mtok": b, "context_window": 100_000, "max_output_tokens": 8000}]}
             for i, (a, b) in enumerate(prices)]
    return Catalog.model_validate({"platform_owner": "@o/p", "tiers": tiers}, strict=False)


def contract(tier: str = "t0", ceiling: str | None = None, **cost: object) -> Contract:
    data = {
        "task": "x", "description": "Return one label.", "class": "pattern-matching", "owner": "@o/t", "impact": "high",
        "slo": {"metric": "accuracy", "threshold": 0.9, "min_samples": 10, "eval_set": "evals/datasets/x.jsonl"},
        "tier": tier, "cost": {"monthly_volume": 1000, "avg_input_tokens": 1000, "avg_output_tokens": 1000} | cost,
        "routing": {"p95_input_tokens": 2000, "max_output_tokens": 100},
    }
    if ceiling:
        data["escalation"] = {"signal": "schema_invalid", "ceiling": ceiling}
    return Contract.model_validate(data, strict=False)


# --- exact money ---------------------------------------------------------------------------


def test_label_call_matches_the_hand_computed_figures():
    small, frontier = call_cost(model(0.10, 0.30), 120, 20), call_cost(model(3, 15), 120, 20)
    assert small == D("0.000018") and frontier == D("0.00066")
    assert small * 500_000 == D("9") and frontier * 500_000 == D("330")
    assert (per_call(small), per_call(frontier), monthly(small * 500_000), monthly(frontier * 500_000)) == \
        ("$0.000018", "$0.00066", "$9.00", "$330.00")


def test_per_token_prices_do_not_drift():
    assert per_token(0.1) == D("0.0000001")
    assert per_token(0.1) * 10_000_000 == D(1)
    assert call_cost(model(0.1, 0.2), 1_000_000, 1_000_000) == D("0.3")  # 0.1 + 0.2 in floats is 0.30000000000000004
    assert call_cost(model(1.25, 10), 3, 7) == D("0.00007375")


def test_money_prints_rounded_only_at_the_edge():
    assert per_call(D("0.0000000149")) == "$0.00000001"
    assert per_call(D("12.5")) == "$12.50"
    assert monthly(D("1350")) == "$1,350.00" and monthly(D("-9873.305")) == "-$9,873.31"


# --- terms -----------------------------------------------------------------------------------


def test_all_in_adds_every_term_and_divides_by_success():
    cat = catalog((1, 2), (10, 20))
    cost = price(cat, contract("t0", "t1", escalation_rate=0.1, retry_rate=0.05,
                               human_review={"rate": 0.02, "cost_per_review": 5},
                               trust_damage={"failure_rate": 0.01, "loss_per_failure": 30}))
    direct, mid = D("0.003"), D("0.03")
    t = cost.terms
    assert (t.direct, t.escalation, t.retry, t.human_review, t.trust_damage) == \
        (direct, D("0.1") * mid, D("0.05") * direct, D("0.1"), D("0.3"))
    assert t.all_in == D("0.003") + D("0.003") + D("0.00015") + D("0.1") + D("0.3")
    assert cost.success_rate == D("0.99") and cost.per_success == t.all_in / D("0.99")
    assert cost.monthly == t.all_in * 1000
    assert cost.not_estimated == ()


def test_missing_terms_count_as_zero_and_are_named():
    cost = price(catalog((1, 2), (10, 20)), contract("t0", "t1"))
    assert cost.not_estimated == ("escalation", "retry", "human_review", "trust_damage")
    assert cost.terms.all_in == D("0.003") and cost.success_rate == 1


def test_escalation_climbs_the_chain_to_the_ceiling_only():
    cat = catalog((1, 2), (10, 20), (100, 200))
    d1, d2 = D("0.03"), D("0.3")
    e = D("0.2")
    two_steps = price(cat, contract("t0", "t2", escalation_rate=0.2))
    assert two_steps.terms.escalation == e * (d1 + e * d2)
    one_step = price(cat, contract("t0", "t1", escalation_rate=0.2))
    assert one_step.terms.escalation == e * d1
    none = price(cat, contract("t0", escalation_rate=0.2))
    assert none.terms.escalation == 0 and none.cascade is None


def test_break_even_of_a_two_tier_cascade():
    cat = catalog((1, 2), (3, 6))  # d0 = 0.003, d1 = 0.009
    cost = price(cat, contract("t0", "t1", escalation_rate=0.5))
    assert cost.cascade is not None
    assert cost.cascade.break_even == D("0.666667")  # 1 - d0/d1
    assert cost.cascade.straight == D("0.009") and cost.cascade.cascade == D("0.003") + D("0.5") * D("0.009")
    assert not cost.cascade.loses
    assert price(cat, contract("t0", "t1", escalation_rate=0.7)).cascade.loses


def test_break_even_with_retries_and_three_tiers():
    cat = catalog((1, 2), (3, 6))
    with_retries = price(cat, contract("t0", "t1", escalation_rate=0.1, retry_rate=0.2)).cascade
    assert with_retries.break_even == D("0.8")  # (1 + 0.2) * (1 - 1/3)
    assert price(cat, contract("t0", "t1", retry_rate=1.0)).cascade.break_even is None  # 2*(2/3) > 1: never loses
    assert price(catalog((5, 5), (3, 6)), contract("t0", "t1")).cascade.break_even == 0  # cheap tier is not cheaper
    three = price(catalog((1, 2), (3, 6), (9, 18)), contract("t0", "t2", escalation_rate=0.1)).cascade
    e = three.break_even  # the root of 0.003 + e*0.009 + e^2*0.027 = 0.027, to the printed precision
    assert abs(D("0.003") + e * D("0.009") + e * e * D("0.027") - D("0.027")) < D("0.0000001")


def test_counterfactuals_use_the_top_tier_and_measured_lowest_tier_failures(repo, capsys):
    run = cli(capsys, "cost", "--repo", str(repo.root), "--format", "json", "--task", "contract-review")
    data = json.loads(run.out)
    task = data["tasks"][0]
    lowest = task["lowest_tier_failures"]
    assert lowest["artifact"].startswith("evals/contract-review/") and "-lite-" in lowest["artifact"]
    rate = D(lowest["misses"]) / D(lowest["total"])
    # lite direct: 30000 in x 0.05/M + 2500 out x 0.40/M = 0.0025; retry 1%; review 5% x 180; each lite miss loses 2500
    expected = D("1.01") * D("0.0025") + D("0.05") * 180 + rate * 2500
    assert D(task["counterfactual_per_call"]["lowest_tier"]) == expected.quantize(D("1e-12"))
    assert task["counterfactual_per_call"]["top_tier"] == task["all_in_per_call"]  # already on the top tier
    overall = data["totals"]["overall"]
    assert D(overall["monthly"]) == D(task["monthly"]) == D(task["all_in_per_call"]) * 2000


def test_totals_sum_the_classes(repo, capsys):
    data = json.loads(cli(capsys, "cost", "--repo", str(repo.root), "--format", "json").out)
    classes = data["totals"]["by_class"]
    for key in ("monthly", "all_on_top_tier", "all_on_lowest_tier"):
        assert sum(D(c[key]) for c in classes.values()) == D(data["totals"]["overall"][key])
    assert sum(D(t["monthly"]) for t in data["tasks"]) == D(data["totals"]["overall"]["monthly"])
    assert D(data["totals"]["overall"]["saving_vs_top_tier"]) > 0
    assert all(isinstance(t["all_in_per_call"], str) for t in data["tasks"])  # money never travels as a float


# --- the command -------------------------------------------------------------------------------


def test_table_shows_every_section_and_not_estimated_terms(repo, capsys):
    run = cli(capsys, "cost", "--repo", str(repo.root))
    assert run.code == 0
    for heading in ("Cost per call (USD)", "Direct cost per call on each tier", "Monthly totals", "Not estimated"):
        assert heading in run.out
    assert "release-notes-draft: retry, human review, trust damage not estimated (counted as $0)" in run.out
    assert "all on frontier" in run.out and "all on lite" in run.out


def test_task_detail_spells_out_each_term(repo, capsys):
    run = cli(capsys, "cost", "--repo", str(repo.root), "--task", "intent-classification", "--format", "markdown")
    assert run.code == 0
    assert "## Breakdown: intent-classification" in run.out
    assert "| direct " in run.out and "$0.000014" in run.out and "$7.00" in run.out  # 500,000 x $0.000014
    assert "break-even escalation rate 98.1%" in run.out  # (1 + 0.2% retries) x (1 - 0.000014/0.00066)


def test_unknown_task_is_a_clear_error(repo, capsys):
    run = cli(capsys, "cost", "--repo", str(repo.root), "--task", "nope")
    assert run.code == 2 and "no valid contract for task 'nope'" in run.err and "intent-classification" in run.err


def test_broken_contract_is_skipped_aloud(repo, capsys):
    repo.write("policy/tasks/broken.yaml", "task: [\n")
    run = cli(capsys, "cost", "--repo", str(repo.root), "--format", "json")
    assert run.code == 0 and "skipping policy/tasks/broken.yaml" in run.err
    assert len(json.loads(run.out)["tasks"]) == 14


def test_schema_rejects_half_a_term_and_string_money(repo, validate):
    repo.replace(INTENT, "human_review: {rate: 0.01, cost_per_review: 0.8}", "human_review: {rate: 0.01}")
    repo.replace(ENTITY, "loss_per_failure: 0.05", 'loss_per_failure: "0.05"')
    run = validate()
    found = json.loads(run.out)["findings"]
    assert run.code == 1
    assert any(f["rule"] == "TG101" and f["file"] == INTENT and "cost_per_review" in f["message"] for f in found)
    assert any(f["rule"] == "TG101" and f["file"] == ENTITY and "loss_per_failure" in f["message"] for f in found)


# --- findings --------------------------------------------------------------------------------


def test_escalation_at_break_even_warns_to_route_directly(repo, validate):
    repo.replace(ENTITY, "escalation_rate: 0.04", "escalation_rate: 0.99")  # break-even (1 + 1% retries) x 98% = 98.98%
    run = validate()
    found = [f for f in json.loads(run.out)["findings"] if f["rule"] == "TG602"]
    assert run.code == 0 and len(found) == 1
    assert found[0]["file"] == ENTITY and found[0]["severity"] == "warning"
    assert "route directly to mid" in found[0]["message"] and "break-even rate 99.0%" in found[0]["message"]
    assert repo.read(ENTITY).splitlines()[found[0]["line"] - 1].strip().startswith("escalation_rate:")


def test_stated_cost_drift_over_a_quarter_warns(repo, validate):
    repo.replace(INTENT, "stated_per_call: 0.018", "stated_per_call: 0.022")  # computed 0.018034: +22%
    assert "TG604" not in validate().rules()
    repo.replace(INTENT, "stated_per_call: 0.022", "stated_per_call: 0.0001")
    run = validate()
    found = [f for f in json.loads(run.out)["findings"] if f["rule"] == "TG604"]
    assert len(found) == 1 and found[0]["file"] == INTENT and "computed all-in $0.01803383" in found[0]["message"]


def test_budget_inversion_names_both_tasks(repo, validate):
    assert "TG603" not in validate().rules()
    repo.replace(ARCH, "impact: medium", "impact: low")
    found = [f for f in json.loads(validate().out)["findings"] if f["rule"] == "TG603"]
    files = {f["file"] for f in found}
    assert INTENT in files and ARCH not in files  # reported once, on the high-impact side
    message = next(f["message"] for f in found if f["file"] == INTENT)
    assert "'intent-classification'" in message and "'architecture-review'" in message


@pytest.mark.parametrize("touch", ["low", "high"])
def test_budget_inversion_in_the_gate_reaches_untouched_contracts(repo, capsys, touch):
    if touch == "high":
        repo.replace(ARCH, "impact: medium", "impact: low")
    gitrepo = init(repo.root)
    if touch == "low":
        gitrepo.replace(ARCH, "impact: medium", "impact: low")
        expected_file = ARCH
    else:
        gitrepo.replace(INTENT, "retry_rate: 0.002", "retry_rate: 0.003")
        expected_file = INTENT
    gitrepo.commit("change")
    run = cli(capsys, "check", "--base", "main", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    found = [f for f in json.loads(run.out)["findings"] if f["rule"] == "TG603"]
    assert run.code == 0 and [f["file"] for f in found] == [expected_file]
    assert "'intent-classification'" in found[0]["message"] and "'architecture-review'" in found[0]["message"]


def test_a_cost_note_cannot_become_markdown(repo, capsys):
    """A contract's note is free text: in Markdown it can be neither a link, a mention nor HTML."""
    repo.replace(INTENT, 'note: "', 'note: "see [the docs](https://evil.example) @acme/everyone <img src=x onerror=alert(1)> ')
    run = cli(capsys, "cost", "--repo", str(repo.root), "--task", "intent-classification", "--format", "markdown")
    [line] = [ln for ln in run.out.splitlines() if "note: " in ln]
    assert run.code == 0 and line.startswith("`note: see [the docs](https://evil.example) @\u200bacme/everyone <img") and line.endswith("`")


def test_tiergate_s_own_plain_lines_stay_plain_in_markdown(repo, capsys):
    run = cli(capsys, "cost", "--repo", str(repo.root), "--task", "intent-classification", "--format", "markdown")
    assert "\nintent-classification (pattern-matching, high impact, lite up to mid), 500,000 calls a month\n" in run.out
