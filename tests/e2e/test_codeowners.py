"""CODEOWNERS: GitHub's matching semantics, the ownership rules and the managed block."""

from __future__ import annotations

import json

import pytest

from conftest import cli
from tiergate.codeowners import Owners, parse

INTENT = "policy/tasks/intent-classification.yaml"


def owner_of(text: str, path: str) -> str | None:
    entry = Owners(parse(text)).entry_for(path)
    return " ".join(entry.owners) if entry else None


@pytest.mark.parametrize(
    "pattern,path,matches",
    [
        ("*", "a/b/c.txt", True),
        ("*.js", "src/app/x.js", True),
        ("/build/logs/", "build/logs/a/b.log", True),
        ("/build/logs/", "x/build/logs/a.log", False),
        ("docs/*", "docs/getting-started.md", True),
        ("docs/*", "docs/build-app/troubleshooting.md", False),
        ("apps/", "x/apps/y.txt", True),
        ("/docs/", "docs/a/b.md", True),
        ("**/logs", "deep/er/logs/x.log", True),
        ("/policy/tasks/a.yaml", "policy/tasks/a.yaml", True),
        ("/policy/tasks/a.yaml", "policy/tasks/a.yaml.bak", False),
        ("policy/tasks", "policy/tasks/a.yaml", True),
        ("/src/", "src", False),
    ],
)
def test_patterns_follow_github(pattern, path, matches):
    assert (owner_of(f"{pattern} @o", path) == "@o") is matches


def test_last_match_wins():
    text = "/policy/tasks/a.yaml @team-a\n*.yaml @catch-all\n"
    assert owner_of(text, "policy/tasks/a.yaml") == "@catch-all"
    assert owner_of("*.yaml @catch-all\n/policy/tasks/a.yaml @team-a\n", "policy/tasks/a.yaml") == "@team-a"


def test_line_without_owners_unowns():
    assert owner_of("* @all\n/docs/\n", "docs/x.md") == ""


@pytest.mark.parametrize("line", ["!foo @o", "[ab].txt @o", "x.txt not-an-owner"])
def test_unsupported_syntax(line):
    parsed = parse(line)  # GitHub skips the line (it does not reject the file): so does parse, and says so
    assert parsed.entries == [] and [s.line for s in parsed.skipped] == [1]


def rules(run):
    return {(f["rule"], f["file"]) for f in json.loads(run.out)["findings"]}


def test_contract_owner_must_own_the_file(repo, validate):
    repo.replace(INTENT, 'owner: "@acme/support-ml"', 'owner: "@acme/growth"')
    run = validate()
    assert rules(run) == {("TG702", INTENT), ("TG705", INTENT)}  # its file and evidence folder, and its eval set
    assert "@acme/support-ml" in json.loads(run.out)["findings"][0]["message"]


def test_catch_all_after_the_block_takes_everything(repo, validate):
    repo.write("CODEOWNERS", repo.read("CODEOWNERS") + "* @someone\n")
    found = rules(validate())
    assert ("TG702", INTENT) in found and ("TG703", "CODEOWNERS") in found


def test_platform_paths(repo, validate):
    repo.write("src/tiergate/__init__.py", "\n")  # the gate's code lives here, so src/ must be the platform's
    repo.replace("CODEOWNERS", "/src/ @acme/ml-platform\n", "")
    f = json.loads(validate().out)["findings"]
    assert [(x["rule"], x["file"]) for x in f] == [("TG703", "CODEOWNERS")]
    assert "src/tiergate/__init__.py" in f[0]["message"]


def test_missing_and_broken_codeowners(repo, validate):
    repo.write("CODEOWNERS", repo.read("CODEOWNERS") + "!secret @x\n")
    assert rules(validate()) == {("TG704", "CODEOWNERS")}
    repo.path("CODEOWNERS").unlink()
    assert rules(validate()) == {("TG701", "CODEOWNERS")}


def test_github_folder_takes_precedence(repo, validate):
    repo.write(".github/CODEOWNERS", "* @nobody\n")
    assert ("TG703", ".github/CODEOWNERS") in rules(validate())


def test_write_regenerates_block_and_keeps_the_rest(repo, validate, capsys):
    repo.replace(INTENT, 'owner: "@acme/support-ml"', 'owner: "@acme/growth"')
    repo.write("CODEOWNERS", "# hand-written\n/docs/ @acme/docs\n" + repo.read("CODEOWNERS"))
    run = cli(capsys, "codeowners", "--write", "--repo", str(repo.root))
    assert run.code == 0 and run.out == "updated CODEOWNERS\n"
    text = repo.read("CODEOWNERS")
    assert text.startswith("# hand-written\n/docs/ @acme/docs\n")
    assert f"/{INTENT} @acme/growth\n" in text
    assert validate().code == 0
    again = cli(capsys, "codeowners", "--write", "--repo", str(repo.root))
    assert again.out == "CODEOWNERS is up to date\n"


def test_write_creates_the_file(repo, validate, capsys):
    repo.path("CODEOWNERS").unlink()
    assert cli(capsys, "codeowners", "--write", "--repo", str(repo.root)).code == 0
    assert validate().code == 0


def test_broken_markers_change_nothing(repo, capsys):
    text = repo.read("CODEOWNERS").replace("# END tiergate managed block\n", "")
    repo.write("CODEOWNERS", text)
    run = cli(capsys, "codeowners", "--write", "--repo", str(repo.root))
    assert run.code == 2 and "markers are broken" in run.err
    assert repo.read("CODEOWNERS") == text


def test_print_without_write(repo, capsys):
    run = cli(capsys, "codeowners", "--repo", str(repo.root))
    assert run.code == 0 and run.out.startswith("# BEGIN tiergate managed block")


def test_write_refuses_a_file_github_would_ignore(repo, capsys):
    """GitHub ignores a CODEOWNERS file of 3 MB or more: writing one would leave every path without
    an owner, so nothing is written and the message says how to shrink it."""
    repo.write("CODEOWNERS", "# hand-written\n" + "/docs/big/ @acme/docs\n" * 150_000 + repo.read("CODEOWNERS"))
    before = repo.read("CODEOWNERS")
    repo.replace(INTENT, 'owner: "@acme/support-ml"', 'owner: "@acme/growth"')
    run = cli(capsys, "codeowners", "--write", "--repo", str(repo.root))
    assert run.code == 2 and "GitHub ignores a CODEOWNERS file that is not under 3 MB" in run.err and "nothing was written" in run.err
    assert repo.read("CODEOWNERS") == before
