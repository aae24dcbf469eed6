"""Generated files stay in step with their sources: JSON Schemas, README rule table, examples."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import yaml

from conftest import PROJECT
from tiergate import schema
from tiergate.rules import REGISTRY as RULES


def test_committed_schemas_are_fresh():
    assert schema.stale(PROJECT) == [], "run `tiergate schema --write`"


def test_stale_schema_is_detected(tmp_path):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "contract.schema.json").write_text("{}")
    assert "schemas/contract.schema.json" in schema.stale(tmp_path)


@pytest.mark.parametrize(
    "name,pattern",
    [("catalog.schema.json", "policy/tiers.yaml"), ("contract.schema.json", "policy/tasks/*.yaml"), ("artifact.schema.json", "evals/*/*.yaml")],
)
def test_example_files_satisfy_the_committed_schemas(name, pattern):
    validator = jsonschema.Draft202012Validator(json.loads((PROJECT / "schemas" / name).read_text()))
    files = sorted(PROJECT.glob(pattern))
    assert files
    for path in files:
        data = yaml.safe_load(path.read_text())
        data = json.loads(json.dumps(data, default=lambda v: v.isoformat().replace("+00:00", "Z")))
        errors = list(validator.iter_errors(data))
        assert not errors, f"{path}: {errors[0].message}"


def test_contracts_carry_the_editor_schema_comment():
    for path in (PROJECT / "policy" / "tasks").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=../../schemas/contract.schema.json\n"), path


def test_readme_documents_every_rule():
    readme = (PROJECT / "README.md").read_text()
    for rule in RULES.values():
        assert f"| {rule.id} | {rule.name} | {rule.severity} |" in readme, rule.id


def test_ci_runs_the_readme_test_command():
    readme = (PROJECT / "README.md").read_text()
    ci = (PROJECT / ".ci" / "run").read_text()
    command = next(line.strip() for line in readme.splitlines() if line.strip().startswith("pip install -e '.[test]'"))
    assert command in ci


def test_example_generation_is_deterministic(tmp_path):
    for part in ("policy", "CODEOWNERS"):
        src = PROJECT / part
        (subprocess.run(["cp", "-r", str(src), str(tmp_path / part)], check=True))
    subprocess.run([sys.executable, str(PROJECT / "scripts" / "make_example_evals.py"), "--repo", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    made = sorted(p.relative_to(tmp_path) for p in (tmp_path / "evals").rglob("*") if p.is_file())
    committed = sorted(p.relative_to(PROJECT) for p in (PROJECT / "evals").rglob("*") if p.is_file())
    assert made == committed
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (PROJECT / rel).read_bytes(), rel
