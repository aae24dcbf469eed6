"""CODEOWNERS: read it as GitHub does, answer "who owns this path", regenerate a managed block.

What GitHub does, and so what this module does (a gate that reads CODEOWNERS differently from
GitHub is a gate an edit can walk around):

- The first existing of ``.github/CODEOWNERS``, ``CODEOWNERS``, ``docs/CODEOWNERS`` is used
  (``layout``); a file of 3 MB or more is ignored entirely (``load`` refuses it).
- The **last** matching line wins, over the whole file; a pattern with no owners clears ownership.
- A line GitHub cannot read is skipped, not fatal: ``!`` negation, ``[ ]`` ranges, ``\\``
  escapes, an owner that is not ``@user``, ``@org/team`` or an e-mail address. ``parse`` returns
  the lines GitHub honours and the lines it skips, so ownership is computed on what GitHub sees
  and every skipped line can be reported. Lines GitHub might read differently from us (empty
  path segments, separators other than spaces and tabs, invisible characters) are skipped and
  reported the same way: the gate fails closed on them.
- Patterns follow gitignore: ``*`` and ``?`` never cross ``/``; ``**`` is special only as a whole
  path segment (``**/x``, ``x/**``, ``a/**/b``), any other run of asterisks is a plain ``*``; a
  leading or inner ``/`` anchors the pattern at the root; ``docs/`` matches at any depth and
  ``docs/*`` only direct children; paths are case-sensitive. ``#`` after whitespace starts a
  comment.
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

from tiergate.layout import CODEOWNERS_LOCATIONS, DATASETS, DEFAULT_CODEOWNERS, EVALS, PLATFORM_PATTERNS, PROMPTS, TASKS, evidence_folder, task_stem, under
from tiergate.loading import TOO_LARGE, LoadError, Tree, decode_utf8
from tiergate.models import OWNER_PATTERN

BEGIN = "# BEGIN tiergate managed block: regenerate with `tiergate codeowners --write`"
END = "# END tiergate managed block"
MAX_BYTES = 3 * 1024 * 1024  # GitHub ignores a CODEOWNERS file that is not under 3 MB
_OWNER = re.compile(OWNER_PATTERN)
_SEPARATORS = re.compile(r"[ \t]+")
_COMMENT = re.compile(r"[ \t]#")


class CodeownersError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Entry:
    line: int
    pattern: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Skipped:
    """A line GitHub does not honour (or might read differently): ownership ignores it."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class Parsed:
    entries: list[Entry]
    skipped: list[Skipped] = field(default_factory=list)
    block: Optional[tuple[int, int]] = None  # line numbers of the BEGIN and END markers, when intact


# --- patterns -------------------------------------------------------------------------------
# A pattern becomes a list of tokens; the same tokens give the regex that matches one path and
# the automaton that answers "which paths under a folder does this line match".

LIT, ONE, STAR, ANY, DIRS, SUB = "lit", "one", "star", "any", "dirs", "sub"
Token = tuple[str, str]
# LIT is one given character; the others, as regex: one character but "/"; a run without "/";
# anything; zero or more leading folders; an optional "/..." tail (a folder and all inside it)
_REGEX = {ONE: "[^/]", STAR: "[^/]*", ANY: ".*", DIRS: "(?:.*/)?", SUB: "(?:/.*)?"}


def _split(pattern: str) -> tuple[bool, bool, list[str]]:
    """(anchored, folder only, segments) of a pattern GitHub honours."""
    anchored = "/" in pattern.rstrip("/")  # a leading or inner slash; a trailing one does not anchor
    directory = pattern.endswith("/")
    body = pattern[1:] if pattern.startswith("/") else pattern
    body = body[:-1] if directory else body
    return anchored, directory, body.split("/")


def _segment(segment: str) -> Iterator[Token]:
    i = 0
    while i < len(segment):
        if segment[i] == "*":  # any run of asterisks inside a segment is one plain "*"
            while i < len(segment) and segment[i] == "*":
                i += 1
            yield (STAR, "")
            continue
        yield (ONE, "") if segment[i] == "?" else (LIT, segment[i])
        i += 1


