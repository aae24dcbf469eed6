"""Attacks on ownership: CODEOWNERS edits that would hand a governed path to someone else
behind the gate's back. Each attack has a legitimate twin that must still pass.

GitHub reads CODEOWNERS top to bottom and the *last* matching line wins, so a line appended
after the managed block beats the block; a line GitHub skips (bad syntax, bad owner) is as if
it were not there, so it can never "restore" an owner; and a pattern GitHub does not match
(``**`` inside a segment) restores nothing either.
"""

from __future__ import annotations

import json

import pytest

from conftest import AS_OF, cli
from tiergate.codeowners import END

INTENT = "policy/tasks/intent-classification.yaml"
SUPPORT = "@acme/support-ml"
PLATFORM = "@acme/ml-platform"
MB3 = 3 * 1024 * 1024
OUTSIDE = "(outside the tiergate managed block)"
MOVE = "remove it or move it above the block"


@pytest.fixture(autouse=True)
def gate_areas(repo):
    """This repository's gate code and workflows: areas CODEOWNERS must keep with the platform owner.

    (The example copy holds only policy, evals, schemas and CODEOWNERS; an area a repository does not
    have is not required in CODEOWNERS, so the attacks need it to exist.)
    """
    repo.write("src/tiergate/__init__.py", "\n")
    repo.write(".github/workflows/policy-gate.yml", "name: policy-gate\n")


def findings(run):
    return json.loads(run.out)["findings"]


def keyed(run):
    return sorted((f["rule"], f["file"], f["line"]) for f in findings(run))


def append(repo, *lines: str) -> list[int]:
    """Append ``lines`` to CODEOWNERS; return their line numbers."""
    text = repo.read("CODEOWNERS")
    first = text.count("\n") + 1
    repo.write("CODEOWNERS", text + "".join(line + "\n" for line in lines))
    return list(range(first, first + len(lines)))


def owner_line(repo, path: str) -> int:
    return next(n for n, line in enumerate(repo.read(path).splitlines(), 1) if line.startswith("owner:"))


def contracts(repo) -> list[str]:
    return sorted(f"policy/tasks/{p.name}" for p in repo.path("policy/tasks").glob("*.yaml"))


# --- a line after the managed block ---------------------------------------------------------


def test_line_after_the_block_reassigns_a_contract(repo, validate):
    (n,) = append(repo, f"/{INTENT} @attacker")
    run = validate()
    assert run.code == 1
    assert keyed(run) == [("TG702", INTENT, owner_line(repo, INTENT))]
    message = findings(run)[0]["message"]
    assert f"line {n} {OUTSIDE} gives {INTENT} to @attacker after the block" in message
    assert MOVE in message and SUPPORT in message


def test_catch_all_at_the_end_takes_everything(repo, validate):
    (n,) = append(repo, "* @attacker")
    run = validate()
    assert run.code == 1
    found = findings(run)
    every = contracts(repo)
    contract = [f for f in found if f["rule"] == "TG702"]
    assert sorted(f["file"] for f in contract if "evidence folder" not in f["message"]) == every
    assert sorted(f["file"] for f in contract if "evidence folder" in f["message"]) == every
    platform = [f for f in found if f["rule"] == "TG703"]
    assert {(f["file"], f["line"]) for f in platform} == {("CODEOWNERS", n)}
    named = " ".join(f["message"] for f in platform)
    for area in ("policy/tiers.yaml", ".github/", "src/", "schemas/", "CODEOWNERS to"):
        assert area in named
    sets = [f for f in found if f["rule"] == "TG705"]  # and every contract's in-repo eval set
    assert len(sets) == len(every) - 1  # architecture-review's eval set is external
    assert {f["rule"] for f in found} == {"TG702", "TG703", "TG705"}
    assert all(f"line {n} {OUTSIDE}" in f["message"] and MOVE in f["message"] for f in found)


@pytest.mark.parametrize(
    "line",
    [
        "/evals/intent-classification/ @attacker",
        "evals/intent-classification/ @attacker",
        "intent-classification/ @attacker",  # unanchored: any folder of that name, evals/ included
        "/evals/intent-classification/2027* @attacker",  # part of the folder: future artifacts
        "/evals/*/*.records.jsonl @attacker",  # the records of every contract
    ],
)
def test_evidence_folder_after_the_block(repo, validate, line):
    (n,) = append(repo, line)
    run = validate()
    assert run.code == 1
    found = [f for f in findings(run) if f["rule"] != "TG703"]  # "intent-classification/" also reaches into src/
    assert {(f["rule"], "evidence folder" in f["message"]) for f in found} == {("TG702", True)}
    assert ("TG702", INTENT, owner_line(repo, INTENT)) in keyed(run)
    intent = next(f for f in found if f["file"] == INTENT)
    assert f"line {n} {OUTSIDE}" in intent["message"] and "evals/intent-classification/" in intent["message"]
    assert SUPPORT in intent["message"] and MOVE in intent["message"]


