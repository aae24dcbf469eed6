"""`tiergate audit` against a real PostgreSQL server holding LiteLLM's spend log table.

One server for the session (conftest's ``postgres``), one database per test module, one table per test that
changes rows. The aggregation runs on the server: the same month of traffic as the file tests must give the
same answer. Passwords from the URI never appear in any output.
"""

from __future__ import annotations

import json

import pytest

import auditdata
import pgserver
from conftest import cli, require

psycopg = require("psycopg", "TIERGATE_REQUIRE_POSTGRES", "the PostgreSQL audit tests")
require("sqlglot", "TIERGATE_REQUIRE_AUDIT", "the audit tests")

WINDOW = ("--since", auditdata.SINCE, "--until", auditdata.UNTIL)
CATALOG = "policy/tiers.yaml"


@pytest.fixture(scope="module")
def spendlog(postgres):
    """The scenario's rows in "LiteLLM_SpendLogs"; the URI to audit them."""
    with psycopg.connect(postgres.uri(), autocommit=True) as conn:
        conn.execute('DROP TABLE IF EXISTS "LiteLLM_SpendLogs"')
        conn.execute(pgserver.SPEND_LOGS)
    auditdata.insert_postgres(postgres.uri(), auditdata.rows(auditdata.scenario()))
    return postgres.uri()


def audit(capsys, repo, source, *extra):
    return cli(capsys, "audit", "--repo", str(repo.root), "--source", source, *extra)


def test_the_spend_log_audit_matches_the_files(spendlog, repo, capsys, tmp_path):
    pg = audit(capsys, repo, spendlog, *WINDOW, "--format", "json")
    assert pg.code == 1, pg.err
    export = auditdata.write_jsonl(tmp_path / "spend.jsonl", auditdata.rows(auditdata.scenario()))
    files = audit(capsys, repo, str(export), *WINDOW, "--format", "json")
    strip = lambda run: [{k: v for k, v in t.items()} for t in json.loads(run.out)["tasks"]]  # noqa: E731
    assert strip(pg) == strip(files)
    rules = {(f["rule"], f["file"]) for f in json.loads(pg.out)["findings"]}
    assert ("TG901", "policy/tasks/intent-classification.yaml") in rules and ("TG903", "policy/tasks/code-generation.yaml") in rules
    assert pgserver.PASSWORD not in pg.out + pg.err
    assert json.loads(pg.out)["source"] == spendlog.replace(pgserver.PASSWORD, "***")


def test_the_window_is_applied_on_the_server(spendlog, repo, capsys):
    run = audit(capsys, repo, spendlog, "--since", "2026-10-01", "--until", "2026-10-31", "--format", "json")
    tasks = {t["task"]: t for t in json.loads(run.out)["tasks"]}
    assert list(tasks) == ["format-conversion"] and tasks["format-conversion"]["calls"] == 5
    assert tasks["format-conversion"]["drift_calls"] == 5 and run.code == 1


def test_an_empty_window_is_a_finding(spendlog, repo, capsys):
    run = audit(capsys, repo, spendlog, "--since", "2030-01-01", "--until", "2030-01-31", "--format", "json")
    assert run.code == 1 and [f["rule"] for f in json.loads(run.out)["findings"]] == ["TG909"]


def _one_clean_line(run, *needles):
    assert run.code == 2 and run.out == ""
    assert run.err.startswith("tiergate: error: ") and run.err.count("\n") == 1, run.err
    assert "Traceback" not in run.err and pgserver.PASSWORD not in run.err
    for needle in needles:
        assert needle in run.err, run.err


def test_wrong_password(postgres, spendlog, repo, capsys):
    _one_clean_line(audit(capsys, repo, postgres.uri(password="not-the-" + pgserver.PASSWORD)), "cannot connect to",
                    "password authentication failed", "postgresql://tiergate:***@127.0.0.1")
    run = audit(capsys, repo, postgres.uri(password="not-the-" + pgserver.PASSWORD))
    assert "not-the-" not in run.err


def test_password_in_the_query_string_is_hidden_too(postgres, spendlog, repo, capsys):
    uri = f"postgresql://{pgserver.USER}@127.0.0.1:{postgres.port}/{pgserver.DATABASE}?password=wrong-{pgserver.PASSWORD}"
    run = audit(capsys, repo, uri)
    _one_clean_line(run, "password=***")
    assert "wrong-" not in run.err


def test_unreachable_host(repo, capsys):
    port = pgserver.free_port()  # nothing listens there
    run = audit(capsys, repo, f"postgresql://u:{pgserver.PASSWORD}@127.0.0.1:{port}/db")
    _one_clean_line(run, "cannot connect to postgresql://u:***@127.0.0.1", "Connection refused")


