"""Every workflow file validates against the GitHub-workflow schema vendored by check-jsonschema."""

from __future__ import annotations

import json
import os
import re
import subprocess
from importlib import resources

import jsonschema
import pytest
import yaml

from conftest import PROJECT

WORKFLOWS = sorted((PROJECT / ".github" / "workflows").glob("*.yml"))


def _load(path) -> dict:
    """YAML 1.1 reads the key `on` as True; GitHub (and check-jsonschema) read it as "on"."""
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def _schema() -> dict:
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("github-workflows.json").read_text()
    return json.loads(text)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_schema(path):
    data = _load(path)
    errors = sorted(jsonschema.Draft7Validator(_schema()).iter_errors(data), key=str)
    assert not errors, f"{path.name}: {errors[0].message}"


def test_policy_gate_is_least_privilege_and_unfiltered():
    gate = _load(PROJECT / ".github" / "workflows" / "policy-gate.yml")
    assert gate["permissions"] == {"contents": "read"}
    assert gate["on"] == {"pull_request": None}
    assert gate["concurrency"]["cancel-in-progress"] is True
    assert gate["jobs"]["policy-gate"]["timeout-minutes"] == 10
    steps = gate["jobs"]["policy-gate"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0 and steps[0]["with"]["path"] == "pr"
    assert steps[1]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}" and steps[1]["with"]["path"] == "trusted"
    # the base commit's action, reading the pull request as data; it compares with origin/$GITHUB_BASE_REF
    assert {k: v for k, v in steps[-1].items() if k != "name"} == {"uses": "./trusted",
                                                                 "with": {"command": "check", "working-directory": "pr"}}
    assert (PROJECT / ".github" / "workflows" / "policy-gate.yml").read_text().startswith(
        '# The merge gate. Make the "policy-gate" check required in branch protection')


def test_a_broken_workflow_is_caught():
    bad = {"on": "push", "jobs": {"x": {"steps": [{"uses": "a@b"}]}}}  # job without runs-on
    assert list(jsonschema.Draft7Validator(_schema()).iter_errors(bad))


def test_export_runs_on_default_branch_pushes_and_uploads_every_format():
    flow = _load(PROJECT / ".github" / "workflows" / "export.yml")
    assert flow["on"] == {"push": {"branches": ["main"]}} and flow["permissions"] == {"contents": "read"}
    steps = flow["jobs"]["export"]["steps"]
    script = "\n".join(step.get("run", "") for step in steps)
    for fmt in ("json", "litellm", "csv", "markdown"):
        assert f"tiergate export --format {fmt} -o build/" in script
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "build/" and "${{ github.sha }}" in upload["with"]["name"]


REVIEW_ARGS = "${{ inputs.as_of && format('--as-of {0}', inputs.as_of) || '' }}"