def tokens(pattern: str) -> list[Token]:
    """The pattern (one GitHub honours) as tokens, anchored at both ends of the path."""
    anchored, directory, segments = _split(pattern)
    segments = [s for i, s in enumerate(segments) if not (s == "**" and i > 0 and segments[i - 1] == "**")]
    out: list[Token] = [] if anchored else [(DIRS, "")]
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":  # special only as a whole segment
            if i == 0:
                out.append((ANY, "") if last else (DIRS, ""))  # "**": everything; "**/x": x at any depth
            else:
                out += [(LIT, "/"), (ANY, "") if last else (DIRS, "")]  # "x/**": all inside; "a/**/b"
            continue
        if i > 0 and segments[i - 1] != "**":
            out.append((LIT, "/"))
        out.extend(_segment(segment))
    tail = segments[-1]
    if directory:
        out += [(LIT, "/"), (ANY, "")]  # "docs/": everything inside, never a file named docs
    elif tail == "**" and len(segments) > 1:
        pass  # "x/**" already ends in "everything"
    elif set(tail) == {"*"} and tail != "**" and (anchored or len(segments) > 1):
        pass  # "docs/*": direct children only
    else:
        out.append((SUB, ""))  # a file, or a folder and everything inside it
    return out


def _translate(pattern: str) -> str:
    return "^" + "".join(re.escape(arg) if kind == LIT else _REGEX[kind] for kind, arg in tokens(pattern)) + "$"


class _Automaton:
    """The tokens as an automaton over characters, to reason about every path under a folder."""

    def __init__(self, toks: list[Token]) -> None:
        self.toks = toks
        self.accept = len(toks)
        named = {arg for kind, arg in toks if kind == LIT} | {"/"}
        # the characters the pattern names, "/" always, and None: a stand-in for every other one
        self.letters: list[Optional[str]] = sorted(named) + [None]
        self._named = named
        self._prefix = "".join(arg for _, arg in itertools.takewhile(lambda t: t[0] == LIT, toks))  # every match starts so
        self._start = self.closure({0})
        self._steps: dict[tuple[frozenset[int], Optional[str]], frozenset[int]] = {}
        self._below: dict[frozenset[int], tuple[bool, bool]] = {}

    def _inner(self, i: int) -> int:  # the state inside the loop of a DIRS or SUB token
        return self.accept + 1 + i

    def closure(self, states: Iterable[int]) -> frozenset[int]:
        seen, todo = set(states), list(states)
        while todo:
            s = todo.pop()
            if s < self.accept and self.toks[s][0] in (STAR, ANY, DIRS, SUB):
                nxt = s + 1
            elif s > self.accept and self.toks[s - self.accept - 1][0] == SUB:
                nxt = s - self.accept
            else:
                continue
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
        return frozenset(seen)

    def step(self, states: frozenset[int], ch: Optional[str]) -> frozenset[int]:
        letter = ch if ch in self._named else None  # characters the pattern does not name act alike
        key = (states, letter)
        if key not in self._steps:
            self._steps[key] = self._step(states, letter)
        return self._steps[key]

    def _step(self, states: frozenset[int], ch: Optional[str]) -> frozenset[int]:
        out: set[int] = set()
        for s in states:
            if s > self.accept:  # inside ".*/" (DIRS) or "/.*" (SUB)
                i = s - self.accept - 1
                out.add(s)
                if ch == "/" and self.toks[i][0] == DIRS:
                    out.add(i + 1)
                continue
            if s == self.accept:
                continue
            kind, arg = self.toks[s]
            if kind == LIT and ch == arg:
                out.add(s + 1)
            elif kind == ONE and ch != "/":
                out.add(s + 1)
            elif kind == STAR and ch != "/":
                out.add(s)
            elif kind == ANY:
                out.add(s)
            elif kind == DIRS:
                out.add(self._inner(s))
                if ch == "/":
                    out.add(s + 1)
            elif kind == SUB and ch == "/":
                out.add(self._inner(s))
        return self.closure(out)

    def under(self, folder: str) -> tuple[bool, bool]:
        """(matches some path under ``folder``, matches every path under it)."""
        inside = folder + "/"
        if not (inside.startswith(self._prefix) or self._prefix.startswith(inside)):
            return False, False
        states = self._start
        for ch in inside:
            states = self.step(states, ch)
            if not states:
                return False, False
        if states not in self._below:
            self._below[states] = self._paths_below(states)
        return self._below[states]

    def _paths_below(self, states: frozenset[int]) -> tuple[bool, bool]:
        # paths below the folder: one or more non-empty segments; walk them together with the
        # automaton (state: automaton states, inside a segment?), letters being the pattern's own
        # characters and one stand-in for every other character
        some, every = False, True
        start = (states, False)
        seen, todo = {start}, [start]
        while todo:
            states, inside = todo.pop()
            if inside:
                if self.accept in states:
                    some = True
                else:
                    every = False
            for ch in self.letters:
                if ch == "/" and not inside:
                    continue  # no empty segments
                nxt = (self.step(states, ch), ch != "/")
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return some, every


