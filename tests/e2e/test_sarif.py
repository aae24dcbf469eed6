"""`--format sarif` for validate and check: valid SARIF 2.1.0 (checked against the OASIS schema stored in
tests/data), every rule described, stable fingerprints, safe URIs, GitHub's result limit."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

import tiergate
from conftest import AS_OF, PROJECT, cli
from gitrepo import init
from tiergate.findings import Finding, Result, TierChange
from tiergate.report import sarif
from tiergate.rules import REGISTRY

SCHEMA_FILE = PROJECT / "tests" / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "7402cdfd5bfbff98071b3358e573041b86adb7e1c6ec8743303f93715937c371"
INTENT = "policy/tasks/intent-classification.yaml"
ERROR, WARNING = REGISTRY["TG105"], REGISTRY["TG312"]
# RFC 3986 relative-ref: no scheme, path characters only (unreserved, sub-delims, ':' '@' '/', percent escapes)
RELATIVE_PATH = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=@/]|%[0-9A-F]{2})*$")


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    raw = SCHEMA_FILE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "tests/data/sarif-schema-2.1.0.json was changed"
    schema = json.loads(raw)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def valid_sarif(validator, text: str) -> dict:
    log = json.loads(text)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    return log


def only_run(log: dict) -> dict:
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    return log["runs"][0]


def run_sarif(capsys, *args: str):
    return cli(capsys, *args, "--format", "sarif", "--as-of", AS_OF)


def test_validate_sarif_is_valid_and_describes_every_rule(repo, capsys, validator):
    repo.replace(INTENT, "tier: lite", "tier: gold")  # TG105 unknown tier, an error with a line
    run = run_sarif(capsys, "validate", "--repo", str(repo.root))
    assert run.code == 1, run.err  # the format does not change the verdict
    run_ = only_run(valid_sarif(validator, run.out))
    driver = run_["tool"]["driver"]
    assert driver["name"] == "tiergate" and driver["version"] == tiergate.__version__
    assert [r["id"] for r in driver["rules"]] == list(REGISTRY)
    for descriptor in driver["rules"]:
        rule = REGISTRY[descriptor["id"]]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert rule.summary in descriptor["fullDescription"]["text"] and rule.summary in descriptor["help"]["text"]
        assert descriptor["helpUri"] == f"{tiergate.HOMEPAGE}/blob/v{tiergate.__version__}/README.md#rules"
        assert descriptor["defaultConfiguration"]["level"] == rule.severity
    assert run_["automationDetails"]["id"] == "tiergate/validate/"
    results = run_["results"]
    assert results and any(r["ruleId"] == "TG105" for r in results)
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] == REGISTRY[r["ruleId"]].severity
        location = r["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["region"]["startLine"] >= 1
        assert set(r["partialFingerprints"]) == {sarif.FINGERPRINT}
    tg105 = next(r for r in results if r["ruleId"] == "TG105")
    assert tg105["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == INTENT
    assert tg105["locations"][0]["physicalLocation"]["region"]["startLine"] == 12  # the `tier:` line


def test_clean_repository_is_an_empty_valid_run(repo, capsys, validator):
    run = run_sarif(capsys, "validate", "--repo", str(repo.root))
    assert run.code == 0, run.out
    run_ = only_run(valid_sarif(validator, run.out))
    assert run_["results"] == [] and len(run_["tool"]["driver"]["rules"]) == len(REGISTRY)


def test_check_sarif_is_a_separate_analysis(repo, capsys, validator):
    git = init(repo.root)
    git.replace(INTENT, "tier: lite", "tier: mid")  # raised with no failing evidence of lite: rejected
    run = run_sarif(capsys, "check", "--base", "main", "--repo", str(git.root))
    assert run.code == 1, run.out
    run_ = only_run(valid_sarif(validator, run.out))
    assert run_["automationDetails"]["id"] == "tiergate/check/"
    assert {r["level"] for r in run_["results"]} >= {"error"}
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run_["results"]} >= {INTENT}


def fingerprinted(text: str) -> dict[tuple[str, str], tuple[str, int]]:
    out = {}
    for r in json.loads(text)["runs"][0]["results"]:
        location = r["locations"][0]["physicalLocation"]
        out[(r["ruleId"], r["message"]["text"])] = (r["partialFingerprints"][sarif.FINGERPRINT], location["region"]["startLine"])
    return out


def test_fingerprints_survive_a_line_shift_and_follow_the_finding(repo, capsys):
    repo.replace(INTENT, "tier: lite", "tier: gold")
    before = fingerprinted(run_sarif(capsys, "validate", "--repo", str(repo.root)).out)
    again = fingerprinted(run_sarif(capsys, "validate", "--repo", str(repo.root)).out)
    assert again == before  # the same run twice: the same fingerprints
    text = repo.read(INTENT)
    first, rest = text.split("\n", 1)
    repo.write(INTENT, f"{first}\n# a comment\n# and another\n{rest}")
    after = fingerprinted(run_sarif(capsys, "validate", "--repo", str(repo.root)).out)
    key = next(k for k in before if k[0] == "TG105")
    assert after[key][1] == before[key][1] + 2  # the alert moved down two lines ...
    assert after[key][0] == before[key][0]  # ... and kept its fingerprint
    repo.replace(INTENT, "tier: gold", "tier: platinum")  # a different finding: a different fingerprint
    changed = fingerprinted(run_sarif(capsys, "validate", "--repo", str(repo.root)).out)
    assert before[key][0] not in {fp for fp, _ in changed.values()}


def test_equal_findings_get_distinct_fingerprints_and_line_references_do_not_count():
    a = Finding(ERROR, "CODEOWNERS", 3, "duplicate key 'x' (first at line 2); keep one")
    b = Finding(ERROR, "CODEOWNERS", 9, "duplicate key 'x' (first at line 7); keep one")
    c = Finding(ERROR, "CODEOWNERS", 11, "duplicate key 'y' (first at line 7); keep one")
    fa, fb, fc = sarif.fingerprints([a, b, c])
    assert fa.split(":")[0] == fb.split(":")[0] != fc.split(":")[0]
    assert (fa.endswith(":1"), fb.endswith(":2"), fc.endswith(":1")) == (True, True, True)


HOSTILE_FILES = ["policy/tasks/a b#frag?q=1%41.yaml", "c:/windows.yaml", "::warning::x.yaml", "évals/ü\u202e.yaml",
                 "new\nline.yaml", "/abs/path.yaml", "back\\slash.yaml", "javascript:alert(1)", "quote\"and'<tag>.yaml"]


def test_hostile_file_names_are_percent_encoded_relative_uris(validator):
    findings = [Finding(ERROR, name, 0, f"about {name}") for name in HOSTILE_FILES]
    log = valid_sarif(validator, sarif.render(findings, REGISTRY.values(), "tiergate/validate/"))
    uris = {unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r
            for r in only_run(log)["results"]}
    for name in HOSTILE_FILES:
        uri = sarif.artifact_uri(name)
        assert RELATIVE_PATH.match(uri), uri
        parts = urlsplit(uri)
        assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == ("", "", "", ""), uri
        assert not uri.startswith("/")
        assert unquote(uri) == name.replace("\\", "/").lstrip("/")  # decodes back to the path it names
    assert set(uris) == {n.replace("\\", "/").lstrip("/") for n in HOSTILE_FILES}
    assert sarif.artifact_uri("policy/tasks/intent-classification.yaml") == "policy/tasks/intent-classification.yaml"


def test_a_file_name_that_is_not_utf8_keeps_its_bytes(repo, capsys, validator):
    import os

    os.close(os.open(os.path.join(os.fsencode(repo.root), b"policy", b"tasks", b"bad\xffname.yaml"), os.O_CREAT | os.O_WRONLY))
    run = run_sarif(capsys, "validate", "--repo", str(repo.root))
    assert run.code in (0, 1) and "internal error" not in run.err, run.err
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in only_run(valid_sarif(validator, run.out))["results"]]
    assert "policy/tasks/bad%FFname.yaml" in uris


def test_file_level_findings_point_at_line_one_and_columns_only_with_a_line(validator):
    findings = [Finding(WARNING, "evals/x.yaml", 0, "whole file"), Finding(ERROR, "policy/tiers.yaml", 4, "here", 7),
                Finding(ERROR, "policy/tiers.yaml", 0, "column without a line", 5)]
    results = only_run(valid_sarif(validator, sarif.render(findings, REGISTRY.values(), "x/")))["results"]
    regions = {r["message"]["text"]: r["locations"][0]["physicalLocation"]["region"] for r in results}
    assert regions == {"whole file": {"startLine": 1}, "here": {"startLine": 4, "startColumn": 7},
                       "column without a line": {"startLine": 1}}
    assert {r["message"]["text"]: r["level"] for r in results} == {"whole file": "warning", "here": "error",
                                                                    "column without a line": "error"}


def test_a_rule_missing_from_the_registry_is_still_described(validator):
    from tiergate.findings import Rule

    other = Rule("TG999", "from-elsewhere", "warning", "A rule another result kind declares.")
    log = valid_sarif(validator, sarif.render([Finding(other, "a.yaml", 1, "m")], list(REGISTRY.values())[:3], "audit/"))
    run_ = only_run(log)
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]][-1] == "TG999"
    assert run_["results"][0]["ruleIndex"] == 3


def many(count: int) -> list[Finding]:
    return [Finding(WARNING if i % 2 else ERROR, f"policy/tasks/t{i:05d}.yaml", 1, f"finding {i}") for i in range(count)]


def test_results_are_capped_with_errors_first_and_a_note(validator):
    findings = many(10)
    log = valid_sarif(validator, sarif.render(findings, REGISTRY.values(), "tiergate/validate/", limit=4))
    run_ = only_run(log)
    assert [r["level"] for r in run_["results"]] == ["error"] * 4
    assert run_["properties"]["truncated"] is True
    assert (run_["properties"]["results"], run_["properties"]["reported"]) == (10, 4)
    assert "6 of 10 results left out" in run_["properties"]["note"]
    note = run_["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert note == run_["properties"]["note"]
    untouched = only_run(valid_sarif(validator, sarif.render(findings, REGISTRY.values(), "x/", limit=10)))
    assert len(untouched["results"]) == 10 and "properties" not in untouched and "invocations" not in untouched


def test_github_limit_of_25000_results_a_run():
    assert sarif.MAX_RESULTS == 25_000
    log = sarif.log(many(25_003), REGISTRY.values(), "tiergate/validate/")
    run_ = log["runs"][0]
    assert len(run_["results"]) == 25_000 and run_["properties"]["results"] == 25_003
    assert sum(r["level"] == "error" for r in run_["results"]) == 12_502  # every error kept


def test_check_is_told_apart_from_validate():
    assert sarif.automation_id(Result()) == "tiergate/validate/"
    assert sarif.automation_id(Result(tier_changes=[])) == "tiergate/check/"
    assert sarif.automation_id(Result(tier_changes=[TierChange("t", "a", "b", (), "accepted")])) == "tiergate/check/"


def test_repository_url_is_named_once():
    import tomllib

    urls = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert urls["Homepage"] == tiergate.HOMEPAGE


def test_readme_shows_the_upload_step():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for needle in ("github/codeql-action/upload-sarif", "security-events: write", "--format sarif",
                   "category: tiergate/validate/", "category: tiergate/check/"):
        assert needle in readme, needle


def test_sarif_output_stays_light(repo):
    """validate/check --format sarif load no heavy extra, no GitHub client and none of the HTML or review code."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "tiergate", "validate", "--repo", str(repo.root),
                           "--format", "sarif", "--as-of", AS_OF], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "tiergate.report.sarif" in loaded
    for heavy in ("github", "litellm", "duckdb", "ibis", "psycopg", "inspect_ai", "jsonschema",
                  "tiergate.report.html", "tiergate.report.svg", "tiergate.review.spend", "tiergate.github"):
        assert heavy not in loaded, heavy
