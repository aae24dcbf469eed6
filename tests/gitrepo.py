"""Real git repositories for gate tests: a main branch with the example policy, then a feature branch."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import Repo

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo(Repo):
    def git(self, *args: str, cwd: Path | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
        done = subprocess.run(["git", *args], cwd=cwd or self.root, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def records(self, task: str, correct: int) -> list[dict]:
        rows = [json.loads(line) for line in self.read(f"evals/datasets/{task}.jsonl").splitlines()]
        return [{"id": r["id"], "output": r["expected"] if i < correct else "~wrong~"} for i, r in enumerate(rows)]


def init(root: Path) -> GitRepo:
    repo = GitRepo(root)
    repo.git("init", "-q", "-b", "main")
    repo.commit("example policy")
    repo.git("checkout", "-q", "-b", "feature")
    return repo
