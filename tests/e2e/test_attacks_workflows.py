"""Attacks on the CI workflows: the gate that judges a pull request never runs the pull request's code.

`audit(flow)` reads a workflow the way an attacker would and returns what a pull request could
exploit: installing (or importing, or executing) the pull request's checkout, a checkout at the
workspace root, `pull_request_target`, `${{ }}` spliced into a script, a token left in
`.git/config`, a privileged workflow a pull request can trigger. Every workflow of this
repository must audit clean; the audit must catch this repository's own policy-gate.yml as it
was before the trusted install, and each attack below.

The end-to-end tests run a job's steps in bash over real git repositories laid out the way
actions/checkout lays them out, with a pull request that replaces the gate's engine by one
that always passes and raises a tier without evidence.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE_PARTS, PROJECT
from gitrepo import GIT_ENV, GitRepo, init

WORKFLOW_DIR = PROJECT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
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
SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;"}


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
    """A checkout of the pull request's base commit: merged, reviewed code. `base.sha || github.sha`
    counts (github.sha only where there is no pull request); `head.sha || base.sha` does not."""
    found = EXPR.fullmatch(str((step.get("with") or {}).get("ref", "")).strip())
    return bool(found) and found.group(1).split("||")[0].strip() == BASE_SHA


def owner(path: str, job: dict) -> dict | None:
    """The checkout a workspace path lies in (the deepest one)."""
    found = [c for c in checkouts(job) if checkout_path(c) == "" or path == checkout_path(c)
             or path.startswith(checkout_path(c) + "/")]
    return max(found, key=lambda c: len(checkout_path(c)), default=None)


def commands(script: str) -> list[list[str]]:
    """Shell words of each simple command of a script (lines, `&&`, `;`, `|` ...), command
    substitutions `$(...)` and backquotes included."""
    script = EXPR.sub(lambda m: "${{" + m.group(1).replace(" ", "") + "}}", script).replace("\\\n", " ")
    lines = script.splitlines() + re.findall(r"\$\(([^()]*)\)", script) + re.findall(r"`([^`]*)`", script)
    out: list[list[str]] = []
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[str] = []
        for word in lexer:
            if word in SEPARATORS:
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


PREFIXES = {"sudo", "env", "time", "exec", "command", "nice"}


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


def scripts(flow: dict):
    """(job id, job, step, code) for every piece of a workflow that a shell or interpreter runs."""
    for job_id, job in flow["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                yield job_id, job, step, str(step["run"])
            if str(step.get("uses", "")).startswith("actions/github-script@"):
                yield job_id, job, step, str((step.get("with") or {}).get("script", ""))


# --- the audit -----------------------------------------------------------------------------


def _writes(flow: dict) -> list[str]:
    out = []
    scopes = [("workflow", flow.get("permissions"))] + [(j, job.get("permissions")) for j, job in flow["jobs"].items()]
    for scope, perms in scopes:
        if isinstance(perms, str):
            out += [f"{scope}: {perms}"] if perms == "write-all" else []
        else:
            out += [f"{scope}: {name}: {value}" for name, value in (perms or {}).items() if value == "write"]
    return out


def audit(flow: dict) -> list[str]:
    problems: list[str] = []
    on = triggers(flow)
    from_pr = bool(on & PR_TRIGGERS)

    if "pull_request_target" in on:
        problems.append("pull_request_target runs with secrets and a write token: checking out or running the pull "
                        "request there is the 'pwn request' pattern")

    if on & UNTRUSTED_TRIGGERS:
        writes = _writes(flow)
        if writes or "secrets." in yaml.safe_dump(flow):
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

        trusted_install = False
        for step in job.get("steps", []):
            uses = str(step.get("uses", ""))
            if uses.startswith("./") and not (owner(norm(uses), job) and trusted(owner(norm(uses), job))):
                problems.append(f"{job_id}: local action {uses} is not from a checkout of the base commit")
            where = norm(str(step.get("working-directory", "")))
            if where and any(where == p or where.startswith(p + "/") for p in untrusted):
                problems.append(f"{job_id}: a step runs inside the pull request checkout ({where})")
        for _, j, step, code in scripts({"on": flow["on"], "jobs": {job_id: job}}):
            for inst in installs(code):
                for target in inst.targets:
                    if not looks_local(target, job):
                        continue  # a requirement from the package index
                    path, home = norm(target), owner(norm(target), job)
                    if path == "" or home is None or not trusted(home):
                        problems.append(f"{job_id}: `{inst.command}` installs {target!r}, which is not a checkout of "
                                        f"the base commit ({BASE_SHA})")
                    else:
                        trusted_install = True
            for words in commands(code):
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
        runs_tiergate = any(re.search(r"(^|\s)tiergate\s", c) for _, _, _, c in scripts({"jobs": {job_id: job}}))
        if runs_tiergate and not trusted_install:
            problems.append(f"{job_id}: runs tiergate without installing it from a checkout of the base commit")
    return problems


# --- the audit over this repository's workflows ----------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_audits_clean(path):
    assert audit(load(path.read_text())) == []


def test_no_workflow_uses_pull_request_target():
    for path in WORKFLOWS:
        assert "pull_request_target" not in triggers(load(path.read_text())), path.name


def test_privileged_and_merged_code_workflows_cannot_be_started_by_a_pull_request():
    """export publishes what routers load and the review holds issues: write; both run `pip install .`
    of their checkout, which is safe only because that checkout is merged code."""
    assert triggers(load((WORKFLOW_DIR / "export.yml").read_text())) == {"push"}
    assert triggers(load((WORKFLOW_DIR / "quarterly-review.yml").read_text())) == {"schedule", "workflow_dispatch"}
    for path in WORKFLOWS:
        flow = load(path.read_text())
        if triggers(flow) & UNTRUSTED_TRIGGERS:
            assert flow["permissions"] == {"contents": "read"}, path.name
            assert all("permissions" not in job for job in flow["jobs"].values()), path.name
            assert "secrets." not in path.read_text(), path.name


def test_the_audit_catches_the_original_policy_gate():
    problems = "\n".join(audit(load(ORIGINAL_POLICY_GATE)))
    assert "`pip install .` installs '.'" in problems
    assert "`${{ github.base_ref }}` is spliced into a script" in problems
    assert "checkout (root) leaves the token in .git/config" in problems
    assert "a checkout at the workspace root" in problems
    assert "runs tiergate without installing it from a checkout of the base commit" in problems


GATE = (WORKFLOW_DIR / "policy-gate.yml").read_text()
EXPORT = (WORKFLOW_DIR / "export.yml").read_text()
REVIEW = (WORKFLOW_DIR / "quarterly-review.yml").read_text()
INSTALL_STEP = "run: pip install ./trusted"
ATTACKS = {
    "install the workspace root": (GATE.replace(INSTALL_STEP, "run: pip install ."), "installs '.'"),
    "install the workspace root, slash": (GATE.replace(INSTALL_STEP, "run: pip install ./"), "installs './'"),
    "install the pr checkout": (GATE.replace(INSTALL_STEP, "run: pip install ./pr"), "installs './pr'"),
    "bare folder name": (GATE.replace(INSTALL_STEP, "run: pip install pr"), "installs 'pr'"),
    "editable": (GATE.replace(INSTALL_STEP, "run: pip install -e pr"), "installs 'pr'"),
    "editable, long option": (GATE.replace(INSTALL_STEP, "run: pip install --editable=./pr"), "installs './pr'"),
    "python -m pip": (GATE.replace(INSTALL_STEP, "run: python -m pip install --quiet ./pr"), "installs './pr'"),
    "python3 -m pip, full path": (GATE.replace(INSTALL_STEP, "run: /usr/bin/python3 -m pip install ./pr/"),
                                  "installs './pr/'"),
    "uv pip": (GATE.replace(INSTALL_STEP, "run: uv pip install --system ./pr"), "installs './pr'"),
    "pipx": (GATE.replace(INSTALL_STEP, "run: pipx install ./pr"), "installs './pr'"),
    "workspace expression": (GATE.replace(INSTALL_STEP, "run: pip install ${{ github.workspace }}"), "not a checkout"),
    "workspace variable": (GATE.replace(INSTALL_STEP, 'run: pip install "$GITHUB_WORKSPACE/pr"'), "not a checkout"),
    "trusted, then the pr's requirements": (
        GATE.replace(INSTALL_STEP, "run: pip install ./trusted && pip install -r pr/requirements.txt"),
        "installs 'pr/requirements.txt'"),
    "head first, base as fallback": (
        GATE.replace("ref: ${{ github.event.pull_request.base.sha }}",
                     "ref: ${{ github.event.pull_request.head.sha || github.event.pull_request.base.sha }}"),
        "installs './trusted'"),
    "python -m of the pr": (GATE.replace("run: tiergate check", "run: python -m pr.src.tiergate --version; tiergate check"),
                            "imports the pull request checkout"),
    "the 'trusted' checkout is the head": (
        GATE.replace("ref: ${{ github.event.pull_request.base.sha }}", "ref: ${{ github.event.pull_request.head.sha }}"),
        "installs './trusted'"),
    "the pr at the root": (GATE.replace("          path: pr\n", "").replace("--repo pr", "--repo ."),
                           "checkout at the workspace root"),
    "trusted inside the pr": (GATE.replace("path: trusted", "path: pr/trusted").replace("./trusted", "./pr/trusted"),
                              "lies inside checkout pr"),
    "pull_request_target": (GATE.replace("  pull_request:\n", "  pull_request_target:\n"), "pwn request"),
    "base_ref spliced": (GATE.replace('"origin/$BASE_REF"', '"origin/${{ github.base_ref }}"'), "spliced"),
    "head_ref spliced": (GATE.replace("--format github", "--format github --as-of \"${{ github.head_ref }}\""), "spliced"),
    "event title spliced": (GATE.replace("run: tiergate check", 'run: echo "${{ github.event.pull_request.title }}"; tiergate check'),
                            "spliced"),
    "inputs spliced": (REVIEW.replace('if [ -n "$AS_OF" ]', 'if [ -n "${{ inputs.as_of }}" ]'), "`${{ inputs.as_of }}` is spliced"),
    "token persisted": (GATE.replace("persist-credentials: false", "persist-credentials: true", 1), "leaves the token"),
    "token persisted by default": (GATE.replace("          persist-credentials: false\n", "", 1), "leaves the token"),
    "run from the pr": (GATE.replace("run: tiergate check --repo pr", "run: cd pr && tiergate check --repo ."),
                        "`cd pr`"),
    "a script of the pr": (GATE.replace("run: tiergate check", "run: bash pr/scripts/setup.sh && tiergate check"),
                           "pr/scripts/setup.sh"),
    "python -m inside the pr": (GATE.replace("      - name: tiergate check\n",
                                             "      - run: python -m tiergate --version\n        working-directory: pr\n"
                                             "      - name: tiergate check\n"), "runs inside the pull request checkout"),
    "a local action of the pr": (GATE.replace("      - uses: actions/setup-python@v5\n",
                                              "      - uses: ./pr/.github/actions/setup\n      - uses: actions/setup-python@v5\n"),
                                 "local action ./pr/.github/actions/setup"),
    "write token": (GATE.replace("  contents: read\n", "  contents: write\n"), "holds ['workflow: contents: write']"),
    "default token": (GATE.replace("permissions:\n  contents: read\n", ""), "no workflow-level `permissions`"),
    "export on pull requests": (EXPORT.replace("\non:\n", "\non:\n  pull_request:\n", 1), "installs '.'"),
    "review on pull requests": (REVIEW.replace("\non:\n", "\non:\n  pull_request:\n", 1), "yet holds"),
    "review from workflow_run": (REVIEW.replace("\non:\n", "\non:\n  workflow_run:\n    workflows: [policy-gate]\n", 1),
                                 "triggered by ['workflow_run'] yet holds"),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_each_attack_on_the_workflows_is_caught(name):
    text, expected = ATTACKS[name]
    assert text not in (GATE, EXPORT, REVIEW), "the attack did not apply"
    problems = audit(load(text))
    assert any(expected in p for p in problems), problems


def test_the_legitimate_gate_reads_the_pull_request_with_full_history():
    """The twin of the attacks: the trusted gate still judges the pull request's checkout."""
    flow = load(GATE)
    steps = flow["jobs"]["policy-gate"]["steps"]
    pr, base = checkouts(flow["jobs"]["policy-gate"])
    assert pr["with"] == {"path": "pr", "fetch-depth": 0, "persist-credentials": False}  # the merge commit, all history
    assert base["with"] == {"ref": "${{ github.event.pull_request.base.sha }}", "path": "trusted", "persist-credentials": False}
    assert [i.targets for s in steps if "run" in s for i in installs(s["run"])] == [["./trusted"]]
    gate = steps[-1]
    assert gate["run"] == 'tiergate check --repo pr --base "origin/$BASE_REF" --format github'
    assert gate["env"] == {"BASE_REF": "${{ github.base_ref }}"}
    validate = load((WORKFLOW_DIR / "validate.yml").read_text())["jobs"]["validate"]
    subject, base = checkouts(validate)
    assert "ref" not in subject["with"] and base["with"]["ref"] == "${{ github.event.pull_request.base.sha || github.sha }}"
    assert any("tiergate validate --repo subject" in s.get("run", "") for s in validate["steps"])


