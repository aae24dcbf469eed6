"""``tiergate audit``: parse the source, run the one aggregation where the data lives, judge the grouped rows."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from importlib import import_module

from tiergate.audit import checks
from tiergate.audit.result import AuditResult
from tiergate.audit.source import parse
from tiergate.errors import TierGateError
from tiergate.models import Catalog
from tiergate.policy import Policy


def audit(policy: Policy, uri: str, since: Optional[dt.datetime] = None, until: Optional[dt.datetime] = None,
          grouped: bool = False) -> AuditResult:
    """Production (``uri``) against ``policy`` over [since, until); a TierGateError (exit 2) when the source cannot be read.

    ``grouped``: ``uri`` holds the rows ``warehouse_sql`` returned where the calls live (the window was applied there)."""
    catalog = _prepared(policy, since, until)
    source = parse(uri, grouped)
    _engines_installed(source.kind)
    from tiergate.audit import engines, query

    rows = engines.run(source, catalog.audit, query.window(since, until))
    return checks.judge(policy, source.label, rows, since, until)


REVIEW_DAYS = 30


def warehouse_sql(policy: Policy, dialect: str, since: Optional[dt.datetime], until: Optional[dt.datetime]) -> str:
    """The one aggregation over the catalog's spend log table, in ``dialect``, the window written in: to run in a
    warehouse (BigQuery, Snowflake, Trino, ...) and audit its few rows with ``audit(..., grouped=True)``."""
    catalog = _prepared(policy, since, until)
    _engines_installed("sql")
    from sqlglot.dialects.dialect import Dialect

    from tiergate.audit import engines, query

    if dialect not in Dialect.classes:
        raise TierGateError(f"--sql: unknown dialect '{dialect}'; one of {', '.join(sorted(d for d in Dialect.classes if d))}")
    mapping = catalog.audit.spend_log
    relation = query.Relation(query.table(mapping.table), query.spend_log_fields(mapping, {}, engines.text_cast))
    return query.compile_sql(relation, dialect, engines.MAX_GROUPS + 1, inline=query.window(since, until)) + ";\n"


def for_review(policy: Policy, uri: str, as_of: dt.date, since: Optional[dt.datetime], until: Optional[dt.datetime]) -> AuditResult:
    """The audit a review shows: by default the 30 days up to and including the review's as-of day."""
    end = until or dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), tzinfo=dt.timezone.utc)
    return audit(policy, uri, since or end - dt.timedelta(days=REVIEW_DAYS), end)


def _prepared(policy: Policy, since: Optional[dt.datetime], until: Optional[dt.datetime]) -> Catalog:
    """What an audit and its warehouse query both need before anything runs: a window that holds time, and a catalog."""
    if since is not None and until is not None and until <= since:
        raise TierGateError(f"--until {until.date().isoformat()} is not after --since {since.date().isoformat()}")
    if policy.catalog is None:
        raise TierGateError("the catalog does not load; run `tiergate validate` and fix it first")
    return policy.catalog


def _engines_installed(kind: str) -> None:
    """The audit extra's packages this source needs, or one line saying how to install them."""
    for name in ("sqlglot",) + {"postgres": ("psycopg",), "sql": ()}.get(kind, ("duckdb",)):
        try:
            import_module(name)
        except ImportError:
            raise TierGateError(f"tiergate audit needs {name}: pip install 'tiergate[audit]'") from None