def test_missing_table(postgres, spendlog, repo, capsys):
    repo.replace(CATALOG, "tiers:\n", "audit:\n  spend_log:\n    table: public.SpendLogsV2\ntiers:\n")
    _one_clean_line(audit(capsys, repo, spendlog), "no table public.SpendLogsV2 (audit.spend_log.table in the catalog")


def test_missing_column(postgres, spendlog, repo, capsys):
    repo.replace(CATALOG, "tiers:\n", "audit:\n  spend_log:\n    input_tokens: input_tokens\ntiers:\n")
    _one_clean_line(audit(capsys, repo, spendlog), "has no column 'input_tokens' (audit.spend_log.input_tokens in the catalog)")


def test_a_malformed_uri_is_one_line(repo, capsys):
    _one_clean_line(audit(capsys, repo, f"postgresql://u:{pgserver.PASSWORD}@127.0.0.1:notaport/db"), "the port is not a number")


def test_the_session_is_read_only_and_nothing_changes(postgres, spendlog, repo, capsys):
    with psycopg.connect(spendlog) as conn:
        before = conn.execute('SELECT count(*), sum(spend) FROM "LiteLLM_SpendLogs"').fetchone()
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()
    audit(capsys, repo, spendlog, *WINDOW)
    with psycopg.connect(spendlog) as conn:
        assert conn.execute('SELECT count(*), sum(spend) FROM "LiteLLM_SpendLogs"').fetchone() == before
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone() == tables


# --- attacks: SQL through the catalog's mapping, or through client-set task ids ------------------------------


@pytest.mark.parametrize("name", ['spend"; DROP TABLE "LiteLLM_SpendLogs"; --', "spend) FROM x; --", "a b", "1spend"])
def test_a_column_name_that_is_sql_is_a_schema_error(name, postgres, spendlog, repo, capsys):
    repo.replace(CATALOG, "tiers:\n", f"audit:\n  spend_log:\n    spend: {json.dumps(name)}\ntiers:\n")
    run = audit(capsys, repo, spendlog)
    assert run.code == 2 and "policy/tiers.yaml does not load" in run.err
    validate = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json")
    assert "TG101" in {f["rule"] for f in json.loads(validate.out)["findings"]}
    with psycopg.connect(spendlog) as conn:
        assert conn.execute('SELECT count(*) FROM "LiteLLM_SpendLogs"').fetchone()[0] == len(auditdata.scenario())


def test_reserved_word_columns_are_quoted_names(postgres, spendlog, repo, capsys):
    """The legitimate twin: LiteLLM's own "user" column (a reserved word) holding the task id is read as a column."""
    with psycopg.connect(spendlog, autocommit=True) as conn:
        conn.execute('UPDATE "LiteLLM_SpendLogs" SET "user" = model_group')
    try:
        repo.replace(CATALOG, "tiers:\n", "audit:\n  spend_log:\n    task_column: user\n    task_tag_prefix: null\ntiers:\n")
        run = audit(capsys, repo, spendlog, *WINDOW, "--format", "json")
        tasks = {t["task"]: t["calls"] for t in json.loads(run.out)["tasks"]}
        assert tasks["intent-classification"] == 100 and tasks[None] == 2
    finally:
        with psycopg.connect(spendlog, autocommit=True) as conn:
            conn.execute("""UPDATE "LiteLLM_SpendLogs" SET "user" = ''""")


def test_a_task_id_that_is_sql_is_only_a_value(postgres, repo, capsys):
    uri = postgres.uri()
    evil = """x'); DROP TABLE "LiteLLM_SpendLogs"; --"""
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS evil")
        conn.execute('DROP TABLE IF EXISTS evil."LiteLLM_SpendLogs"')
        conn.execute(pgserver.SPEND_LOGS.replace('"LiteLLM_SpendLogs"', 'evil."LiteLLM_SpendLogs"'))
    base = auditdata.scenario()[0]
    calls = [auditdata.Call(None, base.model, 90, 30, base.at, metadata={"task": evil}),
             auditdata.Call(None, base.model, 90, 30, base.at, metadata={"task": "format-conversion"})]
    auditdata.insert_postgres(uri, auditdata.rows(calls), table='evil."LiteLLM_SpendLogs"')
    repo.replace(CATALOG, "tiers:\n", "audit:\n  spend_log:\n    table: evil.LiteLLM_SpendLogs\n    task_metadata_key: task\ntiers:\n")
    run = audit(capsys, repo, uri, "--format", "json")
    tasks = {t["task"]: t["calls"] for t in json.loads(run.out)["tasks"]}
    assert tasks == {evil: 1, "format-conversion": 1}
    assert any(f["rule"] == "TG905" and "DROP TABLE" in f["message"] for f in json.loads(run.out)["findings"])
    with psycopg.connect(uri) as conn:
        assert conn.execute('SELECT count(*) FROM evil."LiteLLM_SpendLogs"').fetchone()[0] == 2
