"""The review issue's money: spend by tier agrees with `tiergate cost`, and a downgrade candidate's saving is what
`tiergate cost` says after the task is actually moved down."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from conftest import cli

AS_OF = "2027-02-01"
RAG = "policy/tasks/rag-answer.yaml"


def cost_json(capsys, repo) -> dict:
    run = cli(capsys, "cost", "--repo", str(repo.root), "--format", "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def cents(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.01"))


def test_issue_spend_by_tier_and_candidates_match_the_cost_model(repo, capsys):
    run = cli(capsys, "review", "open-issue", "--repo", str(repo.root), "--as-of", AS_OF, "--dry-run")
    assert run.code == 0, run.err
    body = run.out
    costs = cost_json(capsys, repo)
    by_tier = {tier: Decimal(0) for tier in costs["tiers"]}
    for task in costs["tasks"]:
        by_tier[task["tier"]] += Decimal(task["monthly"])
    pie = re.search(r"```mermaid\npie title [^\n]*\n(.*?)\n```", body, re.DOTALL)
    assert pie, body
    slices = dict(re.findall(r'^    "([^"]+)" : ([0-9.]+)$', pie.group(1), re.MULTILINE))
    assert {tier: Decimal(v) for tier, v in slices.items()} == {t: cents(str(v)) for t, v in by_tier.items() if v > 0}
    total = cents(costs["totals"]["overall"]["monthly"])
    assert f"${total:,} a month in all" in body

    chart = re.search(r"```mermaid\nxychart-beta horizontal\n(.*?)\n```", body, re.DOTALL)
    assert chart, body
    tasks = re.findall(r'"([^"]+)"', re.search(r"x-axis \[(.*)\]", chart.group(1)).group(1))
    savings = [Decimal(v) for v in re.search(r"bar \[(.*)\]", chart.group(1)).group(1).split(", ")]
    assert len(tasks) == len(savings) > 0 and savings == sorted(savings, reverse=True)
    assert tasks[0] == "rag-answer"
    before = next(t for t in costs["tasks"] if t["task"] == "rag-answer")
    assert before["tier"] == "mid"
    repo.replace(RAG, "tier: mid", "tier: lite")  # the downgrade the issue suggests, really made
    after = next(t for t in cost_json(capsys, repo)["tasks"] if t["task"] == "rag-answer")
    assert savings[0] == cents(str(Decimal(before["monthly"]) - Decimal(after["monthly"])))


def test_nothing_due_has_no_charts(repo, capsys):
    run = cli(capsys, "review", "open-issue", "--repo", str(repo.root), "--as-of", "2026-11-20", "--dry-run")
    assert run.code == 0 and "Nothing is due" in run.out and "```mermaid" not in run.out
