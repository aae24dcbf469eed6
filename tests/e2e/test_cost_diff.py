"""The cost diff of `check`, the catalog revision rule and the cost guard, over real git repositories.

Expected dollars are worked out by hand from the README's formula, with the example's numbers:
intent-classification makes 500,000 calls a month of 120 input and 20 output tokens, escalation
rate 3%, retry rate 0.2%, human review 1% at $0.80, trust damage 0.5% at $2. Direct cost of one
call on each tier's primary model:
  lite     gpt-5-nano  $0.05/$0.40 per M: 120 × 0.05e-6 + 20 × 0.40e-6 = $0.000014
  mid      sonnet-4-5  $3/$15 per M:      120 × 3e-6    + 20 × 15e-6   = $0.00066
  frontier opus-4-1    $15/$75 per M:     120 × 15e-6   + 20 × 75e-6   = $0.0033
All-in per call on lite up to mid: 0.000014 + 0.03 × 0.00066 (escalation) + 0.002 × 0.000014 (retry)
+ 0.01 × 0.8 (review) + 0.005 × 2 (damage) = $0.018033828, so $9,016.914 a month, $7 of it direct.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import AS_OF, cli
from gitrepo import init

INTENT = "policy/tasks/intent-classification.yaml"
CATALOG = "policy/tiers.yaml"
VOLUME = 500_000
BASE_CALL = Decimal("0.018033828")
GUARD = '\ncost_guard: {monthly_increase_usd: 500, severity: error, approver: "@acme/finops"}\n'


def check(capsys, repo):
    run = cli(capsys, "check", "--repo", str(repo.root), "--base", "main", "--format", "json", "--as-of", AS_OF)
    assert run.code in (0, 1), run.err
    return run, json.loads(run.out)


def row(data, task):
    return next(t for t in data["cost"]["tasks"] if t["task"] == task)


def findings(data, rule):
    return [f for f in data["findings"] if f["rule"] == rule]


def guarded(repo, guard=GUARD):
    repo.replace(CATALOG, "defaults:\n", guard.lstrip("\n") + "defaults:\n")
    return init(repo.root)


@pytest.fixture
def gitrepo(repo):
    return init(repo.root)


def set_volume(repo, path, old, new):
    repo.replace(path, f"monthly_volume: {old}\n", f"monthly_volume: {new}\n")


# --- hand-computed cases -----------------------------------------------------------------------


def test_tier_upgrade(gitrepo, capsys):
    gitrepo.replace(INTENT, "tier: lite\nescalation:\n  signal: label_outside_set\n  ceiling: mid\n", "tier: mid\n")
    _, data = check(capsys, gitrepo)
    # on mid, no escalation: 0.00066 + 0.002 × 0.00066 + 0.008 + 0.01 = 0.01866132 a call
    after_call = Decimal("0.00066") + Decimal("0.002") * Decimal("0.00066") + Decimal("0.008") + Decimal("0.01")
    assert after_call == Decimal("0.01866132")
    intent = row(data, "intent-classification")
    assert intent["past"] == {"tier": "lite", "ceiling": "mid", "monthly_volume": VOLUME, "monthly_direct": "7",
                              "monthly_all_in": "9016.914"}
    assert intent["future"] == {"tier": "mid", "ceiling": "mid", "monthly_volume": VOLUME, "monthly_direct": "330",
                                "monthly_all_in": "9330.66"}
    assert intent["diff"] == {"monthly_direct": "323", "monthly_all_in": "313.746"}  # 9330.66 - 9016.914
    assert "tier lite -> mid" in intent["reasons"] and "ceiling mid -> mid" not in intent["reasons"]
    assert data["cost"]["total"]["diff"] == intent["diff"] and data["cost"]["total"]["tasks"] == 1


def test_price_change_lists_every_task_on_the_tier_and_needs_revised_to_move(gitrepo, capsys):
    text = gitrepo.read(CATALOG)
    gitrepo.write(CATALOG, text.replace("input_per_mtok: 3.00\n        output_per_mtok: 15.00", "input_per_mtok: 2.50\n        "
                                        "output_per_mtok: 15.00", 1))
    _, data = check(capsys, gitrepo)
    # the escalated call on mid: 120 × 2.5e-6 + 20 × 15e-6 = 0.0006 instead of 0.00066; 0.03 × -0.00006 × 500,000 = -$0.90
    intent = row(data, "intent-classification")
    assert intent["diff"] == {"monthly_direct": "0", "monthly_all_in": "-0.9"} and intent["reasons"] == ["mid repriced"]
    [listed] = findings(data, "TG811")
    assert listed["message"].startswith("tier 'mid' changed (anthropic/claude-sonnet-4-5 input $3/M -> $2.5/M): 7 task(s) use it")
    for task in ("intent-classification", "entity-extraction", "ticket-routing", "code-generation", "pii-redaction", "rag-answer",
                 "support-reply-draft"):
        assert f"{task} " in listed["message"]
    assert "intent-classification -$0.90" in listed["message"]
    [stale] = findings(data, "TG812")
    assert stale["severity"] == "error" and "`revised` is 2026-09-15" in stale["message"]
    assert data["cost"]["revisions"] == [{"tier": "mid", "changes": ["anthropic/claude-sonnet-4-5 input $3/M -> $2.5/M"],
                                          "revised_before": "2026-09-15", "revised_after": "2026-09-15", "moved": False}]


def _revise_mid(repo, date):
    text = repo.read(CATALOG)
    at = text.index("- id: mid")
    repo.write(CATALOG, text[:at] + text[at:].replace("revised: 2026-09-15", f"revised: {date}", 1))


def test_a_price_change_with_revised_moved_passes_that_rule(gitrepo, capsys):
    gitrepo.replace(CATALOG, "input_per_mtok: 3.00\n        output_per_mtok: 15.00", "input_per_mtok: 2.50\n        output_per_mtok: 15.00")
    _revise_mid(gitrepo, AS_OF)
    _, data = check(capsys, gitrepo)
    assert findings(data, "TG811") and not findings(data, "TG812") and data["cost"]["revisions"][0]["moved"] is True


@pytest.mark.parametrize("date, why", [("2026-09-14", "`revised` is 2026-09-14"), ("2099-01-01", "is after today")])
def test_revised_moved_back_or_into_the_future_does_not_count(gitrepo, capsys, date, why):
    gitrepo.replace(CATALOG, "input_per_mtok: 3.00\n        output_per_mtok: 15.00", "input_per_mtok: 2.50\n        output_per_mtok: 15.00")
    _revise_mid(gitrepo, date)
    _, data = check(capsys, gitrepo)
    assert any(why in f["message"] for f in findings(data, "TG812"))


def test_a_new_primary_by_reordering_is_a_price_change(gitrepo, capsys):
    text = gitrepo.read(CATALOG)
    sonnet = text[text.index("      - id: anthropic/claude-sonnet-4-5"):text.index("      - id: openai/gpt-4.1")]
    gpt = text[text.index("      - id: openai/gpt-4.1"):text.index("  - id: frontier")]
    gitrepo.write(CATALOG, text.replace(sonnet + gpt, gpt + sonnet))
    _, data = check(capsys, gitrepo)
    assert findings(data, "TG812") and "primary model anthropic/claude-sonnet-4-5 -> openai/gpt-4.1" in findings(data, "TG811")[0]["message"]
    # escalations now go to gpt-4.1 ($2/$8): 120 × 2e-6 + 20 × 8e-6 = 0.0004; 0.03 × (0.0004 - 0.00066) × 500,000 = -$3.90
    assert row(data, "intent-classification")["diff"]["monthly_all_in"] == "-3.9"


def test_volume_change(gitrepo, capsys):
    set_volume(gitrepo, INTENT, VOLUME, 800_000)
    _, data = check(capsys, gitrepo)
    # 300,000 more calls: 300,000 × 0.018033828 = 5,410.1484 all-in, 300,000 × 0.000014 = 4.2 direct
    assert row(data, "intent-classification")["diff"] == {"monthly_direct": "4.2", "monthly_all_in": "5410.1484"}
    assert row(data, "intent-classification")["reasons"] == ["volume 500,000 -> 800,000"]


def test_escalation_ceiling_raise(gitrepo, capsys):
    gitrepo.replace(INTENT, "  ceiling: mid\n", "  ceiling: frontier\n")
    _, data = check(capsys, gitrepo)
    # escalation = 0.03 × (0.00066 + 0.03 × 0.0033) = 0.00002277 instead of 0.03 × 0.00066 = 0.0000198: +0.00000297 a call
    assert row(data, "intent-classification")["diff"] == {"monthly_direct": "0", "monthly_all_in": "1.485"}
    assert row(data, "intent-classification")["future"]["ceiling"] == "frontier"


def test_an_unrelated_edit_has_no_cost_rows(gitrepo, capsys):
    gitrepo.replace(INTENT, "Classify one customer support message.", "Classify one support message.")
    run, data = check(capsys, gitrepo)
    assert data["cost"]["tasks"] == [] and data["cost"]["total"]["diff"] == {"monthly_direct": "0", "monthly_all_in": "0"}
    text = cli(capsys, "check", "--repo", str(gitrepo.root), "--base", "main", "--as-of", AS_OF).out
    assert "Cost change" not in text


def test_a_deleted_contract_shows_its_spend_going(gitrepo, capsys):
    gitrepo.path(INTENT).unlink()
    _, data = check(capsys, gitrepo)
    intent = row(data, "intent-classification")
    assert intent["future"] is None and intent["diff"]["monthly_all_in"] == "-9016.914" and intent["reasons"] == ["contract removed"]


def test_text_and_markdown_tables_sort_by_absolute_change(gitrepo, capsys):
    set_volume(gitrepo, INTENT, VOLUME, 510_000)  # +$180.34
    set_volume(gitrepo, "policy/tasks/rag-answer.yaml", 300000, 290000)  # 10,000 × 0.2013 = -$2,013.00
    text = cli(capsys, "check", "--repo", str(gitrepo.root), "--base", "main", "--as-of", AS_OF).out
    assert text.index("rag-answer ") < text.index("intent-classification ") and "-$2,013.00" in text and "+$180.34" in text
    markdown = cli(capsys, "check", "--repo", str(gitrepo.root), "--base", "main", "--as-of", AS_OF, "--format", "markdown").out
    assert markdown.index("| rag-answer ") < markdown.index("| intent-classification ")
    assert "| total (2 task(s)) " in markdown and "-$1,832.66" in markdown  # 180.33828 - 2013
    assert 'Bars: before; line: after.\n\n```mermaid\nxychart-beta\n    title "Monthly all-in spend"' in markdown
    assert 'x-axis ["rag-answer", "intent-classification"]' in markdown


# --- the cost guard ------------------------------------------------------------------------------


def test_the_guard_blocks_and_names_amount_tasks_and_approver(repo, capsys):
    gitrepo = guarded(repo)
    set_volume(gitrepo, INTENT, VOLUME, 800_000)
    run, data = check(capsys, gitrepo)
    [hit] = findings(data, "TG814")
    assert run.code == 1 and hit["severity"] == "error" and hit["file"] == INTENT
    assert "task 'intent-classification' rises by +$5,410.15 all-in (+$4.20 direct)" in hit["message"]
    assert "all-in above $500.00 a month" in hit["message"] and "@acme/finops must approve" in hit["message"]


def test_a_small_increase_passes_the_guard(repo, capsys):
    gitrepo = guarded(repo)
    set_volume(gitrepo, INTENT, VOLUME, 510_000)  # +$180.34
    run, data = check(capsys, gitrepo)
    assert run.code == 0 and not findings(data, "TG814") and not findings(data, "TG813")


def test_the_default_guard_warns_and_names_the_platform_owner(repo, capsys):
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_percent: 20}\n")
    set_volume(gitrepo, INTENT, VOLUME, 700_000)  # +40%
    run, data = check(capsys, gitrepo)
    [hit] = findings(data, "TG813")
    assert run.code == 0 and "all-in above 20% of the base spend" in hit["message"] and "@acme/ml-platform must approve" in hit["message"]


def test_loosening_the_guard_in_the_same_change_does_not_help(repo, capsys):
    gitrepo = guarded(repo)
    gitrepo.replace(CATALOG, "monthly_increase_usd: 500, severity: error", "monthly_increase_usd: 100000000, severity: warning")
    set_volume(gitrepo, INTENT, VOLUME, 800_000)
    run, data = check(capsys, gitrepo)
    assert run.code == 1 and findings(data, "TG814")


def test_removing_the_guard_in_the_same_change_does_not_help(repo, capsys):
    gitrepo = guarded(repo)
    gitrepo.replace(CATALOG, GUARD.lstrip("\n"), "")
    set_volume(gitrepo, INTENT, VOLUME, 800_000)
    assert findings(check(capsys, gitrepo)[1], "TG814")


def test_an_increase_split_across_tasks_is_guarded_in_total(repo, capsys):
    gitrepo = guarded(repo)
    set_volume(gitrepo, "policy/tasks/architecture-review.yaml", 150, 155)  # about +$325
    set_volume(gitrepo, "policy/tasks/incident-planning.yaml", 300, 302)  # about +$281
    set_volume(gitrepo, "policy/tasks/code-generation.yaml", 30000, 30400)  # about +$364
    run, data = check(capsys, gitrepo)
    [hit] = findings(data, "TG814")
    assert hit["file"] == CATALOG and hit["message"].startswith("3 tasks together rise by +$969.40 all-in")
    for task in ("architecture-review", "incident-planning", "code-generation"):
        assert task in hit["message"]


def test_a_decrease_elsewhere_does_not_offset_an_increase(repo, capsys):
    gitrepo = guarded(repo)
    set_volume(gitrepo, INTENT, VOLUME, 800_000)  # +$5,410.15
    set_volume(gitrepo, "policy/tasks/rag-answer.yaml", 300000, 200000)  # -$20,130
    run, data = check(capsys, gitrepo)
    assert Decimal(data["cost"]["total"]["diff"]["monthly_all_in"]) < 0
    assert [f["file"] for f in findings(data, "TG814")] == [INTENT]


UPGRADE = ("tier: lite\nescalation:\n  signal: label_outside_set\n  ceiling: mid\n", "tier: mid\n")


def test_a_volume_cut_cannot_hide_an_upgrade(repo, capsys):
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_usd: 300}\n")
    gitrepo.replace(INTENT, *UPGRADE)
    set_volume(gitrepo, INTENT, VOLUME, 50_000)  # looks $8,083.85 cheaper a month
    run, data = check(capsys, gitrepo)
    assert row(data, "intent-classification")["diff"]["monthly_all_in"] == "-8083.848"  # 50,000 × 0.01866132 - 9,016.914
    [hit] = findings(data, "TG813")
    # at the base volume the upgrade adds 313.746 all-in and 323 direct: both above $300
    assert "+$313.75 all-in (+$323.00 direct)" in hit["message"] and "(judged at the base branch's assumptions)" in hit["message"]
    [cut] = findings(data, "TG815")
    assert "volume 500,000 -> 50,000" in cut["message"] and "+$313.75 at the base branch's assumptions" in cut["message"]


def test_a_volume_cut_alone_is_just_a_cheaper_month(repo, capsys):
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_usd: 300}\n")
    set_volume(gitrepo, INTENT, VOLUME, 50_000)
    run, data = check(capsys, gitrepo)
    assert run.code == 0 and not findings(data, "TG813") and not findings(data, "TG815")
    assert row(data, "intent-classification")["reasons"] == ["volume 500,000 -> 50,000"]


def test_cutting_an_estimated_term_cannot_hide_a_dearer_model(repo, capsys):
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_usd: 300}\n")
    gitrepo.replace(INTENT, *UPGRADE)
    gitrepo.replace(INTENT, "loss_per_failure: 2}", "loss_per_failure: 1.8}")  # -0.005 × 0.2 × 500,000 = -$500 a month
    run, data = check(capsys, gitrepo)
    assert row(data, "intent-classification")["diff"] == {"monthly_direct": "323", "monthly_all_in": "-186.254"}
    [hit] = findings(data, "TG813")
    assert "direct above $300.00 a month" in hit["message"] and findings(data, "TG815")


@pytest.mark.parametrize("guard, problem", [
    ("cost_guard: {monthly_increase_usd: .nan}\n", "finite"),
    ("cost_guard: {monthly_increase_usd: .inf}\n", "finite"),
    ("cost_guard: {monthly_increase_usd: -5}\n", "greater than or equal to 0"),
    ("cost_guard: {severity: error}\n", "needs monthly_increase_usd, monthly_increase_percent or both"),
    ("cost_guard: {monthly_increase_percent: 10, severity: fatal}\n", "'warning' or 'error'"),
    ("cost_guard: {monthly_increase_percent: 10, approver: not-an-owner}\n", "pattern"),
])
def test_a_malformed_guard_is_a_schema_error(repo, validate, guard, problem):
    repo.replace(CATALOG, "defaults:\n", guard + "defaults:\n")
    run = validate()
    messages = [f["message"] for f in json.loads(run.out)["findings"] if f["rule"] == "TG101"]
    assert run.code == 1 and any(problem in m for m in messages), messages


def test_a_well_formed_guard_validates(repo, validate):
    repo.replace(CATALOG, "defaults:\n", GUARD.lstrip("\n") + "defaults:\n")
    assert validate().code == 0


def _reprice_lite_primary_output(repo, price):
    text = repo.read(CATALOG)
    repo.write(CATALOG, text.replace("input_per_mtok: 0.05\n        output_per_mtok: 0.40", f"input_per_mtok: 0.05\n        output_per_mtok: {price}", 1))
    at = repo.read(CATALOG).index("- id: lite")
    text = repo.read(CATALOG)
    repo.write(CATALOG, text[:at] + text[at:].replace("revised: 2026-09-15", f"revised: {AS_OF}", 1))


def test_a_properly_revised_price_rise_still_meets_the_guard(repo, capsys):
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_percent: 20}\n")
    _reprice_lite_primary_output(gitrepo, "4.00")  # within the lite band ($5/M), revised moved: TG812 is satisfied
    run, data = check(capsys, gitrepo)
    assert not findings(data, "TG812") and findings(data, "TG811")
    # intent-classification: 20 output tokens × $3.60/M more = $0.000072 a call, × 500,000 = +$36 direct on a base of $7
    assert row(data, "intent-classification")["diff"]["monthly_direct"] == "36"
    totals = [f for f in findings(data, "TG813") if f["file"] == CATALOG]
    assert totals and "direct above 20% of the base spend" in totals[0]["message"]


def test_a_properly_revised_price_cut_is_not_guarded(repo, capsys):
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_percent: 20}\n")
    _reprice_lite_primary_output(gitrepo, "0.20")
    run, data = check(capsys, gitrepo)
    assert run.code == 0 and not findings(data, "TG813") and not findings(data, "TG812") and findings(data, "TG811")
    assert row(data, "intent-classification")["diff"]["monthly_direct"] == "-2"  # 20 × -0.2e-6 × 500,000


def test_a_tier_added_inside_a_chain_is_named(gitrepo, capsys):
    small = """  - id: small
    revised: 2026-11-20
    price_band: {max_input_per_mtok: 1.00, max_output_per_mtok: 5.00}
    min_completion_tokens: 256
    models:
      - id: openai/gpt-5-mini
        input_per_mtok: 0.25
        output_per_mtok: 2.00
        context_window: 400000
        max_output_tokens: 128000
