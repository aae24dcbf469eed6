"""`tiergate audit` over files, queried with DuckDB: JSON Lines, CSV and Parquet spend log exports, OTLP JSON spans.

Every source carries the same month of traffic (tests/auditdata.py), so every engine must give the same
answer per task. Bad input is one line and exit 2, or a finding; nothing is ever written.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pytest

import auditdata
from conftest import cli, require

require("duckdb", "TIERGATE_REQUIRE_AUDIT", "the audit tests")
require("sqlglot", "TIERGATE_REQUIRE_AUDIT", "the audit tests")

WINDOW = ("--since", auditdata.SINCE, "--until", auditdata.UNTIL)
CATALOG = "policy/tiers.yaml"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    records = auditdata.rows(auditdata.scenario())
    return {
        "jsonl": auditdata.write_jsonl(folder / "spend.jsonl", records),
        "csv": auditdata.write_csv(folder / "spend.csv", records),
        "parquet": auditdata.write_parquet(folder / "spend.parquet", records),
        "otlp": auditdata.write_otlp(folder / "spans.json", auditdata.scenario()),
    }


def audit(capsys, repo, source, *extra):
    return cli(capsys, "audit", "--repo", str(repo.root), "--source", str(source), *extra)


def by_task(run):
    return {t["task"]: t for t in json.loads(run.out)["tasks"]}


def findings(run):
    return {(f["rule"], f["file"]) for f in json.loads(run.out)["findings"]}


def expected_spend(task: str, factor: bool = True) -> Decimal:
    calls = [c for c in auditdata.scenario() if c.task == task and c.at.month == 11]
    return sum((c.spend if factor else auditdata.price(c.model, c.tin, c.tout) for c in calls), Decimal(0))


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet", "otlp"])
def test_every_file_kind_gives_the_same_audit(kind, exports, repo, capsys):
    run = audit(capsys, repo, exports[kind], *WINDOW, "--format", "json")
    assert run.code == 1, run.err  # the frontier call of a lite task is drift: error-level
    tasks = by_task(run)
    assert set(tasks) == {"format-conversion", "intent-classification", "code-generation", "shadow-task", None}
    intent = tasks["intent-classification"]
    assert (intent["calls"], intent["calls_above_tier"], intent["drift_calls"]) == (100, 7, 1)
    assert {m["model"]: (m["calls"], m["place"]) for m in intent["models"]} == {
        "openai/gpt-5-nano": (93, "tier"), "anthropic/claude-sonnet-4-5": (6, "escalation"), "anthropic/claude-opus-4-1": (1, "drift")}
    assert tasks["format-conversion"]["calls"] == 40  # the frontier calls outside the window do not count
    code = tasks["code-generation"]
    assert (code["input_tokens"], code["output_tokens"]) == (50 * 9000, 50 * 1200)
    assert Decimal(code["spend"]["recomputed"]) == expected_spend("code-generation", factor=False)
    if kind == "otlp":  # spans carry no cost attribute by default
        assert code["spend"]["logged"] is None
    else:
        assert abs(Decimal(code["spend"]["logged"]) - expected_spend("code-generation")) < Decimal("1e-9")
    got = findings(run)
    assert ("TG901", "policy/tasks/intent-classification.yaml") in got
    assert ("TG902", "policy/tasks/intent-classification.yaml") in got
    assert ("TG904", "policy/tasks/code-generation.yaml") in got
    assert ("TG903", "policy/tasks/code-generation.yaml") in got or kind == "otlp"
    assert ("TG905", "policy/tasks/shadow-task.yaml") in got
    assert ("TG906", str(exports[kind])) in got
    assert ("TG907", "policy/tasks/rag-answer.yaml") in got
    clean = {rule for rule, file in got if file == "policy/tasks/format-conversion.yaml"}
    assert clean == {"TG910"}  # 40 calls a month against 1,200,000: only the volume differs


def test_text_and_markdown_name_the_drift(exports, repo, capsys):
    run = audit(capsys, repo, exports["parquet"], *WINDOW)
    assert run.code == 1
    assert ("policy/tasks/intent-classification.yaml:12: error TG901 audit-model-drift: 1 of 100 call(s) went to models outside "
            "the authorized chain 'lite' up to 'mid': anthropic/claude-opus-4-1 (frontier): 1") in run.out
    assert "FAILED: 1 error(s)" in run.out.splitlines()[-1] and "2026-11-01 to 2026-11-30" in run.out
    assert run.out.splitlines()[0].split() == ["task", "tier", "calls", "spend", "(log)", "spend", "(catalog)", "above", "tier",
                                               "drift", "calls", "avg", "in", "avg", "out", "models"]
    md = audit(capsys, repo, exports["parquet"], *WINDOW, "--format", "markdown")
    assert "### Production by task" in md.out and "| intent-classification |" in md.out


def test_a_clean_month_passes(tmp_path, repo, capsys):
    calls = [c for c in auditdata.scenario() if c.task == "format-conversion" and c.at.month == 11]
    source = auditdata.write_jsonl(tmp_path / "clean.jsonl", auditdata.rows(calls))
    run = audit(capsys, repo, source, *WINDOW, "--format", "json")
    assert run.code == 0, run.out
    assert {rule for rule, _ in findings(run)} == {"TG907", "TG910"}


def test_an_empty_window_is_an_error_finding_not_a_pass(exports, repo, capsys):
    run = audit(capsys, repo, exports["jsonl"], "--since", "2025-01-01", "--until", "2025-01-31", "--format", "json")
    assert run.code == 1
    assert {rule for rule, _ in findings(run)} == {"TG909"}


def test_malformed_rows_are_counted_and_left_out(tmp_path, repo, capsys):
    records = auditdata.rows([c for c in auditdata.scenario() if c.task == "format-conversion" and c.at.month == 11])
    records[0]["prompt_tokens"] = "lots"
    records[1]["completion_tokens"] = -5
    records[2]["startTime"] = "not a time"
    del records[3]["model"]
    source = auditdata.write_jsonl(tmp_path / "bad.jsonl", records)
    run = audit(capsys, repo, source, *WINDOW, "--format", "json")
    assert run.code == 0
    assert by_task(run)["format-conversion"]["calls"] == 36
    [message] = [f["message"] for f in json.loads(run.out)["findings"] if f["rule"] == "TG908"]
    assert message.startswith("4 row(s) in the window")


def test_an_unparseable_line_is_one_line_exit_2_and_nothing_written(tmp_path, repo, capsys, monkeypatch):
    source = tmp_path / "broken.jsonl"
    source.write_text('{"request_id": "1"}\n{not json\n')
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    run = audit(capsys, repo, source)
    assert run.code == 2 and run.out == ""
    assert run.err.startswith(f"tiergate: error: {source}: cannot read it:") and run.err.count("\n") == 1
    assert "Traceback" not in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
def test_a_missing_column_names_the_mapping(kind, tmp_path, repo, capsys, exports):
    repo.replace(CATALOG, "tiers:\n", "audit:\n  spend_log:\n    spend: cost_usd\ntiers:\n")
    run = audit(capsys, repo, exports[kind])
    assert run.code == 2
    assert "has no column 'cost_usd' (audit.spend_log.spend in the catalog); its columns:" in run.err
    assert run.err.count("\n") == 1


def test_mapping_overrides_read_another_export(tmp_path, repo, capsys):
    records = [{"ts": r["startTime"], "llm": r["model"], "usd": r["spend"], "in": r["prompt_tokens"], "out": r["completion_tokens"],
                "svc": {"task": r["model_group"]} if r["model_group"] else {}} for r in auditdata.rows(auditdata.scenario())]
    source = auditdata.write_jsonl(tmp_path / "custom.jsonl", records)
    repo.replace(CATALOG, "tiers:\n", "audit:\n  spend_log:\n    time: ts\n    model: llm\n    spend: usd\n    input_tokens: in\n"
                                      "    output_tokens: out\n    metadata: svc\n    task_metadata_key: task\n    task_tag_prefix: null\n"
                                      "tiers:\n")
    run = audit(capsys, repo, source, *WINDOW, "--format", "json")
    assert run.code == 1, run.err
    assert by_task(run)["intent-classification"]["drift_calls"] == 1 and by_task(run)["code-generation"]["calls"] == 50


def test_folder_glob_reads_every_partition(tmp_path, repo, capsys):
    records = auditdata.rows(auditdata.scenario())
    (tmp_path / "parts").mkdir()
    auditdata.write_parquet(tmp_path / "parts" / "a.parquet", records[:100])
    auditdata.write_parquet(tmp_path / "parts" / "b.parquet", records[100:])
    run = audit(capsys, repo, tmp_path / "parts" / "*.parquet", *WINDOW, "--format", "json")
    assert by_task(run)["intent-classification"]["calls"] == 100


@pytest.mark.parametrize("source, message", [
    ("missing.jsonl", "no such file"),
    ("spend.txt", "unknown file type '.txt'"),
    ("s3://bucket/spend.parquet", "unsupported scheme 's3://'"),
    ("../*/spend.parquet", "only FOLDER/*.SUFFIX is expanded"),
    ("parts/**/*.parquet", "only FOLDER/*.SUFFIX is expanded"),
    ("parts/a*.parquet", "only FOLDER/*.SUFFIX is expanded"),
])
def test_sources_it_will_not_read(source, message, tmp_path, repo, capsys, monkeypatch):
    (tmp_path / "spend.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    run = audit(capsys, repo, source)
    assert run.code == 2 and message in run.err and run.err.count("\n") == 1


def test_a_symlinked_source_or_partition_is_refused(tmp_path, repo, capsys, exports):
    link = tmp_path / "link.jsonl"
    link.symlink_to(exports["jsonl"])
    run = audit(capsys, repo, link)
    assert run.code == 2 and "is a symlink; pass the file it points to" in run.err
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.parquet").symlink_to(exports["parquet"])  # a partition that leads out of the folder
    run = audit(capsys, repo, tmp_path / "parts" / "*.parquet")
    assert run.code == 2 and "is a symlink" in run.err
    real = audit(capsys, repo, exports["jsonl"])  # the legitimate twin: the file itself
    assert real.code == 1


def test_duckdb_reads_only_the_named_files(tmp_path, repo, capsys):
    """A mapping is data, but even a column name that reached DuckDB could not open another file: access is limited."""
    from tiergate.audit import engines
    from tiergate.audit.source import parse

    source = parse(str(auditdata.write_jsonl(tmp_path / "one.jsonl", auditdata.rows(auditdata.scenario()[:3]))))
    import duckdb

    conn = duckdb.connect()
    engines._sandbox(conn, source.files)
    with pytest.raises(duckdb.Error):
        conn.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    with pytest.raises(duckdb.Error):
        conn.execute("SET enable_external_access = true")
    assert conn.execute(f"SELECT count(*) FROM read_json('{source.files[0]}')").fetchone() == (3,)


def test_tag_lookalikes_name_no_task(tmp_path, repo, capsys):
    """A tag that only contains the prefix after an escaped quote is not a task tag; a real second tag is."""
    base = auditdata.scenario()[0]
    forged = [auditdata.Call(None, base.model, 90, 30, base.at, tags=['x", "task:format-conversion']) for _ in range(3)]
    real = [auditdata.Call(None, base.model, 90, 30, base.at, tags=["team:a", "task:format-conversion"]) for _ in range(2)]
    source = auditdata.write_jsonl(tmp_path / "tags.jsonl", auditdata.rows(forged + real))
    tasks = by_task(audit(capsys, repo, source, "--format", "json"))
    assert tasks["format-conversion"]["calls"] == 2 and tasks[None]["calls"] == 3


def test_client_set_task_ids_are_escaped_and_bounded(tmp_path, repo, capsys):
    repo.replace(CATALOG, "tiers:\n", "audit:\n  spend_log:\n    task_metadata_key: task\ntiers:\n")
    base = auditdata.scenario()[0]
    evil = "x\n::error::forged\x1b[31m" + "y" * 200
    calls = [auditdata.Call(None, base.model, 1, 1, base.at, metadata={"task": evil})]
    calls += [auditdata.Call(None, base.model, 1, 1, base.at, metadata={"task": f"t-{i}"}) for i in range(30)]
    source = auditdata.write_jsonl(tmp_path / "ids.jsonl", auditdata.rows(calls))
    run = audit(capsys, repo, source)
    lines = [line for line in run.out.splitlines() if "TG905" in line]
    assert len(lines) == 21  # twenty named, the rest summed up
    assert "more call(s) for 11 more task id(s)" in lines[-1] or any("11 more task id(s)" in line for line in lines)
    assert "\x1b" not in run.out and not any(line.startswith("::error::forged") for line in run.out.splitlines())
    assert "x\\x0a::error::forged\\x1b[31m" in run.out and "y" * 100 not in run.out


def test_source_in_output_is_the_label_and_nothing_is_written(exports, repo, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path)), repo.read(CATALOG)
    run = audit(capsys, repo, exports["parquet"], *WINDOW, "--format", "json")
    assert json.loads(run.out)["source"] == str(exports["parquet"])
    assert (sorted(os.listdir(tmp_path)), repo.read(CATALOG)) == before


def test_until_before_since_is_bad_usage(exports, repo, capsys):
    run = audit(capsys, repo, exports["jsonl"], "--since", "2026-11-30", "--until", "2026-11-01")
    assert run.code == 2 and "is not after --since" in run.err


def test_a_warehouse_runs_the_printed_query_and_the_audit_judges_its_rows(exports, repo, capsys, tmp_path):
    """--sql prints the one query; DuckDB stands in for the warehouse; --grouped audits the rows it returned."""
    import duckdb

    audit_sql = cli(capsys, "audit", "--repo", str(repo.root), "--sql", "duckdb", *WINDOW)
    assert audit_sql.code == 0 and audit_sql.out.rstrip().endswith(";") and "GROUP BY" in audit_sql.out
    assert "2026-11-01 00:00:00" in audit_sql.out and "2026-12-01 00:00:00" in audit_sql.out  # the window, written in
    warehouse = duckdb.connect()
    # the spend log as the proxy's database keeps it: tags and metadata as JSON
    warehouse.execute(f"""CREATE TABLE "LiteLLM_SpendLogs" AS SELECT * REPLACE (to_json(request_tags) AS request_tags,
                          CAST(metadata AS JSON) AS metadata) FROM read_parquet('{exports["parquet"]}')""")
    grouped = tmp_path / "grouped.csv"
    warehouse.execute(f"COPY ({audit_sql.out.rstrip().rstrip(';')}) TO '{grouped}' (HEADER)")
    direct = audit(capsys, repo, exports["parquet"], *WINDOW, "--format", "json")
    judged = audit(capsys, repo, grouped, "--grouped", *WINDOW, "--format", "json")
    assert judged.code == direct.code == 1
    assert json.loads(judged.out)["tasks"] == json.loads(direct.out)["tasks"]
    assert {(f["rule"], f["file"]) for f in json.loads(judged.out)["findings"]} - {("TG906", str(grouped)), ("TG908", str(grouped))} == \
        {(f["rule"], f["file"]) for f in json.loads(direct.out)["findings"]} - {("TG906", str(exports["parquet"])), ("TG908", str(exports["parquet"]))}


def test_grouped_rows_missing_a_column_are_one_line(tmp_path, repo, capsys):
    source = tmp_path / "grouped.csv"
    source.write_text("task,model,calls\nintent-classification,openai/gpt-5-nano,3\n")
    run = audit(capsys, repo, source, "--grouped")
    assert run.code == 2 and "(a column of `tiergate audit --sql`'s output)" in run.err and run.err.count("\n") == 1


def test_sql_and_source_are_exclusive(repo, capsys):
    assert cli(capsys, "audit", "--repo", str(repo.root)).code == 2
    run = cli(capsys, "audit", "--repo", str(repo.root), "--sql", "no-such-dialect")
    assert run.code == 2 and "unknown dialect 'no-such-dialect'" in run.err


def test_otlp_as_one_pretty_printed_document(tmp_path, repo, capsys):
    lines = auditdata.write_otlp(tmp_path / "lines.json", auditdata.scenario()).read_text().splitlines()
    merged = {"resourceSpans": [rs for line in lines for rs in json.loads(line)["resourceSpans"]]}
    (tmp_path / "one.json").write_text(json.dumps(merged, indent=2))
    run = audit(capsys, repo, tmp_path / "one.json", *WINDOW, "--format", "json")
    assert by_task(run)["intent-classification"]["drift_calls"] == 1 and by_task(run)["code-generation"]["calls"] == 50


def test_without_the_extra_it_says_what_to_install(exports, repo, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # an import of it now fails, as when the extra is not installed
    run = audit(capsys, repo, exports["jsonl"])
    assert run.code == 2 and run.err == "tiergate: error: tiergate audit needs duckdb: pip install 'tiergate[audit]'\n"


def test_sarif_is_its_own_valid_analysis(exports, repo, capsys):
    import jsonschema

    from conftest import PROJECT

    schema = json.loads((PROJECT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    run = audit(capsys, repo, exports["parquet"], *WINDOW, "--format", "sarif")
    assert run.code == 1
    log = json.loads(run.out)
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(log))
    assert not errors, errors[0].message
    [sarif_run] = log["runs"]
    assert sarif_run["automationDetails"]["id"] == "tiergate/audit/"
    assert {r["id"] for r in sarif_run["tool"]["driver"]["rules"]} >= {f"TG9{n:02d}" for n in range(1, 11)}
    drift = [r for r in sarif_run["results"] if r["ruleId"] == "TG901"]
    assert len(drift) == 1 and drift[0]["level"] == "error"
    assert drift[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "policy/tasks/intent-classification.yaml"


def test_the_warehouse_query_refuses_an_empty_window_like_the_audit(repo, capsys):
    """The query's window is the audit's: one that holds no time is the same one-line error, not a query that finds nothing."""
    backwards = ("--since", auditdata.UNTIL, "--until", auditdata.SINCE)
    run = cli(capsys, "audit", "--repo", str(repo.root), "--sql", "postgres", *backwards)
    assert run.code == 2 and "is not after --since" in run.err and run.out == ""
    assert cli(capsys, "audit", "--repo", str(repo.root), "--sql", "postgres", *WINDOW).out.startswith("SELECT ")