@pytest.mark.parametrize(
    "line",
    [
        "/schemas/ @attacker",
        "/schemas/contract.schema.json @attacker",
        "/src/tiergate/rules/ @attacker",  # part of the gate: not the probe file, still the gate
        "/.github/workflows/*.yml @attacker",
        "/src/**/*.py @attacker",
    ],
)
def test_platform_areas_after_the_block(repo, validate, line):
    (n,) = append(repo, line)
    run = validate()
    assert run.code == 1
    assert {(f["rule"], f["file"], f["line"]) for f in findings(run)} == {("TG703", "CODEOWNERS", n)}
    assert all(PLATFORM in f["message"] and f"line {n} {OUTSIDE}" in f["message"] for f in findings(run))


# --- a line the gate must not believe restores an owner -------------------------------------


@pytest.mark.parametrize(
    "attack,restore,rule,file",
    [
        # "**" inside a segment is a plain "*", which never crosses "/": none of these lines
        # matches the path the attack took (the old gate read "**" as ".*" and believed them)
        ("/policy/tiers.yaml @attacker", "/policy**tiers.yaml @acme/ml-platform", "TG703", "CODEOWNERS"),
        ("/policy/tiers.yaml @attacker", "/policy**.yaml @acme/ml-platform", "TG703", "CODEOWNERS"),
        (f"/{INTENT} @attacker", "/policy/tasks**.yaml @acme/support-ml", "TG702", INTENT),
        ("/evals/intent-classification/ @attacker", "/evals**.yaml @acme/support-ml", "TG702", INTENT),
    ],
)
def test_double_star_inside_a_segment_restores_nothing(repo, validate, attack, restore, rule, file):
    n, _ = append(repo, attack, restore)
    run = validate()
    assert run.code == 1
    assert [(f["rule"], f["file"]) for f in findings(run)] == [(rule, file)]
    assert f"line {n} {OUTSIDE} gives" in findings(run)[0]["message"]
    if file == "CODEOWNERS":
        assert findings(run)[0]["line"] == n


@pytest.mark.parametrize("token", ["everyone", "@", "@org/", "team", "@acme/"])
def test_invalid_owner_line_is_skipped_and_restores_nothing(repo, validate, token):
    attack, restore = append(repo, "/policy/tiers.yaml @attacker", f"/policy/tiers.yaml @acme/ml-platform {token}")
    run = validate()
    assert run.code == 1
    assert keyed(run) == sorted([("TG703", "CODEOWNERS", attack), ("TG704", "CODEOWNERS", restore)])
    skipped = next(f for f in findings(run) if f["rule"] == "TG704")
    assert f"'{token}'" in skipped["message"] and "skips" in skipped["message"]


def test_unsupported_syntax_is_reported_line_by_line_and_the_rest_still_applies(repo, validate):
    negation, ranged, escaped, attack = append(
        repo,
        f"!{INTENT} @acme/support-ml",
        "/policy/tasks/[a-z]*.yaml @attacker",
        "/policy/tasks/\\#x.yaml @attacker",
        "/policy/tasks/code-generation.yaml @attacker",
    )
    run = validate()
    assert run.code == 1
    code_gen = "policy/tasks/code-generation.yaml"
    assert keyed(run) == sorted(
        [("TG704", "CODEOWNERS", negation), ("TG704", "CODEOWNERS", ranged), ("TG704", "CODEOWNERS", escaped),
         ("TG702", code_gen, owner_line(repo, code_gen))]
    )
    messages = {f["line"]: f["message"] for f in findings(run) if f["rule"] == "TG704"}
    assert "!" in messages[negation] and "[ ]" in messages[ranged] and "\\" in messages[escaped]


def test_a_lookalike_separator_does_not_restore(repo, validate):
    """A no-break space is not a separator for GitHub: the line is one pattern that matches nothing."""
    attack, restore = append(repo, "/policy/tiers.yaml @attacker", "/policy/tiers.yaml\u00a0@acme/ml-platform")
    run = validate()
    assert run.code == 1
    assert ("TG703", "CODEOWNERS", attack) in keyed(run)
    assert ("TG704", "CODEOWNERS", restore) in keyed(run)


