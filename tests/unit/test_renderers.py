"""Verdict renderers: exact text, JSON, GitHub annotations and Markdown for a hand-built result."""

from __future__ import annotations

import pytest

from tiergate.findings import Result, TierChange, finding
from tiergate.report import Formats, emit
from tiergate.report import verdict
from tiergate.rules import REGISTRY

OVER_BAND = REGISTRY["TG202"]  # error model-over-band
STALE = REGISTRY["TG312"]  # warning evidence-stale
NO_CODEOWNERS = REGISTRY["TG701"]  # error codeowners-missing
MISMATCH = REGISTRY["TG103"]  # error task-id-mismatch
DUPLICATE = REGISTRY["TG104"]  # error task-id-duplicate


def two_findings(**kwargs) -> Result:
    over = finding(OVER_BAND, "policy/tiers.yaml", 12, "model openai/x is priced above tier 'lite' band", 9)
    stale = finding(STALE, "evals/a/run.yaml", 3, "evals/a/run.yaml is 120 days old (limit 90)")
    return Result([over, stale, finding(OVER_BAND, "policy/tiers.yaml", 12, "model openai/x is priced above tier 'lite' band", 9)],
                  **kwargs)


def test_rules_used_here_are_what_the_expectations_assume():
    assert (OVER_BAND.severity, OVER_BAND.name) == ("error", "model-over-band")
    assert (STALE.severity, STALE.name) == ("warning", "evidence-stale")


def test_text():
    assert verdict.text(two_findings()) == (
        "evals/a/run.yaml:3: warning TG312 evidence-stale: evals/a/run.yaml is 120 days old (limit 90)\n"
        "policy/tiers.yaml:12:9: error TG202 model-over-band: model openai/x is priced above tier 'lite' band\n"
        "FAILED: 1 error(s), 1 warning(s) in 0 contract(s), 0 artifact(s)\n"
    )


def test_text_without_a_line_and_without_errors():
    result = Result([finding(STALE, "evals/a/run.yaml", 0, "old", 4)], contracts=3, artifacts=2)
    assert result.ok
    # a column without a line is not printed
    assert verdict.text(result) == "evals/a/run.yaml: warning TG312 evidence-stale: old\nok: 0 error(s), 1 warning(s) in 3 contract(s), 2 artifact(s)\n"
    assert verdict.text(Result()) == "ok: 0 error(s), 0 warning(s) in 0 contract(s), 0 artifact(s)\n"


def test_findings_are_sorted_by_file_line_column_rule_and_duplicates_collapse():
    a, b = "policy/tasks/a.yaml", "policy/tasks/b.yaml"
    findings = [
        finding(MISMATCH, b, 1, "m"),
        finding(DUPLICATE, a, 10, "m"),  # line 10 after line 2: numeric, not string order
        finding(DUPLICATE, a, 2, "m", 5),
        finding(DUPLICATE, a, 2, "m"),
        finding(MISMATCH, a, 2, "m"),  # same place: TG103 before TG104
        finding(MISMATCH, b, 1, "m"),  # duplicate
        finding(NO_CODEOWNERS, "CODEOWNERS", 0, "m"),
    ]
    result = Result(findings)
    lines = verdict.text(result).splitlines()
    assert [line.rsplit(": ", 1)[0] for line in lines[:-1]] == [
        "CODEOWNERS: error TG701 codeowners-missing",
        "policy/tasks/a.yaml:2: error TG103 task-id-mismatch",
        "policy/tasks/a.yaml:2: error TG104 task-id-duplicate",
        "policy/tasks/a.yaml:2:5: error TG104 task-id-duplicate",
        "policy/tasks/a.yaml:10: error TG104 task-id-duplicate",
        "policy/tasks/b.yaml:1: error TG103 task-id-mismatch",
    ]
    assert lines[-1] == "FAILED: 6 error(s), 0 warning(s) in 0 contract(s), 0 artifact(s)"
    assert result.counts() == (6, 0)


def test_json():
    assert verdict.as_json(two_findings()) == """{
  "ok": false,
  "findings": [
    {
      "rule": "TG312",
      "name": "evidence-stale",
      "severity": "warning",
      "file": "evals/a/run.yaml",
      "line": 3,
      "column": 0,
      "message": "evals/a/run.yaml is 120 days old (limit 90)"
    },
    {
      "rule": "TG202",
      "name": "model-over-band",
      "severity": "error",
      "file": "policy/tiers.yaml",
      "line": 12,
      "column": 9,
      "message": "model openai/x is priced above tier 'lite' band"
    }
  ]
}
"""
    assert verdict.as_json(Result([finding(STALE, "x", 0, "m")])).startswith('{\n  "ok": true,\n')
    assert verdict.as_json(Result()) == '{\n  "ok": true,\n  "findings": []\n}\n'


