"""Markdown pieces shared by every Markdown renderer: cells that cannot break a table, and free text that cannot
become Markdown.

Free text is anything tiergate did not generate itself: paths, notes and values read from policy files, and
messages that quote them. In Markdown it is shown as an inline code span (``code``), so it cannot open a
heading, a list item or a checkbox, a link, an image, raw HTML or a mention. Only owners are mentioned, and only
when they are GitHub handles (``owner``).
"""

from __future__ import annotations

import re
from typing import Sequence

from tabulate import tabulate

# what CommonMark, GitHub and Python's str.splitlines() count as the end of a line
LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# a GitHub handle as policy files may name an owner: @user or @org/team
HANDLE = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[A-Za-z0-9._-]+)?$")
_MENTION_START = re.compile(r"(?<!\w)@")
# inline text made only of these cannot be Markdown: no emphasis, code, link, autolink (no ':' or '@'), HTML or entity
_INERT = re.compile(r"^[A-Za-z0-9 .,;()'/=>+-]*$")
ZWSP = "\u200b"


def one_line(text: str) -> str:
    """``text`` with every line break made a space: it cannot start a new Markdown block."""
    return LINE_BREAK.sub(" ", text)


def cell(text: str) -> str:
    """A table cell: a ``|`` would end the cell and a newline the row."""
    return one_line(text).replace("|", "\\|")


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A GitHub Markdown table; every cell, header included, goes through ``cell``."""
    return tabulate([[cell(str(v)) for v in row] for row in rows], headers=[cell(str(h)) for h in headers],
                    tablefmt="github", disable_numparse=True)


def code(text: str) -> str:
    """Free text as an inline code span: nothing inside it is Markdown, HTML, a link or a mention.

    Backticks (which would end the span) become ``'``, line breaks become spaces, an ``@`` that could start a
    mention gets a zero-width space after it, and ``<!--`` is broken so the text cannot carry the hidden
    marker by which the review finds its issue.
    """
    text = one_line(text).replace("`", "'").replace("<!--", "<" + ZWSP + "!--")
    text = _MENTION_START.sub("@" + ZWSP, text)
    return f"`{text}`" if text.strip() else "` `"


def inline(text: str) -> str:
    """Free text in running Markdown: as is when it cannot be Markdown (plain words, dates, numbers), else ``code``."""
    if _INERT.match(text) and "www." not in text.lower():
        return text
    return code(text)


def owner(name: str) -> str:
    """An owner: a GitHub handle is mentioned; anything else (an e-mail address) is listed as text."""
    return name if HANDLE.match(name) else code(name)
