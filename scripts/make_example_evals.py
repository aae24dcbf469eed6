#!/usr/bin/env python3
"""Regenerate the example organisation's eval sets, records and artifacts.

Seeded and deterministic: run it on a checkout whose evals/ is empty and it writes the same
bytes. Records are synthetic (the example has no real models behind it); artifacts are made
by the real `tiergate eval record`, so scores are computed, never typed.

    python scripts/make_example_evals.py [--repo DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

from tiergate.cli import cli

LITE, MID, FRONTIER = "openai/gpt-5-nano", "anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-1"
HAIKU, FLASH_LITE, PRO = "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash-lite", "gemini/gemini-2.5-pro"

# task -> (metric, samples, labels or None, [(tier, model, target score, run_at), ...]). Failing runs
# are on each tier's primary model: failing evidence counts only for the model routers call first.
SPECS: dict[str, tuple[str, int, list[str] | None, list[tuple[str, str, float, str]]]] = {
    "intent-classification": ("accuracy", 200, ["billing", "bug", "howto", "account"],
                              [("lite", LITE, 0.955, "2026-10-20T09:00:00Z")]),
    "language-detection": ("accuracy", 200, ["en", "de", "fr", "es", "pt", "ja"],
                           [("lite", FLASH_LITE, 0.985, "2026-10-21T09:00:00Z")]),
    "ticket-routing": ("macro_f1", 200, ["payments", "identity", "search", "mobile", "infra"],
                       [("lite", LITE, 0.91, "2026-10-21T10:00:00Z")]),
    "entity-extraction": ("exact_match", 200, None, [("lite", HAIKU, 0.925, "2026-10-22T09:00:00Z")]),
    "format-conversion": ("exact_match", 150, None, [("lite", LITE, 0.987, "2026-10-22T10:00:00Z")]),
    "short-summary": ("rubric_mean", 60, None, [("lite", FLASH_LITE, 7.6, "2026-10-23T09:00:00Z")]),
    "release-notes-draft": ("rubric_mean", 50, None, [("lite", HAIKU, 7.5, "2026-10-23T10:00:00Z")]),
    "pii-redaction": ("pass_rate", 300, None,
                      [("lite", LITE, 0.95, "2026-10-24T09:00:00Z"), ("mid", MID, 0.997, "2026-10-24T11:00:00Z")]),
    "support-reply-draft": ("rubric_mean", 50, None,
                            [("lite", LITE, 5.8, "2026-10-27T09:00:00Z"), ("mid", MID, 7.7, "2026-10-27T11:00:00Z")]),
    "code-generation": ("pass_rate", 120, None,
                        [("lite", LITE, 0.55, "2026-10-28T09:00:00Z"), ("mid", MID, 0.86, "2026-10-28T11:00:00Z")]),
    "rag-answer": ("rubric_mean", 80, None,
                   [("lite", LITE, 6.1, "2026-10-29T09:00:00Z"), ("mid", MID, 8.0, "2026-10-29T11:00:00Z")]),
    "contract-review": ("pass_rate", 100, None,
                        [("lite", LITE, 0.52, "2026-11-02T09:00:00Z"), ("mid", MID, 0.74, "2026-11-02T11:00:00Z"),
                         ("frontier", FRONTIER, 0.94, "2026-11-02T14:00:00Z")]),
    "incident-planning": ("rubric_mean", 50, None,
                          [("lite", LITE, 5.0, "2026-11-03T09:00:00Z"), ("mid", MID, 6.5, "2026-11-03T11:00:00Z"),
                           ("frontier", PRO, 8.5, "2026-11-03T14:00:00Z")]),
    "architecture-review": ("rubric_mean", 50, None,
                            [("lite", LITE, 4.8, "2026-11-04T09:00:00Z"), ("mid", MID, 6.2, "2026-11-04T11:00:00Z"),
                             ("frontier", FRONTIER, 8.2, "2026-11-04T14:00:00Z")]),
}
EXTERNAL = {"architecture-review"}  # its eval set lives outside the repository


def _expected(task: str, labels: list[str] | None, i: int, rng: random.Random) -> object:
    if labels:
        return labels[i % len(labels)]
    if task == "entity-extraction":
        return {"order_id": f"A-{rng.randrange(10000, 99999)}", "customer_id": f"C-{rng.randrange(100, 999)}"}
    return {"sku": f"SKU{rng.randrange(1000, 9999)}", "qty": rng.randrange(1, 20), "unit": rng.choice(["ea", "kg", "box"])}


def _wrong(expected: object, labels: list[str] | None, rng: random.Random) -> object:
    if labels:
        return rng.choice([label for label in labels if label != expected])
    assert isinstance(expected, dict)
    broken = dict(expected)
    key = rng.choice(sorted(broken))
    broken[key] = None
    return broken


def make_dataset(repo: Path, task: str) -> list[dict[str, object]]:
    metric, n, labels, _ = SPECS[task]
    rng = random.Random(f"dataset:{task}")
    rows: list[dict[str, object]] = []
    for i in range(n):
        row: dict[str, object] = {"id": f"{task}-{i + 1:04d}", "input": f"example {task} input #{i + 1}"}
        if metric in ("accuracy", "exact_match", "macro_f1"):
            row["expected"] = _expected(task, labels, i, rng)
        rows.append(row)
    if task not in EXTERNAL:
        path = repo / "evals" / "datasets" / f"{task}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")
    return rows


def make_records(task: str, rows: list[dict[str, object]], tier: str, target: float) -> list[dict[str, object]]:
    metric, n, labels, _ = SPECS[task]
    rng = random.Random(f"records:{task}:{tier}")
    if metric == "rubric_mean":
        return [{"id": r["id"], "score": round(min(10.0, max(0.0, rng.gauss(target, 1.0))), 1)} for r in rows]
    hits = set(rng.sample(range(n), round(target * n)))
    if metric == "pass_rate":
        return [{"id": r["id"], "passed": i in hits} for i, r in enumerate(rows)]
    return [{"id": r["id"], "output": r["expected"] if i in hits else _wrong(r["expected"], labels, rng)} for i, r in enumerate(rows)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--repo", default=".", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for task, (_, _, _, runs) in SPECS.items():
            rows = make_dataset(args.repo, task)
            for tier, model, target, run_at in runs:
                source = Path(scratch) / f"{task}-{tier}.jsonl"
                source.write_text("".join(json.dumps(r) + "\n" for r in make_records(task, rows, tier, target)), encoding="utf-8")
                cli.main(["eval", "record", "--task", task, "--tier", tier, "--model", model, "--records", str(source),
                          "--run-at", run_at, "--repo", str(args.repo)], standalone_mode=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
