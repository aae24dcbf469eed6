"""Writing files: the one place tiergate creates or replaces a file, and the rules it follows.

- Never through a symbolic link: a target, or its folder, that is a symlink is refused. For a write into the
  repository (``inside=root``) every folder between the root and the target is checked, and the target must
  resolve inside the root: a repository's content is whatever a pull request put there, and a committed
  symlink must not turn ``codeowners --write`` into a write to somewhere else.
- Atomically: a replaced file is written to an unpredictable temporary file created exclusively in the same
  folder (``.tiergate-*``), flushed to disk, then renamed over the target in one step. On any error the
  temporary file is removed and the old file is left as it was. An existing target keeps its permission bits.
- New evidence is never overwritten (``write_new``): created with ``O_EXCL``, which fails on anything already
  there, a dangling symlink included.
- A log (``Appender``, the response cache) gets whole lines, one ``write`` each, through a file opened once
  with ``O_APPEND | O_NOFOLLOW`` after the same checks; its reader skips a line cut short.

Every refusal and failure is a ``TierGateError``: one line naming the path and what to do, exit 2.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Optional

from tiergate.errors import TierGateError

TEMP_PREFIX = ".tiergate-"


def _refuse(shown: str, problem: str, fix: str) -> TierGateError:
    return TierGateError(f"refusing to write {shown}: {problem}; {fix}")


def _lstat(path: Path) -> Optional[os.stat_result]:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise TierGateError(f"cannot write {path}: {err.strerror}") from None


def _repo_relative(path: Path, inside: Path) -> tuple[str, ...]:
    """``path``'s parts below ``inside``, judged on the names alone; refused when it is not below it."""
    full = path if path.is_absolute() else inside / path
    try:
        parts = full.relative_to(inside).parts
    except ValueError:
        parts = ()
    if not parts or any(part in ("..", ".") for part in parts):
        raise _refuse(str(path), f"it is outside the repository {inside}", "write only below the repository root")
    return parts


def writable(path: Path, inside: Optional[Path] = None, create_folders: bool = False) -> str:
    """Check that ``path`` may be written; returns how to name it in messages (repo-relative with ``inside``).

    With ``inside`` (the repository root) no folder between the root and ``path``, and not ``path`` itself, may
    be a symlink, and ``path`` must resolve below the root; ``create_folders`` makes the missing folders on the
    way (each as a real folder). Without it, ``path`` and the folder it is in may not be symlinks.
    """
    if inside is None:
        shown = str(path)
        folder = path.parent
        if os.path.islink(folder):
            raise _refuse(shown, f"its folder {folder} is a symbolic link", "write to a real folder (pass the resolved path)")
        found = _lstat(path)
        if found is not None and stat.S_ISLNK(found.st_mode):
            raise _refuse(shown, "it is a symbolic link", "remove the link or choose another output file")
        return shown
    parts = _repo_relative(path, inside)
    shown = "/".join(parts)
    root = Path(os.path.realpath(inside))
    current = root
    for depth, part in enumerate(parts[:-1], start=1):
        current = current / part
        where = "/".join(parts[:depth])
        found = _lstat(current)
        if found is None and create_folders:
            try:
                os.mkdir(current)
            except FileExistsError:
                pass
            except OSError as err:
                raise TierGateError(f"cannot write {shown}: cannot create {where}/: {err.strerror}") from None
            found = _lstat(current)
        if found is None:
            raise TierGateError(f"cannot write {shown}: the folder {where}/ does not exist")
        if stat.S_ISLNK(found.st_mode):
            raise _refuse(shown, f"{where} is a symbolic link", f"replace {where} with a real folder in the repository")
        if not stat.S_ISDIR(found.st_mode):
            raise TierGateError(f"cannot write {shown}: {where} is not a folder")
    target = root.joinpath(*parts)
    found = _lstat(target)
    if found is not None and stat.S_ISLNK(found.st_mode):
        raise _refuse(shown, "it is a symbolic link", f"replace {shown} with a regular file in the repository")
    real = os.path.realpath(target.parent)
    if os.path.commonpath([real, str(root)]) != str(root):
        raise _refuse(shown, f"it resolves outside the repository ({real})", "write only below the repository root")
    return shown


