"""The sticky pull-request comment: the cost diff and the gate's verdict, one comment per pull request, kept current.

Reviewers look at the conversation, not at step summaries. ``tiergate comment`` runs the same
``check`` as the gate (same base, same data, so the same verdict) and keeps one comment, found by
a hidden marker at its start and written by an app or Actions (a person's comment that copies
the marker is never taken over), in step with the pull request:

- a pull request that changes a task's monthly cost gets the comment on the first push that does;
- every later push rewrites it in place, and says "no cost change" when a push took the change
  back out, rather than leaving a stale table;
- a push that leaves the text as it was sends nothing;
- a pull request that never touched cost gets no comment at all;
- the body stays under GitHub's 65,536-character limit: the table is cut (smallest changes
  first, the totals still count every task), saying so and linking the run;
- a token that may not write (a fork's pull request gets a read-only token) is a warning, not a
  failure: the gate's step summary has everything.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Optional

from tiergate.errors import TierGateError
from tiergate.findings import Finding, Result
from tiergate.report import costdiff as cost_report
from tiergate.report import markdown as md
from tiergate.report.verdict import summary_line, workflow_warning
from tiergate.rules.spend import COST_GUARD, COST_GUARD_BLOCKING

if TYPE_CHECKING:
    from tiergate.github import Comment, PullComments

MARKER = "<!-- tiergate:cost -->"
MAX_BODY = 65_536  # GitHub refuses a longer comment body (422)
LIMIT = MAX_BODY - 1_536  # room for what follows the table, whatever it is
FINDINGS_SHOWN = 20
MESSAGE_CHARS = 600
MAX_EVENT_BYTES = 8 * 1024 * 1024
SERVER = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*/?")


@dataclass(frozen=True)
class Outcome:
    action: str  # created | updated | unchanged | skipped | dry-run | read-only
    comment: "Optional[Comment]" = None
    warning: str = ""

    def report(self, number: int) -> str:
        where = f" {self.comment.url}" if self.comment is not None and self.comment.url else ""
        what = {"created": "created the cost comment", "updated": "updated the cost comment", "unchanged": "the cost comment is current",
                "skipped": "no cost change and no cost comment: nothing posted", "read-only": "the cost comment was not written"}
        return f"pull request #{number}: {what.get(self.action, self.action)}{where}\n"


# --- the body -------------------------------------------------------------------------------------


def run_url(environ: Mapping[str, str]) -> Optional[str]:
    """The Actions run this is part of: GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID."""
    from tiergate.github import REPO_PATTERN

    server, repository, run = (environ.get(k, "").strip() for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if not (SERVER.fullmatch(server) and REPO_PATTERN.fullmatch(repository) and run.isdigit()):
        return None  # a link the comment could not quote safely
    return f"{server.rstrip('/')}/{repository}/actions/runs/{run}"


def _findings(findings: list[Finding]) -> list[str]:
    """Errors first; every quoted value in a code span (no mention, link or HTML can come from a policy file)."""
    ordered = sorted(findings, key=lambda f: (f.severity != "error", f.sort_key()))
    lines = [f"- **{f.severity}** {f.id} {f.name} {md.code(f'{f.file}:{f.line}' if f.line else f.file)}: "
             f"{md.code(f.message if len(f.message) <= MESSAGE_CHARS else f.message[:MESSAGE_CHARS] + ' …')}" for f in ordered[:FINDINGS_SHOWN]]
    if len(ordered) > FINDINGS_SHOWN:
        lines.append(f"- … and {len(ordered) - FINDINGS_SHOWN} more in the run's step summary")
    return lines


def _compose(result: Result, link: Optional[str], rows: Optional[int]) -> str:
    diff = result.cost_diff
    verdict = "passed" if result.ok else "failed"
    parts = [MARKER, f"## tiergate: cost of this pull request (gate {verdict})", "", summary_line(result), ""]
    if diff is not None and not diff.priced:
        parts += ["**Cost not computed**: the catalog does not load on this push; see the findings.", ""]
    elif diff is None or not diff.tasks:
        parts += ["**No cost change**: as of this push, no task's monthly cost moves.", ""]
    else:
        parts += [cost_report.markdown(diff, rows)]
        if rows is not None and rows < len(diff.tasks):
            where = f"[the run's step summary]({link})" if link else "the policy-gate run's step summary"
            parts += [f"The table shows the {rows} largest of {len(diff.tasks)} changes to stay within GitHub's "
                      f"{MAX_BODY:,}-character limit; {where} has every row.", ""]
    findings = result.sorted()
    if diff is not None and diff.approver and any(f.rule in (COST_GUARD, COST_GUARD_BLOCKING) for f in findings):
        # the approver comes from the base branch's catalog (merged, reviewed), so it may be mentioned
        parts += [f"**Above the cost guard**: {md.owner(diff.approver)} must approve this increase.", ""]
    if findings:
        parts += ["### Findings", "", *_findings(findings), ""]
    if link:
        parts += [f"[Full report of this run]({link})", ""]
    return "\n".join(parts)


def body(result: Result, link: Optional[str]) -> str:
    """The comment for this push: every row when it fits, else as many of the largest changes as fit."""
    text = _compose(result, link, None)
    tasks = len(result.cost_diff.tasks) if result.cost_diff is not None else 0
    if len(text) <= LIMIT or tasks == 0:
        return text[: MAX_BODY - 1]
    low, high = 0, tasks - 1  # the most rows that fit: binary search, bounded by the row count
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if len(_compose(result, link, mid)) <= LIMIT else (low, mid - 1)
    return _compose(result, link, low)[: MAX_BODY - 1]


# --- where to write it ----------------------------------------------------------------------------


def pull_number(option: Optional[int], environ: Mapping[str, str]) -> int:
    """--pr, else the pull request of the Actions event (GITHUB_EVENT_PATH)."""
    if option is not None:
        return option
    path = environ.get("GITHUB_EVENT_PATH", "").strip()
    if not path:
        raise TierGateError("no pull request: pass --pr N (in Actions, GITHUB_EVENT_PATH names the event of a pull_request run)")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_EVENT_BYTES + 1)
        if len(data) > MAX_EVENT_BYTES:
            raise ValueError(f"larger than {MAX_EVENT_BYTES // (1024 * 1024)} MiB")
        event = json.loads(data)
    except (OSError, ValueError) as err:
        raise TierGateError(f"cannot read the event file GITHUB_EVENT_PATH={path}: {err}; pass --pr N") from None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise TierGateError(f"the event in {path} is not a pull request's (no pull_request.number); run on `pull_request` or pass --pr N")
    return number


def sticky(comments: Iterable["Comment"], me: Optional[str] = None) -> "Optional[Comment]":
    """The oldest comment that starts with the marker and was written by an app or Actions (or by the token's
    own user, ``me``), never one a person wrote: its author could edit it back after the run."""
    found = [c for c in comments if (c.bot or (me is not None and c.author == me)) and c.body.startswith(MARKER)]
    return min(found, key=lambda c: c.id) if found else None


def sync(client: "PullComments", number: int, text: str, has_cost: bool, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Write ``text`` into the pull request's cost comment; create one only when the change moves cost."""
    from tiergate.github import find_or_create

    def found(existing: "Comment") -> Outcome:
        if existing.body.replace("\r\n", "\n") == text:
            return Outcome("unchanged", existing)
        return Outcome("updated", client.update(existing.id, text))

    def create() -> Outcome:
        return Outcome("created", client.create(number, text))

    me = client.me()
    return find_or_create(lambda: sticky(client.comments(number), me), found, create if has_cost else None, Outcome("skipped"), sleep)


