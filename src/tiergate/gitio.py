"""All git access for the merge gate, through GitPython.

The gate compares the working tree with the merge base of HEAD and the base branch. Anything
that prevents an honest comparison (no repository, an unknown ref, a shallow clone without
the merge base) raises TierGateError: the gate fails closed, it never passes by default.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

from tiergate.errors import TierGateError
from tiergate.loading import MISSING, NOT_REGULAR, TOO_LARGE, LoadError, line_chunks

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


def _slashes(path: str) -> list[int]:
    return [i for i, c in enumerate(path) if c == "/"]


@dataclass(frozen=True)
class _Entry:
    mode: int
    kind: str  # blob | commit (a submodule)
    sha: str
    size: int


class GitTree:
    """A commit's files, read straight from the object database (the ``Tree`` interface).

    The commit's tree is listed once (``git ls-tree -r``) into a path index, so a lookup costs a
    dict access however many files the repository holds; blobs are read through GitPython's
    persistent ``cat-file --batch``. A folder is not an entry: ``exists`` knows folders too.
    """

    def __init__(self, commit: "git.Commit") -> None:
        import git

        self.commit = commit
        self._odb = commit.repo.odb
        try:
            listing = commit.repo.git.ls_tree("-r", "-z", "-l", "--full-tree", commit.hexsha)
        except git.GitCommandError as err:
            raise TierGateError(f"cannot list the files of {commit.hexsha[:12]}: {err.stderr.strip()}") from None
        self._index: dict[str, str] = {}  # path -> "mode type sha size", parsed on use
        for record in listing.split("\0"):
            meta, _, path = record.partition("\t")
            if path:
                self._index[path] = meta
        self._paths = sorted(self._index)
        self._folders: Optional[set[str]] = None

    def _entry(self, rel: str) -> Optional[_Entry]:
        meta = self._index.get(rel)
        if meta is None:
            return None
        mode, kind, sha, size = meta.split(maxsplit=3)
        return _Entry(int(mode, 8), kind, sha, int(size) if size.strip().isdigit() else 0)

    def read(self, rel: str, limit: int) -> bytes:
        return self._blob(rel, limit).read()

    def stream(self, rel: str, limit: int) -> Iterator[bytes]:
        yield from line_chunks(self._blob(rel, limit).read)

    def _blob(self, rel: str, limit: int) -> Any:
        entry = self._entry(rel)
        where = self.commit.hexsha[:12]
        if entry is None:
            raise LoadError(MISSING, f"'{rel}' does not exist at {where}")
        if entry.mode == SYMLINK_MODE or entry.kind != "blob":
            raise LoadError(NOT_REGULAR, f"'{rel}' is a {'symlink' if entry.mode == SYMLINK_MODE else 'submodule'} at {where}; "
                                         "governed files must be regular files")
        if entry.size > limit:
            raise LoadError(TOO_LARGE, f"'{rel}' is over the {limit}-byte limit")
        return self._odb.stream(bytes.fromhex(entry.sha))

    def exists(self, rel: str) -> bool:
        rel = rel.rstrip("/")
        if rel in self._index:
            return True
        if self._folders is None:  # folders are asked about rarely: list them on the first question
            self._folders = {path[:cut] for path in self._paths for cut in _slashes(path)}
        return rel in self._folders

    def files(self, prefix: str) -> list[str]:
        """Every entry under ``prefix`` but folders: blobs (symlinks among them, refused when read) and submodules."""
        folder = prefix.rstrip("/") + "/"
        start = bisect.bisect_left(self._paths, folder)
        out = []
        for path in self._paths[start:]:
            if not path.startswith(folder):
                break
            out.append(path)
        return out
