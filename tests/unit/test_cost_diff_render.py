"""The cost diff's renderers and the comment body against hostile text (task names, reasons, finding messages)."""

from __future__ import annotations

import re

from decimal import Decimal

from tiergate.costdiff import CostDiff, Money, Spend, TaskDiff
from tiergate.findings import Finding, Result
from tiergate.pr.comment import MARKER, body
from tiergate.report import costdiff as render
from tiergate.report.mermaid import number
from tiergate.report.verdict import printable
from tiergate.rules import REGISTRY

HOSTILE_NAMES = [
    "<img src=x onerror=alert(1)>",
    "@everyone please approve",
    "a | b | c",
    "line\nbreak\n# heading\n- [x] ticked",
    "```\n</details><!-- tiergate:cost -->",
    '"] , bar [1e9] %% mermaid',
    "[click](https://evil.example) <!-- hidden -->",
]
LEGIT = "intent-classification"


def _task(name: str, before: str, after: str) -> TaskDiff:
    return TaskDiff(name, f"policy/tasks/{name}.yaml", "@acme/x", Spend("lite", "mid", 1000, Money(Decimal(1), Decimal(before))),
                    Spend("mid", "mid", 1000, Money(Decimal(2), Decimal(after))), (f"tier lite -> mid; {name}",))


def _diff() -> CostDiff:
    tasks = [_task(name, "10", str(20 + i)) for i, name in enumerate(HOSTILE_NAMES)] + [_task(LEGIT, "100", "90")]
    return CostDiff(sorted(tasks, key=lambda t: -abs(t.diff.all_in)))


def _outside_code(markdown: str) -> str:
    """The Markdown with inline code spans and the mermaid block removed: what GitHub would read as Markdown."""
    markdown = re.sub(r"```mermaid\n.*?\n```", "", markdown, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", markdown)


def test_hostile_task_names_cannot_break_the_table_or_become_markdown():
    out = render.markdown(_diff())
    rows = [line for line in out.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(HOSTILE_NAMES) + 1 + 1  # header, rule, every task, the total
    for line in rows:
        assert len(re.findall(r"(?<!\\)\|", line)) == len(render.HEADERS) + 1, line
    free = _outside_code(out)
    for bad in ("<img", "@everyone", "<!--", "](https://", "# heading", "- [x]", "</details>"):
        assert bad not in free, bad
    assert "@\u200beveryone" in out and "<\u200b!--" in out
    assert f"| {LEGIT} " in out  # plain names stay plain


def test_the_chart_labels_cannot_leave_their_strings_or_the_block():
    out = render.markdown(_diff())
    block = re.search(r"```mermaid\n(.*?)\n```", out, flags=re.S)
    assert block is not None and out.count("```") == 2
    lines = block.group(1).splitlines()
    assert [line.split()[0] for line in lines] == ["xychart-beta", "title", "x-axis", "y-axis", "bar", "line"]
    labels = re.findall(r'"([^"]*)"', lines[2])
    assert len(labels) == len(HOSTILE_NAMES + [LEGIT]) and all(re.fullmatch(r"[\w .,+/()\u2026-]+", label) for label in labels)
    assert LEGIT in labels  # plain names stay plain
    tasks = _diff().tasks
    assert lines[4] == "    bar [" + ", ".join(number(t.past.money.all_in if t.past else 0) for t in tasks) + "]"
    assert lines[5] == "    line [" + ", ".join(number(t.future.money.all_in if t.future else 0) for t in tasks) + "]"


def test_the_text_table_keeps_one_line_per_task():
    out = render.text(_diff(), printable)
    assert len(out.splitlines()) == 1 + 2 + len(HOSTILE_NAMES) + 1 + 1 + 1  # title, header, rule, rows, total, headline


def test_the_comment_keeps_its_marker_unique_and_quotes_findings():
    findings = [Finding(REGISTRY["TG811"], "policy/tiers.yaml", 3, f"model openai/@acme/ml-platform {MARKER} <b>x</b>\n## forged")]
    text = body(Result(findings, cost_diff=_diff()), "https://github.example/acme/policy/actions/runs/1")
    assert text.startswith(MARKER + "\n") and text.count(MARKER) == 1
    free = _outside_code(text)
    assert "<b>" not in free and "@acme/ml-platform" not in free and "## forged" not in free
    assert "[Full report of this run](https://github.example/acme/policy/actions/runs/1)" in text


def test_a_hostile_run_link_is_not_used():
    from tiergate.pr.comment import run_url

    assert run_url({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/policy", "GITHUB_RUN_ID": "12"}) == \
        "https://github.com/acme/policy/actions/runs/12"
    assert run_url({"GITHUB_SERVER_URL": "javascript:alert(1)", "GITHUB_REPOSITORY": "acme/policy", "GITHUB_RUN_ID": "12"}) is None
    assert run_url({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/policy", "GITHUB_RUN_ID": "12) [x](y"}) is None
    assert run_url({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/p)[x](y", "GITHUB_RUN_ID": "12"}) is None
    assert run_url({"GITHUB_SERVER_URL": "https://ghe.example/x) [y](z", "GITHUB_REPOSITORY": "acme/p", "GITHUB_RUN_ID": "12"}) is None


def test_the_markdown_report_caps_its_rows_for_the_step_summary():
    from tiergate.report.verdict import markdown

    many = CostDiff([_task(f"task-{i:04d}", "10", str(10 + 1500 - i)) for i in range(1500)])
    out = markdown(Result([], cost_diff=many, tier_changes=[]))
    assert out.count("| task-") == render.SUMMARY_ROWS and "| task-0000 " in out and "| task-1499 " not in out
    assert "500 smaller change(s) not shown here" in out and "| total (1500 task(s)) " in out and len(out) < 1024 * 1024


def test_the_pull_request_number_comes_from_the_event_or_the_option(tmp_path):
    import pytest

    from tiergate.errors import TierGateError
    from tiergate.pr.comment import pull_number

    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"number": 42}}')
    assert pull_number(None, {"GITHUB_EVENT_PATH": str(event)}) == 42
    assert pull_number(7, {"GITHUB_EVENT_PATH": str(event)}) == 7
    for text, why in [('{"pull_request": {"number": true}}', "not a pull request's"), ('{"ref": "refs/heads/main"}', "not a pull request's"),
                      ("{not json", "cannot read the event file"), ('{"pull_request": {"number": -3}}', "not a pull request's"),
                      ('{"pull_request": [42]}', "not a pull request's"), ('{"pull_request": "42"}', "not a pull request's"),
                      ('{"pull_request": {"number": 1e999}}', "not a pull request's"), ("\xff\xfe", "cannot read the event file")]:
        event.write_text(text)
        with pytest.raises(TierGateError, match=why):
            pull_number(None, {"GITHUB_EVENT_PATH": str(event)})
    with pytest.raises(TierGateError, match="no pull request: pass --pr N"):
        pull_number(None, {})
