"""Running the one aggregation where the data is: DuckDB over files, PostgreSQL over the proxy's table.

Each engine describes its source as a ``query.Relation`` (checking first that every mapped column
exists, so a wrong mapping is one clear error rather than a driver's), runs the compiled query
with the window bound as parameters, and returns at most ``MAX_GROUPS`` grouped rows. Engine
errors become one ``TierGateError`` line with the source's secrets scrubbed out.

Both engines are read-only and write nothing: DuckDB runs in memory with spilling to disk off,
extension downloads off and file access limited to the named files; PostgreSQL sessions are
read-only with a statement timeout.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Optional

from sqlglot import exp

from tiergate.audit import query
from tiergate.audit.result import Grouped
from tiergate.audit.source import Source
from tiergate.errors import TierGateError
from tiergate.models import AuditSettings, SpanMapping, SpendLogMapping

MAX_GROUPS = 100_000  # distinct (task, model) pairs; task ids are client-set, so this bounds what a client can make us hold
DUCKDB_MEMORY = "640MB"
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 600_000
SPANS_VIEW = "tiergate_spans"
SPEND_LOG_FIELDS = ("time", "model", "spend", "input_tokens", "output_tokens", "tags", "metadata", "task_column")


def run(source: Source, settings: AuditSettings, window: Mapping[str, dt.datetime]) -> list[Grouped]:
    """The grouped rows of ``source`` in ``window``; a TierGateError (exit 2) when it cannot be read."""
    try:
        if source.kind == "postgres":
            rows = _postgres(source, settings.spend_log, window)
        else:
            rows = _duckdb(source, settings, window)
    except TierGateError as err:
        raise TierGateError(source.scrub(str(err))) from None
    if len(rows) > MAX_GROUPS:
        raise TierGateError(f"{source.label}: more than {MAX_GROUPS:,} distinct task/model pairs in the window; task ids are "
                            "set by clients, so check who sends them, or audit a shorter window")
    return [_grouped(row) for row in rows]


def _grouped(row: tuple[Any, ...]) -> Grouped:
    task, model, calls, spend, spend_calls, tin, tout, malformed, first, last = row
    return Grouped(task, model, int(calls or 0), None if spend is None else float(spend), int(spend_calls or 0),
                   int(tin or 0), int(tout or 0), int(malformed or 0), first, last)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:400] + ("..." if len(text) > 400 else "")


def _require(columns: Mapping[str, str], wanted: Mapping[str, Optional[str]], where: str, block: Optional[str]) -> None:
    """Every wanted column exists, or one line naming the mapping key that names it (block None: the --sql output)."""
    for key, name in wanted.items():
        if name is not None and name not in columns:
            known = ", ".join(sorted(columns)[:20])
            why = f"audit.{block}.{key} in the catalog" if block else "a column of `tiergate audit --sql`'s output"
            raise TierGateError(f"{where} has no column '{name}' ({why}); its columns: {known}")


def _mapped(mapping: SpendLogMapping) -> dict[str, Optional[str]]:
    wanted = {key: getattr(mapping, key) for key in SPEND_LOG_FIELDS}
    if not mapping.task_tag_prefix:
        wanted.pop("tags")
    if not mapping.task_metadata_key:
        wanted.pop("metadata")
    return wanted


# --- PostgreSQL ----------------------------------------------------------------------------


def _postgres(source: Source, mapping: SpendLogMapping, window: Mapping[str, dt.datetime]) -> list[tuple[Any, ...]]:
    import psycopg

    try:
        conn = psycopg.connect(source.dsn, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True,
                               options=f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS} -c TimeZone=UTC")
    except psycopg.Error as err:
        raise TierGateError(f"cannot connect to {source.label}: {_one_line(err)}") from None
    except ValueError as err:  # a malformed URI
        raise TierGateError(f"--source {source.label}: {_one_line(err)}") from None
    try:
        with conn:
            types = _pg_columns(conn, mapping.table, source)
            _require(types, _mapped(mapping), f"table {mapping.table} at {source.label}", "spend_log")
            relation = query.Relation(query.table(mapping.table), query.spend_log_fields(mapping, types, text_cast, _pg_tag_task))
            sql = query.compile_sql(relation, "postgres", MAX_GROUPS + 1)
            return list(conn.execute(sql, dict(window)).fetchall())
    except psycopg.Error as err:
        raise TierGateError(f"{source.label}: the audit query failed: {_one_line(err)}") from None


def _pg_columns(conn: Any, name: str, source: Source) -> dict[str, str]:
    schema, _, table = name.rpartition(".")
    rows = conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = COALESCE(%(schema)s, current_schema()) AND table_name = %(table)s",
                        {"schema": schema or None, "table": table}).fetchall()
    if not rows:
        raise TierGateError(f"{source.label}: no table {name} (audit.spend_log.table in the catalog; LiteLLM's is LiteLLM_SpendLogs)")
    return {column: kind.upper() for column, kind in rows}


def text_cast(value: exp.Expression, kind: str) -> exp.Expression:
    """JSON text of a json/jsonb (or text) column: what PostgreSQL and most warehouses give for a cast to text."""
    return exp.Cast(this=value, to=exp.DataType.build("TEXT"))


def _pg_tag_task(tags: exp.Expression, kind: str, prefix: str) -> exp.Expression:
    """The first element of the jsonb array that is a whole task tag, through a JSON path (PostgreSQL 12+): twice
    as fast as a regular expression over the array's text, and it reads elements, not text that looks like them."""
    path = f'$[*] ? (@ like_regex "{query.element_pattern(prefix)}")'
    first = exp.Anonymous(this="jsonb_path_query_first", expressions=[exp.Cast(this=tags, to=exp.DataType.build("JSONB")),
                                                                       exp.Literal.string(path)])
    text = exp.JSONBExtractScalar(this=first, expression=exp.Literal.string("{}"))
    return exp.Substring(this=text, start=exp.Literal.number(len(prefix) + 1))


