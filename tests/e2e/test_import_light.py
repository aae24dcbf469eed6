"""`check`, `validate`, `--help` and `comment --help` stay light: no PyGithub, requests or LiteLLM in the process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import AS_OF
from gitrepo import init

HEAVY = ("github", "requests", "litellm", "duckdb", "ibis", "psycopg", "inspect_ai")
PROBE = """
import json, sys
from tiergate.cli import main
try:
    main(sys.argv[1:])
except SystemExit as done:
    code = done.code
print("\\n@@" + json.dumps({"code": code, "heavy": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


def loaded(*args: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"} | (env or {}))
    return json.loads(done.stdout.rsplit("@@", 1)[1])


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["check", "--help"], ["comment", "--help"]], ids=" ".join)
def test_help_is_light(args):
    assert loaded(*args) == {"code": 0, "heavy": []}


def test_check_with_a_cost_change_is_light(repo, tmp_path):
    gitrepo = init(repo.root)
    gitrepo.replace("policy/tasks/intent-classification.yaml", "monthly_volume: 500000", "monthly_volume: 900000")
    summary = tmp_path / "summary.md"
    for fmt in ("json", "github"):  # github renders the text report and, with the summary set, the Markdown one
        assert loaded("check", "--repo", str(gitrepo.root), "--base", "main", "--as-of", AS_OF, "--format", fmt,
                      env={"GITHUB_STEP_SUMMARY": str(summary)}) == {"code": 0, "heavy": []}, fmt
    assert "### Cost change" in summary.read_text()
    assert loaded("validate", "--repo", str(gitrepo.root), "--as-of", AS_OF) == {"code": 0, "heavy": []}


def test_the_probe_sees_pygithub_when_a_command_loads_it(repo):
    """The twin: the commands that call GitHub do load it (so the probe would catch `check` doing so)."""
    found = loaded("review", "open-issue", "--repo", str(repo.root), "--github-repo", "acme/policy", "--as-of", AS_OF)
    assert found["code"] == 2 and "github" in found["heavy"]  # no GITHUB_TOKEN: a clear error, after the import