def test_github_annotations_then_the_text_report():
    result = two_findings()
    out = verdict.github(result)
    token = out.split("::stop-commands::", 1)[1].split("\n", 1)[0]
    assert len(token) == 32
    assert out == (
        "::warning file=evals/a/run.yaml,line=3,title=TG312 evidence-stale::evals/a/run.yaml is 120 days old (limit 90)\n"
        "::error file=policy/tiers.yaml,line=12,col=9,title=TG202 model-over-band::model openai/x is priced above tier 'lite' band\n"
        f"::stop-commands::{token}\n" + verdict.text(result) + f"::{token}::\n"
    )
    empty = verdict.github(Result())
    assert "ok: 0 error(s), 0 warning(s) in 0 contract(s), 0 artifact(s)\n" in empty and empty.startswith("::stop-commands::")


def test_github_escapes_data_and_properties():
    result = Result([finding(OVER_BAND, "evals/we:ird,name%.yaml", 0, "100% over\r\nsecond: line, end", 7)])
    first = verdict.github(result).splitlines()[0]
    assert first == "::error file=evals/we%3Aird%2Cname%25.yaml,title=TG202 model-over-band::100%25 over%0D%0Asecond: line, end"


def test_markdown_with_tier_changes_and_escaped_cells():
    changes = [
        TierChange("intent-classification", "lite", "mid", ("evals/x.yaml", "evals/y.yaml"), "accepted"),
        TierChange("rag-answer", "mid", "lite", (), "rejected: TG801"),
    ]
    findings = [
        finding(STALE, "evals/a/run.yaml", 0, "old | stale"),
        finding(OVER_BAND, "policy/tiers.yaml", 12, "too dear", 9),
    ]
    result = Result(findings, contracts=2, artifacts=1, tier_changes=changes)
    assert verdict.markdown(result) == (
        "## tiergate: failed\n"
        "\n"
        "FAILED: 1 error(s), 1 warning(s) in 2 contract(s), 1 artifact(s)\n"
        "\n"
        "### Tier changes\n"
        "\n"
        "| task                  | from   | to   | evidence                   | verdict         |\n"
        "|-----------------------|--------|------|----------------------------|-----------------|\n"
        "| intent-classification | lite   | mid  | evals/x.yaml, evals/y.yaml | accepted        |\n"
        "| rag-answer            | mid    | lite | -                          | rejected: TG801 |\n"
        "\n"
        "### Findings\n"
        "\n"
        "| severity   | rule   | where                  | message        |\n"
        "|------------|--------|------------------------|----------------|\n"
        "| warning    | TG312  | evals/a/run.yaml       | `old \\| stale` |\n"
        "| error      | TG202  | `policy/tiers.yaml:12` | too dear       |\n"
        "\n"
    )


def test_markdown_without_changes_or_findings():
    expected = "## tiergate: passed\n\nok: 0 error(s), 0 warning(s) in 1 contract(s), 0 artifact(s)\n\n"
    assert verdict.markdown(Result(contracts=1)) == expected
    assert verdict.markdown(Result(contracts=1, tier_changes=[])) == expected  # check with nothing moved
    assert verdict.step_summary(Result(tier_changes=[])).startswith("## tiergate policy gate: passed\n")
    assert verdict.step_summary(Result()).startswith("## tiergate validate: passed\n")


def test_formats_names_follow_the_shared_order():
    assert verdict.FORMATS.names == ["text", "json", "markdown", "github", "sarif"]
    assert Formats({"github": str, "json": str, "text": str}).names == ["text", "json", "github"]
    assert Formats({"csv": str, "text": str}).render("csv", 5) == "5"


@pytest.mark.parametrize("renderers", [{"yaml": str}, {"text": str, "table": str}, {"TEXT": str}])
def test_unknown_format_names_are_refused(renderers):
    with pytest.raises(ValueError):
        Formats(renderers)


def test_emit_github_prints_annotations_and_appends_the_step_summary(monkeypatch, tmp_path, capsys):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = two_findings(contracts=1)
    capsys.readouterr()
    emit(verdict.FORMATS, "github", result)
    out = capsys.readouterr().out
    assert out.startswith("::warning file=evals/a/run.yaml,line=3,") and verdict.text(result) in out
    assert out.splitlines()[:2] == verdict.github(result).splitlines()[:2]  # the annotations; the stop token differs per render
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("earlier step\n## tiergate validate: failed\n\nFAILED: 1 error(s), 1 warning(s) in 1 contract(s)")
    assert written == "earlier step\n" + verdict.markdown(result, "tiergate validate")
    emit(verdict.FORMATS, "text", result)  # other formats leave the summary alone
    assert capsys.readouterr().out == verdict.text(result)
    assert summary.read_text(encoding="utf-8") == written
