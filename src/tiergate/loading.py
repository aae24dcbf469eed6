"""Safe reading of policy files: YAML with line marks, JSON Lines, and paths that stay inside.

Policy files decide what a merge gate lets through, so reading them is defensive: duplicate
keys are errors (YAML would keep the last one silently), alias expansion is bounded, sizes are
capped, and every value keeps the line it came from so findings can point at it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Protocol, TypeVar

import yaml

from tiergate.findings import Rule
from tiergate.layout import canonical

if TYPE_CHECKING:
    from pydantic import BaseModel

try:  # libyaml is ~10x faster; the pure-Python loader is the same grammar.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

MAX_YAML_BYTES = 1 << 20
MAX_JSONL_BYTES = 64 << 20
MAX_NODES = 50_000
MAX_DEPTH = 64
MERGE_TAG = "tag:yaml.org,2002:merge"

Path_ = tuple[Any, ...]
M = TypeVar("M", bound="BaseModel")

YAML_SYNTAX = Rule("TG001", "yaml-syntax", "error", "The file is not valid YAML (or JSON Lines).")
DUPLICATE_KEY = Rule("TG002", "yaml-duplicate-key", "error", "A mapping repeats a key; YAML would silently keep the last one.")
ALIAS_LIMIT = Rule("TG003", "yaml-alias-limit", "error",
                   "Anchors/aliases expand past the size limit (\"billion laughs\"), or a merge key is used.")
TOO_LARGE = Rule("TG004", "file-too-large", "error", "The file is larger than tiergate reads.")
ENCODING = Rule("TG005", "file-encoding", "error", "The file is not UTF-8 text.")
SHAPE = Rule("TG006", "file-shape", "error", "The file is empty, or its top level is not a mapping.")
OUTSIDE_REPO = Rule("TG007", "path-outside-repo", "error",
                    "A referenced path is absolute, uses `..` to leave its folder, or is a symlink pointing outside the repository.")
MISSING = Rule("TG008", "file-missing", "error", "A referenced file does not exist or cannot be read.")
NOT_REGULAR = Rule("TG009", "not-a-regular-file", "error",
                   "A governed file (contract, catalog, artifact, records, eval set, CODEOWNERS) is a symlink or not a regular file.")
OUTSIDE_EVALS = Rule("TG315", "evidence-outside-evals", "error", "A linked artifact or records file lies outside evals/.")
RECORDS_INVALID = Rule("TG316", "records-invalid", "error", "A records line is not a JSON object with the fields the metric needs.")
RULES = (YAML_SYNTAX, DUPLICATE_KEY, ALIAS_LIMIT, TOO_LARGE, ENCODING, SHAPE, OUTSIDE_REPO, MISSING, NOT_REGULAR, OUTSIDE_EVALS, RECORDS_INVALID)


class LoadError(Exception):
    """A file (or one line of it) cannot be used; carries the rule and the location."""

    def __init__(self, rule: Rule, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.line = line
        self.column = column


@dataclass
class Document:
    """A parsed YAML mapping, and where each value and key stood in the file (found on demand).

    Most files never need a line number (they have no finding), so the marks are built only when
    ``locate`` is first asked, by parsing ``text`` again with the marking builder.
    """

    path: str
    data: dict[str, Any]
    _marks: Optional[dict[Path_, tuple[int, int]]] = None
    _key_marks: Optional[dict[Path_, tuple[int, int]]] = None
    text: str = ""
    sha256: str = ""  # of the file's bytes as read: what an export names the policy by

    def _ensure_marks(self) -> None:
        if self._marks is None:
            self._marks, self._key_marks = _marked(self.text)

    @property
    def marks(self) -> dict[Path_, tuple[int, int]]:
        self._ensure_marks()
        assert self._marks is not None
        return self._marks

    @property
    def key_marks(self) -> dict[Path_, tuple[int, int]]:
        self._ensure_marks()
        assert self._key_marks is not None
        return self._key_marks

    def locate(self, loc: Iterable[Any], key: bool = False) -> tuple[int, int]:
        """Line and column of the deepest known prefix of ``loc`` (1-based)."""
        parts = tuple(loc)
        table = self.key_marks if key else self.marks
        for end in range(len(parts), -1, -1):
            prefix = parts[:end]
            if prefix in table:
                return table[prefix]
            if key and prefix in self.marks:
                return self.marks[prefix]
        return (1, 1)

    def line(self, *loc: Any) -> int:
        return self.locate(loc)[0]

    def validated(self, model: type[M]) -> M:
        """``model`` built from the data, which is then let go: the model holds it, and only the text
        (for line numbers) stays. Raises pydantic's ValidationError."""
        data, self.data = self.data, {}
        return model.model_validate(data)


