"""Safe loading: hostile or broken files give one located finding and never a traceback."""

from __future__ import annotations

import json
import os
import time

import pytest

from conftest import cli

INTENT = "policy/tasks/intent-classification.yaml"
BOMB = """a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def only(run, rule):
    findings = json.loads(run.out)["findings"]
    assert [f["rule"] for f in findings] == [rule], findings
    assert "Traceback" not in run.err
    return findings[0]


def test_duplicate_key_is_an_error_not_last_wins(repo, validate):
    repo.replace(INTENT, "tier: lite\n", "tier: lite\ntier: frontier\n")
    f = only(validate(), "TG002")
    assert (f["file"], f["line"]) == (INTENT, 13)
    assert "first at line 12" in f["message"]


def test_billion_laughs_fails_fast(repo, validate):
    repo.write(INTENT, BOMB)
    started = time.monotonic()
    run = validate()
    assert time.monotonic() - started < 10
    assert only(run, "TG003")["file"] == INTENT


def test_recursive_alias_is_bounded(repo, validate):
    repo.write(INTENT, "a: &a [*a]\n")
    assert run_rule(validate(), INTENT) in {"TG001", "TG003"}


def run_rule(run, path):
    return next(f["rule"] for f in json.loads(run.out)["findings"] if f["file"] == path)


def test_small_aliases_are_fine(repo, validate):
    text = repo.read(INTENT).replace("reviewed: 2026-10-21", "reviewed: &r 2026-10-21\nreview_cadence_days: 90")
    repo.write(INTENT, text)
    assert validate().code == 0


def test_merge_keys_are_refused(repo, validate):
    repo.replace(INTENT, "routing:\n", "x: &base {session_pinning: false}\nrouting:\n  <<: *base\n")
    assert only(validate(), "TG003")["line"] == repo.read(INTENT).splitlines().index("  <<: *base") + 1


def test_oversized_file_is_refused_unread(repo, validate):
    repo.write(INTENT, "a: " + "x" * (2 << 20) + "\n")
    assert "limit" in only(validate(), "TG004")["message"]


def test_non_utf8(repo, validate):
    repo.write(INTENT, repo.read(INTENT).encode("utf-8").replace(b"Classify", b"Cl\xe4ssify"))
    f = only(validate(), "TG005")
    assert f["line"] == 3


@pytest.mark.parametrize("body", ["", "   \n# only a comment\n", "- a\n- b\n", "just a string\n"])
def test_empty_or_not_a_mapping(repo, validate, body):
    repo.write(INTENT, body)
    assert only(validate(), "TG006")["file"] == INTENT


def test_yaml_syntax_error_has_a_line(repo, validate):
    repo.replace(INTENT, "impact: high", "impact: [high")
    f = only(validate(), "TG001")
    assert f["line"] > 0 and "invalid YAML" in f["message"]


def test_symlinked_contract_pointing_outside_is_refused(repo, validate, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(repo.read(INTENT))
    repo.path(INTENT).unlink()
    os.symlink(outside, repo.path(INTENT))
    assert only(validate(), "TG007")["file"] == INTENT


def test_symlinked_evidence_pointing_outside_is_refused(repo, validate, tmp_path):
    art = "evals/intent-classification/20261020T090000Z-lite-gpt-5-nano.yaml"
    outside = tmp_path / "art.yaml"
    outside.write_text(repo.read(art))
    repo.path(art).unlink()
    os.symlink(outside, repo.path(art))
    assert "TG007" in validate().rules()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(repo, validate):
    repo.path(INTENT).chmod(0)
    assert only(validate(), "TG008")["file"] == INTENT


def test_no_input_prints_a_traceback(repo, capsys):
    for body in (b"\x00\x01\x02", b"a: !!python/object:os.system x\n", b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", b"{" * 5000):
        repo.write(INTENT, body)
        run = cli(capsys, "validate", "--repo", str(repo.root))
        assert run.code == 1, body
        assert "Traceback" not in run.out + run.err