# --- lines ----------------------------------------------------------------------------------


def _odd_character(line: str) -> Optional[str]:
    for ch in line:
        if ch in " \t":
            continue
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'control character')})"
    return None


def _problem(pattern: str, owners: Sequence[str], line: str) -> Optional[str]:
    """Why GitHub skips (or might misread) this line, or None when it honours it."""
    odd = _odd_character(_COMMENT.split(line, 1)[0])
    if odd is not None:
        return f"it contains {odd}; GitHub separates only with spaces and tabs, so it may read this line differently"
    if pattern.startswith("!"):
        return "`!` negation does not work in CODEOWNERS"
    if "[" in pattern or "]" in pattern:
        return "`[ ]` character ranges do not work in CODEOWNERS"
    if "\\" in pattern:
        return "`\\` escapes do not work in CODEOWNERS"
    if any(segment == "" for segment in _split(pattern)[2]):
        return "the pattern has an empty path segment (`//`, or no path at all)"
    for owner in owners:
        if not _OWNER.match(owner):
            return f"'{owner}' is not a @user, @org/team or e-mail address, so GitHub skips the whole line"
    return None


def parse(text: str) -> Parsed:
    """The lines GitHub honours, the lines it skips (with why), and where the managed block is."""
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    begins: list[int] = []
    ends: list[int] = []
    for number, raw in enumerate(text.split("\n"), start=1):  # GitHub counts "\n" lines
        line = raw[:-1] if raw.endswith("\r") else raw
        if line == BEGIN:
            begins.append(number)
        elif line == END:
            ends.append(number)
        stripped = line.strip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        parts = _SEPARATORS.split(stripped)
        comment = next((i for i, part in enumerate(parts) if i > 0 and part.startswith("#")), len(parts))
        pattern, owners = parts[0], tuple(parts[1:comment])
        problem = _problem(pattern, owners, stripped)
        if problem is None:
            entries.append(Entry(number, pattern, owners))
        else:
            skipped.append(Skipped(number, stripped, problem))
    block = (begins[0], ends[0]) if len(begins) == 1 and len(ends) == 1 and begins[0] < ends[0] else None
    return Parsed(entries, skipped, block)


def load(tree: Tree, path: str) -> "Owners":
    """Read and parse the CODEOWNERS file at ``path``; LoadError when GitHub would ignore it."""
    too_large = LoadError(TOO_LARGE, f"{path} is {MAX_BYTES} bytes (3 MB) or more, and GitHub ignores a CODEOWNERS file "
                                     f"that is not under 3 MB ({MAX_BYTES} bytes): no review would be required; "
                                     "shrink it (folder patterns instead of one line per file)")
    try:
        raw = tree.read(path, MAX_BYTES)
    except LoadError as err:
        raise too_large if err.rule is TOO_LARGE else err
    if len(raw) >= MAX_BYTES:
        raise too_large
    return Owners(parse(decode_utf8(raw)))


# --- ownership ------------------------------------------------------------------------------


