"""A small GitHub REST server on 127.0.0.1 for the review-issue and pull-request comment tests.

It implements the endpoints tiergate uses (list a repository's issues by label, create one,
update one; list a pull request's comments, create one, update one) with GitHub's status codes,
headers and error bodies, records every request, and can be told to fail the next matching
requests (rate limits, 5xx, bad credentials) or to answer writes as a fork's read-only token does.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_test_token_0123456789"
DOCS = "https://docs.github.com/rest"
MAX_BODY = 65_536
BOT = {"login": "github-actions[bot]", "type": "Bot"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    method: str
    path: str  # regular expression on the path
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"
    apply_anyway: bool = False  # the request takes effect, yet the client sees the error (a lost response)


class FakeGitHub:
    def __init__(self, owner_repo: str = "acme/policy") -> None:
        self.repo = owner_repo
        self.issues: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []  # every pull request's conversation comments, each with its "issue"
        self.read_only = False  # answer every write 403, as GitHub does for a fork's pull request token
        self.user: Optional[dict[str, str]] = None  # the token's user (a personal token); None: an app's token (GET /user is 403)
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeGitHub":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def fail(self, method: str, path: str, status: int, times: int = 1, **kwargs: Any) -> None:
        self.faults.extend(Fault(method, path, status, **kwargs) for _ in range(times))

    def add_issue(self, title: str, body: str, labels: list[str], state: str = "open", pull_request: bool = False) -> dict[str, Any]:
        number = len(self.issues) + 1
        issue = {"number": number, "title": title, "body": body, "state": state,
                 "labels": [{"name": name} for name in labels],
                 "html_url": f"https://github.example/{self.repo}/issues/{number}"}
        if pull_request:
            issue["pull_request"] = {"url": f"{self.url}/repos/{self.repo}/pulls/{number}"}
        self.issues.append(issue)
        return issue

    def add_comment(self, number: int, body: str, user: Optional[dict[str, str]] = None) -> dict[str, Any]:
        comment_id = 1000 + len(self.comments)
        comment = {"id": comment_id, "issue": number, "body": body, "user": dict(user or self.user or BOT),
                   "html_url": f"https://github.example/{self.repo}/pull/{number}#issuecomment-{comment_id}"}
        self.comments.append(comment)
        return comment

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["issue"] == number]

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("POST", "PATCH")]

    # --- the HTTP side ---------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_PATCH(self) -> None:
                fake._serve(self, "PATCH")

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        request = Request(method, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                          {k.lower(): v for k, v in handler.headers.items()}, body)
        with self.lock:
            self.requests.append(request)
            status, headers, payload = self._respond(request)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        base = {"Content-Type": "application/json; charset=utf-8", "X-GitHub-Media-Type": "github.v3; format=json",
                "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", "X-RateLimit-Reset": str(int(time.time()) + 3600),
                "X-RateLimit-Used": "1", "X-RateLimit-Resource": "core"}
        for key, value in (base | headers).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _respond(self, request: Request) -> tuple[int, dict[str, str], Any]:
        if request.headers.get("authorization", "").split()[-1:] != [TOKEN]:
            return 401, {}, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
        fault = self._take_fault(request)
        if fault is not None and not fault.apply_anyway:
            return fault.status, fault.headers, {"message": fault.message, "documentation_url": DOCS, "status": str(fault.status)}
        result = self._route(request)
        if fault is not None:
            return fault.status, fault.headers, {"message": fault.message, "documentation_url": DOCS}
        return result

    def _take_fault(self, request: Request) -> Optional[Fault]:
        for index, fault in enumerate(self.faults):
            if fault.method == request.method and re.fullmatch(fault.path, request.path):
                return self.faults.pop(index)
        return None

    def _route(self, request: Request) -> tuple[int, dict[str, str], Any]:
        base = f"/repos/{self.repo}/issues"
        if self.read_only and request.method in ("POST", "PATCH"):
            return 403, {}, {"message": "Resource not accessible by integration", "documentation_url": DOCS, "status": "403"}
        if request.path == "/user" and request.method == "GET":
            if self.user is None:
                return 403, {}, {"message": "Resource not accessible by integration", "documentation_url": DOCS, "status": "403"}
            return 200, {}, dict(self.user)
        answer = self._comment_route(base, request)
        if answer is not None:
            return answer
        if request.path == base and request.method == "GET":
            return self._list(request)
        if request.path == base and request.method == "POST":
            body = request.body or {}
            if not body.get("title"):
                return 422, {}, {"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}]}
            return 201, {}, self.add_issue(body["title"], body.get("body") or "", body.get("labels") or [])
        match = re.fullmatch(re.escape(base) + r"/(\d+)", request.path)
        if match and request.method == "PATCH":
            issue = next((i for i in self.issues if i["number"] == int(match.group(1))), None)
            if issue is None:
                return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
            issue.update({k: v for k, v in (request.body or {}).items() if k in ("title", "body", "state")})
            return 200, {}, issue
        return 404, {}, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}

    def _comment_route(self, base: str, request: Request) -> Optional[tuple[int, dict[str, str], Any]]:
        listing = re.fullmatch(re.escape(base) + r"/(\d+)/comments", request.path)
        one = re.fullmatch(re.escape(base) + r"/comments/(\d+)", request.path)
        if listing is None and one is None:
            return None
        body = (request.body or {}).get("body")
        if request.method in ("POST", "PATCH") and (not isinstance(body, str) or len(body) > MAX_BODY):
            return 422, {}, {"message": "Validation Failed", "documentation_url": DOCS,
                             "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                                         "message": "body is too long (maximum is 65536 characters)"}]}
        if listing and request.method == "GET":
            return self._page(request, self.comments_on(int(listing.group(1))))
        if listing and request.method == "POST":
            return 201, {}, self.add_comment(int(listing.group(1)), body)
        if one and request.method == "PATCH":
            comment = next((c for c in self.comments if c["id"] == int(one.group(1))), None)
            if comment is None:
                return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
            comment["body"] = body
            return 200, {}, comment
        return 404, {}, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}

    def _page(self, request: Request, items: list[dict[str, Any]]) -> tuple[int, dict[str, str], Any]:
        per_page, page = int(request.query.get("per_page", 30)), int(request.query.get("page", 1))
        window = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            headers["Link"] = f'<{self.url}{request.path}?page={page + 1}>; rel="next"'
        return 200, headers, window

    def _list(self, request: Request) -> tuple[int, dict[str, str], Any]:
        label, state = request.query.get("labels"), request.query.get("state", "open")
        chosen = [i for i in reversed(self.issues)  # newest first, as GitHub sorts by default
                  if (label is None or label in [lab["name"] for lab in i["labels"]]) and (state == "all" or i["state"] == state)]
        return self._page(request, chosen)
