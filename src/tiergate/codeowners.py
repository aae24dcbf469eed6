"""CODEOWNERS: parse GitHub's format, answer "who owns this path", regenerate a managed block.

GitHub applies the *last* matching line, patterns follow .gitignore with a few omissions
(no ``!`` negation, no ``[]`` ranges), and ``dir/*`` does not reach into subfolders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from tiergate.layout import CODEOWNERS_LOCATIONS, DEFAULT_CODEOWNERS, PLATFORM_PATTERNS
from tiergate.models import OWNER_PATTERN

BEGIN = "# BEGIN tiergate managed block: regenerate with `tiergate codeowners --write`"
END = "# END tiergate managed block"
_OWNER = re.compile(OWNER_PATTERN)


class CodeownersError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Entry:
    line: int
    pattern: str
    owners: tuple[str, ...]


def _translate(pattern: str) -> str:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.lstrip("/")
    directory_only = body.endswith("/")
    body = body.rstrip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    if directory_only:
        suffix = "/.*"
    elif body.endswith("/*"):
        suffix = ""
    else:
        suffix = "(?:/.*)?"
    return f"^{prefix}{''.join(out)}{suffix}$"


def parse(text: str) -> list[Entry]:
    """Entries in file order; CodeownersError names the first line GitHub would not honour."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(" #", 1)[0].split()
        pattern, owners = parts[0], tuple(parts[1:])
        if pattern.startswith("!") or "[" in pattern or "\\" in pattern:
            raise CodeownersError(number, f"pattern '{pattern}' uses syntax GitHub does not support in CODEOWNERS (!, [ ], \\)")
        for owner in owners:
            if not _OWNER.match(owner):
                raise CodeownersError(number, f"'{owner}' is not a @user, @org/team or e-mail address")
        entries.append(Entry(number, pattern, owners))
    return entries


class Owners:
    """Answers last-match-wins ownership quickly, even with thousands of literal lines."""

    def __init__(self, entries: list[Entry]) -> None:
        self._literal: dict[str, int] = {}
        self._literal_dir: dict[str, int] = {}
        self._patterns: list[tuple[int, re.Pattern[str]]] = []
        self._entries = entries
        for index, entry in enumerate(entries):
            pattern = entry.pattern
            anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
            if anchored and not any(c in pattern for c in "*?"):
                key = pattern.strip("/")
                table = self._literal_dir if pattern.endswith("/") else self._literal
                table[key] = index
            else:
                self._patterns.append((index, re.compile(_translate(pattern))))

    def entry_for(self, path: str) -> Optional[Entry]:
        best = self._literal.get(path, -1)
        parts = path.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            best = max(best, self._literal.get(prefix, -1), self._literal_dir.get(prefix, -1))
        for index, regex in reversed(self._patterns):
            if index <= best:
                break
            if regex.match(path):
                best = index
                break
        return self._entries[best] if best >= 0 else None

    def owns(self, path: str, owner: str) -> bool:
        entry = self.entry_for(path)
        return entry is not None and owner.lower() in {o.lower() for o in entry.owners}


def managed_block(platform_owner: str, codeowners_path: str, contracts: Iterable[tuple[str, str]]) -> str:
    lines = [BEGIN]
    lines += [f"{path} {platform_owner}" for path in PLATFORM_PATTERNS + ("/" + codeowners_path,)]
    lines += [f"/{path} {owner}" for path, owner in sorted(contracts)]
    lines.append(END)
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str) -> str:
    """Put ``block`` in place of the managed block, or append it (last match wins: at the end)."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\n") == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\n") == END]
    if not starts and not ends:
        sep = "" if not text or text.endswith("\n") else "\n"
        return text + sep + ("\n" if text.strip() else "") + block
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise CodeownersError((starts or ends)[0] + 1, "the tiergate managed block markers are broken (need one BEGIN line, then one END line); fix them by hand")
    return "".join(lines[: starts[0]]) + block + "".join(lines[ends[0] + 1 :])


def target(root: Path) -> str:
    """The CODEOWNERS file GitHub reads in ``root`` (the first that exists), or where to create one."""
    return next((p for p in CODEOWNERS_LOCATIONS if (root / p).exists()), DEFAULT_CODEOWNERS)


def updated(old: str, platform_owner: str, path: str, contracts: Iterable[tuple[str, str]]) -> str:
    """``old`` with its managed block regenerated; CodeownersError when the markers are broken."""
    return replace_block(old, managed_block(platform_owner, path, contracts))
