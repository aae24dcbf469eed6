"""The gate stays light: `validate`, `check`, `--version` and `--help` never import LiteLLM, inspect_ai or the run client.

Each command runs as its own process (a fresh interpreter), which then reports what it imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import AS_OF
from gitrepo import init

HEAVY = ("litellm", "inspect_ai", "openai", "tiergate.runs.client", "tiergate.runs.execute", "tiergate.runs.scorers",
         "tiergate.runs.imports")
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('IMPORTED:' + ','.join(n for n in {heavy!r} if n in sys.modules), file=sys.stderr))\n"
         "from tiergate.cli import main\n"
         "main(sys.argv[1:])\n").format(heavy=HEAVY)


def imported(args: list[str], cwd) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    line = next(line for line in done.stderr.splitlines() if line.startswith("IMPORTED:"))
    return {name for name in line.removeprefix("IMPORTED:").split(",") if name}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["eval", "--help"], ["eval", "run", "--help"],
                                  ["validate", "--as-of", AS_OF], ["cost"]])
def test_commands_of_the_gate_import_nothing_heavy(repo, args):
    assert imported(args + (["--repo", str(repo.root)] if args[0] in ("validate", "cost") else []), repo.root) == set()


def test_check_imports_nothing_heavy(repo):
    init(repo.root)
    assert imported(["check", "--base", "main", "--repo", str(repo.root), "--as-of", AS_OF], repo.root) == set()
