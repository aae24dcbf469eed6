"""The base side of the gate, read from a commit: the same answers whether a folder's paths are
looked up one by one or from one listing of the folder, and paths are literal, never patterns."""

from __future__ import annotations

import os

import git
import pytest

from gitrepo import GitRepo
from tiergate.gitio import SINGLE_LOOKUPS, GitTree
from tiergate.loading import MISSING, NOT_REGULAR, LoadError


@pytest.fixture
def tree(tmp_path) -> GitTree:
    repo = GitRepo(tmp_path / "r")
    repo.root.mkdir()
    for i in range(SINGLE_LOOKUPS * 2):
        repo.write(f"policy/tasks/t{i:02d}.yaml", f"task: t{i:02d}\n")
    repo.write("evals/t00/run.yaml", "x: 1\n")
    repo.write("evals/t00/deep/more.yaml", "y: 2\n")
    os.symlink("../../etc/passwd", repo.path("policy/tasks/link.yaml"))
    repo.git("init", "-q", "-b", "main")
    repo.commit("base")
    return GitTree(git.Repo(repo.root).head.commit)


def _answers(tree: GitTree, paths: list[str]) -> list[object]:
    out: list[object] = []
    for path in paths:
        try:
            out.append((tree.exists(path), tree.read(path, 1000)))
        except LoadError as err:
            out.append((tree.exists(path), err.rule.id))
    return out


def test_single_lookups_and_folder_listings_agree(tree: GitTree, tmp_path):
    paths = [f"policy/tasks/t{i:02d}.yaml" for i in range(SINGLE_LOOKUPS * 2)]
    paths += ["policy/tasks/link.yaml", "policy/tasks/nope.yaml", "policy/tasks", "policy", "evals/t00", "evals/t00/deep/more.yaml"]
    one_by_one = _answers(tree, paths)  # the first few alone, then policy/tasks/ listed whole
    fresh = GitTree(tree.commit)
    fresh._folder("policy/tasks"), fresh._folder("policy"), fresh._folder("evals"), fresh._folder("evals/t00"), fresh._folder("evals/t00/deep")
    assert one_by_one == _answers(fresh, paths)
    assert one_by_one[0] == (True, b"task: t00\n")
    assert one_by_one[-6] == (True, NOT_REGULAR.id)  # a symlink is refused, not followed
    assert one_by_one[-5] == (False, MISSING.id)
    assert [a[0] for a in one_by_one[-4:]] == [True, True, True, True]
    assert "policy/tasks" in tree._listed and "evals" not in tree._listed  # listed only where asked about often


@pytest.mark.parametrize("pattern", ["policy/tasks/*.yaml", "policy/tasks/t0?.yaml", "policy/tasks/t[0]0.yaml", ":(glob)**/t00.yaml", "policy/../policy/tasks/t00.yaml"])
def test_paths_are_literal(tree: GitTree, pattern: str):
    """A path from a pull request's data is never a git pathspec: a wildcard matches nothing."""
    assert not tree.exists(pattern)
    with pytest.raises(LoadError):
        tree.read(pattern, 1000)


def test_files_lists_a_subtree_only(tree: GitTree):
    assert tree.files("evals/t00") == ["evals/t00/deep/more.yaml", "evals/t00/run.yaml"]
    assert tree.files("evals/t0") == []
