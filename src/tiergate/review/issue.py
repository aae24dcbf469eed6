"""One review issue per quarter: found by label and hidden marker, then created or updated.

Listing the labelled issues (any state) and matching the marker is used instead of the search
API, whose index lags behind writes and whose rate limit is tight: a run right after another
must see the issue the first one made. A create is never retried blindly: after a failure the
issue list is read again, because a POST that timed out may still have created the issue.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Optional

from tiergate.review.due import DueItem, quarter
from tiergate.review.render import LABEL, issue_body, marker, ticked, title

if TYPE_CHECKING:
    from tiergate.github import Issue, IssueTracker
    from tiergate.review.spend import Spend


@dataclass(frozen=True)
class Outcome:
    action: str  # opened | updated | unchanged | skipped
    issue: "Optional[Issue]"


def _normalise(body: str) -> str:
    return body.replace("\r\n", "\n")  # GitHub's editor saves CRLF when someone ticks a box by hand


def find(tracker: "IssueTracker", marker: str) -> "Optional[Issue]":
    """The oldest labelled issue carrying ``marker``: if a duplicate ever appeared, keep using the first."""
    found = [issue for issue in tracker.labelled(LABEL) if marker in issue.body]
    return min(found, key=lambda issue: issue.number) if found else None


def sync(tracker: "IssueTracker", title: str, marker: str, body_for: Callable[[set[str]], str], may_create: bool,
         sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Update this quarter's issue (keeping ticked boxes), or open it when ``may_create``."""
    from tiergate.github import find_or_create

    def found(existing: "Issue") -> Outcome:
        old = _normalise(existing.body)
        body = body_for(ticked(old))
        if body == old and title == existing.title:
            return Outcome("unchanged", existing)
        return Outcome("updated", tracker.update(existing.number, title, body))

    def create() -> Outcome:
        return Outcome("opened", tracker.create(title, body_for(set()), [LABEL]))

    return find_or_create(lambda: find(tracker, marker), found, create if may_create else None, Outcome("skipped", None), sleep)


def open_issue(items: list[DueItem], total: int, day: dt.date, github_repo: Optional[str], dry_run: bool, update_only: bool,
               environ: Mapping[str, str], spend: "Optional[Spend]" = None, observed: str = "") -> str:
    """``tiergate review open-issue``: what to print (the dry-run issue, or what was done)."""
    name = quarter(day)
    heading = title(name)

    def body_for(keep: set[str]) -> str:
        return issue_body(items, total, day, name, keep, spend, observed)

    if dry_run:
        return f"{heading}\n\n{body_for(set())}"
    from tiergate import github  # PyGithub and its crypto stack load only for the one command that calls GitHub

    env = dict(environ)
    tracker = github.GitHubIssues(github.repository_from(github_repo, env), github.token_from_env(env), github.api_from_env(env))
    outcome = sync(tracker, heading, marker(name), body_for, may_create=bool(items) and not update_only)
    if outcome.issue is None:
        why = "nothing is due" if not items else "--update-only"
        return f"no {heading} issue exists and none was opened ({why}); {len(items)} of {total} assignment(s) due\n"
    return f"{outcome.action} #{outcome.issue.number} {outcome.issue.url} ({heading}: {len(items)} of {total} due)\n"
