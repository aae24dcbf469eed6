"""Writing files: atomically, so a failed write leaves the old file whole."""

from __future__ import annotations

import os
from pathlib import Path

from tiergate.errors import TierGateError


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step; on any error the old file is untouched."""
    tmp = path.with_name(path.name + ".tiergate-tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise TierGateError(f"cannot write {path}: {err.strerror}") from None
