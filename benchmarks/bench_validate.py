#!/usr/bin/env python3
"""Time `tiergate validate` on generated repositories of N contracts.

Each contract sits on the top tier and links three artifacts (failing on the two lower tiers,
passing on its own) of 200 records each, over its own in-repo eval set: N contracts give 3N
artifacts, 3N records files and N eval sets. Prints wall time and peak memory per N.

    python benchmarks/bench_validate.py --contracts 500 5000 [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECORDS = 200
LABELS = ["a", "b", "c", "d"]
CATALOG = """platform_owner: "@bench/platform"
tiers:
  - {id: lite, revised: 2026-09-01, min_completion_tokens: 256, price_band: {max_input_per_mtok: 1, max_output_per_mtok: 5},
     models: [{id: p/lite-1, input_per_mtok: 0.1, output_per_mtok: 0.4, context_window: 128000, max_output_tokens: 16000}]}
  - {id: mid, revised: 2026-09-01, min_completion_tokens: 1024, price_band: {max_input_per_mtok: 3, max_output_per_mtok: 15},
     models: [{id: p/mid-1, input_per_mtok: 3, output_per_mtok: 15, context_window: 200000, max_output_tokens: 32000}]}
  - {id: top, revised: 2026-09-01, min_completion_tokens: 4096, price_band: {max_input_per_mtok: 15, max_output_per_mtok: 75},
     models: [{id: p/top-1, input_per_mtok: 15, output_per_mtok: 75, context_window: 200000, max_output_tokens: 32000}]}
"""
CONTRACT = """task: {task}
description: "Return exactly one label: a | b | c | d."
class: pattern-matching
owner: "@bench/team-{team}"
impact: medium
slo: {{metric: accuracy, threshold: 0.9, min_samples: {n}, eval_set: evals/datasets/{task}.jsonl}}
tier: top
cost: {{monthly_volume: 1000, avg_input_tokens: 100, avg_output_tokens: 5}}
routing: {{p95_input_tokens: 500, max_output_tokens: 4096}}
evidence:
  passing: evals/{task}/top.yaml
  failing: [evals/{task}/lite.yaml, evals/{task}/mid.yaml]
reviewed: 2026-11-01
"""
RUNS = (("lite", "p/lite-1", 0.70), ("mid", "p/mid-1", 0.80), ("top", "p/top-1", 0.95))


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def generate(root: Path, n: int) -> None:
    rng = random.Random(n)
    (root / "policy" / "tasks").mkdir(parents=True)
    (root / "policy" / "tiers.yaml").write_text(CATALOG)
    owners = ["/policy/tiers.yaml @bench/platform", "/.github/ @bench/platform", "/src/ @bench/platform", "/CODEOWNERS @bench/platform"]
    for i in range(n):
        task = f"task-{i:05d}"
        expected = [rng.choice(LABELS) for _ in range(RECORDS)]
        ids = [f"{task}-{j:03d}" for j in range(RECORDS)]
        dataset = "".join(json.dumps({"expected": e, "id": k}, sort_keys=True) + "\n" for e, k in zip(expected, ids))
        data_sha = _write(root / "evals" / "datasets" / f"{task}.jsonl", dataset.encode())
        (root / "policy" / "tasks" / f"{task}.yaml").write_text(CONTRACT.format(task=task, team=i % 50, n=RECORDS))
        owners.append(f"/policy/tasks/{task}.yaml @bench/team-{i % 50}")
        for tier, model, share in RUNS:
            hits = int(share * RECORDS)
            lines = [json.dumps({"expected": e, "id": k, "output": e if j < hits else "z"}, sort_keys=True, separators=(",", ":"))
                     for j, (e, k) in enumerate(zip(expected, ids))]
            rec_rel = f"evals/{task}/{tier}.records.jsonl"
            rec_sha = _write(root / rec_rel, ("\n".join(lines) + "\n").encode())
            artifact = (f"task: {task}\ntier: {tier}\nmodel: {model}\nmetric: accuracy\nscore: {hits / RECORDS}\n"
                        f"counts: {{successes: {hits}, total: {RECORDS}}}\nsamples: {RECORDS}\nrun_at: 2026-10-15T10:00:00Z\n"
                        f"eval_set: {{path: evals/datasets/{task}.jsonl, sha256: {data_sha}}}\n"
                        f"records: {{path: {rec_rel}, sha256: {rec_sha}}}\n")
            _write(root / "evals" / task / f"{tier}.yaml", artifact.encode())
    (root / "CODEOWNERS").write_text("\n".join(owners) + "\n")


def measure(root: Path) -> tuple[float, float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tiergate", "validate", "--repo", str(root), "--as-of", "2026-11-20"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()
    if done.returncode != 0:
        raise SystemExit(f"validate failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, peak_mib, summary


def _git(root: Path, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "b@example.com", "PATH": "/usr/local/bin:/usr/bin:/bin"}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def measure_check(root: Path) -> tuple[float, str]:
    """Commit the repository on main, change one contract on a branch, time the gate."""
    if not (root / ".git").exists():
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "bench")
        _git(root, "checkout", "-q", "-b", "change")
        contract = root / "policy" / "tasks" / "task-00042.yaml"
        contract.write_text(contract.read_text().replace("medium", "high"))
        _git(root, "commit", "-q", "-am", "one contract")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tiergate", "check", "--base", "main", "--repo", str(root), "--as-of", "2026-11-20"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"check failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description="Time tiergate validate on generated repositories.")
    parser.add_argument("--contracts", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--keep", type=Path, help="generate under this folder and keep it")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="tiergate-bench-"))
    try:
        for n in args.contracts:
            root = base / f"n{n}"
            if not root.exists():
                generate(root, n)
            wall, peak, summary = measure(root)
            print(f"N={n:>6} contracts, {3 * n:>6} artifacts x {RECORDS} records: {wall:6.2f} s wall, "
                  f"peak RSS {peak:7.1f} MiB (max over runs so far) | {summary}")
            check_wall, check_summary = measure_check(root)
            print(f"N={n:>6} one-contract change: tiergate check {check_wall:6.2f} s wall | {check_summary}")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
