"""The response cache: a re-run, or a run resumed after Ctrl-C, pays nothing for the calls already made.

Keyed by the model called (catalog id and provider id), the messages and every parameter that
changes the answer, so a changed prompt or temperature is a new call. It lives in
``.tiergate/cache/`` (gitignored), never in ``evals/``: nothing in it is evidence, it only saves
calls. One log per catalog model, one line per answer, appended whole by one write
(``writes.Appender``); a line that does not read back as what it claims to be (cut short by a
crash, edited, another key) is a miss, and the call is made again. Later lines win.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Optional

from tiergate.layout import CACHE
from tiergate.writes import Appender

CACHE_VERSION = 1
MAX_LOG_BYTES = 512 * 1024 * 1024  # a larger log is not read (every lookup misses): delete .tiergate/cache/


def cache_key(model: str, provider: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    body = {"v": CACHE_VERSION, "model": model, "provider": provider, "messages": messages, "params": params}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def log_name(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-") + ".jsonl"


class ResponseCache:
    """``get``/``put`` by (model, key) under ``root/.tiergate/cache/``.

    ``read=False`` (``--no-cache``) makes every lookup a miss but still stores the new answers, so the
    next run is answered from them; ``write=False`` stores nothing.
    """

    def __init__(self, root: Path, read: bool = True, write: bool = True) -> None:
        self.root = root
        self.folder = root / CACHE
        self.read, self.write = read, write
        self.hits = 0
        self._entries: dict[str, dict[str, dict[str, Any]]] = {}
        self._logs: dict[str, Appender] = {}

    def _load(self, model: str) -> dict[str, dict[str, Any]]:
        if model in self._entries:
            return self._entries[model]
        entries: dict[str, dict[str, Any]] = {}
        try:
            fd = os.open(self.folder / log_name(model), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            fd = -1
        if fd >= 0:
            with os.fdopen(fd, "rb") as handle:
                raw = handle.read(MAX_LOG_BYTES + 1)
            for line in raw.splitlines() if len(raw) <= MAX_LOG_BYTES else []:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # cut short or edited: a miss
                if isinstance(entry, dict) and isinstance(entry.get("key"), str) and isinstance(entry.get("reply"), dict):
                    entries[entry["key"]] = entry["reply"]
        self._entries[model] = entries
        return entries

    def get(self, model: str, key: str) -> Optional[dict[str, Any]]:
        if not self.read:
            return None
        found = self._load(model).get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(self, model: str, key: str, reply: dict[str, Any]) -> None:
        if not self.write:
            return
        log = self._logs.get(model)
        if log is None:
            log = self._logs[model] = Appender(self.folder / log_name(model), inside=self.root)
        log.append(json.dumps({"key": key, "reply": reply}, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        if self.read:
            self._load(model)[key] = reply

    def close(self) -> None:
        for log in self._logs.values():
            log.close()
        self._logs.clear()
