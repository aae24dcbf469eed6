"""Shared fixtures: a private copy of the example governance repo, and the real CLI."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tiergate.cli import main

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE_PARTS = ("policy", "evals", "schemas", "CODEOWNERS")
AS_OF = "2026-11-20"  # inside the example evidence's freshness window, whatever today is


@dataclass
class Run:
    code: int
    out: str
    err: str

    def rules(self) -> set[str]:
        return {f["rule"] for f in json.loads(self.out)["findings"]}


class Repo:
    """A throwaway copy of the example repository with small editing helpers."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def write(self, rel: str, text: str | bytes) -> None:
        target = self.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")

    def replace(self, rel: str, old: str, new: str) -> None:
        text = self.read(rel)
        assert old in text, f"{old!r} not in {rel}"
        self.write(rel, text.replace(old, new, 1))


# The example catalog's gpt-5-nano entry, as written there: tests replace it to give it deployment settings.
NANO_ENTRY = """\
      - id: openai/gpt-5-nano
        input_per_mtok: 0.05
        output_per_mtok: 0.40
        context_window: 400000
        max_output_tokens: 128000
"""


def litellm_export(capsys: pytest.CaptureFixture[str], repo: "Repo", monkeypatch: pytest.MonkeyPatch, key: str) -> dict:
    """``tiergate export --format litellm`` of ``repo``, loaded, with every ``os.environ/NAME`` key it names set to ``key``."""
    import yaml

    run = cli(capsys, "export", "--format", "litellm", "--repo", str(repo.root), "--as-of", AS_OF)
    assert run.code == 0, run.err
    data = yaml.safe_load(run.out)
    for deployment in data["model_list"]:
        ref = deployment["litellm_params"].get("api_key", "")
        if ref.startswith("os.environ/"):
            monkeypatch.setenv(ref.split("/", 1)[1], key)
    return data


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return Run(int(exit_info.value.code or 0), captured.out, captured.err)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    for part in EXAMPLE_PARTS:
        src = PROJECT / part
        if src.is_dir():
            shutil.copytree(src, root / part)
        else:
            shutil.copy2(src, root / part)
    return Repo(root)


@pytest.fixture
def validate(repo: Repo, capsys: pytest.CaptureFixture[str]):
    """Run `tiergate validate --format json` on the fixture repo."""

    def run(*extra: str) -> Run:
        return cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF, *extra)

    return run


def require(module: str, flag: str, what: str):
    """Import ``module`` or skip; with ``flag=1`` in the environment (as in .ci/run) a missing one fails instead."""
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get(flag) == "1":
            pytest.fail(f"{what} is required here ({flag}=1) but {module} is not installed")
        pytest.skip(f"{what}: {module} is not installed (pip install -e '.[audit]')", allow_module_level=True)


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the whole run, started as an unprivileged user in a temp folder."""
    import pgserver

    require("psycopg", "TIERGATE_REQUIRE_POSTGRES", "the PostgreSQL audit tests")
    folder = pgserver.binaries()
    if folder is None:
        if os.environ.get("TIERGATE_REQUIRE_POSTGRES") == "1":
            pytest.fail("TIERGATE_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries (initdb, postgres) were found")
        pytest.skip("no PostgreSQL server binaries (initdb, postgres)")
    server = pgserver.start(folder)
    yield server
    server.stop()
