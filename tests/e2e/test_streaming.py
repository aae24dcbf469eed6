"""Large records files stream: hashed, scored and checked in one pass, with exact line numbers."""

from __future__ import annotations

import hashlib
import json

from conftest import AS_OF, cli

ROWS = 60_000  # about 3.5 MB: several 1 MiB pieces


def _write(repo, lines: list[str]) -> str:
    raw = ("\n".join(lines) + "\n").encode()
    repo.write("evals/x/big.records.jsonl", raw)
    repo.write("evals/x/big.yaml",
               "task: x\ntier: lite\nmodel: openai/gpt-5-nano\nmetric: accuracy\nscore: 0.9\n"
               f"counts: {{successes: {ROWS * 9 // 10}, total: {ROWS}}}\nsamples: {ROWS}\nrun_at: 2026-10-15T10:00:00Z\n"
               f"eval_set: {{path: s3://bucket/big.jsonl}}\nrecords: {{path: evals/x/big.records.jsonl, sha256: {hashlib.sha256(raw).hexdigest()}}}\n")
    return "evals/x/big.records.jsonl"


def _rows() -> list[str]:
    return [json.dumps({"expected": "a", "id": f"r{i:06d}", "output": "a" if i % 10 else "b"}) for i in range(ROWS)]


def _findings(run):
    return [f for f in json.loads(run.out)["findings"] if f["file"].startswith("evals/x/")]


def test_a_large_records_file_verifies_in_pieces(repo, capsys):
    _write(repo, _rows())
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    assert _findings(run) == []


def test_a_bad_line_deep_in_a_large_file_is_reported_at_its_line(repo, capsys):
    rows = _rows()
    rows[51_234] = '{"id": "r051234", "expected": "a", "output": '  # cut short
    path = _write(repo, rows)
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    assert [(f["rule"], f["file"], f["line"]) for f in _findings(run)] == [("TG316", path, 51_235)]


def test_a_duplicate_id_across_pieces_is_caught(repo, capsys):
    rows = _rows()
    rows[-1] = rows[3]
    _write(repo, rows)
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    assert any(f["rule"] == "TG314" and "unique" in f["message"] for f in _findings(run))


def test_a_changed_byte_late_in_the_file_breaks_the_pin(repo, capsys):
    rows = _rows()
    _write(repo, rows)
    repo.write("evals/x/big.records.jsonl", repo.read("evals/x/big.records.jsonl").replace('"r059998", "output": "a"', '"r059998", "output": "b"'))
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    assert [f["rule"] for f in _findings(run)] == ["TG307"]


def test_an_eval_set_repeating_an_id_is_reported_at_its_line(repo, capsys):
    path = "evals/datasets/intent-classification.jsonl"
    lines = repo.read(path).splitlines()
    lines[150] = lines[7]
    repo.write(path, "\n".join(lines) + "\n")
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    found = [f for f in json.loads(run.out)["findings"] if f["rule"] == "TG316"]
    assert found and all(f"{path}:151: eval set repeats id" in f["message"] for f in found)


def test_a_repeat_after_blank_lines_is_reported_at_its_second_occurrence(repo, capsys):
    """The set is held sorted by id hash, so the file order is recovered for the message: with blank
    lines before it and a third copy (another expected value) later, the second copy is named."""
    path = "evals/datasets/intent-classification.jsonl"
    lines = repo.read(path).splitlines()
    first = json.loads(lines[3])
    lines[100] = lines[3]
    lines[160] = json.dumps({**first, "expected": "something else"})
    lines[20:20] = ["", "   "]  # two blank lines: every later line moves down by two
    repo.write(path, "\n".join(lines) + "\n")
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    found = [f for f in json.loads(run.out)["findings"] if f["rule"] == "TG316"]
    assert found and all(f"{path}:103: eval set repeats id '{first['id']}'" in f["message"] for f in found)


def test_an_eval_set_row_without_an_id_is_reported_at_its_line(repo, capsys):
    path = "evals/datasets/intent-classification.jsonl"
    lines = repo.read(path).splitlines()
    lines[41] = json.dumps({"expected": "a"})
    lines[10:10] = [""]
    repo.write(path, "\n".join(lines) + "\n")
    run = cli(capsys, "validate", "--repo", str(repo.root), "--format", "json", "--as-of", AS_OF)
    found = [f for f in json.loads(run.out)["findings"] if f["rule"] == "TG316"]
    assert found and all(f"{path}:43: eval set line needs an 'id'" in f["message"] for f in found)


def test_a_clean_repository_never_parses_a_file_twice_for_line_marks(repo, capsys, monkeypatch):
    """Line marks cost a second, slower parse: only a file with a finding may need them. A rule that
    asks a document for a line before it knows it has a finding costs every contract that parse."""
    import tiergate.loading as loading

    marked: list[str] = []
    real = loading._marked
    monkeypatch.setattr(loading, "_marked", lambda text: marked.append(text[:40]) or real(text))
    run = cli(capsys, "validate", "--repo", str(repo.root), "--as-of", AS_OF)
    assert run.code == 0 and marked == []
