#!/usr/bin/env python3
"""The audit at scale, with floors measured in the same run.

Files: --calls synthetic LiteLLM spend log rows (default 10,000,000) over --tasks tasks (default 5,000) in one
Parquet file, against a generated policy of as many contracts (a third on each of three tiers, the middle third
with a ceiling one tier up); 3% of calls escalate one tier, 0.1% jump two (drift where the chain stops short).

    audit-parquet   tiergate audit --source calls.parquet --since 2026-11-01 --until 2026-11-30 --format json
    floor-parquet   a bare DuckDB process: the same file, GROUP BY task tag and model, the same sums
    query-parquet   a bare DuckDB process running the audit's own compiled query (no policy, no checks)

PostgreSQL: --pg-rows rows (default 1,000,000) in "LiteLLM_SpendLogs" on a server started for the run (as
tests/pgserver.py starts one; needs initdb/postgres), then

    audit-postgres  tiergate audit --source postgresql://... --since ... --until ... --format json
    floor-postgres  psql running a plain GROUP BY over the same table

Every row is a whole process, best of --runs, its peak RSS read with os.wait4 in a bare launcher
(bench_scale.run_once). Targets: audit-parquet <= 15 s and <= 1 GB peak; audit-postgres <= 10 s.
Use the virtualenv's python (tiergate[audit] installed).

    python benchmarks/bench_audit.py                       # 10M calls / 5,000 tasks, 1M PostgreSQL rows, best of 3
    python benchmarks/bench_audit.py --calls 1000000 --pg-rows 100000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench_scale import CATALOG, run_once  # noqa: E402

SINCE, UNTIL = "2026-11-01", "2026-11-30"
TIERS = ("lite", "mid", "top")
CONTRACT = """task: {task}
description: "Return exactly one label: a | b | c | d."
class: pattern-matching
owner: "@bench/team-{team}"
impact: medium
slo: {{metric: accuracy, threshold: 0.9, min_samples: 200, eval_set: evals/datasets/{task}.jsonl}}
tier: {tier}
{escalation}cost: {{monthly_volume: {volume}, avg_input_tokens: 100, avg_output_tokens: 5, escalation_rate: 0.03}}
routing: {{p95_input_tokens: 500, max_output_tokens: 4096}}
reviewed: 2026-11-01
"""
# tier i % 3; calls: 3% one tier up, 0.1% two tiers up (capped at the top); tokens 80-120 in, 3-7 out
ROWS = """
  WITH base AS (SELECT i, i % {tasks} AS k, (i // {tasks}) % 1000 AS r, hash(i) AS h FROM range({calls}) t(i)),
  placed AS (SELECT *, LEAST(k % 3 + CASE WHEN r < 30 THEN 1 WHEN r = 999 THEN 2 ELSE 0 END, 2) AS served FROM base)
  SELECT 'req-' || i AS request_id, 'acompletion' AS call_type,
    TIMESTAMP '2026-11-01' + to_microseconds(CAST(h % 2592000000000 AS BIGINT)) AS "startTime",
    ['p/lite-1', 'p/mid-1', 'p/top-1'][served + 1] AS model,
    CAST(80 + h % 41 AS INTEGER) AS prompt_tokens, CAST(3 + h % 5 AS INTEGER) AS completion_tokens,
    (80 + h % 41) * [0.1, 3, 15][served + 1] / 1e6 + (3 + h % 5) * [0.4, 15, 75][served + 1] / 1e6 AS spend,
    ['task:task-' || lpad(CAST(k AS VARCHAR), 5, '0'), 'team:t' || (k % 50)] AS request_tags,
    '{{"user_api_key_alias": "svc"}}' AS metadata
  FROM placed
"""
FLOOR_DUCKDB = """
import duckdb, sys
c = duckdb.connect()
rows = c.execute("SELECT request_tags[1] AS task, model, count(*), sum(spend), sum(prompt_tokens), sum(completion_tokens) "
                 "FROM read_parquet($f) WHERE \\"startTime\\" >= TIMESTAMP '2026-11-01' AND \\"startTime\\" < TIMESTAMP '2026-12-01' "
                 "GROUP BY ALL", {"f": sys.argv[1]}).fetchall()
print(len(rows), "groups")
"""
QUERY_DUCKDB = """
import sys, duckdb
from tiergate.audit import engines, query
from tiergate.audit.source import parse
from tiergate.models import AuditSettings
source = parse(sys.argv[1])
conn = duckdb.connect()
engines._sandbox(conn, source.files)
sql = query.compile_sql(engines._file_relation(conn, AuditSettings().spend_log, source), "duckdb", engines.MAX_GROUPS + 1)
print(len(conn.execute(sql, query.window(None, None)).fetchall()), "groups")
"""
FLOOR_SQL = ("SELECT request_tags->>0, model, count(*), sum(spend), sum(prompt_tokens), sum(completion_tokens) "
             "FROM \"LiteLLM_SpendLogs\" WHERE \"startTime\" >= '2026-11-01' AND \"startTime\" < '2026-12-01' GROUP BY 1, 2")


def write_policy(root: Path, tasks: int) -> None:
    (root / "policy" / "tasks").mkdir(parents=True, exist_ok=True)
    (root / "policy" / "tiers.yaml").write_text(CATALOG)
    for i in range(tasks):
        tier = TIERS[i % 3]
        escalation = f"escalation: {{signal: label_outside_set, ceiling: {TIERS[i % 3 + 1]}}}\n" if i % 3 == 1 else ""
        (root / "policy" / "tasks" / f"task-{i:05d}.yaml").write_text(
            CONTRACT.format(task=f"task-{i:05d}", team=i % 50, tier=tier, escalation=escalation, volume=2000))


def write_parquet(path: Path, calls: int, tasks: int) -> None:
    import duckdb

    conn = duckdb.connect()
    conn.execute(f"COPY ({ROWS.format(calls=calls, tasks=tasks)}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    conn.close()


def load_postgres(uri: str, parquet: Path) -> None:
    """The Parquet rows into LiteLLM_SpendLogs, through COPY (binary-free CSV from DuckDB)."""
    import duckdb
    import psycopg
    from pgserver import SPEND_LOGS

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute('DROP TABLE IF EXISTS "LiteLLM_SpendLogs"')
        conn.execute(SPEND_LOGS)
        cols = '"request_id", "call_type", "startTime", "endTime", "model", "prompt_tokens", "completion_tokens", "spend", "request_tags", "metadata"'
        duck = duckdb.connect()
        cursor = duck.execute(f"""SELECT request_id, call_type, "startTime", "startTime", model, prompt_tokens, completion_tokens, spend,
                                         CAST(to_json(request_tags) AS VARCHAR), metadata FROM read_parquet('{parquet}')""")
        with conn.cursor().copy(f'COPY "LiteLLM_SpendLogs" ({cols}) FROM STDIN') as copy:
            while batch := cursor.fetchmany(100_000):
                for row in batch:
                    copy.write_row(row)
        conn.execute('ANALYZE "LiteLLM_SpendLogs"')


def measure(label: str, argv: list[str], runs: int, scratch: Path, timeout: float, env: Optional[dict[str, str]] = None) -> dict[str, Any]:
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        results = [run_once(argv, scratch, timeout) for _ in range(runs)]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    best = min(r["wall"] for r in results)
    return {"label": label, "best_wall_s": best, "walls": [r["wall"] for r in results],
            "peak_mib": max(r["peak_kib"] for r in results) / 1024, "exit_codes": [r["rc"] for r in results],
            "summary": (results[-1]["stdout"].strip().splitlines() or [""])[-1][:160] if not results[-1]["stdout"].lstrip().startswith("{")
            else _json_summary(results[-1]["stdout"]), "stderr": results[-1]["stderr"][-500:]}


def _json_summary(text: str) -> str:
    doc = json.loads(text)
    rules: dict[str, int] = {}
    for f in doc["findings"]:
        rules[f["rule"]] = rules.get(f["rule"], 0) + 1
    return f"{doc['calls']:,} calls, {len(doc['tasks']):,} tasks, findings {dict(sorted(rules.items()))}"


def tiergate(*args: str) -> list[str]:
    return [sys.executable, "-m", "tiergate", *args]


def report(rows: list[dict[str, Any]], targets: list[tuple[str, str, float, str]]) -> str:
    lines = ["| row | best wall | peak | x floor | exit | summary |", "|---|---:|---:|---:|---|---|"]
    by = {r["label"]: r for r in rows}
    for r in rows:
        floor = by.get("floor-" + r["label"].split("-", 1)[1])
        ratio = f"{r['best_wall_s'] / floor['best_wall_s']:.2f}" if floor and floor is not r else "1.00"
        lines.append(f"| {r['label']} | {r['best_wall_s']:.2f} s | {r['peak_mib']:.0f} MiB | {ratio} | {r['exit_codes']} | {r['summary']} |")
    lines.append("")
    for label, key, limit, unit in targets:
        if label in by:
            value = by[label]["best_wall_s"] if key == "wall" else by[label]["peak_mib"] * 1024 * 1024 / 1e9
            lines.append(f"- {label} {key} <= {limit:g}{unit}: {value:.2f}{unit} {'PASS' if value <= limit else 'MISS'}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--tasks", type=int, default=5_000)
    parser.add_argument("--pg-rows", type=int, default=1_000_000, help="0 skips the PostgreSQL rows")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the generated data here (reused when present)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="tiergate-bench-audit-"))
    work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="tiergate-bench-scratch-"))
    repo, parquet = work / f"repo-{args.tasks}", work / f"calls-{args.calls}-{args.tasks}.parquet"
    started = time.perf_counter()
    if not repo.exists():
        write_policy(repo, args.tasks)
    if not parquet.exists():
        write_parquet(parquet, args.calls, args.tasks)
    print(f"data ready in {time.perf_counter() - started:.1f} s: {parquet} ({parquet.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    window = ["--since", SINCE, "--until", UNTIL, "--format", "json"]
    rows = [measure("floor-parquet", [sys.executable, "-c", FLOOR_DUCKDB, str(parquet)], args.runs, scratch, args.timeout),
            measure("query-parquet", [sys.executable, "-c", QUERY_DUCKDB, str(parquet)], args.runs, scratch, args.timeout),
            measure("audit-parquet", tiergate("audit", "--repo", str(repo), "--source", str(parquet), *window), args.runs, scratch,
                    args.timeout)]
    server = None
    if args.pg_rows:
        import pgserver

        folder = pgserver.binaries()
        if folder is None:
            print("no PostgreSQL server binaries: the PostgreSQL rows are skipped", file=sys.stderr)
        else:
            server = pgserver.start(folder)
    try:
        if server is not None:
            small = work / f"calls-{args.pg_rows}-{args.tasks}.parquet"
            if not small.exists():
                write_parquet(small, args.pg_rows, args.tasks)
            mark = time.perf_counter()
            load_postgres(server.uri(), small)
            print(f"{args.pg_rows:,} rows loaded into PostgreSQL in {time.perf_counter() - mark:.1f} s", file=sys.stderr)
            psql = shutil.which("psql") or "psql"
            rows.append(measure("floor-postgres", [psql, "-q", "-A", "-t", "-o", "/dev/null", "-h", "127.0.0.1", "-p", str(server.port),
                                                   "-U", pgserver.USER, "-d", pgserver.DATABASE, "-c", FLOOR_SQL],
                                args.runs, scratch, args.timeout, env={"PGPASSWORD": pgserver.PASSWORD}))
            rows.append(measure("audit-postgres", tiergate("audit", "--repo", str(repo), "--source", server.uri(), *window),
                                args.runs, scratch, args.timeout))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    text = report(rows, [("audit-parquet", "wall", 15, " s"), ("audit-parquet", "peak", 1.0, " GB"),
                         ("audit-postgres", "wall", 10, " s")])
    print(f"{args.calls:,} calls over {args.tasks:,} tasks (Parquet), {args.pg_rows:,} rows (PostgreSQL), best of {args.runs}\n")
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"calls": args.calls, "tasks": args.tasks, "pg_rows": args.pg_rows, "rows": rows}, indent=2) + "\n")
    bad = [r for r in rows if r["label"].startswith("audit-") and set(r["exit_codes"]) - {0, 1}]
    for r in bad:
        print(f"{r['label']}: exit {r['exit_codes']}: {r['stderr']}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
