"""Mermaid charts for Markdown that GitHub renders (issues, pull-request comments, step summaries).

A chart is a fenced ``mermaid`` block; everything in it that came from a policy file (task and tier names) is a
``label``. Mermaid has no escape that every diagram type honours inside a quoted string, so a label keeps only
characters that mean nothing to Mermaid or to the Markdown around the block: letters and digits of any script,
spaces and ``. , _ - + / ( )``. Everything else (quotes, backticks, brackets, ``;``, ``:``, ``%`` of a ``%%``
comment or directive, ``<``/``>`` of HTML or an arrow, ``#`` of an entity, line breaks) becomes ``_``, and a
label is cut at ``MAX_LABEL`` characters. A label can therefore neither end its string, nor start a statement,
nor end the fence, nor carry HTML; the table next to a chart still shows each name in full (as Markdown code).

API (pure functions, text in, text out):
- ``label(text)``: one safe label;
- ``bar_chart(title, labels, series, y_axis=..., horizontal=False)``: an ``xychart-beta`` with one bar or line
  per ``Series`` (xychart draws no legend: say in the title or next to the chart what each series is);
- ``pie_chart(title, slices)``: a ``pie`` of (label, value) pairs; slices that are not positive are left out.
Numbers are ``Decimal`` or ``int`` and are written to the cent, never in exponent form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Sequence, Union

Number = Union[Decimal, int]
MAX_LABEL = 40
_UNSAFE = re.compile(r"[^\w .,+/()-]")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Series:
    """One row of values, drawn as bars or as a line over the chart's labels."""

    values: Sequence[Number]
    kind: Literal["bar", "line"] = "bar"


def label(text: str) -> str:
    """``text`` made inert in a Mermaid string and in the Markdown around the block (see the module docstring)."""
    safe = " ".join(_UNSAFE.sub("_", text).split())
    if len(safe) > MAX_LABEL:
        safe = safe[: MAX_LABEL - 1].rstrip() + "\u2026"
    return safe or "_"


def number(value: Number) -> str:
    """A value to the cent in plain decimal notation: Mermaid reads ``1E+3`` as text."""
    text = format(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP), "f")
    return "0.00" if text == "-0.00" else text


def _quoted(text: str) -> str:
    return f'"{label(text)}"'


def _fence(lines: list[str]) -> str:
    return "```mermaid\n" + "\n".join(lines) + "\n```\n"


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], y_axis: str = "USD per month",
              horizontal: bool = False) -> str:
    """An ``xychart-beta`` block: ``labels`` along the x axis, each series a bar or line over them.

    Mermaid cannot draw an empty axis: give at least one label and one series (leave the chart out otherwise).
    """
    if not labels or not series:
        raise ValueError("a bar chart needs at least one label and one series")
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"a series has {len(s.values)} values for {len(labels)} labels")
    values = [Decimal(v) for s in series for v in s.values]
    low, high = min(values + [Decimal(0)]), max(values + [Decimal(0)])  # from zero: a bar's length is its value
    lines = ["xychart-beta horizontal" if horizontal else "xychart-beta", f"    title {_quoted(title)}",
             f"    x-axis [{', '.join(_quoted(name) for name in labels)}]",
             f"    y-axis {_quoted(y_axis)} {number(low)} --> {number(high if high > low else low + 1)}"]
    lines += [f"    {s.kind} [{', '.join(number(v) for v in s.values)}]" for s in series]
    return _fence(lines)


def pie_chart(title: str, slices: Sequence[tuple[str, Number]]) -> str:
    """A ``pie`` block of the positive slices, labels escaped, values to the cent; at least one must be positive."""
    lines = [f"    {_quoted(name)} : {number(value)}" for name, value in slices if Decimal(value) > 0]
    if not lines:
        raise ValueError("a pie chart needs a positive slice")
    return _fence([f"pie title {label(title)}"] + lines)
