"""The sticky cost comment, end to end: real git repositories, the real CLI, a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from conftest import AS_OF, cli
from fake_github import TOKEN, FakeGitHub
from gitrepo import init
from tiergate.pr.comment import MARKER, MAX_BODY

INTENT = "policy/tasks/intent-classification.yaml"
PR = 7
RUN = "https://github.example/acme/policy/actions/runs/4242"


@pytest.fixture
def github(monkeypatch, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": PR, "pull_request": {"number": PR}}))
    with FakeGitHub() as server:
        for name, value in {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": server.repo,
                            "GITHUB_EVENT_PATH": str(event), "GITHUB_SERVER_URL": "https://github.example",
                            "GITHUB_RUN_ID": "4242"}.items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def gitrepo(repo):
    return init(repo.root)


def comment(capsys, repo, *extra):
    return cli(capsys, "comment", "--repo", str(repo.root), "--base", "main", "--as-of", AS_OF, *extra)


def volume(repo, calls: int) -> None:
    text = repo.read(INTENT)
    current = next(line for line in text.splitlines() if line.strip().startswith("monthly_volume:"))
    repo.write(INTENT, text.replace(current, f"  monthly_volume: {calls}"))


def test_first_push_creates_second_updates_unchanged_sends_nothing_revert_says_no_change(gitrepo, capsys, github):
    original = gitrepo.read(INTENT)
    volume(gitrepo, 1_000_000)  # 500,000 -> 1,000,000 calls a month
    run = comment(capsys, gitrepo)
    assert run.code == 0 and run.out.startswith(f"pull request #{PR}: created the cost comment ")
    [posted] = github.comments_on(PR)
    assert posted["body"].startswith(MARKER + "\n")
    assert "| intent-classification " in posted["body"] and "volume 500,000 -> 1,000,000" in posted["body"]
    assert "(gate passed)" in posted["body"] and f"[Full report of this run]({RUN})" in posted["body"]
    assert "```mermaid\nxychart-beta" in posted["body"]
    assert [(r.method, r.path) for r in github.requests] == [("GET", "/user"), ("GET", f"/repos/acme/policy/issues/{PR}/comments"),
                                                            ("POST", f"/repos/acme/policy/issues/{PR}/comments")]
    assert all(r.headers["authorization"].endswith(TOKEN) and r.headers["x-github-api-version"] == "2022-11-28" for r in github.requests)

    volume(gitrepo, 2_000_000)  # the second push
    run = comment(capsys, gitrepo)
    assert run.code == 0 and "updated the cost comment" in run.out
    [updated] = github.comments_on(PR)
    assert updated["id"] == posted["id"] and "volume 500,000 -> 2,000,000" in updated["body"]
    assert github.writes()[-1].method == "PATCH" and github.writes()[-1].path == f"/repos/acme/policy/issues/comments/{posted['id']}"

    writes = len(github.writes())
    run = comment(capsys, gitrepo)  # the same push again: the body is unchanged
    assert run.code == 0 and "the cost comment is current" in run.out and len(github.writes()) == writes

    gitrepo.write(INTENT, original)  # a push that takes the change back out
    run = comment(capsys, gitrepo)
    assert run.code == 0 and "updated the cost comment" in run.out
    [reverted] = github.comments_on(PR)
    assert reverted["id"] == posted["id"] and "**No cost change**" in reverted["body"] and "| intent-classification " not in reverted["body"]
    writes = len(github.writes())
    assert comment(capsys, gitrepo).code == 0 and len(github.writes()) == writes


def test_a_pull_request_that_never_touched_cost_gets_no_comment(gitrepo, capsys, github):
    gitrepo.replace(INTENT, "Classify one customer support message.", "Classify one support message.")
    run = comment(capsys, gitrepo)
    assert run.code == 0 and "nothing posted" in run.out
    assert github.comments == [] and github.writes() == []


def test_a_read_only_token_warns_and_exits_0(gitrepo, capsys, github, monkeypatch):
    github.read_only = True  # a fork's pull request
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    volume(gitrepo, 1_000_000)
    run = comment(capsys, gitrepo)
    assert run.code == 0 and github.comments == []
    assert run.out.startswith("::warning title=tiergate comment::GitHub refused to create a comment on pull request #7 in acme/policy")
    assert "the cost comment was not written" in run.out
    assert "tiergate: warning: GitHub refused to create a comment on pull request #7" in run.err
    assert "pull-requests: write" in run.err and "read-only token" in run.err and "step summary" in run.err


def test_a_person_copying_the_marker_does_not_get_their_comment_taken_over(gitrepo, capsys, github):
    fake = github.add_comment(PR, MARKER + "\n**No cost change**", user={"login": "mallory", "type": "User"})
    volume(gitrepo, 1_000_000)
    run = comment(capsys, gitrepo)
    assert run.code == 0 and "created the cost comment" in run.out
    mine = [c for c in github.comments_on(PR) if c["id"] != fake["id"]]
    assert fake["body"] == MARKER + "\n**No cost change**" and len(mine) == 1 and "| intent-classification " in mine[0]["body"]


def test_a_lost_create_answer_is_checked_before_trying_again(gitrepo, capsys, github):
    github.fail("POST", r".*/issues/7/comments", 502, apply_anyway=True, message="Bad Gateway")
    volume(gitrepo, 1_000_000)
    run = comment(capsys, gitrepo)
    assert run.code == 0 and len(github.comments_on(PR)) == 1 and "the cost comment is current" in run.out
    assert [r.method for r in github.requests] == ["GET", "GET", "POST", "GET"]  # /user, list, create (lost), list


def test_too_long_a_table_is_cut_under_the_limit_and_says_so(gitrepo, capsys, github):
    template = gitrepo.read(INTENT)
    for i in range(450):  # 450 new tasks: a table far over 65,536 characters
        task = f"bulk-task-{i:03d}"
        gitrepo.write(f"policy/tasks/{task}.yaml", template.replace("task: intent-classification", f"task: {task}")
                      .replace("monthly_volume: 500000", f"monthly_volume: {1000 + i}"))
    run = comment(capsys, gitrepo)
    assert run.code == 0 and "created the cost comment" in run.out
    [posted] = github.comments_on(PR)
    body = posted["body"]
    assert len(body) < MAX_BODY
    shown = body.count("| bulk-task-")
    assert 0 < shown < 450 and f"The table shows the {shown} largest of 450 changes" in body
    assert f"[the run's step summary]({RUN})" in body and "| total (450 task(s))" in body
    assert "| bulk-task-449 " in body and "| bulk-task-000 " not in body  # the largest changes are the ones kept


def test_no_pull_request_number_is_a_clear_error(gitrepo, capsys, github, monkeypatch):
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    run = comment(capsys, gitrepo)
    assert run.code == 2 and "no pull request: pass --pr N" in run.err and github.requests == []
    run = comment(capsys, gitrepo, "--pr", "7")
    assert run.code == 0 and github.requests


def test_dry_run_prints_the_body_and_calls_nothing(gitrepo, capsys, github):
    volume(gitrepo, 1_000_000)
    run = comment(capsys, gitrepo, "--dry-run")
    assert run.code == 0 and run.out.startswith(MARKER) and github.requests == []


def test_a_push_that_breaks_the_catalog_does_not_say_no_cost_change(gitrepo, capsys, github):
    volume(gitrepo, 1_000_000)
    assert "created" in comment(capsys, gitrepo).out
    gitrepo.write("policy/tiers.yaml", "platform_owner: [broken\n")
    run = comment(capsys, gitrepo)
    assert run.code == 0 and "updated the cost comment" in run.out
    [posted] = github.comments_on(PR)
    assert "**Cost not computed**" in posted["body"] and "No cost change" not in posted["body"] and "(gate failed)" in posted["body"]


def test_above_the_guard_the_comment_mentions_the_base_branchs_approver(repo, capsys, github):
    repo.replace("policy/tiers.yaml", "defaults:\n", 'cost_guard: {monthly_increase_usd: 500, approver: "@acme/finops"}\ndefaults:\n')
    gitrepo = init(repo.root)
    gitrepo.replace("policy/tiers.yaml", '"@acme/finops"', '"@mallory"')  # the pull request names someone else: not used
    volume(gitrepo, 1_000_000)  # +$9,016.91 all-in
    assert comment(capsys, gitrepo).code == 0
    [posted] = github.comments_on(PR)
    assert "**Above the cost guard**: @acme/finops must approve this increase." in posted["body"]
    assert "@mallory" not in posted["body"].replace("@\u200bmallory", "")


def test_with_a_personal_token_its_own_comment_is_the_sticky_one(gitrepo, capsys, github):
    github.user = {"login": "policy-bot", "type": "User"}  # a machine user's token, as on GitHub Enterprise
    volume(gitrepo, 1_000_000)
    assert "created" in comment(capsys, gitrepo).out
    volume(gitrepo, 2_000_000)
    assert "updated the cost comment" in comment(capsys, gitrepo).out
    [posted] = github.comments_on(PR)
    assert posted["user"]["login"] == "policy-bot" and "volume 500,000 -> 2,000,000" in posted["body"]
