"""All git access for the merge gate, through GitPython.

The gate compares the working tree with the merge base of HEAD and the base branch. Anything
that prevents an honest comparison (no repository, an unknown ref, a shallow clone without
the merge base) raises TierGateError: the gate fails closed, it never passes by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from tiergate.errors import TierGateError
from tiergate.loading import MISSING, NOT_REGULAR, TOO_LARGE, LoadError

if TYPE_CHECKING:
    import git

SYMLINK_MODE = 0o120000
FETCH_HINT = "in GitHub Actions use actions/checkout with `fetch-depth: 0`; locally run `git fetch origin`"


@dataclass(frozen=True)
class Change:
    """One path changed since the merge base: status A, M, D or R (with the old path)."""

    status: str
    path: str
    old_path: Optional[str] = None


def open_repo(root: Path) -> "git.Repo":
    import git  # GitPython starts a little slowly: only the commands that compare revisions load it

    try:
        return git.Repo(root, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise TierGateError(f"{root} is not a git repository; the gate compares against a base branch and needs git history") from None


def head_commit(root: Path) -> Optional[str]:
    """The commit an export describes, or None outside git (or before the first commit)."""
    import git

    try:
        return git.Repo(root, search_parent_directories=False).head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None


def merge_base(repo: "git.Repo", base_ref: str) -> "git.Commit":
    import git

    try:
        base = repo.commit(base_ref)
        head = repo.head.commit
    except (git.BadName, ValueError, git.GitCommandError) as err:
        raise TierGateError(f"cannot resolve base ref '{base_ref}' ({type(err).__name__}); check the name, {FETCH_HINT}") from None
    try:
        found = repo.merge_base(base, head)
    except git.GitCommandError as err:
        raise TierGateError(f"cannot compute the merge base of HEAD and '{base_ref}': {err.stderr.strip()}; {FETCH_HINT}") from None
    if not found:
        shallow = (Path(repo.git_dir) / "shallow").exists()
        why = "this is a shallow clone" if shallow else "the branches share no history"
        raise TierGateError(f"HEAD and '{base_ref}' have no merge base ({why}); {FETCH_HINT}")
    return found[0]


def changes(repo: "git.Repo", base: "git.Commit") -> list[Change]:
    """Paths that differ between ``base`` and the working tree, untracked files included."""
    import git

    try:
        raw = repo.git.diff("--name-status", "-z", "-M", "--no-color", "--no-ext-diff", base.hexsha)
        untracked = repo.git.ls_files("--others", "--exclude-standard", "-z")
    except git.GitCommandError as err:
        raise TierGateError(f"cannot read the changes since {base.hexsha[:12]}: {err.stderr.strip()}") from None
    out = _parse_name_status(raw)
    out.extend(Change("A", path) for path in untracked.split("\0") if path)
    return out


def _parse_name_status(raw: str) -> list[Change]:
    fields = [f for f in raw.split("\0") if f]
    out: list[Change] = []
    i = 0
    while i < len(fields):
        status = fields[i][0]
        if status in "RC":
            old, new = fields[i + 1], fields[i + 2]
            out.append(Change("R" if status == "R" else "A", new, old))
            i += 3
        else:
            out.append(Change(status if status in "ADM" else "M", fields[i + 1]))
            i += 2
    return out


class GitTree:
    """A commit's files, read straight from the object database (the ``Tree`` interface)."""

    def __init__(self, commit: "git.Commit") -> None:
        self.commit = commit
        self.tree = commit.tree

    def _blob(self, rel: str) -> "Optional[git.Blob]":
        import git

        try:
            item = self.tree / rel
        except KeyError:
            return None
        return item if isinstance(item, git.Blob) else None

    def read(self, rel: str, limit: int) -> bytes:
        blob = self._blob(rel)
        if blob is None:
            raise LoadError(MISSING, f"'{rel}' does not exist at {self.commit.hexsha[:12]}")
        if blob.mode == SYMLINK_MODE:
            raise LoadError(NOT_REGULAR, f"'{rel}' is a symlink at {self.commit.hexsha[:12]}; governed files must be regular files")
        if blob.size > limit:
            raise LoadError(TOO_LARGE, f"'{rel}' is over the {limit}-byte limit")
        return blob.data_stream.read()

    def exists(self, rel: str) -> bool:
        return self._blob(rel) is not None

    def files(self, prefix: str) -> list[str]:
        import git

        try:
            sub = self.tree / prefix.rstrip("/")
        except KeyError:
            return []
        # blobs (symlinks among them, refused when read) and submodules: everything but folders
        return sorted(item.path for item in sub.traverse() if not isinstance(item, git.Tree))
