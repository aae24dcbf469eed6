"""Attacks on the CI workflows: the gate that judges a pull request never runs the pull request's code.

`audit(flow)` reads a workflow the way an attacker would and returns what a pull request could
exploit: installing (or importing, or executing) the pull request's checkout, a checkout at the
workspace root, a local action (`uses: ./X`) that is not from the trusted checkout,
`pull_request_target`, `${{ }}` spliced into a script, a token left in `.git/config`, a
privileged workflow a pull request can trigger. A local action is read too (`audit_action`):
its scripts, with its inputs and env substituted, get the same checks as the workflow's own
steps, and it may install only from its own folder (`$GITHUB_ACTION_PATH`) or a pinned version.
Every workflow of this repository and its action.yml must audit clean; the audit must catch this
repository's own policy-gate.yml as it was before the trusted install, and each attack below.

The end-to-end tests run a job's steps in bash over real git repositories laid out the way
actions/checkout lays them out (a local action expanded into its steps), with a pull request
that replaces the gate's engine by one that always passes and raises a tier without evidence.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import pytest
import yaml

from conftest import EXAMPLE_PARTS, PROJECT
from fake_github import TOKEN, FakeGitHub
from gitrepo import GIT_ENV, GitRepo, init

WORKFLOW_DIR = PROJECT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
ACTION = PROJECT / "action.yml"
BASE_SHA = "github.event.pull_request.base.sha"
PR_TRIGGERS = {"pull_request", "pull_request_target"}
# Events whose runs a pull request (or its author, from a fork) can set off.
UNTRUSTED_TRIGGERS = PR_TRIGGERS | {"workflow_run", "issue_comment", "pull_request_review", "pull_request_review_comment",
                                    "discussion", "discussion_comment", "issues"}
INTENT = "policy/tasks/intent-classification.yaml"

# This repository's policy-gate.yml before the gate installed itself from the base commit:
# `pip install .` of the pull request's own checkout, so a pull request replaced its judge.
ORIGINAL_POLICY_GATE = """\
name: policy-gate
on:
  pull_request:
permissions:
  contents: read
concurrency:
  group: policy-gate-${{ github.event.pull_request.number }}
  cancel-in-progress: true
jobs:
  policy-gate:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the gate needs the merge base with the base branch
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install .
      - name: tiergate check
        run: tiergate check --base "origin/${{ github.base_ref }}" --format github
"""


def load(text: str) -> dict:
    """YAML 1.1 reads the key `on` as True; GitHub reads it as "on"."""
    data = yaml.safe_load(text)
    if True in data:
        data["on"] = data.pop(True)
    return data


def triggers(flow: dict) -> set[str]:
    on = flow["on"]
    return {on} if isinstance(on, str) else set(on)


# --- reading the steps ---------------------------------------------------------------------

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
WORKSPACE = ("${{github.workspace}}", "$GITHUB_WORKSPACE", "${GITHUB_WORKSPACE}")
INSTALLERS = (("pip", "install"), ("pip3", "install"), ("python", "-m", "pip", "install"), ("python3", "-m", "pip", "install"),
              ("uv", "pip", "install"), ("pipx", "install"), ("uv", "tool", "install"))
# Options whose value is something to install; every other option's value (if any) is skipped.
INSTALL_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable"}
OTHER_VALUE_OPTIONS = {"-t", "--target", "--prefix", "--root", "-i", "--index-url", "--extra-index-url", "-f",
                       "--find-links", "--python", "--src", "--upgrade-strategy", "--progress-bar", "--cache-dir"}
CONTROL = set("();&|")  # a word made only of these separates commands: `&&`, `;`, `|`, `;;`, `);` ...
ACTION_PATH = ("$GITHUB_ACTION_PATH", "${GITHUB_ACTION_PATH}")
# A requirement pinned to one version: name[extras]==version (the version may come from env).
PINNED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]*\])?==[^\s;<>=!~,@]+")


def checkouts(job: dict) -> list[dict]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith("actions/checkout@")]


def norm(path: str) -> str:
    """A path relative to the workspace root, "" for the root itself."""
    path = path.strip().strip("\"'")
    path = re.sub(r"\[[^\]]*\]$", "", path)  # extras: ./trusted[test]
    compact = EXPR.sub(lambda m: "${{" + m.group(1).replace(" ", "") + "}}", path)
    for prefix in WORKSPACE:
        if compact.startswith(prefix):
            compact = compact[len(prefix):].lstrip("/") or "."
    path = posixpath.normpath(compact) if compact else "."
    return "" if path == "." else path.removeprefix("./")


def checkout_path(step: dict) -> str:
    return norm(str((step.get("with") or {}).get("path", "")))


def trusted(step: dict) -> bool:
    """A checkout of the pull request's base commit (of this repository): merged, reviewed code.
    `base.sha || github.sha` counts (github.sha only where there is no pull request);
    `head.sha || base.sha` does not."""
    options = step.get("with") or {}
    found = EXPR.fullmatch(str(options.get("ref", "")).strip())
    return bool(found) and found.group(1).split("||")[0].strip() == BASE_SHA and "repository" not in options


def trusted_checkout(step: dict, flow: dict) -> bool:
    """`trusted`, or, in a workflow no pull request can start (push, schedule, workflow_dispatch),
    the default checkout: the commit the run is for, which is merged code."""
    options = step.get("with") or {}
    return trusted(step) or (not triggers(flow) & UNTRUSTED_TRIGGERS and not {"ref", "repository"} & set(options))


def owner(path: str, job: dict) -> dict | None:
    """The checkout a workspace path lies in (the deepest one)."""
    found = [c for c in checkouts(job) if checkout_path(c) == "" or path == checkout_path(c)
             or path.startswith(checkout_path(c) + "/")]
    return max(found, key=lambda c: len(checkout_path(c)), default=None)


def _strip_comment(line: str) -> str:
    """The line up to a shell comment: `#` outside quotes, at the start of a word (`${#a[@]}` is no comment)."""
    quote, escaped = "", False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def commands(script: str) -> list[list[str]]:
    """Shell words of each simple command of a script (lines, `&&`, `;`, `|` ...), command
    substitutions `$(...)` and backquotes included."""
    script = EXPR.sub(lambda m: "${{" + m.group(1).replace(" ", "") + "}}", script).replace("\\\n", " ")
    lines = script.splitlines() + re.findall(r"\$\(([^()]*)\)", script) + re.findall(r"`([^`]*)`", script)
    out: list[list[str]] = []
    for line in lines:
        lexer = shlex.shlex(_strip_comment(line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        current: list[str] = []
        for word in lexer:
            if set(word) <= CONTROL:
                out.append(current)
                current = []
            else:
                current.append(word)
        out.append(current)
    return [c for c in out if c]


@dataclass
class Install:
    command: str
    targets: list[str]  # what it installs: paths and requirement names, as written


# Words before the command itself: `sudo -H pip ...`, `then pip ...`, `if ! pip ...`.
PREFIXES = {"sudo", "env", "time", "exec", "command", "nice", "then", "do", "else", "elif", "if", "while", "until", "!", "{"}


def installs(script: str) -> list[Install]:
    found = []
    for words in commands(script):
        start = 0  # past `sudo -H`, `env X=1` and the like
        while start < len(words) and (words[start] in PREFIXES or "=" in words[start]
                                      or (start and words[start].startswith("-") and words[start - 1] in PREFIXES)):
            start += 1
        names = words[:start] + [posixpath.basename(w) for w in words[start:start + 1]] + words[start + 1:]
        match = next((inst for inst in INSTALLERS if tuple(names[start:start + len(inst)]) == inst), None)
        if match is None:
            continue
        args, targets, i = words[start + len(match):], [], 0
        while i < len(args):
            arg = args[i]
            name, _, value = arg.partition("=")
            if arg.startswith("-") and value and name in INSTALL_VALUE_OPTIONS | OTHER_VALUE_OPTIONS:
                targets += [value] if name in INSTALL_VALUE_OPTIONS else []
            elif arg in INSTALL_VALUE_OPTIONS and i + 1 < len(args):
                targets.append(args[i + 1])
                i += 1
            elif arg in OTHER_VALUE_OPTIONS:
                i += 1
            elif not arg.startswith("-"):
                targets.append(arg)
            i += 1
        found.append(Install(" ".join(words), targets))
    return found


def looks_local(target: str, job: dict) -> bool:
    """pip reads a target as a local path when it has a slash or starts with a dot; a checkout's
    bare folder name counts too (being cautious costs nothing here)."""
    plain = target.strip("\"'")
    return ("/" in plain or plain.startswith((".", "$")) or norm(plain) in {checkout_path(c) for c in checkouts(job)}
            or norm(plain) == "")


def step_scripts(step: dict) -> list[str]:
    """What a shell or interpreter runs for one step."""
    if "run" in step:
        return [str(step["run"])]
    if str(step.get("uses", "")).startswith("actions/github-script@"):
        return [str((step.get("with") or {}).get("script", ""))]
    return []


def scripts(flow: dict):
    """(job id, job, step, code) for every piece of a workflow that a shell or interpreter runs."""
    for job_id, job in flow["jobs"].items():
        for step in job.get("steps", []):
            for code in step_scripts(step):
                yield job_id, job, step, code


# --- local actions (`uses: ./X`) ------------------------------------------------------------


def this_repository(folder: str) -> Optional[dict]:
    """The action.yml of `folder` in a checkout of this repository (every checkout in these
    workflows is of this repository; the trusted one is the base commit, i.e. these files)."""
    for name in ("action.yml", "action.yaml"):
        path = PROJECT / folder / name
        if path.is_file():
            return yaml.safe_load(path.read_text())
    return None


def action_inputs(step: dict, action: dict) -> dict[str, str]:
    """The inputs an action step runs with: its `with:`, else each input's default."""
    defaults = {str(name): str((spec or {}).get("default", "")) for name, spec in (action.get("inputs") or {}).items()}
    return defaults | {str(k): str(v) for k, v in (step.get("with") or {}).items()}


