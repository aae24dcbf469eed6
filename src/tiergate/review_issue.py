"""One review issue per quarter: found by label and hidden marker, then created or updated.

Listing the labelled issues (any state) and matching the marker is used instead of the search
API, whose index lags behind writes and whose rate limit is tight: a run right after another
must see the issue the first one made. A create is never retried blindly: after a failure the
issue list is read again, because a POST that timed out may still have created the issue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

from tiergate.errors import TierGateError
from tiergate.github import Issue, IssueTracker, Transient
from tiergate.review_report import LABEL, ticked

CREATE_ATTEMPTS = 3
MAX_CREATE_WAIT = 120.0  # seconds


@dataclass(frozen=True)
class Outcome:
    action: str  # opened | updated | unchanged | skipped
    issue: Optional[Issue]


def _normalise(body: str) -> str:
    return body.replace("\r\n", "\n")  # GitHub's editor saves CRLF when someone ticks a box by hand


def find(tracker: IssueTracker, marker: str) -> Optional[Issue]:
    """The oldest labelled issue carrying ``marker``: if a duplicate ever appeared, keep using the first."""
    found = [issue for issue in tracker.labelled(LABEL) if marker in issue.body]
    return min(found, key=lambda issue: issue.number) if found else None


def sync(tracker: IssueTracker, title: str, marker: str, body_for: Callable[[set[str]], str], may_create: bool,
         sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Update this quarter's issue (keeping ticked boxes), or open it when ``may_create``."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        existing = find(tracker, marker)
        if existing is not None:
            old = _normalise(existing.body)
            body = body_for(ticked(old))
            if body == old and title == existing.title:
                return Outcome("unchanged", existing)
            return Outcome("updated", tracker.update(existing.number, title, body))
        if not may_create:
            return Outcome("skipped", None)
        try:
            return Outcome("opened", tracker.create(title, body_for(set()), [LABEL]))
        except Transient as err:
            if attempt == CREATE_ATTEMPTS or err.wait > MAX_CREATE_WAIT:
                raise TierGateError(f"{err}; gave up after {attempt} attempt(s), run again later") from None
            sleep(err.wait)
    raise AssertionError("unreachable: the loop returns or raises")
