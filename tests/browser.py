"""Debian's headless Chromium for tests: found on PATH, run on a local file with loopback-only networking.

Tests that need it call ``require()`` at import: they skip without Chromium, except where
`TIERGATE_REQUIRE_CHROMIUM=1` (set by `.ci/run`) turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

import pytest

CHROMIUM: Optional[str] = shutil.which("chromium") or shutil.which("chromium-browser")
# no background traffic, and every host name but 127.0.0.1 resolves to nothing
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-domain-reliability", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")


def require() -> str:
    if os.environ.get("TIERGATE_REQUIRE_CHROMIUM") == "1":
        assert CHROMIUM, "TIERGATE_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install -y chromium)"
    elif CHROMIUM is None:
        pytest.skip("needs Debian's chromium package (apt-get install -y chromium)", allow_module_level=True)
    return CHROMIUM


def chromium(page: Path, *extra: str) -> str:
    """Open ``page`` (a file) in a fresh profile and return what Chromium printed (the DOM, with --dump-dom)."""
    binary = require()
    with tempfile.TemporaryDirectory(prefix="tiergate-chromium-") as profile:
        done = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
