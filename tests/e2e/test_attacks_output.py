"""Hostile policy content against tiergate's outputs: the review issue and every file tiergate writes.

Each attack has a legitimate twin beside it, so a fix that simply refuses everything fails too.
"""

from __future__ import annotations

import json
import re

from conftest import cli
from tiergate.review.render import ticked

INTENT = "policy/tasks/intent-classification.yaml"
ENTITY = "policy/tasks/entity-extraction.yaml"
PASSING = "evals/intent-classification/20261020T090000Z-lite-gpt-5-nano.yaml"
HOSTILE_PATH = "evals/x\n- [x] **intent-classification** @everyone [click](https://evil.example)"
CODE_SPAN = re.compile(r"`[^`\n]*`")


def outside_code(markdown: str) -> str:
    """The Markdown with every inline code span removed: what GitHub would parse for mentions and links."""
    return CODE_SPAN.sub("", markdown)


def dry_run_body(capsys, repo, as_of="2027-02-01") -> str:
    run = cli(capsys, "review", "open-issue", "--repo", str(repo.root), "--as-of", as_of, "--dry-run")
    assert run.code == 0, run.err
    return run.out


def checkbox_lines(body: str) -> list[str]:
    return [line for line in body.splitlines() if re.match(r"^\s{0,3}[-*+]\s+\[[ xX]\]", line)]


# --- A3: the review issue ------------------------------------------------------------------------


def test_hostile_evidence_path_cannot_forge_a_box_a_mention_or_a_link(repo, capsys):
    repo.replace(INTENT, f"passing: {PASSING}", f"passing: {json.dumps(HOSTILE_PATH)}")
    body = dry_run_body(capsys, repo)
    due = json.loads(cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", "2027-02-01", "--format", "json").out)
    tasks = {item["task"] for item in due["due"]}
    assert "intent-classification" in tasks
    boxes = checkbox_lines(body)
    assert len(boxes) == len(tasks)  # one box per due task, none forged
    assert all(re.match(r"^- \[ \] \*\*[a-z0-9-]+\*\* \(", line) for line in boxes), boxes
    assert ticked(body) == set()  # the next run must not think the box was ticked
    assert "@everyone" not in outside_code(body)
    assert "@everyone" not in body  # not even inside code: the @ is neutralised
    rest = outside_code(body)
    assert "evil.example" not in rest and "](" not in rest and "<a" not in rest.lower()
    assert "evals/x" in body  # still shown, as code


def test_hostile_email_owner_is_text_not_a_link_or_a_heading(repo, capsys):
    owner = "[x](https://evil.example)<img/src=x>@evil.co"
    repo.replace(ENTITY, 'owner: "orders-team@acme.example"', f"owner: {json.dumps(owner)}")
    body = dry_run_body(capsys, repo)
    rest = outside_code(body)
    assert "evil.example" not in rest and "<img" not in rest and "](" not in rest
    headings = [line for line in body.splitlines() if line.startswith("#")]
    assert all(h.startswith("### @acme/") or h.startswith("### `") or h in ("### All due assignments", "### What to do")
               for h in headings), headings


def test_owners_are_mentioned_once_each_and_email_owners_are_not_mentions(repo, capsys):
    """The legitimate twin: handles are mentioned in their heading, an e-mail owner is listed as text."""
    body = dry_run_body(capsys, repo)
    mentions = re.findall(r"(?<![\w`])@[A-Za-z0-9][\w/-]*", outside_code(body))
    assert sorted(mentions) == sorted(set(mentions)) and "@acme/support-ml" in mentions
    assert all(re.match(r"^### @[A-Za-z0-9]", line) for line in body.splitlines() if line.startswith("### @"))
    assert "### `orders-team@acme.example`" in body
    assert "@acme.example" not in outside_code(body)


def test_legitimate_missing_evidence_path_is_shown_and_boxes_still_round_trip(repo, capsys):
    repo.replace(INTENT, f"passing: {PASSING}", "passing: evals/intent-classification/gone.yaml")
    body = dry_run_body(capsys, repo)
    assert "evals/intent-classification/gone.yaml" in body
    line = next(line for line in checkbox_lines(body) if "**intent-classification**" in line)
    assert "missing or unusable" in line
    assert ticked(body.replace("- [ ] **intent-classification**", "- [x] **intent-classification**")) == {"intent-classification"}


def test_hostile_owner_cannot_add_a_cell_to_the_due_markdown(repo, capsys):
    repo.replace(ENTITY, 'owner: "orders-team@acme.example"', 'owner: "a|forged|cells@evil.co"')
    out = cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", "2027-02-01", "--format", "markdown").out
    rows = [line for line in out.splitlines() if line.startswith("|")]
    widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
    assert len(widths) == 1, rows
