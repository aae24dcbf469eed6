"""CODEOWNERS as GitHub reads it: pattern semantics, skipped lines, folder ownership, the block."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from tiergate.codeowners import (
    BEGIN,
    END,
    MAX_BYTES,
    Owners,
    _Automaton,
    _translate,
    load,
    managed_block,
    parse,
    prefix_cover,
    tokens,
)
from tiergate.layout import PLATFORM_PATTERNS, PLATFORM_PROBES
from tiergate.loading import TOO_LARGE, LoadError


def matches(pattern: str, path: str) -> bool:
    parsed = parse(f"{pattern} @o")
    assert not parsed.skipped, parsed.skipped
    return Owners(parsed).entry_for(path) is not None


@pytest.mark.parametrize(
    "pattern,path,expected",
    [
        # "*" never crosses "/"; an unanchored pattern matches at any depth
        ("*.js", "src/app/x.js", True),
        ("/*.js", "src/app/x.js", False),
        ("/*.js", "x.js", True),
        ("/src/*.js", "src/app/x.js", False),
        ("/src/*/x.js", "src/app/x.js", True),
        ("/src/*/x.js", "src/a/b/x.js", False),
        # "**" is special only as a whole segment
        ("/src/**/x.js", "src/a/b/x.js", True),
        ("/src/**/x.js", "src/x.js", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "x/a/b", False),
        ("**/logs", "logs/x.log", True),
        ("**/logs", "deep/er/logs/x.log", True),
        ("/src/**", "src/a/b/c.py", True),
        ("/src/**", "src", False),
        ("**", "any/thing/at/all", True),
        # any other run of asterisks is a plain "*"
        ("/evals**.yaml", "evals/x/y.yaml", False),
        ("/evals**.yaml", "evals-x.yaml", True),
        ("/policy/tiers**yaml", "policy/tiers.yaml", True),  # "*" matches the "."
        ("/policy**tiers.yaml", "policy/tiers.yaml", False),
        ("/policy/tasks**.yaml", "policy/tasks/a.yaml", False),
        ("a**/b", "a/x/b", False),
        ("a**/b", "ax/b", True),
        ("**a/b", "x/a/b", False),
        ("/x/***", "x/a/b", False),  # "***" is "*": direct children
        # "docs/*" is direct children only; "docs/" any depth, anywhere
        ("docs/*", "docs/getting-started.md", True),
        ("docs/*", "docs/build-app/troubleshooting.md", False),
        ("docs/", "docs/build-app/troubleshooting.md", True),
        ("docs/", "x/docs/a.md", True),
        ("docs/", "docs", False),
        ("docs", "x/docs/a.md", True),
        ("/*", "README.md", True),
        ("/*", "src/x.py", False),
        ("*", "src/x.py", True),
        # a leading or inner "/" anchors at the root
        ("/docs/", "x/docs/a.md", False),
        ("docs/a.md", "x/docs/a.md", False),
        ("docs/a.md", "docs/a.md", True),
        ("/build/logs/", "build/logs/a/b.log", True),
        # "?" is one character, never "/"
        ("/a?c", "abc", True),
        ("/a?c", "a/c", False),
        # literal paths: the file, or the folder and everything in it; case-sensitive
        ("/policy/tasks/a.yaml", "policy/tasks/a.yaml", True),
        ("/policy/tasks/a.yaml", "policy/tasks/a.yaml.bak", False),
        ("/policy/tasks/a.yaml", "policy/tasks/A.yaml", False),
        ("policy/tasks", "policy/tasks/a.yaml", True),
        ("*.YAML", "policy/tiers.yaml", False),
        ("#x", "#x", False),  # a comment, not a pattern
    ],
)
def test_pattern_semantics(pattern, path, expected):
    if pattern.startswith("#"):
        assert parse(f"{pattern} @o").entries == []
        return
    assert matches(pattern, path) is expected


def test_last_match_wins_over_the_whole_file_literal_and_glob_alike():
    text = "\n".join(["/a/b.txt @lit", "*.txt @glob", "/a/ @dir", "/a/b.txt @lit-again"]) + "\n"
    owners = Owners(parse(text))
    assert owners.entry_for("a/b.txt").owners == ("@lit-again",)
    assert owners.entry_for("a/c.txt").owners == ("@dir",)
    assert owners.entry_for("b/c.txt").owners == ("@glob",)
    assert Owners(parse("/a/b.txt @lit\n*.txt @glob\n")).entry_for("a/b.txt").owners == ("@glob",)


def test_fast_path_agrees_with_a_plain_scan():
    """Random files of literal and glob lines: the indexed matcher equals last-match-wins by regex."""
    rng = random.Random(7)
    names = ["a", "b", "c.txt", "d.py"]
    paths = ["/".join(p) for n in (1, 2, 3) for p in itertools.product(names, repeat=n)]
    for _ in range(200):
        lines = []
        for i in range(rng.randint(1, 8)):
            depth = rng.randint(1, 3)
            segs = [rng.choice(names + ["*", "**", "*.txt", "?"]) for _ in range(depth)]
            pattern = rng.choice(["/", ""]) + "/".join(segs) + rng.choice(["", "/"])
            lines.append(f"{pattern} @o{i}")
        parsed = parse("\n".join(lines))
        owners = Owners(parsed)
        compiled = [(e, re.compile(_translate(e.pattern))) for e in parsed.entries]
        for path in paths:
            expected = next((e for e, rx in reversed(compiled) if rx.match(path)), None)
            assert owners.entry_for(path) == expected, (lines, path)


def test_a_line_without_owners_clears_ownership():
    assert Owners(parse("* @all\n/docs/\n")).entry_for("docs/x.md").owners == ()


# --- lines GitHub skips -------------------------------------------------------------------


@pytest.mark.parametrize(
    "line,reason",
    [
        ("!foo @o", "`!`"),
        ("[ab].txt @o", "`[ ]`"),
        ("foo] @o", "`[ ]`"),
        ("\\#foo @o", "`\\`"),
        ("x.txt everyone", "'everyone'"),
        ("x.txt @", "'@'"),
        ("x.txt @org/", "'@org/'"),
        ("x.txt team", "'team'"),
        ("x.txt @ok @org/ @ok2", "'@org/'"),
        ("x.txt @o#comment", "'@o#comment'"),
        ("a//b @o", "empty path segment"),
        ("/ @o", "empty path segment"),
        ("x.txt\u00a0@o", "U+00A0"),
        ("x.txt @o\u200b", "U+200B"),
        ("x.txt\u2028@o", "U+2028"),
    ],
)
def test_skipped_lines_say_why(line, reason):
    parsed = parse(f"* @all\n{line}\n/z @z\n")
    assert [e.line for e in parsed.entries] == [1, 3]  # the rest of the file still applies
    assert [(s.line, s.text) for s in parsed.skipped] == [(2, line)]
    assert reason in parsed.skipped[0].reason


def test_every_skipped_line_is_listed():
    parsed = parse("!a @o\n[b] @o\nc everyone\nd @o\n")
    assert [s.line for s in parsed.skipped] == [1, 2, 3]
    assert [e.pattern for e in parsed.entries] == ["d"]


def test_comments_blank_lines_and_line_endings():
    text = "# comment\r\n\r\n   # indented\r\n*.js @js #inline comment\r\n/x @a\t@b  # trailing\n/y # no owners\n"
    parsed = parse(text)
    assert parsed.skipped == []
    assert [(e.line, e.pattern, e.owners) for e in parsed.entries] == [
        (4, "*.js", ("@js",)), (5, "/x", ("@a", "@b")), (6, "/y", ())]


def test_email_and_team_owners():
    parsed = parse("/a orders-team@acme.example @Acme/Team-1 @user-2\n")
    assert parsed.skipped == [] and parsed.entries[0].owners == ("orders-team@acme.example", "@Acme/Team-1", "@user-2")
    assert Owners(parsed).owns("a", "@acme/team-1")  # GitHub names are case-insensitive


def test_block_markers():
    assert parse(f"x @a\n{BEGIN}\n/y @b\n{END}\n/z @c\n").block == (2, 4)
    assert parse(f"{BEGIN}\n{END}\n{END}\n").block is None
    assert parse(f"{END}\n{BEGIN}\n").block is None
    assert parse("x @a\n").block is None


# --- folders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,base,later",
    [
        ("/evals/t/ @o\n", 1, []),
        ("/evals/ @o\n", 1, []),
        ("* @o\n", 1, []),
        ("/evals/t @o\n", 1, []),
        ("/evals/t/ @o\n/evals/t/x.yaml @p\n", 1, [2]),
        ("/evals/t/ @o\n/evals/t/2027* @p\n", 1, [2]),
        ("/evals/t/ @o\n/evals/*/*.jsonl @p\n", 1, [2]),
        ("/evals/t/ @o\n*.py @p\n", 1, [2]),
        ("/evals/t/ @o\nt/ @p\n", 2, []),  # unanchored "t/": the whole folder
        ("/evals/t/ @o\n/evals/t/** @p\n", 2, []),
        ("/evals/t/ @o\n/evals/**/*.yaml @p\n", 1, [2]),
        ("/evals/t/ @o\n/evals/**/* @p\n", 2, []),  # every file, at any depth
        ("/evals/t/ @o\n/evals/t/* @p\n", 1, [2]),  # direct children only
        ("/evals/t/ @o\n/evals**.yaml @p\n", 1, []),
        ("/evals/t/ @o\n/evals/u/ @p\n/docs/ @q\n", 1, []),
        ("/evals/t/x.yaml @p\n/evals/t/ @o\n", 2, []),  # overridden by the later folder line
        ("/evals/t/x/ @p\n", None, [1]),
    ],
)
def test_folder_lines(text, base, later):
    found, rest = Owners(parse(text)).folder_lines("evals/t/")
    assert (found.line if found else None) == base
    assert [e.line for e in rest] == later


def test_takers_name_the_lines_that_keep_a_path_from_its_owner():
    owners = Owners(parse("/evals/t/ @o\n/evals/t/a* @o @p\n/evals/t/b* @p\n"))
    assert [(e.line, part) for e, part in owners.takers("evals/t/", "@o")] == [(3, True)]
    assert [(e.line, part) for e, part in owners.takers("evals/t/", "@p")] == [(1, False)]
    assert owners.takers("evals/t/a.yaml", "@o") == [] and owners.owns("evals/t/a.yaml", "@p")
    assert Owners(parse("")).takers("evals/t/", "@o") == [(None, False)]


def _random_pattern(rng: random.Random) -> str:
    segments = []
    for _ in range(rng.randint(1, 3)):
        segments.append("**" if rng.random() < 0.2 else "".join(rng.choice("ab*?") for _ in range(rng.randint(1, 2))))
    return rng.choice(["", "/"]) + "/".join(segments) + rng.choice(["", "", "/"])


def test_automaton_agrees_with_the_regex():
    rng = random.Random(11)
    for _ in range(300):
        pattern = _random_pattern(rng)
        if parse(f"{pattern} @o").skipped:
            continue
        automaton, regex = _Automaton(tokens(pattern)), re.compile(_translate(pattern))
        for _ in range(30):
            path = "/".join("".join(rng.choice("abz") for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 4)))
            states = automaton.closure({0})
            for ch in path:
                states = automaton.step(states, ch)
            assert (automaton.accept in states) == bool(regex.match(path)), (pattern, path)


def test_folder_analysis_agrees_with_brute_force():
    rng = random.Random(5)
    names = ["".join(p) for n in (1, 2) for p in itertools.product("abz", repeat=n)]
    below = ["/".join(p) for n in (1, 2, 3) for p in itertools.product(names, repeat=n)]
    for _ in range(150):
        pattern = _random_pattern(rng)
        if parse(f"{pattern} @o").skipped:
            continue
        regex = re.compile(_translate(pattern))
        for folder in ("a", "a/b"):
            hits = [bool(regex.match(f"{folder}/{rest}")) for rest in below]
            some, every = _Automaton(tokens(pattern)).under(folder)
            assert (some, every) == (any(hits), all(hits)), (pattern, folder)


def test_matching_agrees_with_an_independent_implementation():
    """The `codeowners` package (a port of hmarr/codeowners), when installed, as an oracle for
    matching only: it accepts `[ ]` ranges and loose owners, which GitHub skips."""
    oracle = pytest.importorskip("codeowners")
    rng = random.Random(3)
    paths = ["/".join(p) for n in (1, 2, 3) for p in itertools.product(["a", "b", "ab", "z"], repeat=n)]
    checked = 0
    for _ in range(400):
        pattern = _random_pattern(rng)
        if parse(f"{pattern} @o").skipped:
            continue
        theirs = oracle.CodeOwners(f"{pattern} @o")
        for path in paths:
            assert matches(pattern, path) == (theirs.matching_line(path)[1] is not None), (pattern, path)
        checked += 1
    assert checked > 200


# --- loading and the block ----------------------------------------------------------------


class _Tree:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, rel: str, limit: int) -> bytes:
        if len(self.data) > limit:
            raise LoadError(TOO_LARGE, f"'{rel}' is over the {limit}-byte limit")
        return self.data


@pytest.mark.parametrize("size,ok", [(MAX_BYTES - 1, True), (MAX_BYTES, False), (MAX_BYTES + 1, False)])
def test_githubs_3_mb_limit(size, ok):
    data = b"* @o\n" + b"#" * (size - 6) + b"\n"
    assert len(data) == size
    if ok:
        assert load(_Tree(data), "CODEOWNERS").entry_for("x").owners == ("@o",)
    else:
        with pytest.raises(LoadError) as err:
            load(_Tree(data), "CODEOWNERS")
        assert err.value.rule is TOO_LARGE and "3 MB" in err.value.message and str(MAX_BYTES) in err.value.message


def test_platform_patterns_cover_their_probes():
    for pattern, probe in zip(PLATFORM_PATTERNS, PLATFORM_PROBES, strict=True):
        assert matches(pattern, probe)


def test_managed_block_covers_what_it_governs():
    block = managed_block("@plat", ".github/CODEOWNERS", [("policy/tasks/b.yaml", "@b"), ("policy/tasks/a.yaml", "@a")])
    owners = Owners(parse(block))
    assert owners.block == (1, len(block.splitlines()))
    for area in ("policy/tiers.yaml", ".github/", "src/", "schemas/", ".github/CODEOWNERS"):
        assert owners.takers(area, "@plat") == [], area
    for task, owner in (("a", "@a"), ("b", "@b")):
        assert owners.takers(f"policy/tasks/{task}.yaml", owner) == []
        assert owners.takers(f"evals/{task}/", owner) == []
    assert f"/policy/tasks/a.yaml @a\n/evals/a/ @a\n/policy/tasks/b.yaml @b\n" in block


def _names(rng: random.Random, count: int) -> list[str]:
    """Task ids that share prefixes the way real ones do (team-area-thing), some a prefix of another."""
    words = ["a", "ab", "billing", "bill", "search", "s", "x1", "x10"]
    return sorted({"-".join(rng.choice(words) for _ in range(rng.randint(1, 3))) for _ in range(count)})


@pytest.mark.parametrize("seed", range(40))
def test_prefix_cover_gives_each_owner_its_names_and_nobody_elses(seed):
    rng = random.Random(seed)
    names = _names(rng, 60)
    owners = {name: rng.choice(["@a", "@b", None]) for name in names}
    text = "\n".join(f"/x/{p}{'' if exact else '*'}.yaml {who}" for p, who, exact in prefix_cover(owners))
    github = Owners(parse(text))
    for name, who in owners.items():
        entry = github.entry_for(f"x/{name}.yaml")
        assert (entry.owners if entry else None) == ((who,) if who else None), (name, text)


def test_a_large_block_is_compacted_under_githubs_limit_and_still_owns_every_file(monkeypatch):
    """Past COMPACT_ABOVE, one line per file would soon pass GitHub's 3 MB: prefix patterns take
    over, each file still goes to its owner, other files in those folders to nobody (checked with
    this module and an independent matcher), and the eval sets stay with the platform or one owner."""
    import codeowners as oracle

    import tiergate.codeowners as module

    teams = ["@org/billing", "@org/search", "@org/support"]
    contracts = [(f"policy/tasks/{team[5:]}-{i:03d}.yaml", team) for team in teams for i in range(40)]
    contracts.append(("policy/tasks/billing.yaml", "@org/search"))  # a name that is a prefix of another team's
    stray = ["policy/tasks/billing-zzz.yaml", "evals/old-task/x.yaml", "evals/datasets/shared.jsonl"]
    sets = [(f"evals/datasets/billing-{i:03d}.jsonl", "@org/billing") for i in range(40)]
    listing = [p for p, _ in contracts] + stray + [p for p, _ in sets] + ["evals/billing-001/run.yaml"]
    files = lambda folder: [p for p in listing if p.startswith(folder + "/")]  # noqa: E731
    exact = managed_block("@org/plat", ".github/CODEOWNERS", contracts, sets, files=files)
    monkeypatch.setattr(module, "COMPACT_ABOVE", 2_000)
    block = managed_block("@org/plat", ".github/CODEOWNERS", contracts, sets, files=files)
    assert len(block) < len(exact) // 4 and "\n/policy/tasks/search-*.yaml @org/search\n" in block
    assert "\n/policy/tasks/billing-0*.yaml @org/billing\n" in block  # billing-zzz.yaml is not a contract: not theirs
    ours, theirs = Owners(parse(block)), oracle.CodeOwners(block)
    expected = {**{p: t for p, t in contracts}, **{f"evals/{p[13:-5]}/r.yaml": t for p, t in contracts}, **dict(sets),
                "policy/tasks/billing-zzz.yaml": None, "evals/old-task/x.yaml": None, "evals/datasets/shared.jsonl": "@org/plat"}
    for path, who in expected.items():
        entry = ours.entry_for(path)
        assert (entry.owners if entry else None) == ((who,) if who else None), path
        assert [o for _, o in theirs.of(path)] == ([who] if who else []), path
    for contract, owner in contracts:
        assert ours.takers(contract, owner) == [] and ours.takers(f"evals/{contract[13:-5]}/", owner) == []
