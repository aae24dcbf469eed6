"""The audit's engines are an extra that only `tiergate audit` and `review ... --audit` load.

`validate`, `check`, `rules`, `--version` and `--help` must not import DuckDB, SQLGlot or psycopg: a gate that
pays for a database driver on every pull request is a slower gate, and one more thing to install.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import AS_OF, PROJECT

HEAVY = ("duckdb", "sqlglot", "psycopg", "psycopg_binary", "ibis", "pyarrow", "pandas")
PROBE = """
import json, sys
from tiergate.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(%r))), file=sys.stderr)
""" % (HEAVY,)


def loaded(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120, cwd=PROJECT)
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("audit", "--help"), ("rules",),
                                  ("validate", "--repo", str(PROJECT), "--as-of", AS_OF),
                                  ("review", "due", "--repo", str(PROJECT), "--as-of", AS_OF)])
def test_light_commands_import_no_engine(args):
    assert loaded(*args) == []


def test_the_audit_does_import_them(tmp_path):
    pytest.importorskip("duckdb")
    source = tmp_path / "none.jsonl"
    source.write_text('{"startTime": "2026-11-01T00:00:00Z", "model": "m", "prompt_tokens": 1, "completion_tokens": 1}\n')
    assert {"duckdb", "sqlglot"} <= set(loaded("audit", "--repo", str(PROJECT), "--source", str(source)))
