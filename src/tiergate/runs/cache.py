"""The response cache: a re-run, or a run resumed after Ctrl-C, pays nothing for the calls already made.

Keyed by the model called (catalog id and provider id), the messages and every parameter that
changes the answer, so a changed prompt or temperature is a new call. It lives in
``.tiergate/cache/`` (gitignored), never in ``evals/``: nothing in it is evidence, it only saves
calls. Each entry is one file written atomically through ``tiergate.writes`` (a temporary file
renamed into place), so an interrupted write leaves either the whole entry or none; an entry
that does not read back as what it claims to be is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional

from tiergate.layout import CACHE
from tiergate.writes import atomic_write

CACHE_VERSION = 1
MAX_ENTRY_BYTES = 4 * 1024 * 1024


def cache_key(model: str, provider: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    body = {"v": CACHE_VERSION, "model": model, "provider": provider, "messages": messages, "params": params}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


class ResponseCache:
    """``get``/``put`` by key under ``root/.tiergate/cache/``; ``enabled=False`` makes every lookup a miss."""

    def __init__(self, root: Path, enabled: bool = True) -> None:
        self.root = root
        self.folder = root / CACHE
        self.enabled = enabled
        self.hits = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Optional[dict[str, Any]]:
        if not self.enabled:
            return None
        try:
            fd = os.open(self._path(key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(MAX_ENTRY_BYTES + 1)
        try:
            entry = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("reply"), dict):
            return None
        self.hits += 1
        return entry["reply"]  # type: ignore[no-any-return]

    def put(self, key: str, reply: dict[str, Any]) -> None:
        if not self.enabled:
            return
        text = json.dumps({"key": key, "reply": reply}, sort_keys=True, ensure_ascii=False)
        atomic_write(self._path(key), text, inside=self.root, create_folders=True, durable=False)
