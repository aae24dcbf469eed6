"""JSON Schemas for editors, generated from the pydantic models (the one source of truth)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from tiergate.export.table import CompiledTable
from tiergate.layout import SCHEMAS as SCHEMA_DIR
from tiergate.models import Artifact, Catalog, Contract
from tiergate.writes import atomic_write, writable

SCHEMAS: dict[str, type[BaseModel]] = {
    "catalog.schema.json": Catalog,
    "contract.schema.json": Contract,
    "artifact.schema.json": Artifact,
    "table.schema.json": CompiledTable,
}


def render(model: type[BaseModel]) -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema(by_alias=True)}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def stale(root: Path) -> list[str]:
    """Schema files under ``root/schemas`` that differ from what the models generate."""
    out = []
    for name, model in SCHEMAS.items():
        path = root / SCHEMA_DIR / name
        if not path.is_file() or path.read_text(encoding="utf-8") != render(model):
            out.append(f"{SCHEMA_DIR}/{name}")
    return out


def write(root: Path) -> list[str]:
    """Regenerate every schema file under ``root/schemas`` (a real folder, created if absent); the stale ones."""
    targets = {name: root / SCHEMA_DIR / name for name in SCHEMAS}
    for path in targets.values():  # refuse before writing anything: never half through a symlinked file
        writable(path, inside=root, create_folders=True)
    written = stale(root)
    for name, model in SCHEMAS.items():
        atomic_write(targets[name], render(model), inside=root)
    return written
