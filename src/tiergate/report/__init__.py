"""Renderers: a computed result in, text out. The only code that formats results for people or CI.

One interface for every kind of result: a ``Formats`` maps format names to pure functions
``result -> str``, with the same names everywhere (``text``, ``json``, ``markdown``,
``github``, ``sarif``, ``html``). The ``github`` format may also carry a Markdown step
summary; ``emit`` writes both, so commands only choose the result and the format.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Generic, Optional, TypeVar

import click

from tiergate.errors import TierGateError

R = TypeVar("R")
FORMAT_NAMES = ("text", "json", "markdown", "github", "sarif", "html", "litellm", "csv")  # the last two: export targets


@dataclass(frozen=True)
class Formats(Generic[R]):
    """The renderers of one kind of result, by format name; ``summary`` feeds GITHUB_STEP_SUMMARY."""

    renderers: dict[str, Callable[[R], str]]
    summary: Optional[Callable[[R], str]] = field(default=None)
    outputs: Optional[Callable[[R], dict[str, str]]] = field(default=None)  # step outputs (GITHUB_OUTPUT), github format

    def __post_init__(self) -> None:
        unknown = set(self.renderers) - set(FORMAT_NAMES)
        if unknown:
            raise ValueError(f"unknown format names {sorted(unknown)}; use one of {FORMAT_NAMES}")

    @property
    def names(self) -> list[str]:
        return [name for name in FORMAT_NAMES if name in self.renderers]

    def render(self, fmt: str, result: R) -> str:
        return self.renderers[fmt](result)


def emit(formats: Formats[R], fmt: str, result: R, err: bool = False) -> None:
    """Print ``result`` in ``fmt``; with ``github`` in Actions, also append the step summary and the step outputs."""
    click.echo(formats.render(fmt, result), nl=False, err=err)
    if fmt != "github":
        return
    if formats.summary is not None:
        _append("GITHUB_STEP_SUMMARY", lambda: formats.summary(result) if formats.summary else "")
    if formats.outputs is not None:
        _append("GITHUB_OUTPUT", lambda: "".join(f"{k}={v}\n" for k, v in (formats.outputs(result) if formats.outputs else {}).items()))


def _append(variable: str, text: Callable[[], str]) -> None:
    path = os.environ.get(variable)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text())
    except OSError as error:
        raise TierGateError(f"cannot write {variable} ({path}): {error.strerror}") from None
