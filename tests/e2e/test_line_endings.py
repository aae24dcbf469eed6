"""A Windows checkout (core.autocrlf=true) must validate: evidence stays byte-exact, or the error says why."""

from __future__ import annotations

import json
import shutil

from conftest import AS_OF, PROJECT, cli
from gitrepo import GitRepo


def _clone_with_autocrlf(repo, tmp_path) -> GitRepo:
    origin = GitRepo(repo.root)
    origin.git("init", "-q", "-b", "main")
    origin.commit("example policy")
    clone = tmp_path / "windows"
    origin.git("clone", "-q", "-c", "core.autocrlf=true", str(repo.root), str(clone))
    return GitRepo(clone)


def test_autocrlf_checkout_validates_with_the_shipped_gitattributes(repo, capsys, tmp_path):
    shutil.copy2(PROJECT / ".gitattributes", repo.path(".gitattributes"))
    clone = _clone_with_autocrlf(repo, tmp_path)
    assert b"\r\n" in clone.path("policy/tiers.yaml").read_bytes(), "the clone did convert text files"
    run = cli(capsys, "validate", "--repo", str(clone.root), "--format", "json", "--as-of", AS_OF)
    assert run.code == 0, run.out


def test_converted_evidence_names_line_endings_as_the_cause(repo, capsys, tmp_path):
    clone = _clone_with_autocrlf(repo, tmp_path)  # no .gitattributes: git converts the evidence too
    run = cli(capsys, "validate", "--repo", str(clone.root), "--format", "json", "--as-of", AS_OF)
    assert run.code == 1
    hashes = [f for f in json.loads(run.out)["findings"] if f["rule"] in ("TG307", "TG313")]
    assert hashes and all("line endings" in f["message"] and ".gitattributes" in f["message"] for f in hashes)