def test_quarterly_review_schedule_and_permissions():
    path = PROJECT / ".github" / "workflows" / "quarterly-review.yml"
    flow = _load(path)
    crons = [item["cron"] for item in flow["on"]["schedule"]]
    assert crons == ["17 6 1 1,4,7,10 *", "43 7 15 * *"]
    assert all(int(cron.split()[0]) % 2 == 1 for cron in crons)  # odd minutes: away from the top-of-hour rush
    assert flow["on"]["workflow_dispatch"]["inputs"]["as_of"]["required"] is False
    assert flow["permissions"] == {"issues": "write", "contents": "read"}
    steps = flow["jobs"]["review"]["steps"]
    assert not any("run" in step for step in steps)  # no script of its own: nothing to splice into
    step = steps[-1]
    assert step["uses"] == "./" and step["with"] == {"command": "review", "args": REVIEW_ARGS}  # merged code's action
    assert step["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    # No run is update-only: any run inside a quarter opens that quarter's issue if it is missing,
    # so a dropped first-day run cannot lose a quarter.
    assert "--update-only" not in path.read_text() and "github.event.schedule" not in path.read_text()


TOKEN = re.compile(r"\s*(&&|\|\||[(),]|'(?:[^']|'')*'|[A-Za-z_][\w.-]*)")


def _evaluate(expr: str, context: dict[str, str]) -> str:
    """The GitHub expressions a `with:` here uses: names, 'strings', format(), `&&`, `||`, parentheses.
    A missing name is null, which is falsy and formats as ''."""
    tokens = TOKEN.findall(expr)
    assert not TOKEN.sub("", expr).strip(), expr  # every character is part of a token
    pos = 0

    def take(token=None):
        nonlocal pos
        assert token is None or tokens[pos] == token, (tokens, pos)
        pos += 1
        return tokens[pos - 1]

    def primary() -> str:
        token = take()
        if token == "(":
            value = either()
            take(")")
            return value
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token == "format":
            take("(")
            args = [either()]
            while tokens[pos] == ",":
                take(",")
                args.append(either())
            take(")")
            return re.sub(r"\{(\d+)\}", lambda m: args[1 + int(m.group(1))], args[0])
        return context.get(token, "")

    def both() -> str:
        value = primary()
        while pos < len(tokens) and tokens[pos] == "&&":
            take()
            right = primary()
            value = right if value else value
        return value

    def either() -> str:
        value = both()
        while pos < len(tokens) and tokens[pos] == "||":
            take()
            right = both()
            value = value or right
        return value

    value = either()
    assert pos == len(tokens), expr
    return value


def test_the_expression_reader():
    assert _evaluate(REVIEW_ARGS[3:-2], {}) == ""
    assert _evaluate(REVIEW_ARGS[3:-2], {"inputs.as_of": "2027-01-05"}) == "--as-of 2027-01-05"
    assert _evaluate("a || (b && 'x''y')", {"b": "1"}) == "x'y"


def _action_env(step: dict, context: dict[str, str]) -> dict[str, str]:
    """The env of the action's `run` step when the workflow's `step` calls it: inputs from `with:`
    (evaluated in `context`) and the action's defaults."""
    action = yaml.safe_load((PROJECT / "action.yml").read_text())
    run = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    for name, value in step["with"].items():
        found = re.fullmatch(r"\$\{\{(.*)\}\}", str(value).strip(), re.S)
        inputs[name] = _evaluate(found.group(1), context) if found else str(value)
    return {k: re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], str(v))
            for k, v in run["env"].items()} | {"RUN": run["run"]}


def test_quarterly_review_runs_the_actions_review_in_bash(tmp_path):
    """The action's run step with the inputs each trigger gives it, run for real with a stand-in
    tiergate that records its arguments: every run opens or updates (never --update-only)."""
    step = _load(PROJECT / ".github" / "workflows" / "quarterly-review.yml")["jobs"]["review"]["steps"][-1]
    stub = tmp_path / "tiergate"
    stub.write_text('#!/usr/bin/env bash\nprintf "%s|" "$@" >> "$CALLS"; echo >> "$CALLS"\n')
    stub.chmod(0o755)
    calls = tmp_path / "calls"
    for context, as_of in [({"github.event.schedule": "43 7 15 * *"}, []),  # the monthly run
                           ({"github.event.schedule": "17 6 1 1,4,7,10 *"}, []),  # the first day of a quarter
                           ({"inputs.as_of": "2027-01-05"}, ["--as-of", "2027-01-05"])]:  # workflow_dispatch
        calls.write_text("")
        env = _action_env(step, context)
        assert env["COMMAND"] == "review" and env["REPO_DIR"] == "."
        script = env.pop("RUN")
        env |= {"PATH": f"{tmp_path}:{os.environ['PATH']}", "CALLS": str(calls), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert calls.read_text().splitlines() == ["|".join(["review", "due", "--repo", ".", "--format", "markdown", *as_of, ""]),
                                                  "|".join(["review", "open-issue", "--repo", ".", *as_of, ""])]


def test_the_scaffolded_gate_comments_with_the_least_it_needs(tmp_path):
    """`tiergate init`'s policy-gate: the check job reads only; the cost-comment job may write comments and nothing else."""
    from tiergate import scaffold
    from tiergate.clock import utc_now

    scaffold.init(tmp_path, scaffold.Options(action="tiergate/tiergate@v9.9.9"), utc_now())
    flow = _load(tmp_path / ".github" / "workflows" / "policy-gate.yml")
    assert flow["permissions"] == {"contents": "read"} and "permissions" not in flow["jobs"]["policy-gate"]
    job = flow["jobs"]["cost-comment"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    checkout, action = job["steps"]
    assert checkout["with"]["persist-credentials"] is False and checkout["with"]["fetch-depth"] == 0
    assert action == {"uses": "tiergate/tiergate@v9.9.9", "with": {"command": "comment"},
                      "env": {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}}
    assert "${{ secrets." not in str(flow["jobs"]["policy-gate"])
