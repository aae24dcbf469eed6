"""Exporters: the compiled table in, text out. They render the policy; they decide nothing."""

from __future__ import annotations

import json
from typing import Callable

from tiergate.export import litellm, tabular
from tiergate.export.table import CompiledTable, compile_table


def render_json(table: CompiledTable) -> str:
    """Byte-for-byte deterministic: tasks in id order, fixed indentation, a final newline."""
    return json.dumps(table.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"


EXPORTERS: dict[str, Callable[[CompiledTable], str]] = {
    "json": render_json,
    "litellm": litellm.render,
    "csv": tabular.render_csv,
    "markdown": tabular.render_markdown,
}

__all__ = ["EXPORTERS", "CompiledTable", "compile_table"]
