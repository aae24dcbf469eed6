"""The quarterly review: due-date logic over fixed dates, and the review issue against a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from conftest import cli
from fake_github import TOKEN, FakeGitHub
from tiergate.loading import WorkTree
from tiergate.policy import load_policy
from tiergate.review.due import due_list, quarter, reasons

INTENT = "policy/tasks/intent-classification.yaml"
CODEGEN = "policy/tasks/code-generation.yaml"
LANG = "policy/tasks/language-detection.yaml"
D = dt.date


def why(repo, task: str, day: dt.date) -> list[str]:
    policy = load_policy(WorkTree(repo.root))
    contract = next(c for c, _ in policy.valid_contracts() if c.task == task)
    return reasons(policy, contract, day)


def cadence_reason(found: list[str]) -> list[str]:
    return [r for r in found if r.startswith("review was due")]


# --- what is due ------------------------------------------------------------------------------


@pytest.mark.parametrize("day, name", [(D(2026, 3, 31), "2026-Q1"), (D(2026, 4, 1), "2026-Q2"), (D(2026, 9, 30), "2026-Q3"),
                                       (D(2026, 12, 31), "2026-Q4"), (D(2027, 1, 1), "2027-Q1"), (D(2028, 2, 29), "2028-Q1")])
def test_quarter_boundaries(day, name):
    assert quarter(day) == name


def test_cadence_is_due_on_the_day_not_before(repo):
    # reviewed 2026-10-21 + 90 days = 2027-01-19
    assert cadence_reason(why(repo, "intent-classification", D(2027, 1, 18))) == []
    assert cadence_reason(why(repo, "intent-classification", D(2027, 1, 19))) == ["review was due 2027-01-19 (every 90 days)"]


def test_cadence_override_and_leap_days(repo):
    repo.replace(INTENT, "reviewed: 2026-10-21", "reviewed: 2027-12-31\nreview_cadence_days: 60")
    assert cadence_reason(why(repo, "intent-classification", D(2028, 2, 28))) == []
    assert cadence_reason(why(repo, "intent-classification", D(2028, 2, 29))) == ["review was due 2028-02-29 (every 60 days)"]
    repo.replace(INTENT, "reviewed: 2027-12-31\nreview_cadence_days: 60", "reviewed: 2028-02-29\nreview_cadence_days: 365")
    assert cadence_reason(why(repo, "intent-classification", D(2029, 2, 27))) == []
    assert cadence_reason(why(repo, "intent-classification", D(2029, 2, 28))) == ["review was due 2029-02-28 (every 365 days)"]


def test_a_catalog_revision_after_the_review_makes_the_chain_due(repo):
    text = repo.read("policy/tiers.yaml")
    mid_at = text.index("- id: mid")
    repo.write("policy/tiers.yaml", text[:mid_at] + text[mid_at:].replace("revised: 2026-09-15", "revised: 2026-11-10", 1))
    day = D(2026, 11, 20)
    assert why(repo, "intent-classification", day) == ["tier 'mid' revised 2026-11-10, after the last review"]  # lite → mid chain
    assert why(repo, "language-detection", day) == []  # lite only
    assert why(repo, "code-generation", day) == ["tier 'mid' revised 2026-11-10, after the last review"]  # its own tier


def test_stale_missing_and_never(repo):
    # passing run 2026-10-20, max age 90 days: stale once more than 90 days have passed
    assert why(repo, "intent-classification", D(2027, 1, 18)) == []
    assert "passing evidence from 2026-10-20 is older than 90 days" in why(repo, "intent-classification", D(2027, 1, 19))
    repo.replace(LANG, "reviewed: 2026-10-22", "reviewed: null")
    assert why(repo, "language-detection", D(2026, 11, 20)) == ["never reviewed"]
    passing = next(line for line in repo.read(LANG).splitlines() if line.strip().startswith("passing:"))
    repo.replace(LANG, passing + "\n", "")
    assert why(repo, "language-detection", D(2026, 11, 20)) == ["never reviewed", "no passing evidence"]


def test_due_list_names_the_cheaper_tier_and_groups_by_owner(repo):
    items = due_list(load_policy(WorkTree(repo.root)), D(2027, 2, 1))
    by_task = {i.task: i for i in items}
    assert by_task["code-generation"].cheaper == "lite" and by_task["contract-review"].cheaper == "mid"
    assert by_task["intent-classification"].cheaper is None
    owners = [i.contract.owner.lower() for i in items]
    assert owners == sorted(owners)


def test_review_due_command(repo, capsys):
    run = cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", "2026-11-20")
    assert run.code == 0 and run.out.strip() == "0 of 14 assignment(s) due for re-evaluation as of 2026-11-20"
    run = cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", "2027-02-01", "--format", "json")
    data = json.loads(run.out)
    assert run.code == 0 and data["count"] == len(data["due"]) == 12 and data["total"] == 14
    markdown = cli(capsys, "review", "due", "--repo", str(repo.root), "--as-of", "2027-02-01", "--format", "markdown").out
    assert "| owner " in markdown and "cheaper tier to re-test" in markdown


# --- the review issue, against a real HTTP server on 127.0.0.1 ------------------------------------


@pytest.fixture
def github(monkeypatch):
    with FakeGitHub() as server:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", server.repo)
        yield server


def open_issue(capsys, repo, *extra, as_of="2027-02-01"):
    return cli(capsys, "review", "open-issue", "--repo", str(repo.root), "--as-of", as_of, *extra)


def test_first_run_creates_second_run_sends_nothing(repo, capsys, github):
    run = open_issue(capsys, repo)
    assert run.code == 0 and run.out.startswith("opened #1 ")
    [issue] = github.issues
    assert issue["title"] == "Tier review 2027-Q1" and [lab["name"] for lab in issue["labels"]] == ["tier-review"]
    assert "<!-- tiergate-tier-review: 2027-Q1 -->" in issue["body"]
    assert issue["body"].count("@acme/support-ml") == 1  # each owner mentioned once
    assert "| task " in issue["body"] and "tiergate eval record" in issue["body"]
    listing, create = github.requests
    assert (listing.method, listing.query["labels"], listing.query["state"]) == ("GET", "tier-review", "all")
    assert create.method == "POST" and create.body["labels"] == ["tier-review"]
    for request in github.requests:
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["authorization"].endswith(TOKEN)
    run = open_issue(capsys, repo)
    assert run.code == 0 and run.out.startswith("unchanged #1 ")
    assert len(github.issues) == 1 and len(github.writes()) == 1


def test_changes_update_the_same_issue_and_keep_ticked_boxes(repo, capsys, github):
    assert open_issue(capsys, repo).code == 0
    issue = github.issues[0]
    ticked = issue["body"].replace("- [ ] **intent-classification**", "- [x] **intent-classification**")
    ticked = ticked.replace("- [ ] **pii-redaction**", "- [x] **pii-redaction**")
    issue["body"] = ticked.replace("\n", "\r\n")  # as GitHub's editor saves it
    repo.path("policy/tasks/pii-redaction.yaml").unlink()  # the task is gone: its ticked box goes with it
    run = open_issue(capsys, repo)
    assert run.code == 0 and run.out.startswith("updated #1 ")
    assert len(github.issues) == 1
    patch = github.writes()[-1]
    assert patch.method == "PATCH" and patch.path.endswith("/issues/1")
    assert "- [x] **intent-classification**" in patch.body["body"] and "- [ ] **language-detection**" in patch.body["body"]
    assert "- [x] **pii-redaction**" not in patch.body["body"]
    assert open_issue(capsys, repo).out.startswith("unchanged #1 ")


def test_finds_the_quarter_among_many_labelled_issues_and_pull_requests(repo, capsys, github):
    for year in range(2000, 2040):
        for q in range(1, 5):
            github.add_issue(f"Tier review {year}-Q{q}", f"<!-- tiergate-tier-review: {year}-Q{q}X -->", ["tier-review"], state="closed")
    github.add_issue("pr", "<!-- tiergate-tier-review: 2027-Q1 -->", ["tier-review"], pull_request=True)
    mine = github.add_issue("Tier review 2027-Q1", "<!-- tiergate-tier-review: 2027-Q1 -->\nold", ["tier-review"], state="closed")
    for _ in range(5):
        github.add_issue("newer", "unrelated", ["tier-review"])
    run = open_issue(capsys, repo)
    assert run.code == 0 and run.out.startswith(f"updated #{mine['number']} ")
    pages = [r.query["page"] for r in github.requests if r.method == "GET"]
    assert pages == ["1", "2"]
    assert not [r for r in github.writes() if r.method == "POST"]


def test_rate_limited_listing_waits_for_the_reset(repo, capsys, github):
    reset = str(int(time.time()) + 1)
    github.fail("GET", r".*/issues", 403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
                message="API rate limit exceeded for installation ID 1.")
    started = time.monotonic()
    run = open_issue(capsys, repo)
    assert run.code == 0 and run.out.startswith("opened #1 ")
    assert time.monotonic() - started >= 1.0  # it waited instead of hammering
    assert [r.method for r in github.requests] == ["GET", "GET", "POST"]


def test_rate_limited_create_retries_after_checking_again(repo, capsys, github):
    github.fail("POST", r".*/issues", 403, headers={"Retry-After": "1"}, message="You have exceeded a secondary rate limit.")
    run = open_issue(capsys, repo)
    assert run.code == 0 and run.out.startswith("opened #1 ")
    assert [r.method for r in github.requests] == ["GET", "POST", "GET", "POST"] and len(github.issues) == 1


def test_server_errors_are_retried(repo, capsys, github):
    github.fail("GET", r".*/issues", 500)
    github.fail("POST", r".*/issues", 502, message="Bad Gateway")
    run = open_issue(capsys, repo)
    assert run.code == 0 and run.out.startswith("opened #1 ") and len(github.issues) == 1
    assert [r.method for r in github.requests] == ["GET", "GET", "POST", "GET", "POST"]


def test_a_lost_create_response_never_makes_a_duplicate(repo, capsys, github):
    github.fail("POST", r".*/issues", 500, apply_anyway=True)  # GitHub created it, the client saw a 500
    run = open_issue(capsys, repo)
    assert run.code == 0 and len(github.issues) == 1
    assert run.out.startswith("unchanged #1 ")
    assert [r.method for r in github.requests] == ["GET", "POST", "GET"]


def test_bad_credentials_fail_clearly(repo, capsys, github, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_wrong")
    run = open_issue(capsys, repo)
    assert run.code == 2 and "GitHub rejected the token (401 Bad credentials)" in run.err and "Traceback" not in run.err
    assert not github.issues and len(github.requests) == 1  # 401 is not retried


def test_missing_permission_and_repository_are_explained(repo, capsys, github):
    github.fail("POST", r".*/issues", 403, message="Resource not accessible by integration")
    run = open_issue(capsys, repo)
    assert run.code == 2 and "lacks `issues: write`" in run.err and "permissions: issues: write" in run.err
    run = open_issue(capsys, repo, "--github-repo", "acme/elsewhere")
    assert run.code == 2 and "cannot find acme/elsewhere (404" in run.err
    assert not github.issues


def test_missing_token_and_bad_repo_name(repo, capsys, github, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    run = open_issue(capsys, repo)
    assert run.code == 2 and "GITHUB_TOKEN is not set" in run.err
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    run = open_issue(capsys, repo, "--github-repo", "not a repo")
    assert run.code == 2 and "is not OWNER/NAME" in run.err
    assert github.requests == []


def test_dry_run_calls_nothing(repo, capsys, github, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    run = open_issue(capsys, repo, "--dry-run")
    assert run.code == 0 and run.out.startswith("Tier review 2027-Q1\n\n<!-- tiergate-tier-review: 2027-Q1 -->")
    assert github.requests == []


def test_nothing_due_or_update_only_opens_nothing(repo, capsys, github):
    run = open_issue(capsys, repo, as_of="2026-11-20")
    assert run.code == 0 and "none was opened (nothing is due)" in run.out
    run = open_issue(capsys, repo, "--update-only")
    assert run.code == 0 and "none was opened (--update-only)" in run.out
    assert not github.writes()


def test_a_rate_limit_resetting_too_late_fails_fast_and_clearly(repo, capsys, github):
    github.fail("GET", r".*/issues", 403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 3600)},
                message="API rate limit exceeded for installation ID 1.")
    started = time.monotonic()
    run = open_issue(capsys, repo)
    assert run.code == 2 and "rate limit still exhausted" in run.err and "run again later" in run.err
    assert time.monotonic() - started < 30 and not github.issues