def comment(root: Path, base_ref: str, now: dt.datetime, pr: Optional[int], github_repo: Optional[str], dry_run: bool,
            environ: Mapping[str, str]) -> tuple[str, Outcome]:
    """``tiergate comment``: run the gate's check and keep the pull request's cost comment current; (what to print, outcome)."""
    from tiergate import engine

    result = engine.check(root, base_ref, now)
    text = body(result, run_url(environ))
    has_cost = result.cost_diff is not None and bool(result.cost_diff.tasks)
    if dry_run:
        return text, Outcome("dry-run")
    from tiergate import github  # PyGithub loads only when GitHub is called

    env = dict(environ)
    number = pull_number(pr, env)
    client = github.PullComments(github.repository_from(github_repo, env), github.token_from_env(env), github.api_from_env(env))
    try:
        outcome = sync(client, number, text, has_cost)
    except github.Forbidden as err:
        outcome = Outcome("read-only", warning=f"{err}. A pull request from a fork gets a read-only token, so no comment can be "
                                               "written; the gate's step summary has the cost table")
    text = outcome.report(number)
    if outcome.warning and env.get("GITHUB_ACTIONS") == "true":  # shown on the run's page, not only in its log
        text = workflow_warning("tiergate comment", outcome.warning) + "\n" + text
    return text, outcome