class Owners:
    """Last-match-wins ownership over the whole file, quick even with thousands of literal lines."""

    def __init__(self, parsed: Union[Parsed, Iterable[Entry]]) -> None:
        if not isinstance(parsed, Parsed):
            parsed = Parsed(list(parsed))
        self.entries = parsed.entries
        self.skipped = parsed.skipped
        self.block = parsed.block
        self._literal: dict[str, int] = {}  # "/a/b": the path a/b and everything inside it
        self._literal_dir: dict[str, int] = {}  # "/a/b/": everything inside a/b
        self._patterns: list[tuple[int, re.Pattern[str], _Automaton]] = []
        self._block_only: Optional[Owners] = None
        for index, entry in enumerate(self.entries):
            pattern = entry.pattern
            anchored = "/" in pattern.rstrip("/")
            if anchored and not any(c in pattern for c in "*?"):
                table = self._literal_dir if pattern.endswith("/") else self._literal
                table[pattern.strip("/")] = index  # a later line with the same pattern replaces it
            else:
                automaton = _Automaton(tokens(pattern))
                self._patterns.append((index, re.compile(_translate(pattern), re.DOTALL), automaton))
        self._keys = sorted(set(self._literal) | set(self._literal_dir))

    def entry_for(self, path: str) -> Optional[Entry]:
        """The line that decides who owns the file ``path`` (None: no line matches it)."""
        best = self._literal.get(path, -1)
        parts = path.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            best = max(best, self._literal.get(prefix, -1), self._literal_dir.get(prefix, -1))
        for index, regex, _ in reversed(self._patterns):
            if index <= best:
                break
            if regex.match(path):
                best = index
                break
        return self.entries[best] if best >= 0 else None

    def folder_lines(self, folder: str) -> tuple[Optional[Entry], list[Entry]]:
        """For every path under ``folder``: the last line matching all of them (None: no such
        line), and the later lines matching only some of them, in file order. A path's owner is
        the first line's unless one of the later lines matches it."""
        folder = folder.strip("/")
        parts = folder.split("/")
        cover = -1
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            cover = max(cover, self._literal.get(prefix, -1), self._literal_dir.get(prefix, -1))
        partial: list[int] = []
        for index, _, automaton in reversed(self._patterns):
            if index <= cover:
                break
            some, every = automaton.under(folder)
            if every:
                cover = index
                break
            if some:
                partial.append(index)
        inside = folder + "/"
        for key in self._keys[bisect_left(self._keys, inside):]:
            if not key.startswith(inside):
                break
            partial += [t[key] for t in (self._literal, self._literal_dir) if key in t]
        later = sorted(i for i in set(partial) if i > cover)
        return (self.entries[cover] if cover >= 0 else None), [self.entries[i] for i in later]

    def takers(self, target: str, owner: str) -> list[tuple[Optional[Entry], bool]]:
        """The lines that keep ``target`` (a file, or a folder ending in "/") from ``owner``, each
        with whether it takes only part of a folder; ``(None, False)`` when no line matches."""
        if target.endswith("/"):
            base, later = self.folder_lines(target)
            out = [] if base is not None and _has(base, owner) else [(base, False)]
            return out + [(entry, True) for entry in later if not _has(entry, owner)]
        entry = self.entry_for(target)
        return [] if entry is not None and _has(entry, owner) else [(entry, False)]

    def owns(self, path: str, owner: str) -> bool:
        return not self.takers(path, owner)

    def after_block(self, entry: Entry) -> bool:
        """Whether ``entry`` comes after an intact managed block (so it wins over the block)."""
        return self.block is not None and entry.line > self.block[1]

    def block_only(self) -> "Owners":
        """Ownership as the managed block alone gives it."""
        if self._block_only is None:
            begin, end = self.block or (0, 0)
            self._block_only = Owners([e for e in self.entries if begin < e.line < end])
        return self._block_only


def _has(entry: Entry, owner: str) -> bool:
    return owner.lower() in {o.lower() for o in entry.owners}


# --- the managed block ----------------------------------------------------------------------