def decode_utf8(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise LoadError(ENCODING, f"not UTF-8 text (byte {err.start}); save the file as UTF-8", line) from None
    return text[1:] if text.startswith("\ufeff") else text


def _check_size(raw: bytes, limit: int) -> None:
    if len(raw) > limit:
        raise LoadError(TOO_LARGE, f"file is {len(raw)} bytes, over the {limit}-byte limit; split it or trim it")


class _Builder:
    """Turns a composed node graph into plain data, counting every node it expands."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.count = 0
        self.marks: dict[Path_, tuple[int, int]] = {}
        self.key_marks: dict[Path_, tuple[int, int]] = {}

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise LoadError(ALIAS_LIMIT, f"document expands to more than {MAX_NODES} nodes (anchors/aliases?); write the values out", *_mark(node))
        if len(path) > MAX_DEPTH:
            raise LoadError(YAML_SYNTAX, f"nesting deeper than {MAX_DEPTH} levels", *_mark(node))
        self.marks[path] = _mark(node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        return self._mapping(node, path)

    def scalar(self, node: yaml.Node) -> Any:
        """A scalar's value; one PyYAML cannot build (2026-02-30, a number past any range) is a located error."""
        try:
            return self.loader.construct_object(node)
        except (ValueError, OverflowError, TypeError) as err:
            raise LoadError(YAML_SYNTAX, f"invalid value '{node.value}': {err}", *_mark(node)) from None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                raise LoadError(ALIAS_LIMIT, "merge keys (<<) are not supported; write the keys out", *_mark(key_node))
            if not isinstance(key_node, yaml.ScalarNode):
                raise LoadError(YAML_SYNTAX, "mapping keys must be plain scalars", *_mark(key_node))
            key = self.scalar(key_node)
            line = _mark(key_node)[0]
            if key in first_seen:
                raise LoadError(DUPLICATE_KEY, f"duplicate key '{key}' (first at line {first_seen[key]}); keep one", *_mark(key_node))
            first_seen[key] = line
            self.key_marks[path + (key,)] = _mark(key_node)
            result[key] = self.build(value_node, path + (key,))
        return result


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _NotPlain(Exception):
    """The fast path met something only the marking builder judges (and locates): take the slow path."""


class _FastLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """libyaml's parser with a constructor that gives up on anything the safe builder must judge."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                raise _NotPlain
            key = self.construct_object(key_node)
            if key in seen:
                raise _NotPlain
            seen.add(key)
        return super().construct_mapping(node, deep=True)


def _fast(text: str) -> Optional[dict[str, Any]]:
    """The common case, a plain mapping without anchors, aliases, merge keys or duplicate keys, at C speed.

    None when the slow path must decide (and say where): anything but a plain mapping, or a value
    that fails to build. Anchors and aliases never take this path, so nothing is expanded here.
    """
    if "&" in text or "*" in text:
        return None
    loader = _FastLoader(text)
    try:
        data = loader.get_single_data()
    except (_NotPlain, yaml.YAMLError, ValueError, OverflowError, TypeError, RecursionError):
        return None
    finally:
        loader.dispose()
    return data if isinstance(data, dict) else None


def parse_yaml(raw: bytes, path: str, limit: int = MAX_YAML_BYTES) -> Document:
    """Parse one YAML document that must be a mapping; raise LoadError with a location."""
    _check_size(raw, limit)
    text = decode_utf8(raw)
    data = _fast(text)
    if data is not None:
        return Document(path, data, text=text, sha256=hashlib.sha256(raw).hexdigest())
    data, marks, key_marks = _build(text)
    return Document(path, data, marks, key_marks, text, hashlib.sha256(raw).hexdigest())


def _marked(text: str) -> tuple[dict[Path_, tuple[int, int]], dict[Path_, tuple[int, int]]]:
    _, marks, key_marks = _build(text)
    return marks, key_marks


def _build(text: str) -> tuple[dict[str, Any], dict[Path_, tuple[int, int]], dict[Path_, tuple[int, int]]]:
    """The safe, marking parse: duplicate keys, merge keys and alias expansion are located errors."""
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise LoadError(SHAPE, "file is empty; it must hold a YAML mapping")
        if not isinstance(node, yaml.MappingNode):
            raise LoadError(SHAPE, "top level must be a mapping (key: value), not a list or a scalar", *_mark(node))
        builder = _Builder(loader)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise LoadError(YAML_SYNTAX, f"invalid YAML: {err.problem or err.context}", line, col) from None
    except yaml.YAMLError as err:
        raise LoadError(YAML_SYNTAX, f"invalid YAML: {err}") from None
    except RecursionError:
        raise LoadError(YAML_SYNTAX, "invalid YAML: nesting too deep") from None
    finally:
        loader.dispose()
    return data, builder.marks, builder.key_marks


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; write a finite number")


def _loads(text: str) -> Any:
    """JSON without NaN/Infinity (Python's json accepts them; a NaN slips past every comparison)."""
    return json.loads(text, parse_constant=_reject_constant)


def parse_jsonl(raw: bytes, limit: int = MAX_JSONL_BYTES) -> list[dict[str, Any]]:
    """Parse JSON Lines where every non-blank line is an object; blank lines are skipped."""
    _check_size(raw, limit)
    text = decode_utf8(raw)
    try:  # one call for the whole file is much faster than one per line; a blank line inside fails it
        objects = _loads("[" + text.strip().replace("\n", ",") + "]")
    except (ValueError, RecursionError):
        objects = None
    if objects is not None and set(map(type, objects)) <= {dict}:
        return objects
    return _parse_jsonl_slow(text.split("\n"))


def _parse_jsonl_slow(lines: list[str]) -> list[dict[str, Any]]:
    """Line-by-line parse, only to say which line is wrong."""
    out: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = _loads(line)
        except json.JSONDecodeError as err:
            raise LoadError(RECORDS_INVALID, f"line is not valid JSON: {err.msg}", number, err.colno) from None
        except ValueError as err:  # NaN/Infinity, or an integer too long to read
            raise LoadError(RECORDS_INVALID, f"line is not usable JSON: {err}", number) from None
        except RecursionError:
            raise LoadError(RECORDS_INVALID, "line nests too deeply", number) from None
        if type(obj) is not dict:
            raise LoadError(RECORDS_INVALID, "each line must be a JSON object", number)
        out.append(obj)
    return out


def check_ref(ref: str, under: str) -> str:
    """Normalise a repo-relative reference and make sure it stays under ``under``/.

    Raises OUTSIDE_REPO for absolute or escaping paths and OUTSIDE_EVALS for paths outside ``under``.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise LoadError(OUTSIDE_REPO, "path is empty")
    if ref.startswith(("/", "\\")) or "\\" in ref or (len(ref) > 1 and ref[1] == ":"):
        raise LoadError(OUTSIDE_REPO, f"'{ref}' must be a relative path with forward slashes, e.g. {under}/...")
    if ".." in PurePosixPath(ref).parts:
        raise LoadError(OUTSIDE_REPO, f"'{ref}' uses '..'; name the file by its path from the repository root")
    clean = canonical(ref)
    if not clean.startswith(under.rstrip("/") + "/"):
        raise LoadError(OUTSIDE_EVALS, f"'{ref}' is outside {under}/; evidence lives under {under}/")
    return clean


CHUNK = 1 << 20  # records stream in pieces of about this size, cut at line ends


def line_chunks(read: Callable[[int], bytes], size: int = CHUNK) -> Iterator[bytes]:
    """The bytes that ``read`` gives, in pieces that each end at a line end (the last one may not)."""
    carry = b""
    while True:
        block = read(size)
        if not block:
            break
        block = carry + block
        cut = block.rfind(b"\n") + 1
        carry = block[cut:]
        if cut:
            yield block[:cut]
    if carry:
        yield carry


class Tree(Protocol):
    """A read-only view of repository files (the working tree, or a git revision)."""

    def read(self, rel: str, limit: int) -> bytes: ...

    def stream(self, rel: str, limit: int) -> Iterator[bytes]:
        """The file in pieces that end at line ends (``line_chunks``), so it is never held whole."""
        ...

    def exists(self, rel: str) -> bool: ...

    def files(self, prefix: str) -> list[str]: ...


class WorkTree:
    """The repository as it is on disk. Nothing governed is read through a link.

    Policy files are data a pull request controls, so a symlink (anywhere on the path: the
    file or a folder above it) or a special file (a FIFO, a device, a folder) is refused
    rather than followed: a link can make one file say two things, or reach outside the
    repository. The final open uses O_NOFOLLOW, so the check cannot be raced.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._checked_dirs: set[str] = set()

    def _refuse_links(self, rel: str) -> None:
        parts = [part for part in rel.split("/") if part]
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            if depth < len(parts) and sub in self._checked_dirs:
                continue
            try:
                mode = os.lstat(f"{self.root}/{sub}").st_mode
            except FileNotFoundError:
                raise LoadError(MISSING, f"'{rel}' does not exist") from None
            except OSError as err:
                raise LoadError(MISSING, f"cannot read '{rel}': {err.strerror}") from None
            if stat.S_ISLNK(mode):
                real = (self.root / sub).resolve()
                if real != self.root and self.root not in real.parents:
                    raise LoadError(OUTSIDE_REPO, f"'{sub}' is a symlink pointing outside the repository; replace it with the file itself")
                raise LoadError(NOT_REGULAR, f"'{sub}' is a symlink; governed files and folders must be real files, not links")
            if depth < len(parts):
                if not stat.S_ISDIR(mode):
                    raise LoadError(MISSING, f"'{rel}' does not exist ('{sub}' is not a folder)")
                self._checked_dirs.add(sub)
            elif not stat.S_ISREG(mode):
                raise LoadError(NOT_REGULAR, f"'{rel}' is not a regular file; governed paths hold only regular files")

    def read(self, rel: str, limit: int) -> bytes:
        with self._open(rel, limit) as handle:
            return handle.read(limit + 1)

    def stream(self, rel: str, limit: int) -> Iterator[bytes]:
        with self._open(rel, limit) as handle:
            yield from line_chunks(handle.read)

    def _open(self, rel: str, limit: int) -> Any:
        self._refuse_links(rel)
        try:
            fd = os.open(f"{self.root}/{rel}", os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError as err:
            raise LoadError(MISSING, f"cannot read '{rel}': {err.strerror}") from None
        handle = os.fdopen(fd, "rb")
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            handle.close()
            raise LoadError(NOT_REGULAR, f"'{rel}' is not a regular file; governed paths hold only regular files")
        if info.st_size > limit:
            handle.close()
            raise LoadError(TOO_LARGE, f"'{rel}' is over the {limit}-byte limit; split it or trim it")
        return handle

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self.root / rel)

    def files(self, prefix: str) -> list[str]:
        """Every entry under ``prefix`` that is not a real folder: files, links (to files or folders), special files.

        Links and special files are listed, not skipped, so that reading them reports them.
        """
        base = self.root / prefix
        if base.is_symlink():
            return [prefix.rstrip("/")]
        if not base.is_dir():
            return []
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            dirnames[:] = sorted(d for d in dirnames if d not in links)
            out.extend(f"{rel_dir}/{name}" for name in sorted(filenames + links))
        return sorted(out)