"""
    gitrepo.replace(CATALOG, "  - id: mid\n", small + "  - id: mid\n")
    _, data = check(capsys, gitrepo)
    intent = row(data, "intent-classification")
    assert intent["reasons"] == ["chain lite > mid -> lite > small > mid"]
    # escalation 0.03 × (small + 0.03 × mid) with small = 120 × 0.25e-6 + 20 × 2e-6 = 0.00007:
    # 0.03 × (0.00007 + 0.0000198) = 0.000002694 a call against 0.0000198 before: -0.000017106 × 500,000 = -$8.553
    assert intent["diff"] == {"monthly_direct": "0", "monthly_all_in": "-8.553"}


def test_the_step_summary_carries_the_table_and_the_chart(gitrepo, capsys, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    set_volume(gitrepo, INTENT, VOLUME, 800_000)
    run = cli(capsys, "check", "--repo", str(gitrepo.root), "--base", "main", "--as-of", AS_OF, "--format", "github")
    assert run.code == 0 and "+$5,410.15" in run.out  # the log's text report has the table too
    text = summary.read_text()
    assert "### Cost change (USD a month)" in text and "| intent-classification " in text and "+$5,410.15" in text
    assert "```mermaid\nxychart-beta" in text


def test_the_largest_numbers_the_models_allow_still_render(gitrepo, capsys):
    """10^12 calls of 10^9 tokens at $10,000 per million: about $10^19 a month, printed, never an internal error."""
    gitrepo.replace(INTENT, "monthly_volume: 500000", "monthly_volume: 1000000000000")
    gitrepo.replace(INTENT, "avg_input_tokens: 120", "avg_input_tokens: 1000000000")
    gitrepo.replace(CATALOG, "price_band: {max_input_per_mtok: 1.00, max_output_per_mtok: 5.00}",
                    "price_band: {max_input_per_mtok: 10000, max_output_per_mtok: 10000}")
    gitrepo.replace(CATALOG, "input_per_mtok: 0.05\n", "input_per_mtok: 10000\n")
    _revise_lite = gitrepo.read(CATALOG).replace("revised: 2026-09-15", f"revised: {AS_OF}", 1)
    gitrepo.write(CATALOG, _revise_lite)
    _, data = check(capsys, gitrepo)
    # direct: 10^12 calls × 10^9 tokens × $0.01 a token = $10^19, plus the 20 output tokens at $0.40/M
    assert row(data, "intent-classification")["future"]["monthly_direct"] == "10000000000008000000"
    for fmt in ("text", "markdown", "github"):
        run = cli(capsys, "check", "--repo", str(gitrepo.root), "--base", "main", "--as-of", AS_OF, "--format", fmt)
        assert run.code in (0, 1) and "internal error" not in run.err and "$10,000,000,000,008,000,000.00" in run.out, fmt
    assert cli(capsys, "cost", "--repo", str(gitrepo.root), "--format", "json").code == 0


def _cut_mid_primary(repo, input_price, output_price):
    """The mid tier's primary (sonnet, $3/$15 per M) repriced, with `revised` moved so TG812 is satisfied."""
    text = repo.read(CATALOG)
    at = text.index("- id: mid")
    rest = text[at:].replace("input_per_mtok: 3.00\n        output_per_mtok: 15.00", f"input_per_mtok: {input_price}\n        "
                             f"output_per_mtok: {output_price}", 1)
    repo.write(CATALOG, text[:at] + rest.replace("revised: ", f"revised: {AS_OF}  # was ", 1))