# what a CODEOWNERS pattern cannot say literally: a space ends the pattern, ``#`` may start a comment, ``*`` and
# ``?`` are wildcards, ``[``, ``]``, ``!`` and ``\`` are syntax GitHub does not support, a control character ends the line
_NOT_LITERAL = re.compile(r"[\s#*?\[\]!\\\x00-\x1f\x7f]")


def literal(path: str) -> bool:
    """Whether a line for ``path`` in CODEOWNERS would match that one file and nothing else.

    File names are data a pull request writes: ``evals/datasets/*.jsonl`` can exist, and a line for it
    would hand every eval set to that contract's owner. Such a path gets no line of its own and stays
    with the folder's owner (the platform)."""
    return not _NOT_LITERAL.search(path)


def managed_block(platform_owner: str, codeowners_path: str, contracts: Iterable[tuple[str, str]],
                  sets: Iterable[tuple[str, str]] = (), present: Callable[[str], bool] = lambda path: True,
                  files: Callable[[str], list[str]] = lambda folder: []) -> str:
    """The block tiergate maintains: the platform areas that exist, CODEOWNERS itself and
    the shared folders (``evals/datasets/``, ``policy/prompts/``) for the platform owner; each
    contract file and its evidence folder for the contract's owner; an eval set or prompt file
    used only by one owner's contracts (``sets``) for that owner.

    One line per file is the tightest grant, so that is the block while it stays under
    ``COMPACT_ABOVE``. Past that (tens of thousands of contracts), one line per file would pass
    GitHub's 3 MB limit, and GitHub would then ignore the whole file: the block is compacted to
    prefix patterns (``/policy/tasks/billing-*.yaml``), each matching files of one owner only
    among those that exist (``files`` lists them). A file added later that matches a team's prefix
    needs that team's review, where one line per file gives it no code owner at all.
    """
    contracts, sets = sorted(contracts), sorted((path, owner) for path, owner in sets if literal(path))
    head = [BEGIN] + [f"{p} {platform_owner}" for p in PLATFORM_PATTERNS if present(p.strip("/"))]
    head.append(f"/{codeowners_path} {platform_owner}")
    shared = [f"/{folder}/ {platform_owner}" for folder in SHARED_FOLDERS if present(folder) or any(under(p, folder) for p, _ in sets)]
    exact = [f"/{path} {owner}" for path, owner in sets]
    for path, owner in contracts:
        exact += [f"/{path} {owner}", f"/{evidence_folder(task_stem(path))} {owner}"]
    lines = head + shared + exact
    if sum(len(line) + 1 for line in lines) > COMPACT_ABOVE:
        lines = head + _compact(contracts, files) + shared + _compact_sets(sets, files)
    return "\n".join(lines + [END]) + "\n"


# Files contracts share (eval sets, prompt templates and rubrics): the platform's, except those that one
# owner's contracts alone use, which go to that owner (``set_owners``).
SHARED_FOLDERS = (DATASETS, PROMPTS)
COMPACT_ABOVE = MAX_BYTES // 2  # leaves GitHub's other half for the lines people write by hand


def _compact(contracts: list[tuple[str, str]], files: Callable[[str], list[str]]) -> list[str]:
    """Prefix patterns for the contract files and the evidence folders, one owner's files each."""
    owner_of = {task_stem(path): owner for path, owner in contracts}
    yamls = {task_stem(p): owner_of.get(task_stem(p)) for p in files(TASKS) if "/" not in p[len(TASKS) + 1:] and p.endswith(".yaml")}
    folders = {p[len(EVALS) + 1:].split("/", 1)[0] for p in files(EVALS)}
    out = [f"/{TASKS}/{name}{'' if exact else '*'}.yaml {owner}" for name, owner, exact in prefix_cover({**yamls, **owner_of})]
    out += [f"/{EVALS}/{name}{'' if exact else '*'}/ {owner}" for name, owner, exact in prefix_cover({**dict.fromkeys(folders), **owner_of})]
    return out


