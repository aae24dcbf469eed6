"""Horizontal bar charts as inline SVG, drawn here: no chart library, no script, nothing the page has to fetch.

One chart shape covers what the cost page shows: groups (a tier, a class, a task) down the side, one bar per
series in each group (one series for spend; three for the counterfactuals), the value printed after each bar, a
legend when there is more than one series. Every name is escaped (``html.escape``) in text and attributes, and a
long name is shortened on the chart with the full name kept in its ``<title>`` (a tooltip, also read by screen
readers). Values are ``Decimal``; only the geometry is float.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Sequence

WIDTH = 760
LABEL_WIDTH = 200
VALUE_WIDTH = 120
BAR_HEIGHT = 16
BAR_GAP = 3
GROUP_GAP = 12
LEGEND_HEIGHT = 26
MAX_NAME = 28
PALETTE = ("#2f6db5", "#d9822b", "#3f9e5a", "#8c5fb1", "#b5473a")


@dataclass(frozen=True)
class Group:
    """One label down the side and its value in each series."""

    label: str
    values: Sequence[Decimal]


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _short(name: str) -> str:
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "\u2026"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _legend(series: Sequence[str]) -> list[str]:
    out, x = [], LABEL_WIDTH
    for i, name in enumerate(series):
        out.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
                   f'<text x="{x + 16}" y="16" class="legend">{_e(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def bar_chart(title: str, groups: Sequence[Group], series: Sequence[str], value_text: Callable[[Decimal], str]) -> str:
    """An ``<svg>`` element: ``groups`` down the side, a bar per series, ``value_text`` after each bar."""
    for group in groups:
        if len(group.values) != len(series):
            raise ValueError(f"group {group.label!r} has {len(group.values)} values for {len(series)} series")
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    top = max((v for g in groups for v in g.values), default=Decimal(0))
    body: list[str] = _legend(series) if len(series) > 1 else []
    y = LEGEND_HEIGHT if len(series) > 1 else 4
    block = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    for group in groups:
        middle = y + block / 2
        body.append(f'<text x="{LABEL_WIDTH - 8}" y="{_n(middle + 4)}" text-anchor="end" class="label">'
                    f"<title>{_e(group.label)}</title>{_e(_short(group.label))}</text>")
        for i, value in enumerate(group.values):
            width = float(value / top) * area if top > 0 and value > 0 else 0.0
            body.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{_n(width)}" height="{BAR_HEIGHT}" '
                        f'fill="{PALETTE[i % len(PALETTE)]}"><title>{_e(group.label)}: {_e(series[i])} '
                        f"{_e(value_text(value))}</title></rect>")
            body.append(f'<text x="{_n(LABEL_WIDTH + width + 4)}" y="{y + BAR_HEIGHT - 4}" class="value">{_e(value_text(value))}</text>')
            y += BAR_HEIGHT + BAR_GAP
        y += GROUP_GAP - BAR_GAP
    if not groups:
        body.append(f'<text x="{LABEL_WIDTH}" y="20" class="label">nothing to show</text>')
        y = 30
    height = y + 4
    return (f'<svg role="img" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" aria-label="{_e(title)}"><title>{_e(title)}</title>'
            + "".join(body) + "</svg>")
