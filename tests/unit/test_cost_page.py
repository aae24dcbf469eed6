"""The HTML cost page and its SVG charts against hostile names, without a browser (test_cost_html.py has one)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from conftest import PROJECT
from tiergate import cost
from tiergate.findings import Finding
from tiergate.loading import WorkTree
from tiergate.policy import load_policy
from tiergate.report import costs, svg
from tiergate.rules import REGISTRY

HOSTILE = ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "</td></tr></table><h1>big</h1>",
           "&amp; &lt; entity", "' onmouseover='x", "]]> <![CDATA[ x", "<!-- comment", "new\nline"]
ALLOWED = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p", "section", "div", "figure", "figcaption",
           "svg", "text", "rect", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "footer", "code"}


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.data: list[str] = []
        self.attrs: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [f"{k}={v}" for k, v in attrs]

    def handle_data(self, data):
        self.data.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


@pytest.fixture(scope="module")
def view() -> cost.CostView:
    policy = load_policy(WorkTree(PROJECT))
    report = cost.build(policy, dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))
    tasks = [dataclasses.replace(item, contract=item.contract.model_copy(update={"task": HOSTILE[i % len(HOSTILE)] + f" {i}"}))
             for i, item in enumerate(report.tasks)]
    classes = {HOSTILE[0]: report.overall}
    findings = [Finding(REGISTRY["TG604"], f"policy/tasks/{name}.yaml", 3, f"message {name}") for name in HOSTILE]
    return cost.CostView(dataclasses.replace(report, tasks=tasks, by_class=classes), findings, True)


def test_hostile_names_are_text_in_the_page(view):
    page = costs.FORMATS.render("html", view)
    found = Collect()
    found.feed(page)
    assert set(found.tags) <= ALLOWED, set(found.tags) - ALLOWED
    assert found.tags.count("h1") == 1 and not found.comments
    assert not any(a.startswith(("onerror", "onmouseover", "src", "href")) for a in found.attrs)
    text = "".join(found.data)
    for name in HOSTILE:
        assert name.split("\n")[0] in text  # every name is shown, as text


def test_svg_escapes_and_shortens_long_names_keeping_them_in_the_tooltip():
    long_name = "<b>" + "x" * 60
    chart = svg.bar_chart('t"<', [svg.Group(long_name, [Decimal(5)]), svg.Group("zero", [Decimal(0)])], ["s"], str)
    found = Collect()
    found.feed(chart)
    assert set(found.tags) == {"svg", "title", "text", "rect"} and "b" not in found.tags
    assert long_name in found.data and long_name[: svg.MAX_NAME - 1] + "\u2026" in found.data
    assert 'aria-label="t&quot;&lt;"' in chart
    widths = [float(a.split("=")[1]) for a in found.attrs if a.startswith("width=")][1:]  # after the svg's own width
    assert widths == [svg.WIDTH - svg.LABEL_WIDTH - svg.VALUE_WIDTH, 0.0]  # the largest fills the area, zero draws nothing
    with pytest.raises(ValueError):
        svg.bar_chart("t", [svg.Group("a", [Decimal(1), Decimal(2)])], ["one"], str)
    assert "nothing to show" in svg.bar_chart("t", [], ["s"], str)