def _compact_sets(sets: list[tuple[str, str]], files: Callable[[str], list[str]]) -> list[str]:
    """Prefix patterns for the files straight in a shared folder (others keep their own line)."""
    out: list[str] = []
    for folder in SHARED_FOLDERS:
        direct = {path[len(folder) + 1:]: owner for path, owner in sets if _child(path, folder)}
        others = {path[len(folder) + 1:] for path in files(folder) if _child(path, folder)}
        out += [f"/{folder}/{name}{'' if exact else '*'} {owner}" for name, owner, exact in prefix_cover({**dict.fromkeys(others), **direct})]
    return out + [f"/{path} {owner}" for path, owner in sets if not any(_child(path, folder) for folder in SHARED_FOLDERS)]


def _child(path: str, folder: str) -> bool:
    return path.startswith(folder + "/") and "/" not in path[len(folder) + 1:]


def prefix_cover(owners: dict[str, Optional[str]]) -> list[tuple[str, str, bool]]:
    """The fewest (prefix, owner, exact) that give every named owner its names and nobody else's.

    ``owners`` maps each name in a folder to its owner, or None for a name no pattern may match.
    Sorted, the names that share a prefix are contiguous, so a prefix is safe exactly when it is
    not a prefix of the nearest names of another owner on either side; the shortest safe prefix
    covers the longest stretch. A name that is itself a prefix of a neighbour keeps an exact line.
    """
    names = sorted(owners)
    out: list[tuple[str, str, bool]] = []
    start = 0
    while start < len(names):
        owner = owners[names[start]]
        end = start
        while end + 1 < len(names) and owners[names[end + 1]] == owner:
            end += 1
        if owner is not None:
            out += _cover_run(names, start, end, owner)
        start = end + 1
    return out


def _cover_run(names: list[str], start: int, end: int, owner: str) -> list[tuple[str, str, bool]]:
    """Cover ``names[start..end]`` (one owner) without matching the names just outside it."""
    left = names[start - 1] if start > 0 else ""
    right = names[end + 1] if end + 1 < len(names) else ""
    out: list[tuple[str, str, bool]] = []
    at = start
    while at <= end:
        name = names[at]
        size = max(_common(name, left) if start > 0 else -1, _common(name, right) if right else -1) + 1
        stop = at + 1
        if size <= len(name):
            while stop <= end and names[stop].startswith(name[:size]):
                stop += 1
        out.append((name, owner, True) if stop == at + 1 else (_readable(name, names[stop - 1], size), owner, False))
        at = stop
    return out


def _readable(first: str, last: str, size: int) -> str:
    """The prefix that covers ``first``..``last`` and no more, cut at a dash where one lies in reach
    (``billing-`` rather than ``b``: it says whose it is, and matches fewer names added later)."""
    shared = os.path.commonprefix([first, last])
    cut = shared.rfind("-") + 1
    return shared[:cut] if cut >= size else shared


def _common(a: str, b: str) -> int:
    return len(os.path.commonprefix([a, b]))


def set_owners(uses: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(eval set, owner) for each in-repo set whose contracts all have one owner; shared sets stay the platform's."""
    owners: dict[str, set[str]] = {}
    for path, owner in uses:
        owners.setdefault(path, set()).add(owner)
    return sorted((path, next(iter(who))) for path, who in owners.items() if len(who) == 1)


def replace_block(text: str, block: str) -> str:
    """Put ``block`` in place of the managed block, or append it (last match wins: at the end)."""
    pieces = text.split("\n")  # the lines parse() numbers
    lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    starts = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == END]
    if not starts and not ends:
        sep = "" if not text or text.endswith("\n") else "\n"
        return text + sep + ("\n" if text.strip() else "") + block
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise CodeownersError((starts or ends)[0] + 1, "the tiergate managed block markers are broken (need one BEGIN line, then one END line); fix them by hand")
    return "".join(lines[: starts[0]]) + block + "".join(lines[ends[0] + 1 :])


def target(root: Path) -> str:
    """The CODEOWNERS file GitHub reads in ``root`` (the first that exists), or where to create one."""
    return next((p for p in CODEOWNERS_LOCATIONS if (root / p).exists()), DEFAULT_CODEOWNERS)


def updated(old: str, block: str) -> str:
    """``old`` with its managed block replaced by ``block``; CodeownersError when the markers are broken."""
    return replace_block(old, block)