# --- size -----------------------------------------------------------------------------------


def pad_to(repo, size: int) -> None:
    text = repo.read("CODEOWNERS")
    filler = ("# padding " + "x" * 69 + "\n") * ((size - len(text) - 1) // 80)
    text = filler + text
    text = "#" * (size - len(text) - 1) + "\n" + text
    repo.write("CODEOWNERS", text)
    assert repo.path("CODEOWNERS").stat().st_size == size


@pytest.mark.parametrize("size", [MB3 + 1, MB3])
def test_codeowners_of_3_mb_or_more_is_ignored_by_github(repo, validate, size):
    pad_to(repo, size)
    run = validate()
    assert run.code == 1
    assert [(f["rule"], f["file"]) for f in findings(run)] == [("TG004", "CODEOWNERS")]
    message = findings(run)[0]["message"]
    assert "3 MB" in message and str(MB3) in message and "GitHub" in message


# --- legitimate twins -----------------------------------------------------------------------


def test_twin_comments_only(repo, validate):
    append(repo, "# @attacker reviews nothing: comments are not lines", "   # indented comment", "")
    repo.write("CODEOWNERS", "# header comment\n" + repo.read("CODEOWNERS"))
    assert validate().code == 0


def test_twin_line_above_the_block_is_overridden(repo, validate):
    repo.write("CODEOWNERS", f"* @attacker\n/{INTENT} @attacker\n/evals/ @attacker\n/schemas/ @attacker\n"
               + repo.read("CODEOWNERS"))
    assert validate().code == 0


def test_twin_extra_reviewers_after_the_block_keep_the_declared_owner(repo, validate):
    append(
        repo,
        f"/{INTENT} @acme/support-ml @acme/qa  # QA reviews label changes too",
        "/evals/intent-classification/ @acme/qa @acme/support-ml",
        "/schemas/ @acme/ml-platform @acme/docs",
        "/src/tiergate/rules/ @acme/docs @acme/ml-platform",
        "/docs/ @acme/docs",  # a path tiergate does not govern
    )
    run = validate()
    assert run.code == 0, run.out


@pytest.mark.parametrize("restore", ["/policy/tiers.yaml @acme/ml-platform", "/policy/*.yaml @acme/ml-platform",
                                     "/policy/**/tiers.yaml @acme/ml-platform", "/policy/tiers.* @acme/ml-platform",
                                     # "**" inside a segment is a plain "*", and "*" matches the "."
                                     "/policy/tiers**yaml @acme/ml-platform"])
def test_twin_a_real_restore_after_the_attack(repo, validate, restore):
    append(repo, "/policy/tiers.yaml @attacker", restore)
    assert validate().code == 0


def test_twin_codeowners_just_under_the_limit(repo, validate):
    pad_to(repo, MB3 - 1)
    run = validate()
    assert run.code == 0, run.out


def test_a_second_end_marker_does_not_hide_an_attack(repo, validate):
    """A fake END marker after the attack does not pull the attack into the block."""
    (n,) = append(repo, "/policy/tiers.yaml @attacker", END)[:1]
    run = validate()
    assert run.code == 1
    assert keyed(run) == [("TG703", "CODEOWNERS", n)]
    assert "tiergate codeowners --write" in findings(run)[0]["message"]


def _prompt_from_file(repo) -> int:
    """The intent contract asks through a template in policy/prompts/; returns the template line."""
    repo.write("policy/prompts/intent.txt", "Classify the message into billing, bug, howto or account.\nMessage: {input}\n")
    text = repo.read(INTENT).replace('  inline: "Classify the message into billing, bug, howto or account.\\nMessage: {input}"\n',
                                     "  template: policy/prompts/intent.txt\n")
    repo.write(INTENT, text)
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("  template:"))


def test_a_prompt_file_given_to_someone_else_is_refused(repo, capsys):
    """The prompt decides what a cheaper tier is failed on: whoever may edit it can make that tier fail.
    A line after the block that hands policy/prompts/ to another team takes it from the contract's owner."""
    line = _prompt_from_file(repo)
    assert cli(capsys, "codeowners", "--write", "--repo", str(repo.root)).code == 0
    [taken] = append(repo, "/policy/prompts/ @acme/growth")
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    found = [f for f in findings(run) if f["rule"] == "TG706"]
    assert run.code == 1 and [(f["file"], f["line"]) for f in found] == [(INTENT, line)]
    assert f"CODEOWNERS:{taken}" in found[0]["message"] or f"line {taken}" in found[0]["message"]


