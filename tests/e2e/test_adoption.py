"""Adopting tiergate in another repository: `tiergate init`, the composite action, pre-commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import AS_OF, PROJECT, cli
from gitrepo import GitRepo


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:  # YAML 1.1 reads `on` as True
        data["on"] = data.pop(True)
    return data


def _schema(name: str) -> dict:
    return json.loads(resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(name).read_text())


# --- tiergate init --------------------------------------------------------------------


def test_init_in_a_fresh_git_repo_then_validate_and_check(tmp_path, capsys):
    root = tmp_path / "governance"
    repo = GitRepo(root)
    root.mkdir()
    repo.git("init", "-q", "-b", "main")
    run = cli(capsys, "init", str(root), "--platform-owner", "@acme/platform", "--owner", "@acme/support", "--tiers", "small,medium,large")
    assert run.code == 0, run.err
    assert cli(capsys, "validate", "--repo", str(root)).code == 0
    catalog = yaml.safe_load(repo.read("policy/tiers.yaml"))
    assert [t["id"] for t in catalog["tiers"]] == ["small", "medium", "large"] and catalog["platform_owner"] == "@acme/platform"
    assert "evals/** -text" in repo.read(".gitattributes")
    for flow in (root / ".github" / "workflows").iterdir():
        errors = list(jsonschema.Draft7Validator(_schema("github-workflows.json")).iter_errors(_load(flow)))
        assert not errors, (flow.name, errors[0].message)
        assert "tiergate/tiergate@v" in flow.read_text() and "pip install" not in flow.read_text()
    repo.commit("tiergate init")
    repo.git("checkout", "-q", "-b", "change")
    repo.replace("policy/tasks/intent-classification.yaml", "monthly_volume: 100000", "monthly_volume: 120000")
    repo.commit("more traffic")
    assert cli(capsys, "check", "--repo", str(root), "--base", "main").code == 0


def test_init_into_a_relative_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli(capsys, "init", "sub")
    assert run.code == 0 and "wrote policy/tiers.yaml" in run.out
    assert cli(capsys, "validate", "--repo", "sub").code == 0


def test_init_refuses_to_overwrite_and_names_the_files(tmp_path, capsys):
    root = tmp_path / "existing"
    (root / "policy").mkdir(parents=True)
    (root / "policy" / "tiers.yaml").write_text("mine: 1\n")
    (root / "CODEOWNERS").write_text("* @me\n")
    run = cli(capsys, "init", str(root))
    assert run.code == 2 and "policy/tiers.yaml" in run.err and "CODEOWNERS" in run.err
    assert (root / "policy" / "tiers.yaml").read_text() == "mine: 1\n" and not (root / "schemas").exists()


@pytest.mark.parametrize("args", [["--tiers", "a,b"], ["--platform-owner", "nobody"], ["--action", "x/y@v1\nrun: evil"]])
def test_init_rejects_bad_options(tmp_path, capsys, args):
    run = cli(capsys, "init", str(tmp_path / "r"), *args)
    assert run.code == 2 and run.err.startswith("tiergate: error:") and not (tmp_path / "r" / "policy").exists()


# --- the composite action ------------------------------------------------------------------


ACTION = PROJECT / "action.yml"


def test_action_matches_the_github_action_schema():
    errors = list(jsonschema.Draft7Validator(_schema("github-actions.json")).iter_errors(yaml.safe_load(ACTION.read_text())))
    assert not errors, errors[0].message


def test_action_installs_from_itself_and_takes_inputs_through_env():
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    runs = [s for s in action["runs"]["steps"] if "run" in s]
    assert all(s["shell"] == "bash" for s in runs)
    assert all("${{" not in s["run"] for s in runs), "inputs must reach scripts through env (script injection)"
    install = next(s for s in runs if "pip install" in s["run"])
    assert '"$GITHUB_ACTION_PATH"' in install["run"] and "pip install ." not in install["run"]
    assert set(action["outputs"]) == {"result", "errors", "warnings"}
    assert {"command", "base-ref", "format", "working-directory", "tiergate-version", "python-version"} <= set(action["inputs"])


def _run_action_step(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    step = next(s for s in yaml.safe_load(ACTION.read_text())["runs"]["steps"] if s.get("id") == "run")
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    bindir = Path(sys.executable).parent  # the tiergate installed for the tests stands in for the action's install step
    full = {"PATH": f"{bindir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
            "ARGS": "", "OUTPUT": "", "BASE": "", "FORMAT": "github"} | env
    done = subprocess.run(["bash", "-c", step["run"]], env=full, capture_output=True, text=True, timeout=120)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return done, values


def test_action_step_validates_and_sets_outputs(repo, tmp_path):
    done, outputs = _run_action_step(tmp_path, {"COMMAND": "validate", "REPO_DIR": str(repo.root), "ARGS": f"--as-of {AS_OF}"})
    assert done.returncode == 0, done.stderr
    assert outputs == {"result": "pass", "errors": "0", "warnings": "0"}
    repo.replace("policy/tasks/language-detection.yaml", "threshold: 0.97", "threshold: 1.5")
    done, outputs = _run_action_step(tmp_path, {"COMMAND": "validate", "REPO_DIR": str(repo.root), "ARGS": f"--as-of {AS_OF}"})
    assert done.returncode == 1 and outputs["result"] == "fail" and int(outputs["errors"]) >= 1
    assert "::error file=policy/tasks/language-detection.yaml" in done.stdout


def test_action_step_checks_a_pull_request_against_its_base(repo, tmp_path):
    git = GitRepo(repo.root)
    git.git("init", "-q", "-b", "main")
    git.commit("policy")
    git.git("checkout", "-q", "-b", "feature")
    git.replace("policy/tasks/language-detection.yaml", "tier: lite", "tier: mid")
    git.commit("raise without evidence")
    done, outputs = _run_action_step(tmp_path, {"COMMAND": "check", "REPO_DIR": str(repo.root), "GITHUB_BASE_REF": "main",
                                                "BASE": "main", "ARGS": f"--as-of {AS_OF}"})
    assert done.returncode == 1 and outputs["result"] == "fail" and "TG801" in done.stdout
    done, _ = _run_action_step(tmp_path, {"COMMAND": "rm -rf /", "REPO_DIR": str(repo.root)})
    assert done.returncode == 2 and "unknown command" in done.stderr


@pytest.mark.parametrize("as_of", [["--as-of", "2027-02-01"], ["--as-of=2027-02-01"]], ids=["--as-of D", "--as-of=D"])
def test_action_step_review_gives_the_due_list_only_the_date(repo, tmp_path, as_of):
    """`args` may hold open-issue's own options (--dry-run, --update-only, --github-repo): the due list
    for the job summary gets only --as-of, open-issue gets them all."""
    done, _ = _run_action_step(tmp_path, {"COMMAND": "review", "REPO_DIR": str(repo.root), "ARGS": " ".join([*as_of, "--dry-run"])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Tier review 2027-Q1\n") and "<!-- tiergate-tier-review: 2027-Q1 -->" in done.stdout
    assert "due for re-evaluation as of 2027-02-01" in (tmp_path / "summary").read_text()


# --- pre-commit -------------------------------------------------------------------------


def _pre_commit() -> str:
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed (it is in the test extra)")
    return exe


def test_pre_commit_manifest_is_valid():
    done = subprocess.run([_pre_commit(), "validate-manifest", str(PROJECT / ".pre-commit-hooks.yaml")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_pre_commit_try_repo_from_an_adopters_repo(repo, tmp_path):
    exe = _pre_commit()
    git = GitRepo(repo.root)
    git.git("init", "-q", "-b", "main")
    git.commit("policy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {"PRE_COMMIT_HOME": str(tmp_path / "pc-home")}

    def run(hook: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, "try-repo", str(PROJECT), hook, "--all-files"], cwd=repo.root, env=env, capture_output=True,
                              text=True, timeout=600)

    done = run("tiergate-validate")
    if done.returncode != 0 and ("Could not fetch" in done.stdout or "Failed to establish a new connection" in done.stdout
                                 or "No matching distribution" in done.stdout):
        pytest.skip("the package index is unreachable, so pre-commit cannot build the hook's environment")
    assert done.returncode == 0 and "tiergate validate" in done.stdout and "Passed" in done.stdout, done.stdout[-2000:]
    assert run("tiergate-schema").returncode == 0
    repo.replace("policy/tasks/language-detection.yaml", "threshold: 0.97", "threshold: 1.5")
    git.commit("break it")
    failed = run("tiergate-validate")
    assert failed.returncode == 1 and "TG101" in failed.stdout
