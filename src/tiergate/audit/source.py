"""What ``--source`` names: a PostgreSQL spend log table, or telemetry files DuckDB reads.

A source URI comes from a command line or a scheduled job's secret, so it may carry a password:
``label`` is the one form of it that may be shown, and ``scrub`` takes the password out of any
text (a driver's error message may quote the DSN). Nothing here imports an engine.

Files are named exactly: one regular file, or ``FOLDER/*.SUFFIX`` for every such file directly in
one folder (partitioned exports). tiergate expands that pattern itself and hands DuckDB the list,
so DuckDB never globs, never follows a symlink (a linked file or folder is refused: pass the real
path) and never reaches outside the folder named.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from tiergate.errors import TierGateError

Kind = Literal["postgres", "jsonl", "csv", "parquet", "otlp"]
SUFFIXES: dict[str, Kind] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".json": "otlp"}
PG_SCHEMES = ("postgresql", "postgres")
HIDDEN = "***"
MAX_FILES = 10_000


@dataclass(frozen=True)
class Source:
    kind: Kind
    label: str  # safe to show: no password
    dsn: str = ""  # postgres only: the URI as given (never shown)
    files: tuple[str, ...] = ()  # file kinds: resolved, regular, unlinked files
    secrets: tuple[str, ...] = ()  # what scrub removes from messages
    grouped: bool = False  # the file holds the aggregation's rows (a warehouse ran `tiergate audit --sql`), not calls

    @property
    def is_spans(self) -> bool:
        return self.kind == "otlp"

    def scrub(self, text: str) -> str:
        """``text`` with every secret of this source replaced, whatever quoted it."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, HIDDEN)
        return text


def parse(uri: str, grouped: bool = False) -> Source:
    """The source ``uri`` names; a TierGateError (exit 2) for anything tiergate cannot read."""
    source = _parse(uri)
    if not grouped:
        return source
    if source.kind not in ("jsonl", "csv", "parquet"):
        raise TierGateError(f"--grouped reads the rows `tiergate audit --sql` returns, saved as .jsonl, .csv or .parquet; "
                            f"not {source.label}")
    return replace(source, grouped=True)


def _parse(uri: str) -> Source:
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme in PG_SCHEMES:
        return _postgres(uri)
    if scheme == "file":
        return _files(unquote(urlsplit(uri).path))
    if scheme:
        raise TierGateError(f"--source: unsupported scheme '{scheme}://'; use postgresql://USER@HOST:PORT/DB, or a "
                            ".jsonl, .csv, .parquet or OTLP .json file (for a warehouse, see the README's audit section)")
    return _files(uri)


def _postgres(uri: str) -> Source:
    parts = urlsplit(uri)
    secrets = [p for p in (parts.password, quote(parts.password or "", safe="")) if p]
    query = parse_qsl(parts.query, keep_blank_values=True)
    secrets += [value for key, value in query if key.lower() == "password" and value]
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.rsplit("@", 1)
        netloc = f"{netloc[0].split(':', 1)[0]}:{HIDDEN}@{netloc[1]}"
    shown = "&".join(f"{k}={HIDDEN if k.lower() == 'password' else v}" for k, v in query)
    label = urlunsplit((parts.scheme, netloc, parts.path, shown, ""))
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise TierGateError(f"--source {label}: the port is not a number") from None
    return Source("postgres", label, dsn=uri, secrets=tuple(secrets))


def _files(text: str) -> Source:
    if not text:
        raise TierGateError("--source is empty; name a file or a postgresql:// URI")
    path = Path(text)
    if any(ch in path.parent.as_posix() for ch in "*?[") or any(ch in path.name for ch in "?["):
        raise TierGateError(f"--source {text}: only FOLDER/*.SUFFIX is expanded (every such file directly in one folder); "
                            "name one file or one folder's files")
    kind = _kind(path, text)
    if "*" in path.name:
        if path.name != f"*{path.suffix}":
            raise TierGateError(f"--source {text}: only FOLDER/*.SUFFIX is expanded, e.g. exports/*.parquet")
        files = _folder_files(path.parent, path.suffix, text)
    else:
        files = [_regular(path, text)]
    return Source(kind, text, files=tuple(files))


def _kind(path: Path, text: str) -> Kind:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise TierGateError(f"--source {text}: unknown file type '{path.suffix}'; use .jsonl, .csv, .parquet "
                            "(spend log exports) or .json (OTLP spans)")
    return kind


def _regular(path: Path, text: str) -> str:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise TierGateError(f"--source {text}: no such file") from None
    except OSError as err:
        raise TierGateError(f"--source {text}: cannot read it ({err.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise TierGateError(f"--source {text}: is a symlink; pass the file it points to (links are not followed)")
    if not stat.S_ISREG(info.st_mode):
        raise TierGateError(f"--source {text}: is not a regular file")
    if not os.access(path, os.R_OK):
        raise TierGateError(f"--source {text}: cannot read it (permission denied)")
    return str(path.resolve())


def _folder_files(folder: Path, suffix: str, text: str) -> list[str]:
    folder = folder if str(folder) else Path(".")
    if folder.is_symlink() or not folder.is_dir():
        raise TierGateError(f"--source {text}: {folder} is not a folder (links are not followed)")
    names = sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(suffix) and not entry.name.startswith("."))
    if not names:
        raise TierGateError(f"--source {text}: no *{suffix} file in {folder}")
    if len(names) > MAX_FILES:
        raise TierGateError(f"--source {text}: more than {MAX_FILES} files; merge them, or load them into a database")
    return [_regular(folder / name, str(folder / name)) for name in names]
