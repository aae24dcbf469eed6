"""Production against the contracts: ``tiergate audit`` over real traffic.

A contract says which tier a task may use and how often it may escalate; the proxy's spend log
(or the services' OpenTelemetry spans) says what happened. This package reads that telemetry
through one grouped query (``query``), run where the data lives: DuckDB for files, PostgreSQL
for a LiteLLM proxy's table, any SQLGlot dialect for a warehouse. Only the grouped rows (one per
task and model) reach Python, where ``checks`` compares them with the policy.

Importing this package imports nothing heavy: ``rules`` declares the audit's rules for the
registry, and the engines (duckdb, psycopg, sqlglot) load only inside ``run``.
"""