# --- DuckDB ----------------------------------------------------------------------------


def _duckdb(source: Source, settings: AuditSettings, window: Mapping[str, dt.datetime]) -> list[tuple[Any, ...]]:
    import duckdb

    conn = duckdb.connect(":memory:")
    try:
        _sandbox(conn, source.files)
        if source.grouped:  # the warehouse applied the window
            return list(conn.execute(_grouped_query(conn, source)).fetchall())
        relation = _span_relation(conn, settings.spans, source) if source.is_spans else _file_relation(conn, settings.spend_log, source)
        return list(conn.execute(query.compile_sql(relation, "duckdb", MAX_GROUPS + 1), dict(window)).fetchall())
    except duckdb.Error as err:
        raise TierGateError(f"{source.label}: cannot read it: {_one_line(err)}") from None
    finally:
        conn.close()


def _sandbox(conn: Any, files: tuple[str, ...]) -> None:
    """In memory, no spilling, no extension downloads, only the named files readable, settings locked."""
    for statement in ("SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false",
                      f"SET memory_limit = '{DUCKDB_MEMORY}'", "SET temp_directory = ''", "SET TimeZone = 'UTC'",
                      "SET enable_progress_bar = false",
                      "SET preserve_insertion_order = false"):
        conn.execute(statement)
    conn.execute("SET allowed_paths = $files", {"files": list(files)})
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")


def _files(source: Source) -> exp.Expression:
    return exp.Array(expressions=[exp.Literal.string(path) for path in source.files])


def _reader(source: Source, columns: Optional[Mapping[str, str]] = None) -> exp.Expression:
    """``read_parquet``/``read_csv``/``read_json`` over the named files; text formats read the mapped columns as text."""
    args: list[exp.Expression] = [_files(source)]
    if source.kind == "parquet":
        return exp.Anonymous(this="read_parquet", expressions=args)
    if source.kind == "csv":  # every column as text, whatever the sniffer would guess from the first rows
        args += [exp.EQ(this=exp.var("header"), expression=exp.true()), exp.EQ(this=exp.var("all_varchar"), expression=exp.true())]
        return exp.Anonymous(this="read_csv", expressions=args)
    if columns is not None:
        args.append(exp.EQ(this=exp.var("columns"), expression=exp.Struct(expressions=[
            exp.PropertyEQ(this=exp.Literal.string(name), expression=exp.Literal.string(kind)) for name, kind in columns.items()])))
    # a spend log export is JSON Lines; OTLP JSON may be one request per line or one (pretty-printed) document
    layout = "auto" if source.is_spans else "newline_delimited"
    args.append(exp.EQ(this=exp.var("format"), expression=exp.Literal.string(layout)))
    return exp.Anonymous(this="read_json", expressions=args)


