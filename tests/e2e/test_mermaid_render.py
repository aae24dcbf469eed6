"""The Mermaid charts tiergate writes, parsed and drawn by Mermaid itself in headless Chromium.

GitHub draws a ```mermaid block with Mermaid; a block it cannot parse shows an error instead of the chart, and a
label that escaped its string would change the chart. Here Mermaid's own browser bundle (the npm package
`mermaid`, pinned in `.ci/run`, which sets `TIERGATE_MERMAID_JS` to its `dist/mermaid.min.js` and
`TIERGATE_REQUIRE_MERMAID=1`) renders the review issue's charts and charts of hostile names, and the test reads
what it drew. Skipped without the bundle or Chromium outside `.ci/run`.
"""

from __future__ import annotations

import html
import os
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from browser import chromium, require
from conftest import cli
from tiergate.report import mermaid

require()
BUNDLE = os.environ.get("TIERGATE_MERMAID_JS", "")
if os.environ.get("TIERGATE_REQUIRE_MERMAID") == "1":
    assert BUNDLE and Path(BUNDLE).is_file(), "TIERGATE_REQUIRE_MERMAID=1 but TIERGATE_MERMAID_JS names no file"
elif not (BUNDLE and Path(BUNDLE).is_file()):
    pytest.skip("set TIERGATE_MERMAID_JS to mermaid's dist/mermaid.min.js (npm pack mermaid)", allow_module_level=True)

HOSTILE = ['quote" ]\n```\n# heading', "back`tick``` and ```", "close ] bracket ] [open", "%%{init: {'theme':'dark'}}%% comment",
           "a --> b ; c : 5", "<img src=x onerror=alert(1)>", "&#34; #quot; entity", "x" * 80]
BLOCK = re.compile(r"^```mermaid\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def render(tmp_path: Path, blocks: list[str]) -> str:
    """The DOM after Mermaid ran on ``blocks`` (the text inside each fence), strict security level as on GitHub."""
    pres = "".join(f'<pre class="mermaid">{html.escape(block)}</pre>' for block in blocks)
    page = tmp_path / "charts.html"
    page.write_text(
        f'<!DOCTYPE html><html><body>{pres}<script src="{Path(BUNDLE).resolve().as_uri()}"></script><script>'
        'mermaid.initialize({startOnLoad: false, securityLevel: "strict"});'
        'mermaid.run().then(() => document.body.setAttribute("data-done", "1"))'
        '.catch(e => document.body.setAttribute("data-failed", (e && e.message) || String(e)));</script></body></html>', encoding="utf-8")
    dom = chromium(page, "--allow-file-access-from-files", "--virtual-time-budget=20000", "--dump-dom")
    assert 'data-done="1"' in dom, re.findall(r'data-failed="[^"]*"', dom) or dom[-2000:]
    return dom


def drawn(dom: str) -> list[str]:
    return re.findall(r'aria-roledescription="([\w-]+)"', dom)


def texts(dom: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", dom)] + \
        [html.unescape(t) for t in re.findall(r"<span[^>]*>([^<]*)</span>", dom)]


def test_hostile_labels_draw_as_plain_labels(tmp_path):
    values = [Decimal(i + 1) for i in range(len(HOSTILE))]
    blocks = [mermaid.bar_chart(HOSTILE[0], HOSTILE, [mermaid.Series(values)], horizontal=True),
              mermaid.bar_chart("past and future", HOSTILE[:3], [mermaid.Series(values[:3]), mermaid.Series(values[:3], "line")]),
              mermaid.pie_chart(HOSTILE[5], list(zip(HOSTILE, values)))]
    dom = render(tmp_path, [BLOCK.search(b).group(1) for b in blocks])
    assert drawn(dom) == ["xychart", "xychart", "pie"]  # no "error" diagram
    shown = texts(dom)
    for name in HOSTILE:
        assert mermaid.label(name) in shown, name  # each label drawn whole, as one text
    elements = Elements()
    elements.feed(dom)
    assert "img" not in elements.tags and elements.tags.count("script") == 2 and "iframe" not in elements.tags
    assert not [name for name in elements.attributes if name.startswith("on")]  # no event handler came through


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


def test_the_review_issue_charts_render(repo, capsys, tmp_path):
    run = cli(capsys, "review", "open-issue", "--repo", str(repo.root), "--as-of", "2027-02-01", "--dry-run")
    assert run.code == 0, run.err
    blocks = BLOCK.findall(run.out)
    assert len(blocks) == 2
    dom = render(tmp_path, blocks)
    assert drawn(dom) == ["pie", "xychart"]
    shown = texts(dom)
    assert "rag-answer" in shown and "mid" in shown
