"""The one aggregation, written once as a SQLGlot expression and compiled for each engine's dialect.

Every source is first described as a ``Relation``: a FROM (a table, a file reader, a span
flattener) and, per field, an expression over its columns. ``aggregation`` turns any relation
into the same single grouped query (one row per task and model, with calls, spend, tokens and
the rows that could not be used), so DuckDB, PostgreSQL and any warehouse SQLGlot speaks
(BigQuery, Snowflake, Trino, Spark, ClickHouse) do the counting and only those rows reach Python.

Safety: column names reach SQL only as quoted identifiers (and the catalog's schema already
limits them to letters, digits and ``_``); the window's bounds are bound parameters; the few
literals (a JSON key, a tag prefix, an attribute key, a file path) are schema-limited and
quoted by SQLGlot. Task ids and models come back as values and never enter a query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from sqlglot import exp

from tiergate.models import SpendLogMapping

FIELDS = ("task", "model", "at", "spend", "input_tokens", "output_tokens")
OUTPUT = ("task", "model", "calls", "spend", "spend_calls", "input_tokens", "output_tokens", "malformed", "first_at", "last_at")
TASK_CHARS = "[a-z0-9][a-z0-9-]*"  # what a task id may be (layout.TASK_ID); a tag with anything else names no task
EARLIEST = dt.datetime(1970, 1, 1)
LATEST = dt.datetime(9999, 12, 31)

# How an engine turns a column of a given type into JSON text (for the tags array and the metadata object).
JsonText = Callable[[exp.Expression, str], exp.Expression]
# How an engine finds the task id in the tags column (column, its type, the prefix): NULL when no tag names one.
TagTask = Callable[[exp.Expression, str, str], exp.Expression]


@dataclass(frozen=True)
class Relation:
    """Where calls come from: a FROM clause and one expression per field of ``FIELDS``."""

    source: exp.Expression
    fields: Mapping[str, exp.Expression]


def column(name: str) -> exp.Column:
    """A column, always quoted: ``startTime`` keeps its case and ``user`` or ``order`` stay names."""
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def table(name: str) -> exp.Table:
    """``table`` or ``schema.table``, each part quoted."""
    parts = name.split(".")
    return exp.Table(this=exp.to_identifier(parts[-1], quoted=True),
                     db=exp.to_identifier(parts[0], quoted=True) if len(parts) == 2 else None)


def _cast(value: exp.Expression, to: str) -> exp.Expression:
    return exp.TryCast(this=value, to=exp.DataType.build(to))


def tag_pattern(prefix: str) -> str:
    """A regular expression (RE2 and PostgreSQL alike) for the first ``"<prefix><task>"`` element of a JSON array's text.

    The element must follow the array's ``[`` or a comma, so a quote escaped inside another tag
    (``"a\\", \\"task:x"``) is not read as the start of one; the prefix's characters are schema-limited and
    none of them means anything in a regular expression.
    """
    return r'[\[,]\s*"' + prefix + "(" + TASK_CHARS + ')"'


def regex_tag_task(json_text: JsonText) -> TagTask:
    """The portable way: a regular expression over the array's JSON text (every SQLGlot dialect has one)."""
    def find(tags: exp.Expression, kind: str, prefix: str) -> exp.Expression:
        found = exp.RegexpExtract(this=json_text(tags, kind), expression=exp.Literal.string(tag_pattern(prefix)),
                                  group=exp.Literal.number(1))
        return exp.Nullif(this=found, expression=exp.Literal.string(""))  # DuckDB gives '' for no match
    return find


def element_pattern(prefix: str) -> str:
    """The whole tag ``<prefix><task>``, for engines that match array elements one by one."""
    return "^" + prefix + TASK_CHARS + "$"


def spend_log_fields(mapping: SpendLogMapping, types: Mapping[str, str], json_text: JsonText,
                     tag_task: Optional[TagTask] = None) -> dict[str, exp.Expression]:
    """The fields of a LiteLLM spend log (table or export), whose columns have the given engine ``types``."""
    candidates: list[exp.Expression] = []
    if mapping.task_column:
        candidates.append(exp.Nullif(this=_cast(column(mapping.task_column), "TEXT"), expression=exp.Literal.string("")))
    if mapping.task_metadata_key:
        meta = exp.Cast(this=json_text(column(mapping.metadata), types.get(mapping.metadata, "")), to=exp.DataType.build("JSON"))
        key = exp.JSONExtractScalar(this=meta, expression=exp.JSONPath(expressions=[
            exp.JSONPathRoot(), exp.JSONPathKey(this=mapping.task_metadata_key)]))
        candidates.append(exp.Nullif(this=key, expression=exp.Literal.string("")))
    if mapping.task_tag_prefix:
        find = tag_task or regex_tag_task(json_text)
        candidates.append(find(column(mapping.tags), types.get(mapping.tags, ""), mapping.task_tag_prefix))
    task = candidates[0] if len(candidates) == 1 else exp.Coalesce(this=candidates[0], expressions=candidates[1:])
    spend: exp.Expression = _cast(column(mapping.spend), "DOUBLE") if mapping.spend else exp.Null()
    return {
        "task": task,
        "model": exp.Nullif(this=_cast(column(mapping.model), "TEXT"), expression=exp.Literal.string("")),
        "at": timestamp(column(mapping.time), types.get(mapping.time, "")),
        "spend": spend,
        "input_tokens": _cast(column(mapping.input_tokens), "BIGINT"),
        "output_tokens": _cast(column(mapping.output_tokens), "BIGINT"),
    }


