"""Every workflow file validates against the GitHub-workflow schema vendored by check-jsonschema."""

from __future__ import annotations

import json
import os
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
    assert steps[-1]["run"] == 'tiergate check --repo pr --base "origin/$BASE_REF" --format github'
    assert steps[-1]["env"] == {"BASE_REF": "${{ github.base_ref }}"}  # never spliced into the script
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


def test_quarterly_review_schedule_and_permissions():
    flow = _load(PROJECT / ".github" / "workflows" / "quarterly-review.yml")
    crons = [item["cron"] for item in flow["on"]["schedule"]]
    assert crons == ["17 6 1 1,4,7,10 *", "43 7 15 * *"]
    assert all(int(cron.split()[0]) % 2 == 1 for cron in crons)  # odd minutes: away from the top-of-hour rush
    assert flow["on"]["workflow_dispatch"]["inputs"]["as_of"]["required"] is False
    assert flow["permissions"] == {"issues": "write", "contents": "read"}
    step = flow["jobs"]["review"]["steps"][-1]
    assert step["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert "${{" not in step["run"]  # inputs reach the script through env, never spliced into it
    assert '"43 7 15 * *" ]; then mode=(--update-only)' in step["run"]
    assert "tiergate review open-issue" in step["run"]


def test_quarterly_review_script_runs_in_bash(tmp_path):
    """The step's shell script, run for real with a stand-in tiergate that records its arguments."""
    step = _load(PROJECT / ".github" / "workflows" / "quarterly-review.yml")["jobs"]["review"]["steps"][-1]
    stub = tmp_path / "tiergate"
    stub.write_text('#!/usr/bin/env bash\nprintf "%s|" "$@" >> "$CALLS"; echo >> "$CALLS"\n')
    stub.chmod(0o755)
    calls = tmp_path / "calls"
    for schedule, as_of, expected in [("43 7 15 * *", "", "review|open-issue|--update-only|"),
                                      ("17 6 1 1,4,7,10 *", "", "review|open-issue|"),
                                      ("", "2027-01-05", "review|open-issue|--as-of|2027-01-05|")]:
        calls.write_text("")
        env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "CALLS": str(calls), "AS_OF": as_of, "SCHEDULE": schedule,
               "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
        done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert calls.read_text().splitlines()[-1] == expected
