"""Exporters: the compiled table in, text out. They render the policy; they decide nothing."""

from __future__ import annotations

import json

from tiergate.export import litellm, tabular
from tiergate.export.table import CompiledTable, compile_table
from tiergate.report import Formats


def render_json(table: CompiledTable) -> str:
    """Byte-for-byte deterministic: tasks in id order, fixed indentation, a final newline."""
    return json.dumps(table.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"


FORMATS: Formats[CompiledTable] = Formats({
    "json": render_json,
    "litellm": litellm.render,
    "csv": tabular.render_csv,
    "markdown": tabular.render_markdown,
})

__all__ = ["FORMATS", "CompiledTable", "compile_table"]