def timestamp(value: exp.Expression, kind: str) -> exp.Expression:
    """A UTC timestamp without zone; text (an ISO 8601 string with or without offset) is read through a zoned one."""
    if kind.upper().startswith(("VARCHAR", "TEXT", "JSON")):
        value = _cast(value, "TIMESTAMPTZ")
    return _cast(value, "TIMESTAMP")


def _valid(f: Mapping[str, exp.Expression]) -> exp.Expression:
    checks = [f["at"].is_(exp.Null()).not_(), f["model"].is_(exp.Null()).not_(),
              exp.GTE(this=f["input_tokens"], expression=exp.Literal.number(0)),
              exp.GTE(this=f["output_tokens"], expression=exp.Literal.number(0))]
    if not isinstance(f["spend"], exp.Null):
        checks.append(exp.or_(f["spend"].is_(exp.Null()), exp.GTE(this=f["spend"], expression=exp.Literal.number(0))))
    return exp.and_(*checks)


def _when(condition: exp.Expression, then: exp.Expression, otherwise: Optional[exp.Expression] = None) -> exp.Case:
    case = exp.Case().when(condition, then)
    return case.else_(otherwise) if otherwise is not None else case


def aggregation(relation: Relation, limit: int) -> exp.Select:
    """The one grouped query: per task and model, over rows in [since, until) (and rows with no usable time,
    counted as malformed), at most ``limit`` rows."""
    f = relation.fields
    ok = _valid(f)
    one, zero = exp.Literal.number(1), exp.Literal.number(0)
    has_spend = exp.and_(ok, f["spend"].is_(exp.Null()).not_())
    measures = {
        "calls": exp.Sum(this=_when(ok, one, zero)),
        "spend": exp.Sum(this=_when(ok, f["spend"])),
        "spend_calls": exp.Sum(this=_when(has_spend, one, zero)),
        "input_tokens": exp.Sum(this=_when(ok, f["input_tokens"])),
        "output_tokens": exp.Sum(this=_when(ok, f["output_tokens"])),
        "malformed": exp.Sum(this=_when(ok, zero, one)),
        "first_at": exp.Min(this=f["at"]),
        "last_at": exp.Max(this=f["at"]),
    }
    since, until = exp.Placeholder(this="since"), exp.Placeholder(this="until")
    window = exp.or_(f["at"].is_(exp.Null()), exp.and_(exp.GTE(this=f["at"], expression=since), exp.LT(this=f["at"], expression=until)))
    selects = [exp.alias_(f["task"], "task", quoted=True), exp.alias_(f["model"], "model", quoted=True)]
    selects += [exp.alias_(value, name, quoted=True) for name, value in measures.items()]
    return (exp.select(*selects).from_(relation.source).where(window)
            .group_by(f["task"].copy(), f["model"].copy()).limit(limit))


def compile_sql(relation: Relation, dialect: str, limit: int, inline: Optional[Mapping[str, dt.datetime]] = None) -> str:
    """The aggregation in ``dialect``'s SQL; placeholders in that dialect's style (``$since``, ``%(since)s``, ``@since``),
    or, with ``inline``, the window written as timestamp literals (for SQL printed to run elsewhere: the values are
    datetimes tiergate parsed, never text it was given)."""
    tree = aggregation(relation, limit)
    if inline is not None:
        def literal(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Placeholder) and node.name in inline:
                return exp.cast(exp.Literal.string(inline[node.name].isoformat(sep=" ")), exp.DataType.build("TIMESTAMP"))
            return node
        tree = tree.transform(literal)
    return tree.sql(dialect=dialect)


def grouped_fields() -> dict[str, exp.Expression]:
    """The aggregation's own output, read back (a warehouse ran the query and saved its rows): one typed
    expression per column of ``OUTPUT``."""
    kinds = {"task": "TEXT", "model": "TEXT", "spend": "DOUBLE", "first_at": "TIMESTAMP", "last_at": "TIMESTAMP"}
    out: dict[str, exp.Expression] = {}
    for name in OUTPUT:
        value = _cast(column(name), kinds.get(name, "BIGINT"))
        if name in ("first_at", "last_at"):
            value = timestamp(column(name), "VARCHAR")
        out[name] = exp.Nullif(this=value, expression=exp.Literal.string("")) if name in ("task", "model") else value
    return out


def read_grouped(source: exp.Expression, limit: int) -> exp.Select:
    return exp.select(*[exp.alias_(value, name, quoted=True) for name, value in grouped_fields().items()]).from_(source).limit(limit)


def window(since: Optional[dt.datetime], until: Optional[dt.datetime]) -> dict[str, dt.datetime]:
    """The bound parameters: naive UTC datetimes (the spend log stores UTC without a zone)."""
    def naive(value: Optional[dt.datetime], default: dt.datetime) -> dt.datetime:
        if value is None:
            return default
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    return {"since": naive(since, EARLIEST), "until": naive(until, LATEST)}