def action_expand(text: str, inputs: dict[str, str], action_path: str) -> str:
    """`${{ inputs.x }}` and `${{ github.action_path }}` in an action step's env or working-directory."""
    def value(m: re.Match) -> str:
        name = m.group(1)
        if name == "github.action_path":
            return action_path
        if name.startswith("inputs.") and name[len("inputs."):] in inputs:
            return inputs[name[len("inputs."):]]
        return m.group(0)
    return EXPR.sub(value, text)


def substitute(script: str, env: dict[str, str]) -> str:
    """`$NAME` and `${NAME}` of the step's env replaced by their values, for reading the script."""
    def value(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        return env[name].replace('"', "").replace("`", "") if name in env else m.group(0)
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", value, script)


@dataclass
class Piece:
    """A script of an action step, as the audit reads it in the calling workflow."""
    step: dict   # the action's step
    code: str    # its script, the step's env (with the inputs) substituted
    where: str   # its working directory, relative to the workspace


def action_pieces(step: dict, action: dict, folder: str) -> list[Piece]:
    """The scripts of the local action at workspace `folder`, called by `step`."""
    inputs, path = action_inputs(step, action), folder or "."
    out = []
    for inner in (action.get("runs") or {}).get("steps") or []:
        env = {"GITHUB_ACTION_PATH": path} | {str(k): action_expand(str(v), inputs, path)
                                              for k, v in (inner.get("env") or {}).items()}
        where = norm(action_expand(str(inner.get("working-directory", "")), inputs, path))
        out += [Piece(inner, substitute(code, env), where) for code in step_scripts(inner)]
    return out


def audit_action(action: dict) -> list[str]:
    """An action's own steps: a composite action whose scripts take inputs through env and install
    only the action itself or a pinned version, and that calls no other local action."""
    runs = action.get("runs") or {}
    if runs.get("using") != "composite":
        return [f"runs.using is {runs.get('using')!r}: the audit reads composite actions only"]
    problems = []
    for i, step in enumerate(runs.get("steps") or []):
        name = step.get("id") or step.get("name") or f"step {i + 1}"
        if str(step.get("uses", "")).startswith("./"):
            problems.append(f"{name}: calls the local action {step['uses']}, a path in the caller's workspace")
        for code in step_scripts(step):
            for expr in EXPR.findall(code):
                problems.append(f"{name}: `${{{{ {expr} }}}}` is spliced into a script (script injection): pass it "
                                "through env")
            for inst in installs(code):
                for target in inst.targets:
                    if target not in ACTION_PATH and not PINNED.fullmatch(target):
                        problems.append(f"{name}: `{inst.command}` installs {target!r}: an action installs only "
                                        "itself ($GITHUB_ACTION_PATH) or a pinned version (name==version)")
    return problems


# --- the audit -----------------------------------------------------------------------------


# The one write a pull request's workflow may hold: a job that comments on the pull request, and
# does nothing else than check out (without keeping the token) and run the trusted checkout's
# action with `command: comment`, the token in that step's env and nowhere else.
COMMENT_PERMISSIONS = {"contents": "read", "pull-requests": "write"}
COMMENT_TOKEN = {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}


def comment_jobs(flow: dict) -> set[str]:
    """Jobs that hold `pull-requests: write` only to run the base commit's action's `comment`."""
    out = set()
    for job_id, job in flow["jobs"].items():
        if job.get("permissions") != COMMENT_PERMISSIONS:
            continue
        steps = job.get("steps", [])
        actions = [s for s in steps if not str(s.get("uses", "")).startswith("actions/checkout@")]
        fine = all("env" not in s for s in checkouts(job)) and len(actions) == 1 and all(
            str(s.get("uses", "")).startswith("./") and "run" not in s and (s.get("with") or {}).get("command") == "comment"
            and (s.get("env") or {}) == COMMENT_TOKEN and (home := owner(norm(str(s["uses"])), job)) is not None and trusted(home)
            for s in actions)
        if fine:
            out.add(job_id)
    return out


def _secrets(flow: dict, excused: set[str]) -> bool:
    """Does the workflow name a secret, apart from the comment step's own token?"""
    flow = json.loads(json.dumps(flow))
    for job_id in excused:
        for step in flow["jobs"][job_id].get("steps", []):
            if (step.get("env") or {}) == COMMENT_TOKEN:
                del step["env"]
    return "secrets." in yaml.safe_dump(flow)


def _writes(flow: dict, excused: set[str] = frozenset()) -> list[str]:
    out = []
    scopes = [("workflow", flow.get("permissions"))] + [(j, job.get("permissions")) for j, job in flow["jobs"].items()
                                                        if j not in excused]
    for scope, perms in scopes:
        if isinstance(perms, str):
            out += [f"{scope}: {perms}"] if perms == "write-all" else []
        else:
            out += [f"{scope}: {name}: {value}" for name, value in (perms or {}).items() if value == "write"]
    return out


def audit(flow: dict, read_action: Callable[[str], Optional[dict]] = this_repository) -> list[str]:
    """What a pull request could exploit in `flow`. `read_action(folder)` reads the action.yml of a
    folder of the trusted checkout (default: this repository's files)."""
    problems: list[str] = []
    on = triggers(flow)
    from_pr = bool(on & PR_TRIGGERS)

    if "pull_request_target" in on:
        problems.append("pull_request_target runs with secrets and a write token: checking out or running the pull "
                        "request there is the 'pwn request' pattern")

    if on & UNTRUSTED_TRIGGERS:
        excused = comment_jobs(flow) if "pull_request_target" not in on else set()
        writes = _writes(flow, excused)
        if writes or _secrets(flow, excused):
            problems.append(f"triggered by {sorted(on & UNTRUSTED_TRIGGERS)} yet holds {writes or 'secrets'}")
        if "permissions" not in flow:
            problems.append("no workflow-level `permissions`: the token gets the repository's default, maybe write")

    for job_id, job, step, code in scripts(flow):
        for expr in EXPR.findall(code):
            problems.append(f"{job_id}: `${{{{ {expr} }}}}` is spliced into a script (script injection): pass it "
                            "through env")

    for job_id, job in flow["jobs"].items():
        pushes = any(re.search(r"\bgit\s+push\b", str(s.get("run", ""))) for s in job.get("steps", []))
        for step in checkouts(job):
            if not pushes and (step.get("with") or {}).get("persist-credentials") is not False:
                problems.append(f"{job_id}: checkout {checkout_path(step) or '(root)'} leaves the token in .git/config "
                                "(persist-credentials: false)")

    # Local actions, in every workflow: `uses: ./X` runs X/action.yml from the workspace, i.e. the
    # files of whatever checkout X lies in. Only the trusted checkout's action may run; it is read
    # and its scripts join the job's for the checks below.
    expanded: dict[str, list[Piece]] = {job_id: [] for job_id in flow["jobs"]}
    for job_id, job in flow["jobs"].items():
        for step in job.get("steps", []):
            uses = str(step.get("uses", ""))
            if not uses.startswith("./"):
                continue
            folder = norm(uses)
            home = owner(folder, job)
            if home is None or not trusted_checkout(home, flow):
                problems.append(f"{job_id}: local action {uses} is not from a checkout of the base commit"
                                + ("" if from_pr else " (or the default checkout of merged code)"))
                continue  # its files are the pull request's: nothing there to read
            inner = posixpath.relpath(folder or ".", checkout_path(home) or ".")  # the folder in that checkout
            action = read_action("" if inner == "." else inner)
            if action is None:
                problems.append(f"{job_id}: local action {uses} has no action.yml")
                continue
            problems += [f"{job_id}: local action {uses}: {p}" for p in audit_action(action)]
            expanded[job_id] += action_pieces(step, action, folder)

    if not from_pr:
        return problems

    for job_id, job in flow["jobs"].items():
        paths = [checkout_path(c) for c in checkouts(job)]
        untrusted = [checkout_path(c) for c in checkouts(job) if not trusted(c)]
        for path in paths:
            if path == "":
                problems.append(f"{job_id}: a checkout at the workspace root puts the pull request where every step "
                                "runs (`python -m` imports from there)")
        for a in paths:
            for b in paths:
                if a != b and a and b.startswith(a + "/"):
                    problems.append(f"{job_id}: checkout {b} lies inside checkout {a}")

        # Every script of the job: the workflow's own steps, then each local action's, as read in this job.
        pieces = [Piece(step, "\n".join(step_scripts(step)), norm(str(step.get("working-directory", ""))))
                  for step in job.get("steps", [])] + expanded[job_id]
        trusted_install = False
        for piece in pieces:
            where = piece.where
            if where and any(where == p or where.startswith(p + "/") for p in untrusted):
                problems.append(f"{job_id}: a step runs inside the pull request checkout ({where})")
            for inst in installs(piece.code):
                for target in inst.targets:
                    if not looks_local(target, job):
                        continue  # a requirement from the package index
                    path, home = norm(target), owner(norm(target), job)
                    if path == "" or home is None or not trusted(home):
                        problems.append(f"{job_id}: `{inst.command}` installs {target!r}, which is not a checkout of "
                                        f"the base commit ({BASE_SHA})")
                    else:
                        trusted_install = True
            for words in commands(piece.code):
                for i, word in enumerate(words):
                    path = norm(word) if "/" in word or word in untrusted else None
                    if path is None or not any(path == p or path.startswith(p + "/") for p in untrusted if p):
                        continue
                    as_data = (i > 0 and words[i - 1] == "--repo") or (words[:2] == ["git", "-C"] and i == 2
                                                                       and words[3:4] == ["rev-parse"])
                    if not as_data:
                        problems.append(f"{job_id}: `{' '.join(words)}` uses the pull request checkout {word} as "
                                        "something other than data (--repo)")
                for i, word in enumerate(words[1:], 1):  # python -m pr.module imports the checkout as a package
                    if words[i - 1] == "-m" and word.split(".")[0] in untrusted:
                        problems.append(f"{job_id}: `{' '.join(words)}` imports the pull request checkout")
        runs_tiergate = any(re.search(r"(^|\s)tiergate\s", p.code) for p in pieces)
        if runs_tiergate and not trusted_install:
            problems.append(f"{job_id}: runs tiergate without installing it from a checkout of the base commit")
    return problems


# --- the audit over this repository's workflows ----------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_audits_clean(path):
    assert audit(load(path.read_text())) == []


def test_the_action_audits_clean():
    assert audit_action(yaml.safe_load(ACTION.read_text())) == []


def test_no_workflow_uses_pull_request_target():
    for path in WORKFLOWS:
        assert "pull_request_target" not in triggers(load(path.read_text())), path.name


def test_privileged_and_merged_code_workflows_cannot_be_started_by_a_pull_request():
    """export publishes what routers load and the review holds issues: write; both install tiergate
    from their checkout (`pip install .`, the action of `./`), which is safe only because that
    checkout is merged code."""
    assert triggers(load((WORKFLOW_DIR / "export.yml").read_text())) == {"push"}
    assert triggers(load((WORKFLOW_DIR / "quarterly-review.yml").read_text())) == {"schedule", "workflow_dispatch"}
    for path in WORKFLOWS:
        flow = load(path.read_text())
        if triggers(flow) & UNTRUSTED_TRIGGERS:
            assert flow["permissions"] == {"contents": "read"}, path.name
            excused = comment_jobs(flow)
            assert all("permissions" not in job for job_id, job in flow["jobs"].items() if job_id not in excused), path.name
            assert not _secrets(flow, excused), path.name
    assert comment_jobs(load(GATE)) == {"cost-comment"}  # the only write, and only for the sticky comment


def test_the_audit_catches_the_original_policy_gate():
    problems = "\n".join(audit(load(ORIGINAL_POLICY_GATE)))
    assert "`pip install .` installs '.'" in problems
    assert "`${{ github.base_ref }}` is spliced into a script" in problems
    assert "checkout (root) leaves the token in .git/config" in problems
    assert "a checkout at the workspace root" in problems
    assert "runs tiergate without installing it from a checkout of the base commit" in problems


GATE = (WORKFLOW_DIR / "policy-gate.yml").read_text()
VALIDATE = (WORKFLOW_DIR / "validate.yml").read_text()
EXPORT = (WORKFLOW_DIR / "export.yml").read_text()
REVIEW = (WORKFLOW_DIR / "quarterly-review.yml").read_text()
ACTION_TEXT = ACTION.read_text()
GATE_STEP = "      - name: tiergate check ("  # the step that calls the base commit's action
COMMENT_STEP = "      - name: tiergate comment ("  # the cost-comment job's step
COMMENT_PERMS = "    permissions:\n      contents: read\n      pull-requests: write\n"
REVIEW_STEP = "      - name: Open or update"
USES_TRUSTED = "uses: ./trusted\n"
BASE_REF = "ref: ${{ github.event.pull_request.base.sha }}"


def before(text: str, anchor: str, steps: str) -> str:
    """`steps` inserted before `anchor` (unchanged without it: the test then says the attack did not apply)."""
    return text.replace(anchor, steps + anchor, 1)


def gate_with(steps: str) -> str:
    return before(GATE, GATE_STEP, steps)


ATTACKS = {
    "install the workspace root": (gate_with("      - run: pip install .\n"), "installs '.'"),
    "install the workspace root, slash": (gate_with("      - run: pip install ./\n"), "installs './'"),
    "install the pr checkout": (gate_with("      - run: pip install ./pr\n"), "installs './pr'"),
    "bare folder name": (gate_with("      - run: pip install pr\n"), "installs 'pr'"),
    "editable": (gate_with("      - run: pip install -e pr\n"), "installs 'pr'"),
    "editable, long option": (gate_with("      - run: pip install --editable=./pr\n"), "installs './pr'"),
    "python -m pip": (gate_with("      - run: python -m pip install --quiet ./pr\n"), "installs './pr'"),
    "python3 -m pip, full path": (gate_with("      - run: /usr/bin/python3 -m pip install ./pr/\n"), "installs './pr/'"),
    "uv pip": (gate_with("      - run: uv pip install --system ./pr\n"), "installs './pr'"),
    "pipx": (gate_with("      - run: pipx install ./pr\n"), "installs './pr'"),
    "inside an if": (gate_with('      - run: if [ -n "$X" ]; then pip install ./pr; fi\n'), "installs './pr'"),
    "after a ${#...}": (gate_with('      - run: echo ${#PATH}; pip install ./pr\n'), "installs './pr'"),
    "workspace expression": (gate_with("      - run: pip install ${{ github.workspace }}\n"), "not a checkout"),
    "workspace variable": (gate_with('      - run: pip install "$GITHUB_WORKSPACE/pr"\n'), "not a checkout"),
    "trusted, then the pr's requirements": (
        gate_with("      - run: pip install ./trusted && pip install -r pr/requirements.txt\n"),
        "installs 'pr/requirements.txt'"),
    "tiergate without the action": (
        GATE.split(GATE_STEP)[0] + '      - run: tiergate check --repo pr --base "origin/$BASE_REF"\n'
                                   "        env:\n          BASE_REF: ${{ github.base_ref }}\n",
        "runs tiergate without installing it from a checkout of the base commit"),
    "head first, base as fallback": (
        GATE.replace(BASE_REF, "ref: ${{ github.event.pull_request.head.sha || github.event.pull_request.base.sha }}"),
        "local action ./trusted is not from a checkout of the base commit"),
    "the 'trusted' checkout is the head": (
        GATE.replace(BASE_REF, "ref: ${{ github.event.pull_request.head.sha }}"),
        "local action ./trusted is not from a checkout of the base commit"),
    "the 'trusted' checkout of another repository": (
        GATE.replace(BASE_REF, BASE_REF + "\n          repository: someone/tiergate"),
        "local action ./trusted is not from a checkout of the base commit"),
    "the pr's action": (GATE.replace(USES_TRUSTED, "uses: ./pr\n"), "local action ./pr is not from a checkout"),
    "the pr's action, by a detour": (GATE.replace(USES_TRUSTED, "uses: ./trusted/../pr\n"),
                                     "local action ./trusted/../pr is not from a checkout"),
    "the workspace root's action": (GATE.replace(USES_TRUSTED, "uses: ./\n"), "local action ./ is not from a checkout"),
    "validate with the subject's action": (VALIDATE.replace(USES_TRUSTED, "uses: ./subject\n"),
                                           "local action ./subject is not from a checkout"),
    "python -m of the pr": (gate_with("      - run: python -m pr.src.tiergate --version\n"),
                            "imports the pull request checkout"),
    "the pr at the root": (GATE.replace("          path: pr\n", "").replace("working-directory: pr", "working-directory: ."),
                           "checkout at the workspace root"),
    "trusted inside the pr": (GATE.replace("path: trusted", "path: pr/trusted").replace(USES_TRUSTED, "uses: ./pr/trusted\n"),
                              "lies inside checkout pr"),
    "pull_request_target": (GATE.replace("  pull_request:\n", "  pull_request_target:\n"), "pwn request"),
    "base_ref spliced": (gate_with('      - run: tiergate validate --repo pr --as-of "${{ github.base_ref }}"\n'), "spliced"),
    "head_ref spliced": (gate_with('      - run: echo "${{ github.head_ref }}"\n'), "spliced"),
    "event title spliced": (gate_with('      - run: echo "${{ github.event.pull_request.title }}"\n'), "spliced"),
    "inputs spliced": (before(REVIEW, REVIEW_STEP, '      - run: echo "${{ inputs.as_of }}"\n'),
                       "`${{ inputs.as_of }}` is spliced"),
    "token persisted": (GATE.replace("persist-credentials: false", "persist-credentials: true", 1), "leaves the token"),
    "token persisted by default": (GATE.replace("          persist-credentials: false\n", "", 1), "leaves the token"),
    "run from the pr": (gate_with("      - run: cd pr && tiergate validate --repo .\n"), "`cd pr`"),
    "a script of the pr": (gate_with("      - run: bash pr/scripts/setup.sh\n"), "pr/scripts/setup.sh"),
    "python -m inside the pr": (gate_with("      - run: python -m tiergate --version\n        working-directory: pr\n"),
                                "runs inside the pull request checkout"),
    "a local action of the pr": (gate_with("      - uses: ./pr/.github/actions/setup\n"),
                                 "local action ./pr/.github/actions/setup"),
    "write token": (GATE.replace("  contents: read\n", "  contents: write\n", 1), "holds ['workflow: contents: write']"),
    "pull-requests: write for the whole workflow": (
        GATE.replace("permissions:\n  contents: read\n", "permissions:\n  contents: read\n  pull-requests: write\n", 1),
        "holds ['workflow: pull-requests: write']"),
    "the comment job writes contents too": (
        GATE.replace(COMMENT_PERMS, COMMENT_PERMS.replace("contents: read", "contents: write")),
        "holds ['cost-comment: contents: write', 'cost-comment: pull-requests: write']"),
    "a run step beside the comment": (before(GATE, COMMENT_STEP, "      - run: echo hi\n"), "holds ['cost-comment: pull-requests: write']"),
    "a third-party action beside the comment": (before(GATE, COMMENT_STEP, "      - uses: someone/action@v1\n"),
                                                "holds ['cost-comment: pull-requests: write']"),
    "the comment step runs another command": (GATE.replace("command: comment", "command: export"),
                                              "holds ['cost-comment: pull-requests: write']"),
    "the comment from the pr's action": (GATE.replace("        uses: ./trusted\n        with:\n          command: comment",
                                                      "        uses: ./pr\n        with:\n          command: comment"),
                                         "local action ./pr is not from a checkout"),
    "another secret for the comment": (GATE.replace("secrets.GITHUB_TOKEN", "secrets.DEPLOY_KEY"), "yet holds"),
    "the token for the gate's step too": (GATE.replace("          working-directory: pr\n",
                                                       "          working-directory: pr\n        env:\n"
                                                       "          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n", 1),
                                          "yet holds secrets"),
    "the comment job under pull_request_target": (GATE.replace("  pull_request:\n", "  pull_request_target:\n"),
                                                  "holds ['cost-comment: pull-requests: write']"),
    "default token": (GATE.replace("permissions:\n  contents: read\n", ""), "no workflow-level `permissions`"),
    "export on pull requests": (EXPORT.replace("\non:\n", "\non:\n  pull_request:\n", 1), "installs '.'"),
    "review on pull requests": (REVIEW.replace("\non:\n", "\non:\n  pull_request:\n", 1), "yet holds"),
    "review from workflow_run": (REVIEW.replace("\non:\n", "\non:\n  workflow_run:\n    workflows: [policy-gate]\n", 1),
                                 "triggered by ['workflow_run'] yet holds"),
    "review's action from another ref": (
        REVIEW.replace("      - uses: actions/checkout@v4\n        with:\n",
                       "      - uses: actions/checkout@v4\n        with:\n          ref: ${{ inputs.as_of }}\n"),
        "local action ./ is not from a checkout of the base commit (or the default checkout of merged code)"),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_each_attack_on_the_workflows_is_caught(name):
    text, expected = ATTACKS[name]
    assert text not in (GATE, VALIDATE, EXPORT, REVIEW), "the attack did not apply"
    problems = audit(load(text))
    assert any(expected in p for p in problems), problems


RUN_STEP_ENV = "        ARGS: ${{ inputs.args }}\n"
INSTALL_ENV = "        TIERGATE_VERSION: ${{ inputs.tiergate-version }}\n"
SCRIPT_START = "        read -r -a extra <<< \"$ARGS\"\n"
# Attacks on the action the gate calls (the base commit's action.yml, as a pull request would like it
# to be once merged): each is caught in the action itself, or in the gate that calls it.
ACTION_ATTACKS = {
    "install the workspace": (ACTION_TEXT.replace('"$GITHUB_ACTION_PATH"', '"$GITHUB_WORKSPACE"'),
                              "installs '$GITHUB_WORKSPACE': an action installs only itself"),
    "install the current directory": (ACTION_TEXT.replace('"$GITHUB_ACTION_PATH"', "."), "installs '.', which is not a checkout"),
    "install the working directory": (
        ACTION_TEXT.replace(INSTALL_ENV, INSTALL_ENV + "        REPO_DIR: ${{ inputs.working-directory }}\n")
        .replace('"$GITHUB_ACTION_PATH"', '"$REPO_DIR"'),
        "`python -m pip install --disable-pip-version-check pr` installs 'pr', which is not a checkout"),
    "an unpinned version": (ACTION_TEXT.replace('"tiergate==$TIERGATE_VERSION"', '"tiergate>=$TIERGATE_VERSION"'),
                            "an action installs only itself ($GITHUB_ACTION_PATH) or a pinned version"),
    "a url": (ACTION_TEXT.replace('"tiergate==$TIERGATE_VERSION"', '"tiergate @ git+https://example.com/x"'),
              "an action installs only itself"),
    "inputs spliced": (ACTION_TEXT.replace('tiergate validate --repo "$REPO_DIR"',
                                           'tiergate validate --repo "${{ inputs.working-directory }}"'),
                       "`${{ inputs.working-directory }}` is spliced into a script"),
    "run inside the working directory": (
        ACTION_TEXT.replace(RUN_STEP_ENV, RUN_STEP_ENV + "      working-directory: ${{ inputs.working-directory }}\n"),
        "a step runs inside the pull request checkout (pr)"),
    "run a script of the data": (ACTION_TEXT.replace(SCRIPT_START, SCRIPT_START + '        bash "$REPO_DIR/scripts/setup.sh"\n'),
                                 "uses the pull request checkout pr/scripts/setup.sh"),
    "import the data": (ACTION_TEXT.replace(SCRIPT_START, SCRIPT_START + '        python -m "$REPO_DIR.src.tiergate"\n'),
                        "imports the pull request checkout"),
    "a nested local action": (ACTION_TEXT.replace("- uses: actions/setup-python@v5", "- uses: ./pr/.github/actions/setup"),
                              "calls the local action ./pr/.github/actions/setup"),
    "not composite": (ACTION_TEXT.replace("using: composite", "using: node20"), "composite actions only"),
}


@pytest.mark.parametrize("name", ACTION_ATTACKS)
def test_each_attack_on_the_action_is_caught(name):
    text, expected = ACTION_ATTACKS[name]
    assert text != ACTION_TEXT, "the attack did not apply"
    action = yaml.safe_load(text)
    problems = audit(load(GATE), read_action=lambda folder: action if folder == "" else None)
    assert any(expected in p for p in problems), problems
    assert all(f"policy-gate: local action ./trusted: {p}" in problems for p in audit_action(action))


def test_the_legitimate_gate_reads_the_pull_request_with_full_history():
    """The twin of the attacks: the trusted gate still judges the pull request's checkout."""
    flow = load(GATE)
    steps = flow["jobs"]["policy-gate"]["steps"]
    pr, base = checkouts(flow["jobs"]["policy-gate"])
    assert pr["with"] == {"path": "pr", "fetch-depth": 0, "persist-credentials": False}  # the merge commit, all history
    assert base["with"] == {"ref": "${{ github.event.pull_request.base.sha }}", "path": "trusted", "persist-credentials": False}
    assert len(steps) == 3 and not any("run" in s for s in steps)  # no install or tiergate of its own
    assert steps[-1]["uses"] == "./trusted" and steps[-1]["with"] == {"command": "check", "working-directory": "pr"}
    pieces = action_pieces(steps[-1], this_repository(""), "trusted")
    assert [i.targets for p in pieces for i in installs(p.code)] == [["tiergate=="], ["trusted"]]  # the base commit
    assert 'tiergate check --repo "pr" --base "$base" --format "github"' in pieces[-1].code  # origin/$GITHUB_BASE_REF
    validate = load(VALIDATE)["jobs"]["validate"]
    subject, base = checkouts(validate)
    assert "ref" not in subject["with"] and base["with"]["ref"] == "${{ github.event.pull_request.base.sha || github.sha }}"
    uses = [s for s in validate["steps"] if "uses" in s and not s["uses"].startswith("actions/")]
    assert [{k: v for k, v in s.items() if k != "name"} for s in uses] == [
        {"uses": "./trusted", "with": {"command": "validate", "working-directory": "subject"}}]
    assert not any(installs(s.get("run", "")) for s in validate["steps"])


def test_the_install_parser_reads_what_pip_would_install():
    assert [i.targets for i in installs("python -m pip install --quiet -U pip && pip install -e '.[test]' -r req.txt")] == \
        [["pip"], [".[test]", "req.txt"]]
    assert [i.targets for i in installs("pip install --target /tmp/x --index-url https://x/simple tiergate==1")] == \
        [["tiergate==1"]]
    assert installs("echo pip install ./pr # a comment") == []
    assert [i.targets for i in installs('if [ -n "$V" ]; then pip install "t==$V"; else pip install ./a; fi')] == \
        [["t==$V"], ["./a"]]
    assert [i.targets for i in installs('echo "${#a[@]} # not a comment"; pip install ./pr')] == [["./pr"]]


# --- running the jobs ----------------------------------------------------------------------


@dataclass
class Event:
    """What GitHub would put in the expression context and the runner's environment for
    `pull_request` number 1."""
    origin: Path
    base_sha: str
    merge_sha: str
    token: str = ""  # secrets.GITHUB_TOKEN
    env: dict[str, str] = field(default_factory=dict)  # more of the runner's environment (the API root, the event file)

    def value(self, expr: str) -> str:
        context = {"github.base_ref": "main", "github.head_ref": "feature", BASE_SHA: self.base_sha,
                   "github.sha": self.merge_sha, "github.event.pull_request.number": "1", "secrets.GITHUB_TOKEN": self.token}
        for alternative in expr.split("||"):  # `a || b`: the first non-empty
            value = context[alternative.strip()]
            if value:
                return value
        return ""

    def expand(self, text: str) -> str:
        return EXPR.sub(lambda m: self.value(m.group(1)), text)

    def runner_env(self) -> dict[str, str]:
        return {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "feature",
                "GITHUB_REF": "refs/pull/1/merge", "GITHUB_SHA": self.merge_sha, "GITHUB_REPOSITORY": "acme/policy"} | self.env


def git(*args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def checkout(step: dict, workspace: Path, event: Event) -> None:
    """actions/checkout: init, fetch the ref (everything with fetch-depth: 0), detached checkout."""
    options = step.get("with") or {}
    dest = workspace / checkout_path(step)
    dest.mkdir(parents=True, exist_ok=True)
    sha = event.expand(str(options["ref"])) if "ref" in options else event.merge_sha  # refs/pull/1/merge
    depth = int(options.get("fetch-depth", 1))
    git("init", "-q", cwd=dest)
    git("remote", "add", "origin", f"file://{event.origin}", cwd=dest)
    if depth == 0:
        git("fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*", cwd=dest)
        git("fetch", "-q", "origin", sha, cwd=dest)
    else:
        git("fetch", "-q", f"--depth={depth}", "origin", sha, cwd=dest)
    git("checkout", "-q", "--detach", sha, cwd=dest)


# `pip`, `pip3`, `python -m pip` during an install step: records what the step asks to install, for
# the harness to play afterwards; any other `python` is the real one.
PIP_STUB = """#!{python}
import json, os, sys
args = sys.argv[1:]
if os.path.basename(sys.argv[0]).startswith("python"):
    if args[:2] != ["-m", "pip"]:
        os.execv({python!r}, [{python!r}, *args])
    args = args[2:]
with open(os.environ["PIP_RECORD"], "a") as out:
    out.write(json.dumps(args) + "\\n")
"""
BASH = ["bash", "--noprofile", "--norc", "-e", "-c"]  # a workflow's `run:` on Linux
SHELLS = {"bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]}  # `shell: bash`


def run_job(flow: dict, job_id: str, tmp_path: Path, event: Event) -> subprocess.CompletedProcess:
    """The job's steps in order, as on a runner, up to the first that fails; returns the last run.

    A local action (`uses: ./X`) is expanded as the runner does: X/action.yml from the workspace,
    its inputs from `with:` and its defaults, GITHUB_ACTION_PATH set, its `run:` steps run with
    their `env:`; `actions/setup-python` is skipped (the test's interpreter). An install step runs
    for real with `pip` recording what it was asked to install, and each installed folder is then
    played for what it is: its `src/` goes on PYTHONPATH for the later steps, so its code is the
    tiergate that runs (the test process's installed tiergate stands in for the package metadata
    and the dependencies). Installing from the package index is not played.
    """
    workspace, bin_dir, pip_dir = tmp_path / "workspace", tmp_path / "bin", tmp_path / "pip-stub"
    workspace.mkdir()
    bin_dir.mkdir(exist_ok=True)
    pip_dir.mkdir(exist_ok=True)
    stand_in = bin_dir / "tiergate"  # a console script: sys.path[0] is bin/, never the working directory
    stand_in.write_text(f"#!{sys.executable}\nfrom tiergate.cli import main\nmain()\n")
    stand_in.chmod(0o755)
    for name in ("pip", "pip3", "python", "python3"):
        (pip_dir / name).write_text(PIP_STUB.format(python=sys.executable))
        (pip_dir / name).chmod(0o755)
    job = flow["jobs"][job_id]
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
           "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_ACTIONS": "true",
           "PYTHONDONTWRITEBYTECODE": "1"} | event.runner_env() | GIT_ENV  # no __pycache__ in the checkouts

    def play_install(args: list[str], cwd: Path) -> None:
        assert args[:1] == ["install"], f"the harness plays `pip install` only, not {args}"
        for target in installs(shlex.join(["pip", *args]))[0].targets:
            folder = cwd / re.sub(r"\[[^\]]*\]$", "", target)
            assert folder.is_dir(), f"the harness does not install {target!r} (from the package index or a file)"
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder.resolve() / "src"), env.get("PYTHONPATH")]))

    def run(code: str, step_env: dict[str, str], cwd: Path, shell: list[str]) -> subprocess.CompletedProcess:
        record = tmp_path / "pip-record"
        record.write_text("")
        if installs(code):
            step_env = step_env | {"PATH": f"{pip_dir}{os.pathsep}{step_env['PATH']}", "PIP_RECORD": str(record)}
        done = subprocess.run([*shell, code], cwd=cwd, env=step_env, capture_output=True, text=True, timeout=120)
        if done.returncode == 0:
            for line in record.read_text().splitlines():
                play_install(json.loads(line), cwd)
        return done

    def run_action(step: dict) -> subprocess.CompletedProcess:
        folder = workspace / norm(str(step["uses"]))
        action = yaml.safe_load((folder / "action.yml").read_text())
        assert action["runs"]["using"] == "composite", "the harness plays composite actions only"
        inputs = {name: event.expand(value) for name, value in action_inputs(step, action).items()}
        outer = {k: event.expand(str(v)) for k, v in (step.get("env") or {}).items()}  # the caller's env: reaches every step
        done = None
        for inner in action["runs"]["steps"]:
            uses = str(inner.get("uses", ""))
            if uses.startswith("actions/setup-python@"):
                continue  # the test's interpreter
            assert "run" in inner and "${{" not in inner["run"], f"the harness does not play {uses or inner['run']}"
            inner_env = {k: event.expand(action_expand(str(v), inputs, str(folder))) for k, v in (inner.get("env") or {}).items()}
            cwd = workspace / norm(action_expand(str(inner.get("working-directory", "")), inputs, str(folder)))
            done = run(inner["run"], env | outer | {"GITHUB_ACTION_PATH": str(folder)} | inner_env, cwd, SHELLS[inner["shell"]])
            if done.returncode != 0:
                break
        assert done is not None
        return done

    done = None
    for step in job["steps"]:
        uses = str(step.get("uses", ""))
        if uses.startswith("actions/checkout@"):
            checkout(step, workspace, event)
            continue
        if uses.startswith("actions/setup-python@"):
            continue  # the test's interpreter
        if uses.startswith("./"):
            done = run_action(step)
        else:
            assert "run" in step, f"the harness does not play {uses}"
            step_env = env | {k: event.expand(str(v)) for k, v in (step.get("env") or {}).items()}
            cwd = workspace / norm(str(step.get("working-directory", "")))
            done = run(event.expand(step["run"]), step_env, cwd, BASH)
        if done.returncode != 0:
            break
    assert done is not None
    return done


