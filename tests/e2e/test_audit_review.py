"""The quarterly review with production's side: `review due --audit` and `review open-issue --audit`.

Per task the observed spend, escalation rate and drift, and the downgrade candidates ranked by the money the
window's calls would have saved on the cheaper tier.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

import auditdata
from conftest import cli, require

require("duckdb", "TIERGATE_REQUIRE_AUDIT", "the audit tests")
require("sqlglot", "TIERGATE_REQUIRE_AUDIT", "the audit tests")

AS_OF = "2026-11-30"  # the default window is the 30 days up to it: November


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    calls = auditdata.scenario()
    calls += [auditdata.Call("rag-answer", "anthropic/claude-sonnet-4-5", 3500, 300, auditdata._day(i)) for i in range(40)]
    return auditdata.write_parquet(tmp_path_factory.mktemp("review") / "spend.parquet", auditdata.rows(calls))


def lite(tin: int, tout: int) -> Decimal:
    return (tin * Decimal("0.05") + tout * Decimal("0.40")) / Decimal(1_000_000)


def test_due_ranks_downgrades_by_money_saved(source, repo, capsys):
    run = cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", AS_OF, "--audit", str(source), "--format", "json")
    assert run.code == 0, run.err
    production = json.loads(run.out)["production"]
    assert production["downgrade_candidates"] == ["code-generation", "rag-answer"]
    tasks = {t["task"]: t for t in production["tasks"]}
    code = tasks["code-generation"]
    logged = sum((c.spend for c in auditdata.scenario() if c.task == "code-generation" and c.at.month == 11), Decimal(0))
    assert abs(Decimal(code["downgrade_saving"]) - (logged - 50 * lite(9000, 1200))) < Decimal("1e-9")
    assert tasks["intent-classification"]["drift_calls"] == 1 and tasks["intent-classification"]["downgrade_saving"] is None
    assert "shadow-task" not in tasks  # the review is about contracts; unknown tasks are the audit's findings


def test_due_text_and_markdown_show_the_section(source, repo, capsys):
    text = cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", AS_OF, "--audit", str(source))
    assert "Observed in production" in text.out and text.out.rstrip().endswith("as of 2026-11-30")
    lines = text.out.splitlines()
    order = [next(i for i, line in enumerate(lines) if line.startswith(task)) for task in ("code-generation", "rag-answer", "intent-classification")]
    assert order == sorted(order)
    md = cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", AS_OF, "--audit", str(source), "--format", "markdown")
    assert "### Observed in production" in md.out and re.search(r"\| `code-generation` +\| mid +\|", md.out)


def test_the_issue_carries_it(source, repo, capsys):
    run = cli(capsys, "review", "open-issue", "--repo", str(repo.root), "--as-of", "2027-03-01", "--dry-run", "--audit", str(source),
              "--since", "2026-11-01", "--until", "2026-11-30")
    assert run.code == 0, run.err
    body = run.out
    assert "### Observed in production" in body and body.index("### Observed in production") < body.index("### What to do")
    assert body.index("`code-generation`") < body.index("`rag-answer`")


def test_without_audit_nothing_changes(repo, capsys):
    run = cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", AS_OF, "--format", "json")
    assert "production" not in json.loads(run.out)


def test_a_bad_source_stops_the_review(repo, capsys):
    run = cli(capsys, "review", "due", "--repo", str(repo.root), "--audit", "postgresql://u:hunter2@127.0.0.1:1/db")
    assert run.code == 2 and "hunter2" not in run.err and run.err.count("\n") == 1
