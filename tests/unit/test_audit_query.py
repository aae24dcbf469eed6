"""The one aggregation: what SQL it sends to a warehouse, and that nothing in it is spliced from data."""

from __future__ import annotations

import pytest

from conftest import require

require("sqlglot", "TIERGATE_REQUIRE_AUDIT", "the audit query tests")

import sqlglot  # noqa: E402
from sqlglot import exp  # noqa: E402

from tiergate.audit import query  # noqa: E402
from tiergate.models import SpendLogMapping  # noqa: E402


def _text(value: exp.Expression, kind: str) -> exp.Expression:
    return exp.Cast(this=value, to=exp.DataType.build("TEXT"))


def relation(mapping: SpendLogMapping = SpendLogMapping()) -> query.Relation:
    return query.Relation(query.table(mapping.table), query.spend_log_fields(mapping, {}, _text))


@pytest.mark.parametrize("dialect, placeholder", [("bigquery", "@since"), ("snowflake", ":since"),
                                                  ("postgres", "%(since)s"), ("duckdb", "$since")])
def test_a_warehouse_gets_one_grouped_query(dialect, placeholder):
    sql = query.compile_sql(relation(SpendLogMapping(task_metadata_key="task")), dialect, 100_001)
    [statement] = sqlglot.parse(sql, read=dialect)
    assert isinstance(statement, exp.Select)
    assert len(list(statement.find_all(exp.Select))) == 1  # no subquery: the engine scans the table once
    assert not list(statement.find_all(exp.Join)) and not list(statement.find_all(exp.Subquery))
    [source] = list(statement.find_all(exp.Table))
    assert source.name == "LiteLLM_SpendLogs"
    group = statement.args["group"]
    assert len(group.expressions) == 2  # task and model
    assert statement.args["limit"] is not None
    aggregates = [s for s in statement.selects if s.find(exp.AggFunc)]
    assert len(aggregates) == len(query.OUTPUT) - 2
    assert placeholder in sql


def test_bigquery_sql_reads_the_tags_and_metadata():
    sql = query.compile_sql(relation(SpendLogMapping(task_metadata_key="task")), "bigquery", 10)
    assert "REGEXP_EXTRACT(CAST(`request_tags` AS STRING)" in sql and "JSON_EXTRACT_SCALAR(" in sql
    assert "GROUP BY" in sql and "`startTime`" in sql and "SAFE_CAST(" in sql


def test_postgres_reads_tags_as_jsonb_elements():
    from tiergate.audit import engines

    rel = query.Relation(query.table("LiteLLM_SpendLogs"), query.spend_log_fields(SpendLogMapping(), {}, _text, engines._pg_tag_task))
    sql = query.compile_sql(rel, "postgres", 10)
    assert "REGEXP_EXTRACT" not in sql  # PostgreSQL 15 has none
    assert """JSONB_PATH_QUERY_FIRST(CAST("request_tags" AS JSONB), '$[*] ? (@ like_regex "^task:[a-z0-9][a-z0-9-]*$")') #>> '{}'""" in sql


def test_identifiers_are_always_quoted_even_reserved_words():
    sql = query.compile_sql(relation(SpendLogMapping(task_column="user", table="audit.order")), "postgres", 10)
    assert 'CAST("user" AS TEXT)' in sql and 'FROM "audit"."order"' in sql


def test_the_window_is_bound_never_spliced():
    sql = query.compile_sql(relation(), "duckdb", 10)
    assert "$since" in sql and "$until" in sql and "2026" not in sql and "1970" not in sql


def test_tag_pattern_takes_only_whole_elements():
    import re

    pattern = re.compile(query.tag_pattern("task:"))
    assert pattern.search('["team:a", "task:intent-classification"]').group(1) == "intent-classification"
    assert pattern.search('["task:intent-classification"]').group(1) == "intent-classification"
    assert pattern.search('["x\\", \\"task:frontier-only"]') is None
    assert pattern.search('["task:Bad_Id"]') is None