def test_a_price_cut_in_the_same_change_cannot_hide_an_upgrade(repo, capsys):
    """The pull request controls the head catalog: the guard judges a tier raise at the base catalog's prices too."""
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_usd: 300}\n")
    gitrepo.replace(INTENT, *UPGRADE)
    _cut_mid_primary(gitrepo, "0.30", "1.50")  # mid looks ten times cheaper: +$26 direct as written
    run, data = check(capsys, gitrepo)
    assert not findings(data, "TG812") and row(data, "intent-classification")["diff"]["monthly_direct"] == "26"
    [hit] = [f for f in findings(data, "TG813") if f["file"] == INTENT]
    # at the base catalog's prices the upgrade adds 313.746 all-in and 323 direct (test_tier_upgrade): both above $300
    assert "+$313.75 all-in (+$323.00 direct)" in hit["message"] and "(judged at the base branch's prices)" in hit["message"]


def test_a_price_cut_alone_or_with_an_unchanged_tier_is_not_guarded(repo, capsys):
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_usd: 300}\n")
    _cut_mid_primary(gitrepo, "0.30", "1.50")
    set_volume(gitrepo, INTENT, VOLUME, 510_000)  # +$180.34 as written: under the guard, and no tier rose
    run, data = check(capsys, gitrepo)
    assert not findings(data, "TG813") and not findings(data, "TG812"), data["findings"]


