"""`tiergate cost --format html`: one self-contained page, opened in a real headless Chromium.

Needs Debian's `chromium` package (see tests/browser.py: skipped without it, except under `.ci/run`, which sets
`TIERGATE_REQUIRE_CHROMIUM=1`). Chromium runs with every host name mapped to nowhere but 127.0.0.1, and
a local HTTP server records any request a page makes: a control page proves the recorder sees an image fetch,
the same page under tiergate's Content-Security-Policy proves the policy blocks it, and the real page (with
hostile text in the policy) must make none.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import struct
import subprocess
import threading
import zlib
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from browser import chromium, require
from conftest import EXAMPLE_PARTS, PROJECT, Repo, cli
from tiergate.report import html as html_report

require()

RAG = "policy/tasks/rag-answer.yaml"
HOSTILE_NOTE = ('<img src="http://127.0.0.1:{port}/note.png"> <script>document.title="pwned"</script> '
                '<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css"><style>@import url(http://127.0.0.1:{port}/i.css)</style>'
                '</td></tr></table><iframe src="http://127.0.0.1:{port}/frame"></iframe> &amp; "quotes" \'single\'')


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    Recorder.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], Recorder.seen
    httpd.shutdown()
    httpd.server_close()


class Text(HTMLParser):
    """The text a reader sees, the elements present, and every attribute value."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [v or "" for _, v in attrs]
        if tag in ("style", "title"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("style", "title") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def parsed(markup: str) -> Text:
    out = Text()
    out.feed(markup)
    return out


def usd_month(value: str) -> str:
    return f"${Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def usd_call(value: str) -> str:
    digits = format(Decimal(value).quantize(Decimal("1e-8"), rounding=ROUND_HALF_UP), "f").rstrip("0")
    whole, _, frac = digits.partition(".")
    return f"${whole}.{frac.ljust(2, '0')}"


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Repo:
    root = tmp_path_factory.mktemp("html") / "repo"
    root.mkdir()
    for part in EXAMPLE_PARTS:
        src = PROJECT / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / part)
    return Repo(root)


@pytest.fixture(scope="module")
def rendered(example, tmp_path_factory):
    """The example's page written with -o, its JSON figures, and its DOM as Chromium built it."""
    out = tmp_path_factory.mktemp("page")
    page = out / "cost.html"
    figures = run_cli(["cost", "--repo", str(example.root), "--format", "json"])
    assert run_cli(["cost", "--repo", str(example.root), "--format", "html", "-o", str(page)]) == ""
    dom = chromium(page, "--dump-dom")
    return page, json.loads(figures), dom, out


def run_cli(args: list[str]) -> str:
    import sys

    done = subprocess.run([sys.executable, "-m", "tiergate", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_chromium_renders_the_numbers_of_tiergate_cost(rendered):
    _, figures, dom, _ = rendered
    text = parsed(dom).text
    assert "What each task costs" in text
    for task in figures["tasks"]:
        assert task["task"] in text
        assert usd_month(task["monthly"]) in text, task["task"]
        assert usd_call(task["all_in_per_call"]) in text, task["task"]
        for tier, value in task["direct_per_call_by_tier"].items():
            assert usd_call(value) in text
    totals = figures["totals"]
    for scope in list(totals["by_class"].values()) + [totals["overall"]]:
        for key in ("monthly", "all_on_top_tier", "all_on_lowest_tier", "saving_vs_top_tier", "saving_vs_lowest_tier"):
            assert usd_month(scope[key]) in text, key
    by_tier = {tier: Decimal(0) for tier in figures["tiers"]}
    for task in figures["tasks"]:
        by_tier[task["tier"]] += Decimal(task["monthly"])
    svgs = re.findall(r"<svg.*?</svg>", dom, re.DOTALL)
    assert len(svgs) == 4  # by tier, by class, counterfactuals, per task
    tier_chart = parsed(svgs[0]).text
    for tier, amount in by_tier.items():
        assert f"{tier} {usd_month(str(amount))}" in tier_chart
    classes = len(totals["by_class"])
    bars = [len(re.findall(r"<rect ", svg_)) for svg_ in svgs]
    assert bars == [len(figures["tiers"]), classes, 3 + 3 * (classes + 1), len(figures["tasks"])]  # 3 legend swatches


def test_the_page_loads_nothing(rendered):
    page, _, dom, _ = rendered
    markup = page.read_text(encoding="utf-8")
    assert not re.search(r"https?:|//|url\(|@import|<script|<link|<iframe|<img|src=|href=", markup, re.IGNORECASE)
    assert f'content="{html_report.CSP}"' in dom  # the policy reached the browser
    tags = set(parsed(dom).tags)
    assert tags <= {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p", "section", "div", "figure",
                    "figcaption", "svg", "text", "rect", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "footer", "code"}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def png_pixels(data: bytes) -> bytes:
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + length])
        at += 12 + length
    return zlib.decompress(b"".join(chunks))


def test_screenshot_is_a_drawn_page(rendered):
    page, _, _, out = rendered
    shot = out / "cost.png"
    chromium(page, "--hide-scrollbars", "--window-size=1280,2200", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert png_size(data) == (1280, 2200)
    pixels = png_pixels(data)
    assert len(set(pixels)) > 64  # text, bars in several colours, table rules: not a blank page


def test_control_page_is_fetched_without_the_policy_and_blocked_with_it(tmp_path, server):
    port, seen = server
    control = tmp_path / "control.html"
    control.write_text(f'<!DOCTYPE html><p>x</p><img src="http://127.0.0.1:{port}/control.png">', encoding="utf-8")
    chromium(control, "--dump-dom")
    assert "/control.png" in seen  # the recorder sees what a page fetches
    guarded = tmp_path / "guarded.html"
    guarded.write_text(f'<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="{html_report.CSP}">'
                       f'<p>x</p><img src="http://127.0.0.1:{port}/guarded.png">', encoding="utf-8")
    chromium(guarded, "--dump-dom")
    assert "/guarded.png" not in seen  # tiergate's policy alone stops a fetch


def test_hostile_policy_text_stays_text_and_fetches_nothing(example, tmp_path, server):
    port, seen = server
    repo = Repo(tmp_path / "repo")
    shutil.copytree(example.root, repo.root)
    note = HOSTILE_NOTE.format(port=port)
    text = repo.read(RAG)
    start = text.index("  note: ")
    end = text.index("\n", start)
    repo.write(RAG, text[:start] + "  note: " + json.dumps(note) + text[end:])
    page = tmp_path / "hostile.html"
    run_cli(["cost", "--repo", str(repo.root), "--task", "rag-answer", "--format", "html", "-o", str(page)])
    before = list(seen)
    dom = chromium(page, "--dump-dom")
    assert seen == before, seen  # nothing was requested
    found = parsed(dom)
    assert " ".join(f"note: {note}".split()) in found.text  # shown as the text it is
    assert not {"img", "script", "link", "iframe"} & set(found.tags)
    assert "<title>tiergate cost report</title>" in dom  # the script did not run


def test_html_without_output_goes_to_stdout_and_o_refuses_a_symlink(example, tmp_path, capsys):
    run = cli(capsys, "cost", "--repo", str(example.root), "--format", "html")
    assert run.code == 0 and run.out.startswith("<!DOCTYPE html>") and run.out.endswith("</html>\n")
    target = tmp_path / "elsewhere.html"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    run = cli(capsys, "cost", "--repo", str(example.root), "--format", "html", "-o", str(link))
    assert run.code == 2 and "refusing to write" in run.err and "Traceback" not in run.err
    assert target.read_text(encoding="utf-8") == "keep me"