def _repository(tmp_path: Path) -> GitRepo:
    """main: the example policy plus tiergate's own source and action, as in this repository."""
    root = tmp_path / "origin"
    root.mkdir()
    for part in EXAMPLE_PARTS + ("pyproject.toml", "action.yml"):
        src = PROJECT / part
        shutil.copytree(src, root / part) if src.is_dir() else shutil.copy2(src, root / part)
    shutil.copytree(PROJECT / "src" / "tiergate", root / "src" / "tiergate",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    repo = init(root)  # commits main, then checks out the branch `feature`
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")  # actions/checkout fetches by sha
    return repo


def _open_pull_request(repo: GitRepo) -> Event:
    """Commit the branch and make GitHub's merge commit (refs/pull/1/merge)."""
    repo.commit("the pull request")
    repo.git("checkout", "-q", "--detach", "main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "Merge feature into main")
    merge = repo.git("rev-parse", "HEAD").strip()
    repo.git("update-ref", "refs/pull/1/merge", merge)
    repo.git("checkout", "-q", "main")
    return Event(repo.root, repo.git("rev-parse", "main").strip(), merge)


def _attack(repo: GitRepo, marker: Path) -> None:
    """Replace the judge: an engine that leaves a mark when imported and passes everything; then
    raise a tier without any evidence."""
    repo.write("src/tiergate/engine.py", repo.read("src/tiergate/engine.py") + f"""

# --- added by the pull request: a judge that passes everything ---
import pathlib as _pathlib
_pathlib.Path({str(marker)!r}).write_text("the pull request's engine.py was imported")


def validate(tree, now):
    return None, Result([])


def check(root, base_ref, now):
    return Result([], tier_changes=[])
""")
    repo.replace(INTENT, "tier: lite", "tier: mid")


JOBS = [("policy-gate.yml", "policy-gate", "TG801"), ("validate.yml", "validate", "TG401")]


@pytest.mark.parametrize("workflow,job,rule", JOBS, ids=[j[0] for j in JOBS])
def test_the_job_never_runs_the_pull_requests_code(tmp_path, workflow, job, rule):
    repo, marker = _repository(tmp_path), tmp_path / "pwned"
    _attack(repo, marker)
    event = _open_pull_request(repo)
    done = run_job(load((WORKFLOW_DIR / workflow).read_text()), job, tmp_path, event)
    assert not marker.exists(), "the pull request's src/tiergate was imported"
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"::error file={INTENT},line=12,title={rule} " in done.stdout  # the pull request's tier raise, judged
    if rule == "TG801":
        assert "TG808" in done.stdout  # src/ changed: the platform owner must review


# The same pull request against gates the audit rejects: the attacker's engine judges itself.
UNSAFE_GATES = {"the original policy-gate.yml (pip install .)": ORIGINAL_POLICY_GATE,
                "the pull request's action (uses: ./pr)": GATE.replace(USES_TRUSTED, "uses: ./pr\n")}


@pytest.mark.parametrize("name", UNSAFE_GATES)
def test_an_unsafe_gate_runs_the_attackers_engine(tmp_path, name):
    assert audit(load(UNSAFE_GATES[name])), "the audit must reject it"
    repo, marker = _repository(tmp_path), tmp_path / "pwned"
    _attack(repo, marker)
    event = _open_pull_request(repo)
    done = run_job(load(UNSAFE_GATES[name]), "policy-gate", tmp_path, event)
    assert marker.exists() and done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("touch_src", [False, True], ids=["contract only", "contract and src"])
@pytest.mark.parametrize("workflow,job", [(w, j) for w, j, _ in JOBS], ids=[j[0] for j in JOBS])
def test_an_honest_pull_request_passes(tmp_path, workflow, job, touch_src):
    repo = _repository(tmp_path)
    repo.replace(INTENT, 'description: "Classify one', 'description: "Classify exactly one')
    if touch_src:
        repo.write("src/tiergate/engine.py", repo.read("src/tiergate/engine.py") + "\n# a comment\n")
    event = _open_pull_request(repo)
    done = run_job(load((WORKFLOW_DIR / workflow).read_text()), job, tmp_path, event)
    assert done.returncode == 0, done.stdout + done.stderr
    if job == "policy-gate":
        assert ("TG808" in done.stdout) == touch_src
        assert (tmp_path / "output").read_text().splitlines()[-3:] == ["result=pass", "errors=0", f"warnings={int(touch_src)}"]
    else:  # the last step: schemas/ compared only when src/ is the base's
        assert ("::notice::src/ differs from the base commit" in done.stdout) == touch_src


def test_the_comment_job_posts_the_base_commits_verdict_and_never_runs_the_pull_request(tmp_path):
    """The cost-comment job, played as the runner would against a GitHub API on 127.0.0.1: the pull
    request's engine would pass everything and post nothing; the base commit's judges the tier raise."""
    repo, marker = _repository(tmp_path), tmp_path / "pwned"
    _attack(repo, marker)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"pull_request": {"number": 1}}))
    with FakeGitHub() as github:
        event = replace(_open_pull_request(repo), token=TOKEN,
                        env={"GITHUB_API_URL": github.url, "GITHUB_EVENT_PATH": str(event_file),
                             "GITHUB_SERVER_URL": "https://github.example", "GITHUB_RUN_ID": "99"})
        done = run_job(load(GATE), "cost-comment", tmp_path, event)
    assert not marker.exists(), "the pull request's src/tiergate was imported"
    assert done.returncode == 0, done.stdout + done.stderr
    [posted] = github.comments_on(1)
    assert "(gate failed)" in posted["body"] and "tier lite -> mid" in posted["body"] and "TG801" in posted["body"]
    assert "https://github.example/acme/policy/actions/runs/99" in posted["body"]