OPUS = ("      - id: anthropic/claude-opus-4-1\n        input_per_mtok: 15.00\n        output_per_mtok: 75.00\n"
        "        context_window: 200000\n        max_output_tokens: 32000\n")
SONNET = ("      - id: anthropic/claude-sonnet-4-5\n        input_per_mtok: 3.00\n        output_per_mtok: 15.00\n"
          "        context_window: 200000\n        max_output_tokens: 64000\n")


def test_a_frontier_model_moved_into_a_tier_at_a_made_up_price_is_guarded_at_its_own(repo, capsys):
    """Opus becomes mid's primary at sonnet's price (inside mid's band, revised moved): as written no task's month moves;
    priced as on the base branch it is five times dearer on every mid call."""
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_usd: 300}\n")
    gitrepo.replace(CATALOG, OPUS, "")
    gitrepo.replace(CATALOG, SONNET, OPUS.replace("15.00", "3.00", 1).replace("75.00", "15.00", 1) + SONNET)
    text = gitrepo.read(CATALOG)
    at = text.index("- id: mid")
    gitrepo.write(CATALOG, text[:at] + text[at:].replace("revised: 2026-09-15", f"revised: {AS_OF}"))  # mid and frontier
    run, data = check(capsys, gitrepo)
    assert not findings(data, "TG812")
    intent = row(data, "intent-classification")  # lite up to mid: its escalations go to mid's primary
    assert intent["diff"] == {"monthly_direct": "0", "monthly_all_in": "0"} and "mid repriced" in intent["reasons"]
    guarded_tasks = [f for f in findings(data, "TG813") if "(judged at the base branch's prices)" in f["message"]]
    assert guarded_tasks, data["findings"]


def test_the_twin_a_model_moved_at_its_own_price_is_priced_as_written(repo, capsys):
    gitrepo = guarded(repo, "cost_guard: {monthly_increase_usd: 300}\n")
    gitrepo.replace(CATALOG, "price_band: {max_input_per_mtok: 3.00, max_output_per_mtok: 15.00}",
                    "price_band: {max_input_per_mtok: 15.00, max_output_per_mtok: 75.00}")
    gitrepo.replace(CATALOG, OPUS, "")
    gitrepo.replace(CATALOG, SONNET, OPUS + SONNET)
    text = gitrepo.read(CATALOG)
    at = text.index("- id: mid")
    gitrepo.write(CATALOG, text[:at] + text[at:].replace("revised: 2026-09-15", f"revised: {AS_OF}"))
    run, data = check(capsys, gitrepo)
    assert all("(judged at" not in f["message"] for f in findings(data, "TG813")), data["findings"]
    assert findings(data, "TG813")  # the real increase, as written, is above the guard