def test_the_install_parser_reads_what_pip_would_install():
    assert [i.targets for i in installs("python -m pip install --quiet -U pip && pip install -e '.[test]' -r req.txt")] == \
        [["pip"], [".[test]", "req.txt"]]
    assert [i.targets for i in installs("pip install --target /tmp/x --index-url https://x/simple tiergate==1")] == \
        [["tiergate==1"]]
    assert installs("echo pip install ./pr # a comment") == []


# --- running the jobs ----------------------------------------------------------------------


@dataclass
class Event:
    """What GitHub would put in the expression context for `pull_request` number 1."""
    origin: Path
    base_sha: str
    merge_sha: str

    def value(self, expr: str) -> str:
        context = {"github.base_ref": "main", "github.head_ref": "feature", BASE_SHA: self.base_sha,
                   "github.sha": self.merge_sha, "github.event.pull_request.number": "1"}
        for alternative in expr.split("||"):  # `a || b`: the first non-empty
            value = context[alternative.strip()]
            if value:
                return value
        return ""

    def expand(self, text: str) -> str:
        return EXPR.sub(lambda m: self.value(m.group(1)), text)


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


def run_job(flow: dict, job_id: str, tmp_path: Path, event: Event) -> subprocess.CompletedProcess:
    """The job's steps in order, as on a runner, up to the first that fails; returns the last run.

    The test process's own tiergate stands in for `pip install ./trusted` (it is this repository's
    code, the same as the base commit's), so that install is skipped. Any other install is played
    for what it is: the installed folder's `src/` goes on PYTHONPATH for the later steps, so its
    code becomes the tiergate that runs.
    """
    workspace, bin_dir = tmp_path / "workspace", tmp_path / "bin"
    workspace.mkdir()
    bin_dir.mkdir(exist_ok=True)
    stand_in = bin_dir / "tiergate"  # a console script: sys.path[0] is bin/, never the working directory
    stand_in.write_text(f"#!{sys.executable}\nfrom tiergate.cli import main\nmain()\n")
    stand_in.chmod(0o755)
    job = flow["jobs"][job_id]
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
           "GITHUB_ACTIONS": "true", "PYTHONDONTWRITEBYTECODE": "1"} | GIT_ENV  # no __pycache__ in the checkouts
    done = None
    for step in job["steps"]:
        uses = str(step.get("uses", ""))
        if uses.startswith("actions/checkout@"):
            checkout(step, workspace, event)
            continue
        if uses.startswith("actions/setup-python@"):
            continue  # the test's interpreter
        assert "run" in step, f"the harness does not play {uses}"
        found = installs(step["run"])
        if found:
            assert len(found) == len(commands(step["run"])), "the harness plays install steps that only install"
            for target in (t for i in found for t in i.targets):
                home = owner(norm(target), job)
                if home is not None and trusted(home):
                    continue  # stand-in: the test's tiergate is the trusted code
                folder = workspace / norm(event.expand(target))
                env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder / "src"), env.get("PYTHONPATH")]))
            continue
        step_env = env | {k: event.expand(str(v)) for k, v in (step.get("env") or {}).items()}
        cwd = workspace / norm(str(step.get("working-directory", "")))
        done = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-c", event.expand(step["run"])], cwd=cwd,
                              env=step_env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            break
    assert done is not None
    return done


def _repository(tmp_path: Path) -> GitRepo:
    """main: the example policy plus tiergate's own source, as in this repository."""
    root = tmp_path / "origin"
    root.mkdir()
    for part in EXAMPLE_PARTS + ("pyproject.toml",):
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


def test_the_original_policy_gate_ran_the_attackers_engine(tmp_path):
    """The same pull request against the gate as it was: the attacker's engine judged itself."""
    repo, marker = _repository(tmp_path), tmp_path / "pwned"
    _attack(repo, marker)
    event = _open_pull_request(repo)
    done = run_job(load(ORIGINAL_POLICY_GATE), "policy-gate", tmp_path, event)
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
    else:  # the last step: schemas/ compared only when src/ is the base's
        assert ("::notice::src/ differs from the base commit" in done.stdout) == touch_src