def _install_step(workspace: Path, action_dir: Path, marker: Path) -> subprocess.CompletedProcess:
    """The action's install step, run for real (real `python -m pip`, no index) from the caller's workspace."""
    action = yaml.safe_load(ACTION.read_text())
    step = next(s for s in action["runs"]["steps"] if "pip install" in str(s.get("run", "")))
    cwd = workspace / norm(action_expand(str(step.get("working-directory", "")), {}, str(action_dir)))
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(workspace.parent),
           "GITHUB_WORKSPACE": str(workspace), "GITHUB_ACTION_PATH": str(action_dir), "TIERGATE_VERSION": "",
           "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "LANG": "C.UTF-8"}
    return subprocess.run([*SHELLS[step["shell"]], step["run"]], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("planted", [True, False], ids=["a pip package in the checkout", "an ordinary checkout"])
def test_the_actions_install_never_imports_the_callers_checkout(tmp_path, planted):
    """`python -m pip` puts the working directory first on sys.path; a caller that checks the pull request out at the
    workspace root (the scaffold's workflows do) would have the pull request's `pip/` run by the install."""
    workspace, action_dir, marker = tmp_path / "workspace", tmp_path / "action", tmp_path / "pwned"
    (workspace / "policy").mkdir(parents=True)
    action_dir.mkdir()  # no project in it: the real pip refuses it, naming it, and installs nothing
    if planted:
        (workspace / "pip").mkdir()
        (workspace / "pip" / "__init__.py").write_text("")
        (workspace / "pip" / "__main__.py").write_text(f"open({str(marker)!r}, 'w').write('the checkout ran')\n")
    done = _install_step(workspace, action_dir, marker)
    assert not marker.exists(), "the pull request's pip/ was run by the install step"
    assert done.returncode != 0 and str(action_dir) in done.stderr + done.stdout, done.stderr  # the real pip, on the action
