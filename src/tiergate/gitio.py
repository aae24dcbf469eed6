"""All git access for the merge gate, through GitPython.

The gate compares the working tree with the merge base of HEAD and the base branch. Anything
that prevents an honest comparison (no repository, an unknown ref, a shallow clone without
the merge base) raises TierGateError: the gate fails closed, it never passes by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

from tiergate.errors import TierGateError
from tiergate.loading import MISSING, NOT_REGULAR, TOO_LARGE, LoadError, line_chunks

if TYPE_CHECKING:
    import git

SYMLINK_MODE = 0o120000
SINGLE_LOOKUPS = 8  # paths of one folder looked up one git call each, before the folder is listed whole
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


def tracked(root: Path, folder: str) -> list[str]:
    """Files under ``folder`` that git tracks in ``root`` ([] outside git): what a clone of the branch brings along."""
    import git

    try:
        listing = git.Repo(root, search_parent_directories=False).git.ls_files("-z", "--", folder, env={"GIT_LITERAL_PATHSPECS": "1"})
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError):
        return []
    return [path for path in listing.split("\0") if path]


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

    try:  # both walk the working tree: started together, they share the two cores
        procs = [repo.git.diff("--name-status", "-z", "-M", "--no-color", "--no-ext-diff", base.hexsha, as_process=True),
                 repo.git.ls_files("--others", "--exclude-standard", "-z", as_process=True)]
        raw, untracked = (_output(proc) for proc in procs)
    except git.GitCommandError as err:
        raise TierGateError(f"cannot read the changes since {base.hexsha[:12]}: {err.stderr.strip()}") from None
    out = _parse_name_status(raw)
    out.extend(Change("A", path) for path in untracked.split("\0") if path)
    return out


def _output(proc: Any) -> str:
    """All of a started git command's output, or GitCommandError when it fails."""
    out = proc.stdout.read()
    proc.wait()  # raises GitCommandError (with stderr) on a non-zero exit
    return out.decode("utf-8", "surrogateescape")


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


@dataclass(frozen=True)
class _Entry:
    mode: int
    kind: str  # blob | commit (a submodule)
    sha: str
    size: int


class GitTree:
    """A commit's files, read straight from the object database (the ``Tree`` interface).

    Lookups go through ``git ls-tree``: a path alone at first, its whole folder (one level, kept)
    once a folder is asked about often, so the work grows with what the gate reads, not with
    the repository: a one-contract change costs a handful of lookups, never a listing of the
    hundreds of thousands of records files beside it, and a catalog change one listing a folder. Blobs are read through
    GitPython's persistent ``cat-file --batch``. A folder is not an entry: ``exists`` knows folders too.
    """

    def __init__(self, commit: "git.Commit") -> None:
        self.commit = commit
        self._odb = commit.repo.odb
        self._listed: dict[str, dict[str, str]] = {}  # folder ("" for the root) -> name -> "mode type sha size"
        self._single: dict[str, Optional[str]] = {}  # path -> its entry, for paths looked up alone
        self._asked: dict[str, int] = {}  # folder -> paths in it looked up alone so far

    def _list(self, folder: str, recursive: bool = False) -> list[tuple[str, str]]:
        """(path, meta) for what ``git ls-tree -z -l`` prints; pathspecs literal (no wildcards from data)."""
        import git

        try:
            flags = ["-z", "-l", "--full-tree"] + (["-r"] if recursive else [])
            listing = self.commit.repo.git.ls_tree(*flags, self.commit.hexsha, "--", *([folder] if folder else []),
                                                  env={"GIT_LITERAL_PATHSPECS": "1"})
        except git.GitCommandError as err:
            raise TierGateError(f"cannot list the files of {self.commit.hexsha[:12]}: {err.stderr.strip()}") from None
        out = []
        for record in listing.split("\0"):
            meta, _, path = record.partition("\t")
            if path:
                out.append((path, meta))
        return out

    def _meta(self, rel: str) -> Optional[str]:
        """The ls-tree entry of ``rel``: asked alone for the first few paths of a folder (a one-contract
        change needs a handful in ``policy/tasks/``), from one listing of the folder past that."""
        if ".." in rel.split("/") or not rel:
            return None
        folder, _, name = rel.rpartition("/")
        if folder in self._listed:
            return self._listed[folder].get(name)
        if rel in self._single:
            return self._single[rel]
        asked = self._asked[folder] = self._asked.get(folder, 0) + 1
        if asked > SINGLE_LOOKUPS:
            return self._folder(folder).get(name)
        found = [meta for path, meta in self._list(rel) if path == rel]
        self._single[rel] = found[0] if found else None
        return self._single[rel]

    def _folder(self, folder: str) -> dict[str, str]:
        if folder not in self._listed:
            prefix = folder + "/" if folder else ""
            self._listed[folder] = {path[len(prefix):]: meta for path, meta in self._list(prefix)
                                    if path.startswith(prefix) and "/" not in path[len(prefix):]}
        return self._listed[folder]

    def _entry(self, rel: str) -> Optional[_Entry]:
        meta = self._meta(rel)
        if meta is None or meta.split(maxsplit=2)[1] == "tree":
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
        return bool(rel) and self._meta(rel) is not None

    def files(self, prefix: str) -> list[str]:
        """Every entry under ``prefix`` but folders: blobs (symlinks among them, refused when read) and submodules."""
        folder = prefix.rstrip("/") + "/"
        return sorted(path for path, _ in self._list(folder, recursive=True) if path.startswith(folder))
