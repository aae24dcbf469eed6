"""Mermaid charts: hostile names cannot leave their label, the chart or the Markdown; the review issue's charts and
its size limit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

import pytest

from conftest import PROJECT
from tiergate.loading import WorkTree
from tiergate.policy import load_policy
from tiergate.report import mermaid
from tiergate.review import render
from tiergate.review.due import due_list
from tiergate.review.spend import Candidate, Spend, TierSpend

HOSTILE = [
    'quote" ]\n```\n# heading',
    "back`tick``` and ```",
    "new\nline\r\nx\u2028y",
    "close ] bracket ] [open",
    "%%{init: {'theme':'dark'}}%% comment",
    "a --> b ; c : 5",
    "<img src=x onerror=alert(1)> <script>alert(1)</script>",
    "&#34; #quot; entity",
    "@everyone <!-- tiergate-tier-review: 2027-Q1 -->",
    "- [x] **forged-task**",
    "émoji ✓ 名前",
    "x" * 200,
]
SAFE_LABEL = re.compile(r"^[\w .,+/()\-\u2026]+$")


@pytest.mark.parametrize("text", HOSTILE)
def test_a_label_keeps_only_inert_characters(text):
    out = mermaid.label(text)
    assert SAFE_LABEL.match(out), out
    for bad in ('"', "`", "\n", "\r", "]", "[", "%", "<", ">", "#", ";", ":", "&", "@", "!", "{", "}", "*"):
        assert bad not in out, (bad, out)
    assert len(out) <= mermaid.MAX_LABEL


def test_ordinary_labels_are_unchanged():
    for text in ("intent-classification", "frontier", "Monthly saving (USD)", "a/b 1.5 + c_d", "名前"):
        assert mermaid.label(text) == text
    assert mermaid.label("") == "_" and mermaid.label("   ") == "_"


def block_lines(block: str) -> list[str]:
    """The lines inside one fenced mermaid block; asserts it is exactly one block."""
    lines = block.split("\n")
    assert lines[0] == "```mermaid" and lines[-2:] == ["```", ""], block
    inside = lines[1:-2]
    assert not any(line.lstrip().startswith("```") for line in inside), block
    return inside


def test_bar_chart_with_hostile_labels_has_one_label_per_value():
    block = mermaid.bar_chart(HOSTILE[0], HOSTILE, [mermaid.Series([Decimal(i) for i in range(len(HOSTILE))]),
                                                    mermaid.Series([Decimal("1E+3")] * len(HOSTILE), "line")])
    inside = block_lines(block)
    assert inside[0] == "xychart-beta" and len(inside) == 6
    assert re.fullmatch(r'    title "[^"\n]*"', inside[1])
    axis = re.fullmatch(r"    x-axis \[(.*)\]", inside[2])
    assert axis and len(re.findall(r'"[^"]*"', axis.group(1))) == len(HOSTILE)
    assert re.sub(r'"[^"]*"', "", axis.group(1)) == ", " * (len(HOSTILE) - 1)  # nothing outside the strings but commas
    assert inside[3] == '    y-axis "USD per month" 0.00 --> 1000.00'  # bars start at zero
    assert inside[4] == "    bar [" + ", ".join(f"{i}.00" for i in range(len(HOSTILE))) + "]"
    assert inside[5] == "    line [" + ", ".join(["1000.00"] * len(HOSTILE)) + "]"  # never exponent form


def test_pie_chart_with_hostile_labels_and_only_positive_slices():
    slices = [(name, Decimal(i)) for i, name in enumerate(HOSTILE)]
    inside = block_lines(mermaid.pie_chart("spend <b>by</b> tier", slices))
    assert inside[0] == "pie title spend _b_by_/b_ tier"
    assert len(inside) == len(HOSTILE)  # the zero slice is left out
    for line in inside[1:]:
        assert re.fullmatch(r'    "[^"\n]*" : \d+\.\d\d', line), line


def test_series_must_match_the_labels_and_charts_need_data():
    with pytest.raises(ValueError):
        mermaid.bar_chart("t", ["a", "b"], [mermaid.Series([1])])
    with pytest.raises(ValueError):
        mermaid.bar_chart("t", [], [mermaid.Series([])])
    with pytest.raises(ValueError):
        mermaid.pie_chart("t", [("a", 0), ("b", Decimal("-1"))])


def test_an_issue_with_no_spend_has_no_empty_pie(items):
    spend = Spend([TierSpend("lite", 0, Decimal(0))], [])
    body = render.issue_body(items, 14, AS_OF, "2027-Q1", spend=spend)
    assert "```mermaid" not in body and "$0.00 a month in all" in body


# --- the review issue -------------------------------------------------------------------------

AS_OF = dt.date(2027, 2, 1)


@pytest.fixture(scope="module")
def items():
    return due_list(load_policy(WorkTree(PROJECT)), AS_OF)


def hostile_spend() -> Spend:
    tiers = [TierSpend(name, i + 1, Decimal(1000 * (i + 1))) for i, name in enumerate(HOSTILE[:4])]
    return Spend(tiers, [Candidate(name, HOSTILE[1], HOSTILE[2], Decimal(900), Decimal(100 - i)) for i, name in enumerate(HOSTILE)])


def fences(body: str) -> list[str]:
    return [line for line in body.split("\n") if line.lstrip().startswith("```")]


def test_issue_charts_survive_hostile_names(items):
    body = render.issue_body(items, 14, AS_OF, "2027-Q1", spend=hostile_spend())
    assert fences(body) == ["```mermaid", "```", "```mermaid", "```"]  # two blocks, each closed by its own fence
    assert body.count("<!-- tiergate-tier-review") == 1 and body.startswith(render.marker("2027-Q1"))
    assert render.ticked(body) == set()  # no forged ticked box
    charts = re.findall(r"^```mermaid\n(.*?)^```$", body, re.MULTILINE | re.DOTALL)
    syntax = "".join(charts).replace(" --> ", " ")  # the y-axis range is the one arrow tiergate writes
    assert len(charts) == 2 and not any(c in syntax for c in "<>`@&#;%{")
    labels = re.findall(r'"([^"]*)"', "".join(charts))
    assert len(labels) == 4 + 2 + len(HOSTILE) and all(SAFE_LABEL.match(label) for label in labels)  # slices, title, axis, bars
    prose = re.sub(r"^```mermaid\n.*?^```$", "", body, flags=re.MULTILINE | re.DOTALL)
    prose = re.sub(r"`[^`\n]*`", "", prose)  # outside the charts, hostile text only inside code spans
    for bad in ("<img", "<script", "@everyone", "# heading", "%%{"):
        assert bad not in prose, bad
    for line in body.split("\n"):
        assert not line.startswith("%%")


def test_issue_shows_spend_by_tier_and_candidates(items):
    spend = Spend([TierSpend("lite", 2, Decimal("100.005")), TierSpend("mid", 1, Decimal("300")), TierSpend("frontier", 0, Decimal(0))],
                  [Candidate("rag-answer", "mid", "lite", Decimal(300), Decimal("120.5"))])
    body = render.issue_body(items, 14, AS_OF, "2027-Q1", spend=spend)
    assert '    "lite" : 100.01\n    "mid" : 300.00\n```' in body  # the empty tier is in the table, not the pie
    assert "| frontier | 0       | $0.00     | 0.0%    |" in body
    assert "$400.01 a month in all" in body
    assert 'x-axis ["rag-answer"]' in body and "bar [120.50]" in body
    assert "| rag-answer | mid    | lite         | $300.00       | $120.50          |" in body
    none = render.issue_body(items, 14, AS_OF, "2027-Q1", spend=dataclasses.replace(spend, candidates=[]))
    assert "No task due for review would cost less" in none and none.count("```mermaid") == 1


def many_items(items, count: int):
    base = items[0]
    return [dataclasses.replace(base, contract=base.contract.model_copy(update={"task": f"task-{i:05d}"}),
                                reasons=base.reasons * 3) for i in range(count)]


def test_issue_body_stays_under_githubs_limit(items):
    table = "### All due assignments\n\n| task"
    whole = render.issue_body(many_items(items, 60), 60, AS_OF, "2027-Q1")
    assert len(whole.encode()) > 40_000 and table in whole and whole.count("- [ ] **task-") == 60
    mid = render.issue_body(many_items(items, 150), 150, AS_OF, "2027-Q1", spend=hostile_spend())
    assert len(mid.encode()) <= render.BODY_LIMIT
    assert table not in mid and "Left out to keep this issue under GitHub's 65,536-character limit" in mid
    assert mid.count("- [ ] **task-") == 150 and "more due assignment(s)" not in mid  # the table went, every box stayed
    big_items = many_items(items, 2000)
    keep = {"task-00000", "task-00003", "task-01999"}
    big = render.issue_body(big_items, 2000, AS_OF, "2027-Q1", keep, spend=hostile_spend())
    assert len(big.encode()) <= render.BODY_LIMIT < len(big.encode()) + 400  # cut, but not by much more than needed
    listed = len(re.findall(r"^- \[[ x]\] \*\*task-", big, re.MULTILINE))
    assert 100 < listed < 2000
    assert f"**{2000 - listed} more due assignment(s) are not listed here**" in big
    assert render.ticked(big) == {"task-00000", "task-00003"}  # listed ones keep their tick
    assert big.count("```mermaid") == 2 and big.startswith(render.marker("2027-Q1")) and "### What to do" in big
    assert big.rstrip().endswith("</sub>")
