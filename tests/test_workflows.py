"""Every workflow file validates against the GitHub-workflow schema vendored by check-jsonschema."""

from __future__ import annotations

import json
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
    steps = gate["jobs"]["policy-gate"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert 'tiergate check --base "origin/${{ github.base_ref }}" --format github' in steps[-1]["run"]


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