def _file_relation(conn: Any, mapping: SpendLogMapping, source: Source) -> query.Relation:
    described = conn.execute(f"DESCRIBE SELECT * FROM {_reader(source).sql('duckdb')}").fetchall()
    types = {row[0]: str(row[1]).upper() for row in described}
    wanted = _mapped(mapping)
    _require(types, wanted, source.label, "spend_log")
    if source.kind == "parquet":
        return query.Relation(_reader(source), query.spend_log_fields(mapping, types, _duck_json_text))
    text = {name: "VARCHAR" for name in wanted.values() if name is not None}  # every mapped column as text: nothing to mistype
    return query.Relation(_reader(source, text), query.spend_log_fields(mapping, text, _duck_json_text))


def _grouped_query(conn: Any, source: Source) -> str:
    """Rows a warehouse grouped with the same query: read back as they are, checked for every column."""
    described = conn.execute(f"DESCRIBE SELECT * FROM {_reader(source).sql('duckdb')}").fetchall()
    _require({row[0]: str(row[1]) for row in described}, {name: name for name in query.OUTPUT}, source.label, None)
    text = {name: "VARCHAR" for name in query.OUTPUT}
    return query.read_grouped(_reader(source, text if source.kind == "jsonl" else None), MAX_GROUPS + 1).sql("duckdb")


def _duck_json_text(value: exp.Expression, kind: str) -> exp.Expression:
    """Text columns already hold JSON text; a list or struct (Parquet) is written as JSON."""
    if kind in ("", "VARCHAR", "JSON"):
        return exp.Cast(this=value, to=exp.DataType.build("TEXT"))
    return exp.Cast(this=exp.Anonymous(this="to_json", expressions=[value]), to=exp.DataType.build("TEXT"))


# --- OpenTelemetry GenAI spans (OTLP JSON) ------------------------------------------------


def _span_relation(conn: Any, mapping: SpanMapping, source: Source) -> query.Relation:
    """Spans flattened to one row each (a temporary view of the in-memory database); the task attribute is read
    from the span, else from its resource."""
    def lit(text: str) -> str:
        return exp.Literal.string(text).sql("duckdb")

    def attr(holder: str, key: str) -> str:
        found = f"list_filter(json_extract({holder}, '$.attributes[*]'), lambda a: a ->> '$.key' = {lit(key)})[1] -> '$.value'"
        return (f"COALESCE(({found}) ->> '$.stringValue', ({found}) ->> '$.intValue', ({found}) ->> '$.doubleValue')")

    spend = attr("s", mapping.spend) if mapping.spend else "NULL"
    resource = "(r -> '$.resource')"
    sql = (
        "WITH rs AS (SELECT UNNEST(json_extract(resourceSpans, '$[*]')) AS r FROM "
        f"{_reader(source, {'resourceSpans': 'JSON'}).sql('duckdb')}), "
        "sp AS (SELECT r, UNNEST(json_extract(r, '$.scopeSpans[*].spans[*]')) AS s FROM rs) "
        f"SELECT COALESCE({attr('s', mapping.task)}, {attr(resource, mapping.task)}) AS task, "
        f"COALESCE({attr('s', mapping.model)}, {attr('s', 'gen_ai.request.model')}) AS model, "
        "make_timestamp(TRY_CAST(TRY_CAST(s ->> '$.startTimeUnixNano' AS HUGEINT) // 1000 AS BIGINT)) AS at, "
        f"{spend} AS spend, {attr('s', mapping.input_tokens)} AS input_tokens, {attr('s', mapping.output_tokens)} AS output_tokens FROM sp"
    )
    conn.execute(f"CREATE TEMPORARY VIEW {SPANS_VIEW} AS {sql}")
    fields = {name: query.column(name) for name in query.FIELDS}
    return query.Relation(query.table(SPANS_VIEW), {
        "task": fields["task"], "model": exp.Nullif(this=fields["model"], expression=exp.Literal.string("")),
        "at": query.timestamp(fields["at"], "TIMESTAMP"),
        "spend": exp.TryCast(this=fields["spend"], to=exp.DataType.build("DOUBLE")),
        "input_tokens": exp.TryCast(this=fields["input_tokens"], to=exp.DataType.build("BIGINT")),
        "output_tokens": exp.TryCast(this=fields["output_tokens"], to=exp.DataType.build("BIGINT")),
    })
