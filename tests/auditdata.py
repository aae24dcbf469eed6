"""Production telemetry for the audit tests: LiteLLM spend log rows, written as every source the audit reads.

``scenario()`` is one month of traffic against the example policy with a known answer per task: a
clean lite task, a lite task that escalates too often and once calls a frontier model (drift), a mid
task whose inputs are half again the cost block's and whose logged spend is twice the catalog's, an
unknown task, calls with no task id, and calls outside the window that must not count.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

PRICES = {  # the example catalog's prices, USD per million tokens
    "openai/gpt-5-nano": (Decimal("0.05"), Decimal("0.40")),
    "anthropic/claude-sonnet-4-5": (Decimal("3.00"), Decimal("15.00")),
    "anthropic/claude-opus-4-1": (Decimal("15.00"), Decimal("75.00")),
    "openai/gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
}
SINCE, UNTIL = "2026-11-01", "2026-11-30"


def price(model: str, tin: int, tout: int) -> Decimal:
    pin, pout = PRICES[model]
    return (tin * pin + tout * pout) / Decimal(1_000_000)


@dataclass
class Call:
    task: Optional[str]
    model: str
    tin: int
    tout: int
    at: dt.datetime
    spend_factor: Decimal = Decimal(1)
    tags: Optional[list[str]] = None  # None: ["task:<task>", "team:support"]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def spend(self) -> Decimal:
        return price(self.model, self.tin, self.tout) * self.spend_factor

    def row(self, index: int) -> dict[str, Any]:
        tags = self.tags if self.tags is not None else ([f"task:{self.task}"] if self.task else []) + ["team:support"]
        start = self.at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {"request_id": f"req-{index:07d}", "call_type": "acompletion", "api_key": "hashed", "spend": float(self.spend),
                "total_tokens": self.tin + self.tout, "prompt_tokens": self.tin, "completion_tokens": self.tout,
                "startTime": start, "endTime": start, "model": self.model, "model_group": self.task or "",
                "custom_llm_provider": self.model.split("/")[0], "user": "", "metadata": self.metadata or {"user_api_key_alias": "svc"},
                "cache_hit": "False", "request_tags": tags, "status": "success"}


def _day(n: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, 1 + n % 30, hour, 0, 0)


def scenario() -> list[Call]:
    calls: list[Call] = []
    calls += [Call("format-conversion", "openai/gpt-5-nano", 90, 30, _day(i)) for i in range(40)]
    calls += [Call("intent-classification", "openai/gpt-5-nano", 120, 20, _day(i)) for i in range(93)]
    calls += [Call("intent-classification", "anthropic/claude-sonnet-4-5", 120, 20, _day(i)) for i in range(6)]
    calls += [Call("intent-classification", "anthropic/claude-opus-4-1", 120, 20, _day(3))]
    calls += [Call("code-generation", "anthropic/claude-sonnet-4-5", 9000, 1200, _day(i), Decimal(2)) for i in range(50)]
    calls += [Call("shadow-task", "openai/gpt-5-nano", 100, 10, _day(i)) for i in range(3)]
    calls += [Call(None, "openai/gpt-5-nano", 100, 10, _day(i)) for i in range(2)]
    calls += [Call("format-conversion", "anthropic/claude-opus-4-1", 90, 30, dt.datetime(2026, 10, 15, 9, 0, 0)) for _ in range(5)]
    calls += [Call("format-conversion", "anthropic/claude-opus-4-1", 90, 30, dt.datetime(2026, 12, 1, 0, 0, 0))]  # just past --until
    return calls


def rows(calls: list[Call]) -> list[dict[str, Any]]:
    return [call.row(i) for i, call in enumerate(calls)]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


CSV_COLUMNS = ["request_id", "call_type", "spend", "prompt_tokens", "completion_tokens", "startTime", "model", "metadata", "request_tags"]


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in records:
            writer.writerow([json.dumps(r[c]) if isinstance(r[c], (list, dict)) else r[c] for c in CSV_COLUMNS])
    return path


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    """Parquet as an export would type it: tags a list of strings, metadata JSON text, times timestamps."""
    import duckdb

    staging = write_jsonl(path.with_suffix(".staging.jsonl"), records)
    conn = duckdb.connect()
    conn.execute(f"""COPY (SELECT request_id, call_type, spend, prompt_tokens, completion_tokens,
                                  CAST("startTime" AS TIMESTAMP) AS "startTime", model, CAST(to_json(metadata) AS VARCHAR) AS metadata,
                                  CAST(request_tags AS VARCHAR[]) AS request_tags
                           FROM read_json('{staging}', format='newline_delimited')) TO '{path}' (FORMAT parquet)""")
    conn.close()
    staging.unlink()
    return path


def _attr(key: str, value: Any) -> dict[str, Any]:
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def write_otlp(path: Path, calls: list[Call]) -> Path:
    """OTLP JSON as the collector's file exporter writes it: one ExportTraceServiceRequest per line, the task on the
    span (or, for half of the requests, on the resource)."""
    lines = []
    for i, call in enumerate(calls):
        nanos = int(call.at.replace(tzinfo=dt.timezone.utc).timestamp()) * 10**9
        attrs = [_attr("gen_ai.operation.name", "chat"), _attr("gen_ai.provider.name", call.model.split("/")[0]),
                 _attr("gen_ai.request.model", call.model), _attr("gen_ai.usage.input_tokens", call.tin),
                 _attr("gen_ai.usage.output_tokens", call.tout)]
        resource = [_attr("service.name", "support-api")]
        if call.task and i % 2:
            resource.append(_attr("tiergate.task", call.task))
        elif call.task:
            attrs.append(_attr("tiergate.task", call.task))
        span = {"traceId": f"{i:032x}", "spanId": f"{i:016x}", "name": f"chat {call.model}", "kind": 3,
                "startTimeUnixNano": str(nanos), "endTimeUnixNano": str(nanos + 10**8), "attributes": attrs}
        lines.append(json.dumps({"resourceSpans": [{"resource": {"attributes": resource},
                                                    "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai"},
                                                                    "spans": [span]}]}]}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def insert_postgres(uri: str, records: list[dict[str, Any]], table: str = '"LiteLLM_SpendLogs"') -> None:
    import psycopg
    from psycopg.types.json import Jsonb

    columns = ["request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens", "completion_tokens", "startTime",
               "endTime", "model", "model_group", "custom_llm_provider", "user", "metadata", "cache_hit", "request_tags", "status"]
    names = ", ".join(f'"{c}"' for c in columns)
    with psycopg.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})",
                        [[Jsonb(r[c]) if c in ("metadata", "request_tags") else r[c].replace("Z", "") if c in ("startTime", "endTime")
                          else r[c] for c in columns] for r in records])