def _target(path: Path, inside: Optional[Path]) -> Path:
    if inside is None:
        return path
    return Path(os.path.realpath(inside)).joinpath(*_repo_relative(path, inside))


def _new_file_mode() -> int:
    umask = os.umask(0o022)  # read it back: there is no getter; tiergate is single-threaded here
    os.umask(umask)
    return 0o666 & ~umask


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; best effort (some file systems cannot open a folder for this)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str, inside: Optional[Path] = None, create_folders: bool = False, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step; on any error the old file is untouched.

    ``inside``: the repository root, for writes into the repository (see ``writable``). ``durable=False``
    skips the syncs to disk (still atomic: a crash leaves the old file or the new one, maybe neither
    for a new file): for a cache, whose loss costs only a repeated call.
    """
    shown = writable(path, inside, create_folders)
    target = _target(path, inside)
    data = text.encode("utf-8")  # before any file exists: an unencodable text leaves nothing behind
    found = _lstat(target)
    mode = stat.S_IMODE(found.st_mode) & 0o777 if found is not None and stat.S_ISREG(found.st_mode) else _new_file_mode()
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX, suffix=".tmp")
    except OSError as err:
        raise TierGateError(f"cannot write {shown}: {err.strerror}") from None
    _fill(fd, data, Path(tmp), shown, mode, then=lambda: os.replace(tmp, target), durable=durable)
    if durable:
        _sync_folder(target.parent)


def write_new(path: Path, data: bytes, inside: Path, create_folders: bool = True) -> None:
    """Create ``path`` below the repository root ``inside`` with ``data``; never replaces anything.

    Folders on the way are created (``create_folders``) and may not be symlinks; on any error a file this call
    created is removed again.
    """
    shown = writable(path, inside, create_folders)
    target = _target(path, inside)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags, 0o666)
    except FileExistsError:
        raise TierGateError(f"cannot write {shown}: it already exists, and new files never replace anything") from None
    except OSError as err:
        raise TierGateError(f"cannot write {shown}: {err.strerror}") from None
    _fill(fd, data, target, shown)
    _sync_folder(target.parent)


def _fill(fd: int, data: bytes, created: Path, shown: str, mode: Optional[int] = None,
          then: Optional[Callable[[], None]] = None, durable: bool = True) -> None:
    """Write ``data`` to the new file ``fd`` (``created``), synced to disk, then ``then``; on any error
    the file this call created is removed and the error is one TierGateError line."""
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            if durable:
                os.fsync(handle.fileno())
        if then is not None:
            then()
    except BaseException as err:
        try:
            os.unlink(created)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise TierGateError(f"cannot write {shown}: {err.strerror or err}") from None
        raise


class Appender:
    """Append whole lines to one file below the repository root ``inside``, never through a link.

    For a log read back line by line (the response cache): the folders and the file are checked once
    (``writable``), the file is opened with ``O_APPEND | O_NOFOLLOW``, and each ``append`` hands one
    whole line to one ``write`` call. A line cut short by a crash is incomplete JSON, which the
    reader skips: an entry is there whole or not at all, which is the atomicity a cache needs, at a
    fraction of the cost of a file per entry.
    """

    def __init__(self, path: Path, inside: Path) -> None:
        self.shown = writable(path, inside, create_folders=True)
        target = _target(path, inside)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            self.fd = os.open(target, flags, 0o666)
        except OSError as err:
            raise TierGateError(f"cannot write {self.shown}: {err.strerror}") from None

    def append(self, line: bytes) -> None:
        view = memoryview(line if line.endswith(b"\n") else line + b"\n")
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as err:
            raise TierGateError(f"cannot write {self.shown}: {err.strerror}") from None

    def close(self) -> None:
        os.close(self.fd)
