"""Hostile policy content against tiergate's outputs: the review issue and every file tiergate writes.

Each attack has a legitimate twin beside it, so a fix that simply refuses everything fails too.
"""

from __future__ import annotations

import json
import os
import re
import stat

import pytest
import yaml

from conftest import AS_OF, cli
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
    assert all(h.startswith("### @acme/") or h.startswith("### `") or h in ("### All due assignments", "### What to do",
                                                                                        "### Monthly spend by tier", "### Biggest downgrade candidates")
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


# --- B: writes ------------------------------------------------------------------------------------


def export(capsys, repo, *extra):
    return cli(capsys, "export", "--format", "json", "--repo", str(repo.root), "--as-of", AS_OF, *extra)


def temp_files(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".tiergate-") or p.name.endswith(".tiergate-tmp")]


def refused(run, *words: str) -> None:
    assert run.code == 2, (run.out, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tiergate: error: "), run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    victim = folder / "victim.txt"
    victim.write_text("precious\n")
    return folder


def test_export_refuses_a_symlinked_target(repo, capsys, tmp_path, outside):
    link = tmp_path / "table.json"
    link.symlink_to(outside / "victim.txt")
    run = export(capsys, repo, "-o", str(link))
    refused(run, str(link), "symbolic link")
    assert link.is_symlink() and (outside / "victim.txt").read_text() == "precious\n"


def test_export_refuses_a_symlinked_folder(repo, capsys, tmp_path, outside):
    dist = tmp_path / "dist"
    dist.symlink_to(outside, target_is_directory=True)
    run = export(capsys, repo, "-o", str(dist / "table.json"))
    refused(run, str(dist), "symbolic link")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


def test_export_ignores_a_planted_symlink_at_the_old_temp_name(repo, capsys, tmp_path, outside):
    target = tmp_path / "table.json"
    target.write_text("old\n")
    (tmp_path / "table.json.tiergate-tmp").symlink_to(outside / "victim.txt")
    run = export(capsys, repo, "-o", str(target))
    assert run.code == 0, run.err
    assert (outside / "victim.txt").read_text() == "precious\n"
    assert not target.is_symlink() and json.loads(target.read_text())["tasks"]
    assert (tmp_path / "table.json.tiergate-tmp").is_symlink()  # left alone, not followed, not moved
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".tiergate-")] == []


