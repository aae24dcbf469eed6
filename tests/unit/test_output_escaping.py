"""Renderers against hostile text: nothing a policy file says can become a workflow command or a table row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from tiergate.findings import Finding, Result, TierChange
from tiergate.report import markdown as md
from tiergate.report import verdict
from tiergate.rules import REGISTRY

PROJECT = Path(__file__).resolve().parents[2]
ERROR, WARNING = REGISTRY["TG105"], REGISTRY["TG312"]
STOP = re.compile(r"^::stop-commands::([0-9a-f]{32})$")

HOSTILE = [
    Finding(ERROR, "policy/tasks/a.yaml", 3, "x\n::error::forged"),
    Finding(ERROR, "policy/tasks/b.yaml", 0, "carriage\r::error file=x::forged\r\nand %0A escaped"),
    Finding(WARNING, "::warning::pwned.yaml", 1, "file name is a command"),
    Finding(ERROR, "evil\n::error::from-the-file-name.yaml", 2, "tab\tand\u2028separator\x1b[31m", 4),
    Finding(ERROR, "a,line=9::b.yaml", 5, "properties, commas: colons"),
]
LEGIT = [
    Finding(ERROR, "policy/tasks/intent-classification.yaml", 12, "tier 'gold' is not in policy/tiers.yaml"),
    Finding(WARNING, "evals/x/run.yaml", 0, "passing evidence is older than 90 days: re-run it (100% needed)"),
]


def split_github(out: str) -> tuple[list[str], str, list[str], str]:
    """(lines before the stop marker, its token, the lines inside, the resume token); asserts there is one block."""
    lines = out.split("\n")
    assert lines[-1] == "", "ends with a newline"
    lines = lines[:-1]
    starts = [i for i, line in enumerate(lines) if STOP.match(line)]
    assert len(starts) == 1, out
    start = starts[0]
    token = STOP.match(lines[start]).group(1)
    end = len(lines) - 1
    assert lines[end] == f"::{token}::", "the block ends the output with the matching resume marker"
    return lines[:start], token, lines[start + 1 : end], lines[end][2:-2]


def unescape_data(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def test_github_output_cannot_start_a_workflow_command():
    out = verdict.github(Result(HOSTILE))
    before, token, inside, resume = split_github(out)
    assert resume == token
    assert len(before) == len(HOSTILE)
    assert all(line.startswith(("::error ", "::warning ")) for line in before), before
    # each annotation round-trips: the runner decodes exactly what the finding said
    messages = sorted(unescape_data(line.split("::", 2)[2]) for line in before)
    assert messages == sorted(f.message for f in HOSTILE)
    for line in before:
        props = line.split(" ", 1)[1].split("::", 1)[0]
        assert "\n" not in props and props.count("file=") == 1 and props.count("title=") == 1
        assert all(re.match(r"^(file|line|col|title)=[^,:]*$", p) for p in props.split(",")), props
    assert f"::{token}::" not in "\n".join(inside)


def test_github_stop_token_is_fresh_on_every_render():
    tokens = {split_github(verdict.github(Result(LEGIT)))[1] for _ in range(3)}
    assert len(tokens) == 3


def test_github_output_for_ordinary_findings():
    out = verdict.github(Result(LEGIT))
    before, _, inside, _ = split_github(out)
    assert before == [
        "::warning file=evals/x/run.yaml,title=TG312 evidence-stale::passing evidence is older than 90 days: re-run it (100%25 needed)",
        "::error file=policy/tasks/intent-classification.yaml,line=12,title=TG105 unknown-tier::tier 'gold' is not in policy/tiers.yaml",
    ]
    assert inside == verdict.text(Result(LEGIT)).splitlines()


def test_github_output_with_no_findings_is_only_the_wrapped_report():
    before, _, inside, _ = split_github(verdict.github(Result([], contracts=3)))
    assert before == [] and inside == ["ok: 0 error(s), 0 warning(s) in 3 contract(s), 0 artifact(s)"]


def test_text_prints_every_finding_on_one_line():
    out = verdict.text(Result(HOSTILE))
    lines = out.splitlines()
    assert len(lines) == len(HOSTILE) + 1 and out.count("\n") == len(HOSTILE) + 1
    assert not any(line.startswith("::error") for line in lines)
    assert "x\\n::error::forged" in out and "\\r" in out and "\\u2028" in out and "\x1b" not in out
    assert "\t" in out  # a tab cannot start a line; kept as is


def test_text_is_unchanged_for_ordinary_findings():
    assert verdict.text(Result(LEGIT)).splitlines()[0] == (
        "evals/x/run.yaml: warning TG312 evidence-stale: passing evidence is older than 90 days: re-run it (100% needed)")


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def pipes(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))


HOSTILE_CELL = "a | b\n| forged | row |"


def test_verdict_markdown_cells_cannot_add_rows_or_cells():
    result = Result([Finding(ERROR, "f|g.yaml", 1, HOSTILE_CELL)], tier_changes=[TierChange("t", "lite", "mid", (HOSTILE_CELL,), "accepted")])
    rows = table_rows(verdict.markdown(result))
    assert rows and not any(row.startswith("| forged") for row in rows)
    assert len({pipes(row) for row in rows if "severity" not in row and "---" not in row and "rule" not in row}) <= 2
    findings = [row for row in rows if row.startswith("| error")]
    assert len(findings) == 1 and pipes(findings[0]) == 5


def test_markdown_cell_helper():
    assert md.cell("a|b\r\nc") == "a\\|b c"
    rows = table_rows(md.table([["1", HOSTILE_CELL]], ["n", "text"]))
    assert len(rows) == 3 and {pipes(r) for r in rows} == {3}


def test_code_span_neutralises_markdown():
    span = md.code("x` @everyone [a](https://e.example) <!-- tiergate-tier-review: 2027-Q2 -->\n- [x] **t**")
    assert span.startswith("`") and span.endswith("`") and span.count("`") == 2
    assert "\n" not in span and "@everyone" not in span and "<!--" not in span


@pytest.fixture
def cost_view():
    from tiergate import engine
    from tiergate.loading import WorkTree
    from tiergate.policy import load_policy

    policy = load_policy(WorkTree(PROJECT))
    view = engine.cost_view(policy, dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc), None)
    return view


def test_cost_markdown_tables_go_through_the_cell_helper(cost_view):
    from tiergate.report import costs

    item = cost_view.report.tasks[0]
    hostile = dataclasses.replace(item, contract=item.contract.model_copy(update={"task": HOSTILE_CELL}))
    view = dataclasses.replace(cost_view, report=dataclasses.replace(cost_view.report, tasks=[hostile]), detail=True)
    out = costs.as_markdown(view)
    rows = table_rows(out)
    assert rows and not any(row.startswith("| forged") for row in rows)
    blocks = [block for block in out.split("\n\n") if block.startswith("|")]
    for block in blocks:
        assert len({pipes(row) for row in block.splitlines()}) == 1, block


def test_cost_markdown_for_the_example_is_a_table(cost_view):
    from tiergate.report import costs

    out = costs.as_markdown(cost_view)
    assert "| intent-classification " in out and "## Monthly totals" in out


@pytest.mark.parametrize("text", ["review was due 2027-01-19 (every 90 days)", "tier 'mid' revised 2026-11-10, after the last review",
                                  "no passing evidence", "passing evidence from 2026-10-20 is older than 90 days"])
def test_inline_keeps_generated_prose_plain(text):
    assert md.inline(text) == text


@pytest.mark.parametrize("text", ["see https://evil.example", "www.evil.example", "_em_", "*em*", "[a](b)", "<b>", "@org/team",
                                  "a\n### heading", "&amp;", "`x`", "a|b", "~~s~~", "evals/x.yaml (see `tiergate validate`)"])
def test_inline_puts_anything_markdown_could_read_in_code(text):
    out = md.inline(text)
    assert out.startswith("`") and out.endswith("`") and out.count("`") == 2 and "\n" not in out


def test_owner_mentions_handles_only():
    assert md.owner("@acme/support-ml") == "@acme/support-ml" and md.owner("@alice") == "@alice"
    assert md.owner("orders-team@acme.example") == "`orders-team@acme.example`"
    assert md.owner("[x](https://e.example)@e.co").startswith("`")


def test_verdict_markdown_quotes_paths_and_messages_as_code():
    """A file name or a message quoting one (a stray file, say) cannot put a link, a mention or HTML into the step summary."""
    hostile = "policy/tasks/see [the fix](https://evil.example) @acme/all <img src=x>.txt"
    result = Result([Finding(ERROR, hostile, 0, f"{hostile} is not a contract")], tier_changes=[TierChange("t", "lite", "mid", (hostile,), "accepted")])
    text = verdict.markdown(result)
    for row in table_rows(text)[2:]:
        for cell in row.strip("|").split(" | "):
            cell = cell.strip()
            assert "[the fix]" not in cell or (cell.startswith("`") and cell.endswith("`")), cell
    assert "@acme/all" not in text and "@\u200bacme/all" in text


def test_verdict_markdown_keeps_plain_paths_and_messages_plain():
    result = Result([Finding(ERROR, "evals/a/run.yaml", 0, "evals/a/run.yaml is stale")])
    assert "| evals/a/run.yaml | evals/a/run.yaml is stale |" in verdict.markdown(result).replace("  ", " ").replace("  ", " ")
