"""The GitHub issues API (the review issue, pull-request comments) behind a small interface, through PyGithub.

PyGithub carries the transport: token auth, a configurable API root (GitHub Enterprise),
``X-GitHub-Api-Version``, and ``GithubRetry``, which honours primary rate limits
(``x-ratelimit-reset``), secondary ones (``retry-after``) and backs off on 5xx. tiergate adds
what the library cannot know: the ``Accept`` header GitHub documents, which methods are safe to
repeat (GET and PATCH are; a POST that creates an issue is not, so ``create`` never retries by
itself and the caller re-checks for the issue first), and errors that say which permission is
missing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
import time
from typing import Any, Callable, Iterator, Optional, Protocol, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry

from tiergate.errors import TierGateError

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
HEADERS = {"Accept": "application/vnd.github+json"}
PER_PAGE = 100
MAX_PAGES = 50  # 5,000 labelled issues: far more than a quarterly issue per year will ever make
RETRIES = 4
MAX_RATE_LIMIT_WAIT = 600.0  # seconds; a longer reset fails with a message instead of stalling the job
CREATE_ATTEMPTS = 3
MAX_CREATE_WAIT = 120.0  # seconds
T = TypeVar("T")
R = TypeVar("R")
REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    body: str
    url: str
    state: str


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    url: str
    author: str  # login
    bot: bool  # written by an app or by Actions (GitHub's user.type "Bot")


class Forbidden(TierGateError):
    """A 403 that is not a rate limit: the token may not do this (a fork's pull request gets a read-only token)."""


class Transient(TierGateError):
    """A write that did not happen for a reason that may pass: retry after ``wait`` seconds."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


class IssueTracker(Protocol):
    def labelled(self, label: str) -> Iterator[Issue]: ...

    def create(self, title: str, body: str, labels: list[str]) -> Issue: ...

    def update(self, number: int, title: str, body: str) -> Issue: ...


def _issue(data: dict[str, Any]) -> Issue:
    return Issue(int(data["number"]), data.get("title") or "", data.get("body") or "", data.get("html_url") or "", data.get("state") or "")


def _comment(data: dict[str, Any]) -> Comment:
    user = data.get("user") or {}
    return Comment(int(data["id"]), data.get("body") or "", data.get("html_url") or "", str(user.get("login") or ""),
                   user.get("type") == "Bot")


class _Repository:
    """One repository's API through PyGithub's requester: retries, and errors that name the missing permission."""

    scope = "issues"  # the workflow permission the writes need
    scope_title = "Issues"  # the same, as a fine-grained token names it

    def __init__(self, repository: str, token: str, api_url: str = DEFAULT_API, timeout: int = 30) -> None:
        if not REPO_PATTERN.match(repository):
            raise TierGateError(f"'{repository}' is not OWNER/NAME; pass --github-repo or set GITHUB_REPOSITORY")
        self.repository = repository
        retry = GithubRetry(total=RETRIES, backoff_factor=1, max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
                            status_forcelist=list(range(500, 600)) + [429], allowed_methods={"GET", "PATCH"})
        self._github = Github(auth=Auth.Token(token), base_url=api_url.rstrip("/"), timeout=timeout, retry=retry,
                              api_version=API_VERSION, per_page=PER_PAGE, seconds_between_requests=None,
                              seconds_between_writes=None)
        self._path = f"/repos/{repository}/issues"

    def _call(self, verb: str, url: str, purpose: str, **kwargs: Any) -> tuple[dict[str, Any], Any]:
        try:
            return self._github.requester.requestJsonAndCheck(verb, url, headers=dict(HEADERS), **kwargs)
        except GithubException as err:
            raise self._explain(err, purpose) from None
        except requests.exceptions.RetryError as err:
            raise TierGateError(f"GitHub kept failing while trying to {purpose} in {self.repository} after {RETRIES} retries "
                                f"({err}); try again later") from None
        except requests.exceptions.RequestException as err:
            raise TierGateError(f"cannot reach the GitHub API to {purpose}: {type(err).__name__}: {err}") from None

    def _explain(self, err: GithubException, purpose: str) -> TierGateError:
        data = err.data if isinstance(err.data, dict) else {}
        said = data.get("message") or str(err.data or "")
        status = err.status
        write = purpose.startswith(("create", "update"))
        permission = f"{self.scope}: write" if write else f"{self.scope}: read"
        if status == 401:
            return TierGateError(f"GitHub rejected the token (401 {said}): GITHUB_TOKEN is missing, expired or revoked; "
                                 "in Actions pass `secrets.GITHUB_TOKEN` in the step's env")
        if status in (403, 429) and _rate_limited(err):
            wait = _wait_seconds(err.headers or {})
            if write:
                return Transient(f"GitHub rate limit hit while trying to {purpose} ({status} {said})", wait)
            return TierGateError(f"GitHub rate limit still exhausted while trying to {purpose} ({status} {said}); "
                                 f"it resets in about {wait:.0f} s: run again later")
        if status == 403:
            return Forbidden(f"GitHub refused to {purpose} in {self.repository} (403 {said}): the token lacks `{permission}`; "
                             f"give the workflow job `permissions: {permission}` (a fine-grained token needs {self.scope_title} "
                             f"{'read and write' if write else 'read'})")
        if status == 404:
            return TierGateError(f"GitHub cannot find {self.repository} (404 {said}): check --github-repo / GITHUB_REPOSITORY and "
                                 "GITHUB_API_URL, and that the token can see the repository (GitHub answers 404, not 403, "
                                 "for private repositories it hides)")
        if status == 410:
            return TierGateError(f"issues are disabled in {self.repository} (410 {said}); enable them in the repository settings")
        if status >= 500 and write:
            return Transient(f"GitHub failed while trying to {purpose} ({status} {said})", 2.0)
        return TierGateError(f"GitHub answered {status} while trying to {purpose} in {self.repository}: {said}")


class GitHubIssues(_Repository):
    """Issues of one repository."""

    def labelled(self, label: str) -> Iterator[Issue]:
        """Issues (not pull requests) with ``label``, open or closed, newest first, page by page."""
        for page in range(1, MAX_PAGES + 1):
            _, data = self._call("GET", self._path, f"list issues labelled '{label}'",
                                 parameters={"labels": label, "state": "all", "per_page": PER_PAGE, "page": page})
            if not isinstance(data, list):
                raise TierGateError(f"GitHub returned an unexpected issue list for {self.repository}")
            yield from (_issue(item) for item in data if "pull_request" not in item)
            if len(data) < PER_PAGE:
                return
        raise TierGateError(f"more than {MAX_PAGES * PER_PAGE} issues carry the label '{label}' in {self.repository}; "
                            "close and relabel old ones")

    def create(self, title: str, body: str, labels: list[str]) -> Issue:
        _, data = self._call("POST", self._path, "create the review issue", input={"title": title, "body": body, "labels": labels})
        return _issue(data)

    def update(self, number: int, title: str, body: str) -> Issue:
        _, data = self._call("PATCH", f"{self._path}/{number}", f"update issue #{number}", input={"title": title, "body": body})
        return _issue(data)


class PullComments(_Repository):
    """The conversation comments of one repository's pull requests (GitHub serves them as issue comments)."""

    scope = "pull-requests"
    scope_title = "Pull requests"

    def me(self) -> Optional[str]:
        """The token's own login, for a personal or machine-user token; None for an app's or Actions' token
        (GitHub answers 403 to those), whose comments are told apart by their author being a bot."""
        try:
            _, data = self._call("GET", "/user", "read the token's user")
        except Forbidden:
            return None
        login = data.get("login") if isinstance(data, dict) else None
        return login if isinstance(login, str) and login else None

    def comments(self, number: int) -> Iterator[Comment]:
        """Every comment on pull request ``number``, oldest first, page by page (bounded)."""
        for page in range(1, MAX_PAGES + 1):
            _, data = self._call("GET", f"{self._path}/{number}/comments", f"list the comments of pull request #{number}",
                                 parameters={"per_page": PER_PAGE, "page": page})
            if not isinstance(data, list):
                raise TierGateError(f"GitHub returned an unexpected comment list for {self.repository}#{number}")
            yield from (_comment(item) for item in data)
            if len(data) < PER_PAGE:
                return
        raise TierGateError(f"pull request #{number} has more than {MAX_PAGES * PER_PAGE} comments; tiergate stops reading there")

    def create(self, number: int, body: str) -> Comment:
        _, data = self._call("POST", f"{self._path}/{number}/comments", f"create a comment on pull request #{number}",
                             input={"body": body})
        return _comment(data)

    def update(self, comment_id: int, body: str) -> Comment:
        _, data = self._call("PATCH", f"{self._path}/comments/{comment_id}", f"update comment {comment_id}", input={"body": body})
        return _comment(data)


def find_or_create(find: Callable[[], Optional[T]], found: Callable[[T], R], create: Optional[Callable[[], R]], skipped: R,
                   sleep: Callable[[float], None] = time.sleep) -> R:
    """Act on the one object ``find`` returns (``found``), else ``create`` it (or return ``skipped`` when None).

    A create is never retried blindly: after a transient failure the list is read again first,
    because a POST whose answer was lost may still have created the object.
    """
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        existing = find()
        if existing is not None:
            return found(existing)
        if create is None:
            return skipped
        try:
            return create()
        except Transient as err:
            if attempt == CREATE_ATTEMPTS or err.wait > MAX_CREATE_WAIT:
                raise TierGateError(f"{err}; gave up after {attempt} attempt(s), run again later") from None
            sleep(err.wait)
    raise AssertionError("unreachable: the loop returns or raises")


def _rate_limited(err: GithubException) -> bool:
    headers = {k.lower(): v for k, v in (err.headers or {}).items()}
    message = str((err.data or {}).get("message", "") if isinstance(err.data, dict) else err.data).lower()
    return "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message


def _wait_seconds(headers: dict[str, str]) -> float:
    """Seconds GitHub asks us to wait: retry-after, else until x-ratelimit-reset, else a minute."""
    lower = {k.lower(): v for k, v in headers.items()}
    if str(lower.get("retry-after", "")).isdigit():
        return float(lower["retry-after"])
    reset = str(lower.get("x-ratelimit-reset", ""))
    if reset.isdigit():
        return max(0.0, int(reset) - dt.datetime.now(dt.timezone.utc).timestamp()) + 1
    return 60.0


def token_from_env(environ: dict[str, str]) -> str:
    token = environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise TierGateError("GITHUB_TOKEN is not set; in Actions add `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` to the step "
                            "(or use --dry-run to see what would be written without calling GitHub)")
    return token


def api_from_env(environ: dict[str, str]) -> str:
    return environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API


def repository_from(option: Optional[str], environ: dict[str, str]) -> str:
    name = option or environ.get("GITHUB_REPOSITORY", "").strip()
    if not name:
        raise TierGateError("no repository: pass --github-repo OWNER/NAME (Actions sets GITHUB_REPOSITORY)")
    return name
