"""Markdown pieces shared by every Markdown renderer: table cells that cannot break the table."""

from __future__ import annotations

from typing import Sequence

from tabulate import tabulate


def cell(text: str) -> str:
    """A table cell: a ``|`` would end the cell and a newline the row."""
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    return tabulate([[cell(str(v)) for v in row] for row in rows], headers=list(headers), tablefmt="github", disable_numparse=True)