def test_the_twin_the_block_gives_a_prompt_file_to_its_contracts_owner(repo, capsys):
    _prompt_from_file(repo)
    assert cli(capsys, "codeowners", "--write", "--repo", str(repo.root)).code == 0
    text = repo.read("CODEOWNERS")
    assert f"/policy/prompts/ {PLATFORM}\n" in text and f"/policy/prompts/intent.txt {SUPPORT}\n" in text
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    assert run.code == 0, findings(run)


# --- a file name that is a pattern ------------------------------------------------------------

TICKET = "policy/tasks/ticket-routing.yaml"
TICKET_SET = "evals/datasets/ticket-routing.jsonl"


def _name_the_set(repo, name: str) -> None:
    """ticket-routing (owned by @acme/eng-productivity) names its eval set ``name``, a copy of its own set."""
    repo.write(name, repo.read(TICKET_SET))
    repo.replace(TICKET, f"eval_set: {TICKET_SET}", f"eval_set: {json.dumps(name)}")


@pytest.mark.parametrize("name", ["evals/datasets/*.jsonl", "evals/datasets/?icket-routing.jsonl", "evals/datasets/a b.jsonl",
                                  "evals/datasets/x#y.jsonl", "evals/datasets/[t]icket-routing.jsonl",
                                  "evals/datasets/x.jsonl\n/src/ @acme/mallory"])
def test_an_eval_set_named_like_a_pattern_gets_no_line_of_its_own(repo, capsys, name):
    """A line `/evals/datasets/*.jsonl @team`, after the folder's platform line, would hand every shared and every new
    eval set to that team; the set stays with the platform (the folder's line)."""
    _name_the_set(repo, name)
    done = cli(capsys, "codeowners", "--repo", str(repo.root))
    assert done.code == 0, done.err
    block = done.out.splitlines()
    assert f"/{name} @acme/eng-productivity" not in block and not any(line.startswith(f"/{name.split(' ')[0]}") for line in block)
    assert f"/evals/datasets/ {PLATFORM}" in block and not any("mallory" in line for line in block)


def test_an_eval_set_with_an_ordinary_name_goes_to_its_owner(repo, capsys):
    _name_the_set(repo, "evals/datasets/ticket-routing-v2.jsonl")
    done = cli(capsys, "codeowners", "--repo", str(repo.root))
    assert "/evals/datasets/ticket-routing-v2.jsonl @acme/eng-productivity" in done.out.splitlines()


def _share_prompt(repo, spelling_a: str, spelling_b: str) -> None:
    """intent-classification (@acme/support-ml) and ticket-routing (@acme/eng-productivity) both use one prompt file."""
    repo.write("policy/prompts/shared.txt", "Classify the message.\nMessage: {input}\n")
    for contract, ref in ((INTENT, spelling_a), (TICKET, spelling_b)):
        text = repo.read(contract).split("\nprompt:")[0].rstrip("\n")
        repo.write(contract, text + f"\nprompt:\n  template: {json.dumps(ref)}\n  parse: {{strip: true, casefold: true}}\n")


@pytest.mark.parametrize("spelling", ["policy/prompts/./shared.txt", "policy/prompts//shared.txt"])
def test_a_shared_prompt_spelt_two_ways_stays_the_platforms(repo, capsys, spelling):
    """Two spellings of one file are one file: used by two owners, it is the platform's, not the second spelling's owner's."""
    _share_prompt(repo, spelling, "policy/prompts/shared.txt")
    block = cli(capsys, "codeowners", "--repo", str(repo.root)).out.splitlines()
    assert not [line for line in block if "shared.txt" in line], block
    assert f"/policy/prompts/ {PLATFORM}" in block


def test_a_prompt_one_owner_uses_goes_to_that_owner(repo, capsys):
    _share_prompt(repo, "policy/prompts/./shared.txt", "policy/prompts/./shared.txt")
    repo.replace(TICKET, '"@acme/eng-productivity"', '"@acme/support-ml"')
    block = cli(capsys, "codeowners", "--repo", str(repo.root)).out.splitlines()
    assert f"/policy/prompts/shared.txt {SUPPORT}" in block