def test_export_writes_a_file_and_keeps_its_mode(repo, capsys, tmp_path):
    target = tmp_path / "table.json"
    run = export(capsys, repo, "-o", str(target))
    assert run.code == 0 and json.loads(target.read_text())["tasks"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # a new file: the usual mode, not mkstemp's 0600
    target.chmod(0o640)
    target.write_text("old\n")
    assert export(capsys, repo, "-o", str(target)).code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text() != "old\n"
    assert temp_files(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(repo, capsys, tmp_path, monkeypatch):
    target = tmp_path / "table.json"
    target.write_text("old\n")

    def broken_replace(src, dst, *args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", broken_replace)
    run = export(capsys, repo, "-o", str(target))
    refused(run, str(target), "Input/output error")
    assert target.read_text() == "old\n" and temp_files(tmp_path) == []


def test_codeowners_refuses_a_symlinked_target(repo, capsys, outside):
    repo.path("CODEOWNERS").unlink()
    (outside / "CODEOWNERS").write_text("# not yours\n")
    repo.path("CODEOWNERS").symlink_to(outside / "CODEOWNERS")
    run = cli(capsys, "codeowners", "--write", "--repo", str(repo.root))
    refused(run, "CODEOWNERS", "symbolic link")
    assert (outside / "CODEOWNERS").read_text() == "# not yours\n" and repo.path("CODEOWNERS").is_symlink()


def test_codeowners_refuses_a_symlinked_github_folder(repo, capsys, outside):
    (outside / "CODEOWNERS").write_text(repo.read("CODEOWNERS"))
    repo.path("CODEOWNERS").unlink()
    repo.path(".github").symlink_to(outside, target_is_directory=True)
    repo.replace(INTENT, 'owner: "@acme/support-ml"', 'owner: "@acme/growth"')
    run = cli(capsys, "codeowners", "--write", "--repo", str(repo.root))
    refused(run, ".github", "symbolic link")
    assert "@acme/growth" not in (outside / "CODEOWNERS").read_text()


def test_codeowners_ignores_a_planted_symlink_at_the_old_temp_name(repo, capsys, outside):
    repo.path("CODEOWNERS.tiergate-tmp").symlink_to(outside / "victim.txt")
    repo.replace(INTENT, 'owner: "@acme/support-ml"', 'owner: "@acme/growth"')
    mode = 0o640
    repo.path("CODEOWNERS").chmod(mode)
    run = cli(capsys, "codeowners", "--write", "--repo", str(repo.root))
    assert run.code == 0 and run.out == "updated CODEOWNERS\n", run.err
    assert (outside / "victim.txt").read_text() == "precious\n"
    assert "@acme/growth" in repo.read("CODEOWNERS") and not repo.path("CODEOWNERS").is_symlink()
    assert stat.S_IMODE(repo.path("CODEOWNERS").stat().st_mode) == mode
    assert [p.name for p in repo.root.iterdir() if p.name.startswith(".tiergate-")] == []


def test_codeowners_target_that_is_a_folder_fails_cleanly(repo, capsys):
    repo.path("CODEOWNERS").unlink()
    repo.path(".github/CODEOWNERS").mkdir(parents=True)
    run = cli(capsys, "codeowners", "--write", "--repo", str(repo.root))
    refused(run, ".github/CODEOWNERS")
    assert repo.path(".github/CODEOWNERS").is_dir() and temp_files(repo.path(".github")) == []


def test_schema_write_refuses_a_symlinked_schemas_folder(repo, capsys, outside):
    for path in repo.path("schemas").iterdir():
        path.rename(outside / path.name)
    repo.path("schemas").rmdir()
    repo.path("schemas").symlink_to(outside, target_is_directory=True)
    (outside / "contract.schema.json").write_text("{}\n")
    run = cli(capsys, "schema", "--write", "--repo", str(repo.root))
    refused(run, "schemas", "symbolic link")
    assert (outside / "contract.schema.json").read_text() == "{}\n"


def test_schema_write_refuses_a_symlinked_schema_file(repo, capsys, outside):
    repo.path("schemas/contract.schema.json").unlink()
    repo.path("schemas/contract.schema.json").symlink_to(outside / "victim.txt")
    run = cli(capsys, "schema", "--write", "--repo", str(repo.root))
    refused(run, "schemas/contract.schema.json", "symbolic link")
    assert (outside / "victim.txt").read_text() == "precious\n"


def test_schema_write_failing_on_one_file_leaves_it_and_no_temp_file(repo, capsys):
    repo.path("schemas/table.schema.json").unlink()
    repo.path("schemas/table.schema.json").mkdir()
    run = cli(capsys, "schema", "--write", "--repo", str(repo.root))
    refused(run, "schemas/table.schema.json")
    assert repo.path("schemas/table.schema.json").is_dir() and temp_files(repo.path("schemas")) == []


def test_schema_write_still_writes(repo, capsys):
    repo.path("schemas/contract.schema.json").write_text("{}\n")
    run = cli(capsys, "schema", "--write", "--repo", str(repo.root))
    assert run.code == 0 and "wrote schemas/contract.schema.json" in run.out
    assert cli(capsys, "schema", "--repo", str(repo.root)).code == 0
    repo.path("schemas").rename(repo.root / "old-schemas")
    assert cli(capsys, "schema", "--write", "--repo", str(repo.root)).code == 0  # creates the folder
    assert json.loads(repo.read("schemas/contract.schema.json"))["$schema"]
    assert temp_files(repo.path("schemas")) == []


def record(capsys, repo, tmp_path):
    rows = [json.loads(line) for line in repo.read("evals/datasets/intent-classification.jsonl").splitlines()]
    source = tmp_path / "run.jsonl"
    source.write_text("".join(json.dumps({"id": r["id"], "output": r["expected"]}) + "\n" for r in rows))
    return cli(capsys, "eval", "record", "--task", "intent-classification", "--tier", "mid", "--model", "anthropic/claude-sonnet-4-5",
               "--records", str(source), "--run-at", "2026-11-10T08:30:00Z", "--repo", str(repo.root))


def test_eval_record_refuses_a_symlinked_task_folder(repo, capsys, tmp_path, outside):
    elsewhere = outside / "intent-classification"
    repo.path("evals/intent-classification").rename(elsewhere)
    repo.path("evals/intent-classification").symlink_to(elsewhere, target_is_directory=True)
    before = sorted(p.name for p in elsewhere.iterdir())
    run = record(capsys, repo, tmp_path)
    refused(run, "evals/intent-classification", "symbolic link")
    assert sorted(p.name for p in elsewhere.iterdir()) == before


def test_eval_record_refuses_a_symlinked_evals_folder_for_a_new_task(repo, capsys, tmp_path, outside):
    """A task with no artifacts yet: evals/<task>/ is created, and never through a symlink."""
    repo.path("evals/intent-classification").rename(tmp_path / "moved")
    repo.path("evals/intent-classification").symlink_to(outside, target_is_directory=True)
    run = record(capsys, repo, tmp_path)
    refused(run, "evals/intent-classification", "symbolic link")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


def test_eval_record_still_writes_and_creates_the_folder(repo, capsys, tmp_path):
    repo.path("evals/intent-classification").rename(tmp_path / "moved")
    run = record(capsys, repo, tmp_path)
    assert run.code == 0, run.err
    art = yaml.safe_load(repo.read(run.out.strip()))
    assert art["task"] == "intent-classification" and repo.path(art["records"]["path"]).is_file()
    assert temp_files(repo.path("evals/intent-classification")) == []
    again = record(capsys, repo, tmp_path)
    assert again.code == 2 and "append-only" in again.err
