"""``tiergate cost --format html``: the cost report as one self-contained page.

One file to attach to a budget review or publish as a CI artifact: the same tables as ``tiergate cost`` (laid out
by ``report.costs`` through an HTML style, so the page and the text never disagree), spend by tier and by class,
and the counterfactuals, drawn as inline SVG (``report.svg``). Nothing is loaded: no script, no stylesheet, font
or image file, and a Content-Security-Policy that forbids every fetch (``default-src 'none'``) so that even a
mistake could not make the page call out. Every value that came from a policy file is escaped.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Sequence

from tiergate import __version__
from tiergate.cost import CostView, Totals, by_tier, monthly, percent
from tiergate.report import costs, svg

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
p.lead { color: #57606a; margin: 0 0 16px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px; min-width: 200px; }
.card .name { color: #57606a; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .amount { font-size: 22px; font-weight: 600; } .card .note { color: #57606a; font-size: 12px; }
figure { margin: 12px 0 20px; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg { max-width: 100%; height: auto; } svg text { font: 12px system-ui, sans-serif; fill: #1f2328; } svg .value { fill: #57606a; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; } th { background: #f6f8fa; }
td.num { text-align: right; white-space: nowrap; }
footer { margin-top: 32px; color: #57606a; font-size: 12px; }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _numeric(cell: str) -> bool:
    return cell[:1] in "$-0123456789" and any(ch.isdigit() for ch in cell)


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """An HTML table; money and rates right-aligned; every cell escaped."""
    head = "".join(f"<th>{_e(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="num">{_e(str(c))}</td>' if _numeric(str(c)) else f"<td>{_e(str(c))}</td>"
                                    for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


HTML = costs.Style(table, lambda title: f"<h2>{_e(title)}</h2>", lambda text: f"<p>{_e(text)}</p>",
                    lambda lines: "<ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>")


def _figure(title: str, groups: list[svg.Group], series: Sequence[str]) -> str:
    return f"<figure><figcaption>{_e(title)}</figcaption>{svg.bar_chart(title, groups, series, monthly)}</figure>"


def _charts(view: CostView) -> str:
    report = view.report
    top, low = report.tiers[-1], report.tiers[0]
    tiers = [svg.Group(tier, [t.actual]) for tier, t in by_tier(report).items()]
    classes = [svg.Group(name, [t.actual]) for name, t in sorted(report.by_class.items())]
    scopes: list[tuple[str, Totals]] = sorted(report.by_class.items()) + [("overall", report.overall)]
    counterfactuals = [svg.Group(name, [t.actual, t.top, t.lowest]) for name, t in scopes]
    tasks = [svg.Group(item.contract.task, [item.monthly]) for item in sorted(report.tasks, key=lambda i: (-i.monthly, i.contract.task))]
    return "".join([
        _figure("Monthly spend by tier (all-in, USD)", tiers, ["as assigned"]),
        _figure("Monthly spend by class (all-in, USD)", classes, ["as assigned"]),
        _figure(f"Counterfactuals: monthly spend as assigned, all on {top}, all on {low} (USD)", counterfactuals,
                ["as assigned", f"all on {top}", f"all on {low}"]),
        _figure("Monthly all-in cost per task (USD)", tasks, ["as assigned"]),
    ])


def _card(name: str, amount: Decimal, note: str) -> str:
    return (f'<div class="card"><div class="name">{_e(name)}</div><div class="amount">{_e(monthly(amount))}</div>'
            f'<div class="note">{_e(note)}</div></div>')


def _saving(counterfactual: Decimal, actual: Decimal) -> str:
    saved = counterfactual - actual
    share = f" ({percent(saved / counterfactual)})" if counterfactual else ""
    return f"{'saves' if saved >= 0 else 'costs'} {monthly(abs(saved))}{share} a month"


def _cards(view: CostView) -> str:
    report, overall = view.report, view.report.overall
    top, low = report.tiers[-1], report.tiers[0]
    return ('<section class="cards">' + _card("monthly, as assigned", overall.actual, f"{overall.tasks} task(s)")
            + _card(f"all on {top}", overall.top, f"the assignment {_saving(overall.top, overall.actual)}")
            + _card(f"all on {low}", overall.lowest, f"the assignment {_saving(overall.lowest, overall.actual)}") + "</section>")


def page(view: CostView) -> str:
    """The whole page: summary cards, charts, then the cost report's tables."""
    report = view.report
    lead = (f"{len(report.tasks)} task(s) on the tiers {', '.join(report.tiers)} (cheapest first). Money in USD: per call to "
            "$0.00000001, monthly to the cent; all-in counts escalations, retries, human review and trust damage.")
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>tiergate cost report</title>", f"<style>{STYLE}</style></head>\n<body><main>",
        "<h1>What each task costs</h1>", f'<p class="lead">{_e(lead)}</p>', _cards(view), "<h2>Charts</h2>", _charts(view), "\n",
        costs.render(view, HTML),
        f"<footer>Written by tiergate {_e(__version__)} (<code>tiergate cost --format html</code>). Self-contained: no scripts, "
        "nothing loaded from anywhere.</footer>",
        "</main></body></html>\n",
    ])
