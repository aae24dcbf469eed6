#!/usr/bin/env python3
"""Regenerate, in one command, every figure of tiergate's scale table, with ratios to a floor.

For each N of --contracts it generates (once, cached under --keep) a repository of N contracts,
each on the top tier with three artifacts (failing lite, failing mid, passing top) of 200 records
over its own in-repo eval set, commits it on `main` with two branches (`change`: one contract
edited; `catalog`: one tier's price band raised), and times each command as a whole process
(interpreter start included), best of --runs, with its peak RSS from os.wait4:

    floor          benchmarks/floor.py R: read every file, hash records and eval sets, parse YAML/JSONL
    validate       tiergate validate --repo R --as-of 2026-11-20
    export         tiergate export --format json --repo R --as-of 2026-11-20 -o TMP/export.json
    cost           tiergate cost --repo R --format json
    review-due     tiergate review due --repo R --as-of 2026-11-20 --format json
    check-one      on branch `change`:  tiergate check --base main --repo R --as-of 2026-11-20
    check-catalog  on branch `catalog`: the same command
    startup        tiergate validate on this checkout's example policy, --version, --help
    records-1m     validate on a repository whose one artifact has a 1,000,000-line records file

It prints a Markdown table per N, the scaling line, and the targets with PASS/MISS; --json FILE
writes the same as JSON. Standard library only; tiergate runs as `python -m tiergate`, with the
interpreter running this script (use the virtualenv's python).

    python benchmarks/bench_scale.py                                  # --contracts 5000 10000
    python benchmarks/bench_scale.py --contracts 500 5000 --runs 1
    python benchmarks/bench_scale.py --contracts 5000 10000 50000 --keep /tmp/bench-repos --json out.json
    python benchmarks/bench_scale.py --contracts 50000 --generate-only --keep /tmp/bench-repos

Peaks are each process's own ru_maxrss as os.wait4 reports it, read in a bare launcher process
(see LAUNCHER: a child of this script would inherit this script's RSS high-water mark). Figures
are best of --runs; the machine is shared, so a noisy pass only lengthens the slower runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
FLOOR = HERE / "floor.py"
AS_OF = "2026-11-20"
GEN_VERSION = 3  # bump when the generated layout changes: cached repositories are then regenerated
RECORDS = 200
BIG_RECORDS = 1_000_000
LABELS = ["a", "b", "c", "d"]
CATALOG = """# The tier catalog of a generated benchmark repository.
platform_owner: "@bench/platform"
tiers:
  - {id: lite, revised: 2026-09-01, min_completion_tokens: 256, price_band: {max_input_per_mtok: 1, max_output_per_mtok: 5},
     models: [{id: p/lite-1, input_per_mtok: 0.1, output_per_mtok: 0.4, context_window: 128000, max_output_tokens: 16000}]}
  - {id: mid, revised: 2026-09-01, min_completion_tokens: 1024, price_band: {max_input_per_mtok: 3, max_output_per_mtok: 15},
     models: [{id: p/mid-1, input_per_mtok: 3, output_per_mtok: 15, context_window: 200000, max_output_tokens: 32000}]}
  - {id: top, revised: 2026-09-01, min_completion_tokens: 4096, price_band: {max_input_per_mtok: 15, max_output_per_mtok: 75},
     models: [{id: p/top-1, input_per_mtok: 15, output_per_mtok: 75, context_window: 200000, max_output_tokens: 32000}]}
"""
CATALOG_EDIT = ("max_output_per_mtok: 15}", "max_output_per_mtok: 16}")  # the mid tier's band: the `catalog` branch
CONTRACT_EDIT = ("impact: medium", "impact: high")  # the `change` branch
CONTRACT = """task: {task}
description: "Return exactly one label: a | b | c | d."
class: pattern-matching
owner: "@bench/team-{team}"
impact: medium
slo: {{metric: accuracy, threshold: 0.9, min_samples: {n}, eval_set: evals/datasets/{task}.jsonl}}
tier: {tier}
cost: {{monthly_volume: 1000, avg_input_tokens: 100, avg_output_tokens: 5}}
routing: {{p95_input_tokens: 500, max_output_tokens: 4096}}
evidence:
  passing: evals/{task}/{tier}.yaml
  failing: [{failing}]
reviewed: 2026-11-01
"""
# (tier, its primary model, share of records that succeed): failing runs sit on each tier's first model
RUNS = (("lite", "p/lite-1", 0.70), ("mid", "p/mid-1", 0.80), ("top", "p/top-1", 0.95))
TIERS = [t for t, _, _ in RUNS]
PASS_SHARE = 0.95

ROWS = ["floor", "validate", "export", "cost", "review-due", "check-one", "check-catalog", "startup", "records-1m"]
PER_N = ["floor", "validate", "export", "cost", "review-due", "check-one", "check-catalog"]
LABEL = {"floor": "floor", "validate": "validate", "export": "export", "cost": "cost", "review-due": "review due",
         "check-one": "check, one contract", "check-catalog": "check, catalog change"}
ALIASES = {"review": "review-due", "check": "check-one", "check-one-contract": "check-one", "check-contract": "check-one",
           "check-catalog-change": "check-catalog", "catalog": "check-catalog", "records": "records-1m",
           "1m": "records-1m", "records1m": "records-1m", "records-1M": "records-1m"}
BRANCH = {"check-one": "change", "check-catalog": "catalog"}
EXPECT = {"check-one": (0, 1), "check-catalog": (0, 1)}  # a gate verdict either way; every other row must exit 0
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.com", "GIT_AUTHOR_DATE": "2026-11-01T12:00:00Z",
           "GIT_COMMITTER_DATE": "2026-11-01T12:00:00Z", "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
MB = 1_000_000
MIB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# generation


def _write(path: str, data: bytes) -> str:
    with open(path, "wb") as handle:
        handle.write(data)
    return hashlib.sha256(data).hexdigest()


def task_name(i: int, teams: int) -> str:
    """Task i's id: prefixed by its team, as organisations name them (and as CODEOWNERS compaction needs)."""
    return f"team{i % teams:02d}-task-{i:05d}"


def _write_task(root: str, i: int, teams: int, records: int, tier: str, tamper: bool = False) -> None:
    """One contract, its eval set, and its artifacts with their records files, written directly."""
    task = task_name(i, teams)
    rng = random.Random(i)  # the same task i whatever N: repositories of different N share a prefix
    expected = rng.choices(LABELS, k=records)
    width = max(3, len(str(records - 1)))
    ids = [f"{task}-{j:0{width}d}" for j in range(records)]
    # byte-identical to json.dumps(..., sort_keys=True) (dataset) and with separators=(",", ":") (records)
    dataset = "".join([f'{{"expected": "{e}", "id": "{k}"}}\n' for e, k in zip(expected, ids)]).encode()
    data_sha = _write(f"{root}/evals/datasets/{task}.jsonl", dataset)
    # the lower tiers fail (their shares in RUNS); the contract's own tier passes
    runs = tuple((t, m, share if t != tier else PASS_SHARE) for t, m, share in RUNS[: TIERS.index(tier) + 1])
    failing = ", ".join(f"evals/{task}/{t}.yaml" for t, _, _ in runs if t != tier)
    with open(f"{root}/policy/tasks/{task}.yaml", "w") as handle:
        handle.write(CONTRACT.format(task=task, team=i % teams, n=records, tier=tier, failing=failing))
    os.mkdir(f"{root}/evals/{task}")
    for run_tier, model, share in runs:
        hits = int(share * records)
        lines = [f'{{"expected":"{e}","id":"{k}","output":"{e}"}}' for e, k in zip(expected[:hits], ids[:hits])]
        lines += [f'{{"expected":"{e}","id":"{k}","output":"z"}}' for e, k in zip(expected[hits:], ids[hits:])]
        if tamper:  # one success turned into a failure, the hash updated: only a recount can see it
            lines[0] = f'{{"expected":"{expected[0]}","id":"{ids[0]}","output":"z"}}'
        rec_rel = f"evals/{task}/{run_tier}.records.jsonl"
        rec_sha = _write(f"{root}/{rec_rel}", ("\n".join(lines) + "\n").encode())
        artifact = (f"task: {task}\ntier: {run_tier}\nmodel: {model}\nmetric: accuracy\nscore: {hits / records}\n"
                    f"counts: {{successes: {hits}, total: {records}}}\nsamples: {records}\nrun_at: 2026-10-15T10:00:00Z\n"
                    f"eval_set: {{path: evals/datasets/{task}.jsonl, sha256: {data_sha}}}\n"
                    f"records: {{path: {rec_rel}, sha256: {rec_sha}}}\n")
        _write(f"{root}/evals/{task}/{run_tier}.yaml", artifact.encode())


def _write_chunk(job: tuple[str, int, int, int]) -> int:
    root, start, stop, teams = job
    for i in range(start, stop):
        _write_task(root, i, teams, RECORDS, "top")
    return stop - start


def _git(root: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_ENV)
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-1000:]}")
    return done.stdout


def _commit_all(root: Path, message: str) -> None:
    """Commit the whole work tree on main in one pack: `git fast-import` fed every file, then the index.

    The same tree as `git add -A && git commit`, without 400,000 loose objects and a repack at
    50,000 contracts; packed, as a CI clone is.
    """
    env = dict(os.environ, **GIT_ENV)
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=root, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    stamp = int(dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc).timestamp())
    who = f"{GIT_ENV['GIT_AUTHOR_NAME']} <{GIT_ENV['GIT_AUTHOR_EMAIL']}> {stamp} +0000".encode()
    head = b"commit refs/heads/main\nauthor %s\ncommitter %s\ndata %d\n%s\n" % (who, who, len(message), message.encode())
    paths = []
    for folder, dirs, names in os.walk(root):
        if ".git" in dirs:
            dirs.remove(".git")
        paths += [os.path.relpath(os.path.join(folder, name), root) for name in names]
    try:
        proc.stdin.write(head)
        for rel in sorted(paths):
            with open(os.path.join(root, rel), "rb") as handle:
                data = handle.read()
            proc.stdin.write(b"M 100644 inline %s\ndata %d\n" % (rel.encode(), len(data)))
            proc.stdin.write(data)
            proc.stdin.write(b"\n")
        proc.stdin.write(b"done\n")
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.wait() != 0:
        raise RuntimeError(f"git fast-import failed ({proc.returncode}): {err.strip()[-1000:]}")
    _git(root, "reset", "-q")  # the index from HEAD, so the work tree reads clean


def _tiergate_write(root: Path) -> None:
    """Schemas first (so CODEOWNERS covers /schemas/), then the managed CODEOWNERS block."""
    for command in (["schema", "--write"], ["codeowners", "--write"]):
        done = subprocess.run([sys.executable, "-m", "tiergate", *command, "--repo", str(root)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"tiergate {' '.join(command)} failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")


def _skeleton(root: Path) -> None:
    (root / "policy" / "tasks").mkdir(parents=True)
    (root / "evals" / "datasets").mkdir(parents=True)
    (root / "policy" / "tiers.yaml").write_text(CATALOG)


def _marker(root: Path) -> Path:
    return root.parent / f"{root.name}.complete.json"


REGENERATE = False  # --regenerate


def _cached(root: Path, spec: dict[str, Any]) -> Optional[dict[str, Any]]:
    """A complete cached repository of this spec, or None (and any partial one removed).

    The cache key is the generator's layout, not tiergate's sources: schemas/ and CODEOWNERS were
    written by the tiergate of generation time (its fingerprint is in the marker; a mismatch is
    reported), and --regenerate rebuilds them.
    """
    marker = _marker(root)
    if root.is_dir() and marker.is_file() and not REGENERATE:
        try:
            info = json.loads(marker.read_text())
        except ValueError:
            info = {}
        if info.get("spec") == spec:
            return info
    if root.exists():
        shutil.rmtree(root)
    marker.unlink(missing_ok=True)
    return None


def generate_repo(root: Path, n: int, teams: int, workers: int) -> dict[str, Any]:
    """The N-contract repository, committed on main, with branches `change` and `catalog`."""
    spec = {"version": GEN_VERSION, "contracts": n, "records": RECORDS, "teams": teams}
    info = _cached(root, spec)
    if info is not None:
        return dict(info, reused=True)
    phases: dict[str, float] = {}
    started = time.perf_counter()
    _skeleton(root)
    chunk = 250
    jobs = [(str(root), s, min(s + chunk, n), teams) for s in range(0, n, chunk)]
    if workers > 1 and len(jobs) > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for _ in pool.imap_unordered(_write_chunk, jobs):
                pass
    else:
        for job in jobs:
            _write_chunk(job)
    phases["files"] = time.perf_counter() - started
    mark = time.perf_counter()
    _tiergate_write(root)
    phases["schema+codeowners"] = time.perf_counter() - mark
    mark = time.perf_counter()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "gc.auto", "0")  # no background gc while timing
    _commit_all(root, f"bench: {n} contracts")
    contract = root / "policy" / "tasks" / f"{task_name(min(42, n - 1), teams)}.yaml"
    _git(root, "checkout", "-q", "-b", "change")
    contract.write_text(contract.read_text().replace(*CONTRACT_EDIT, 1))
    _git(root, "commit", "-q", "-am", "one contract: impact medium -> high")
    _git(root, "checkout", "-q", "main")
    _git(root, "checkout", "-q", "-b", "catalog")
    catalog = root / "policy" / "tiers.yaml"
    text = catalog.read_text()
    if CATALOG_EDIT[0] not in text:
        raise RuntimeError("the catalog edit does not apply")
    catalog.write_text(text.replace(*CATALOG_EDIT, 1))
    _git(root, "commit", "-q", "-am", "catalog: raise mid's max_output_per_mtok 15 -> 16")
    _git(root, "checkout", "-q", "main")
    phases["git"] = time.perf_counter() - mark
    info = {"spec": spec, "seconds": time.perf_counter() - started, "phases": phases, "src_fingerprint": src_fingerprint(),
            "files": sum(len(f) for _, _, f in os.walk(root / "evals")) + n + 1}
    _marker(root).write_text(json.dumps(info, indent=2) + "\n")
    return dict(info, reused=False)


def generate_big(root: Path, tamper: bool) -> dict[str, Any]:
    """One contract on the lite tier whose one (passing) artifact has a 1,000,000-line records file."""
    spec = {"version": GEN_VERSION, "contracts": 1, "records": BIG_RECORDS, "tamper": tamper}
    info = _cached(root, spec)
    if info is not None:
        return dict(info, reused=True)
    started = time.perf_counter()
    _skeleton(root)
    _write_task(str(root), 0, 1, BIG_RECORDS, "lite", tamper=tamper)
    _tiergate_write(root)
    info = {"spec": spec, "seconds": time.perf_counter() - started, "phases": {}, "files": 4,
            "src_fingerprint": src_fingerprint()}
    _marker(root).write_text(json.dumps(info, indent=2) + "\n")
    return dict(info, reused=False)


# ---------------------------------------------------------------------------------------------
# measuring


# The launcher: a bare interpreter (-S, only built-in modules) that starts the command with
# posix_spawn, reaps it with os.wait4 and prints its wall time, peak RSS and exit status. Why not
# Popen from this process: on Linux a child's ru_maxrss starts at the RSS high-water mark of the
# process it was forked (or vforked) from, so every child of this script (which holds generated
# records in memory) would report at least this script's own peak (`python -c pass` showed 310 MiB
# after a 300 MiB peak here). The launcher's own footprint (~8 MiB) is below any Python process's.
LAUNCHER = r"""
import os, signal, sys, time
out, err, timeout, argv = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
           (os.POSIX_SPAWN_OPEN, 1, out, flags, 0o644), (os.POSIX_SPAWN_OPEN, 2, err, flags, 0o644)]
killed = []
started = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions, setsid=True)
def kill(*_):
    killed.append(1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
signal.signal(signal.SIGALRM, kill)
signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
signal.setitimer(signal.ITIMER_REAL, 0)
print(repr(wall), usage.ru_maxrss, os.waitstatus_to_exitcode(status), len(killed))
"""


def run_once(argv: list[str], scratch: Path, timeout: float) -> dict[str, Any]:
    """One whole process: wall seconds, its own peak RSS (os.wait4, in KiB), exit code, output."""
    out_path, err_path = scratch / "stdout", scratch / "stderr"
    launch = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(out_path), str(err_path), str(timeout), *argv],
                            cwd=scratch, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if launch.returncode != 0:
        raise RuntimeError(f"the launcher failed for {argv[:4]}: {launch.stderr.strip()[-1000:]}")
    wall, peak_kib, rc, killed = launch.stdout.split()
    return {"wall": float(wall), "peak_kib": int(peak_kib), "rc": int(rc), "timed_out": killed != "0",
            "stdout": out_path.read_bytes().decode("utf-8", "replace"),
            "stderr": err_path.read_bytes().decode("utf-8", "replace")}


class Row:
    def __init__(self, key: str, label: str, argv: list[str], expect: tuple[int, ...] = (0,), branch: str = "main") -> None:
        self.key, self.label, self.argv, self.expect, self.branch = key, label, argv, expect, branch
        self.runs: list[dict[str, Any]] = []
        self.last: dict[str, Any] = {}

    def measure(self, scratch: Path, timeout: float) -> None:
        run = run_once(self.argv, scratch, timeout)
        self.runs.append({k: run[k] for k in ("wall", "peak_kib", "rc", "timed_out")})
        if not self.last or run["rc"] not in self.expect or self.last["rc"] in self.expect:
            self.last = run  # keep the output of a failing run in preference to a later good one
            self.last["summary"] = self._summary()  # now, while the output file (export -o) still exists

    @property
    def best(self) -> Optional[float]:
        return min((r["wall"] for r in self.runs), default=None)

    @property
    def peak_mib(self) -> Optional[float]:
        return max((r["peak_kib"] for r in self.runs), default=0) / 1024 if self.runs else None

    @property
    def rcs(self) -> list[int]:
        return [r["rc"] for r in self.runs]

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(rc in self.expect for rc in self.rcs)

    def summary(self) -> str:
        return self.last.get("summary", "")

    def _summary(self) -> str:
        """The last line of output: tiergate's verdict or count line (and the first finding's rule)."""
        lines = [ln for ln in (self.last.get("stdout", "").strip().splitlines() + self.last.get("stderr", "").strip().splitlines())
                 if ln.strip()]
        verdict = [ln for ln in lines if ln.startswith(("ok:", "FAILED:", "floor:", "wrote ", "tiergate, version"))]
        if verdict:
            if verdict[-1].startswith("wrote ") and "-o" in self.argv:  # export: the size, not the scratch path
                written = Path(self.argv[self.argv.index("-o") + 1])
                return f"wrote {written.name}" + (f" ({written.stat().st_size:,} bytes)" if written.exists() else "")
            first = next((ln for ln in lines if " error TG" in ln), "")
            if verdict[-1].startswith("FAILED:") and first:
                rule = first.split(" error ", 1)[1].split(":", 1)[0]
                return f"{verdict[-1][:120]}; first: {rule}"
            return verdict[-1][:160]
        if self.last.get("stdout", "").lstrip().startswith(("{", "[")):
            try:
                doc = json.loads(self.last["stdout"])
                if isinstance(doc, dict):
                    bits = [f"{k}={v}" for k, v in doc.items() if isinstance(v, (int, str)) and len(str(v)) < 30][:4]
                    bits += [f"{k}: {len(v)}" for k, v in doc.items() if isinstance(v, list)][:3]
                    return "json: " + ", ".join(bits)
            except ValueError:
                return "json (unparsable)"
        return (lines[-1] if lines else "")[:160]

    def problems(self) -> list[str]:
        """What the report must show: an unexpected exit code with the stderr tail (and the first findings)."""
        if self.ok:
            return []
        out = [f"{self.label}: exit codes {self.rcs} (expected {' or '.join(map(str, self.expect))})"
               + (" - killed at the timeout" if any(r["timed_out"] for r in self.runs) else "")]
        findings = [ln for ln in self.last.get("stdout", "").splitlines() if ln.strip()][:6]
        if findings:
            out.append("  first lines of stdout:")
            out += [f"    {ln[:300]}" for ln in findings]
        tail = self.last.get("stderr", "").strip().splitlines()[-12:]
        if tail:
            out.append("  stderr tail:")
            out += [f"    {ln[:300]}" for ln in tail]
        return out

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "argv": self.argv, "branch": self.branch, "best_wall_s": self.best,
                "peak_mib": self.peak_mib, "exit_codes": self.rcs, "expected_exit": list(self.expect), "ok": self.ok,
                "runs": self.runs, "summary": self.summary(), "problems": self.problems()}


def tiergate(*args: str) -> list[str]:
    return [sys.executable, "-m", "tiergate", *args]


def per_n_rows(root: Path, scratch: Path, wanted: list[str]) -> list[Row]:
    r = str(root)
    argv = {
        "floor": [sys.executable, str(FLOOR), r],
        "validate": tiergate("validate", "--repo", r, "--as-of", AS_OF),
        "export": tiergate("export", "--format", "json", "--repo", r, "--as-of", AS_OF, "-o", str(scratch / "export.json")),
        "cost": tiergate("cost", "--repo", r, "--format", "json"),
        "review-due": tiergate("review", "due", "--repo", r, "--as-of", AS_OF, "--format", "json"),
        "check-one": tiergate("check", "--base", "main", "--repo", r, "--as-of", AS_OF),
        "check-catalog": tiergate("check", "--base", "main", "--repo", r, "--as-of", AS_OF),
    }
    return [Row(k, LABEL[k], argv[k], EXPECT.get(k, (0,)), BRANCH.get(k, "main")) for k in PER_N if k == "floor" or k in wanted]


def measure_rows(rows: list[Row], runs: int, scratch: Path, timeout: float, repo: Optional[Path] = None,
                 notes: Optional[list[str]] = None) -> None:
    """Round-robin: every row once per pass, so a drift in the machine's speed hits every row alike."""
    branches = list(dict.fromkeys(row.branch for row in rows))
    for _ in range(runs):
        for branch in branches:
            if repo is not None:
                _git(repo, "checkout", "-q", branch)
                dirty = _git(repo, "status", "--porcelain", "--untracked-files=all").strip()
                if dirty and notes is not None and not any("not clean" in n for n in notes):
                    notes.append(f"working tree not clean on {branch} (the check rows see it): {dirty.splitlines()[:5]}")
            for row in rows:
                if row.branch == branch:
                    row.measure(scratch, timeout)
    if repo is not None:
        _git(repo, "checkout", "-q", "main")


# ---------------------------------------------------------------------------------------------
# report


def _fmt(x: Optional[float], digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _exit(row: Row) -> str:
    rcs = sorted(set(row.rcs))
    text = "/".join(map(str, rcs)) if rcs else "-"
    return text if row.ok else f"**{text}** (expected {' or '.join(map(str, row.expect))})"


def table(rows: list[Row], ref: Optional[Row], ref_name: str) -> list[str]:
    out = [f"| row | best wall s | peak MiB | x {ref_name} | exit | all runs s | output |", "|---|---:|---:|---:|---|---|---|"]
    for row in rows:
        ratio = row.best / ref.best if ref is not None and ref.best and row.best is not None else None
        runs = " ".join(f"{r['wall']:.2f}" for r in row.runs)
        out.append(f"| {row.label} | {_fmt(row.best)} | {_fmt(row.peak_mib, 1)} | {_fmt(ratio)} | {_exit(row)} | {runs} | "
                   f"{row.summary().replace('|', '/')} |")
    return out


def src_fingerprint() -> str:
    """A hash of tiergate's sources (this checkout's src/): says whether they changed during the run."""
    digest = hashlib.sha256()
    src = CHECKOUT / "src" / "tiergate"
    for path in sorted(src.rglob("*.py")):
        digest.update(str(path.relative_to(src)).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            pass
    return digest.hexdigest()[:16]


def _target(name: str, value: Optional[float], limit: float, unit: str, valid: bool = True, why_na: str = "") -> dict[str, Any]:
    if value is None:
        status = "n/a"
    elif not valid:
        status = "INVALID"
    else:
        status = "PASS" if value <= limit else "MISS"
    shown = "-" if value is None else (f"{value:.2f}{unit}" if unit != " MB" else f"{value:.1f}{unit}")
    return {"target": name, "value": value, "limit": limit, "unit": unit.strip(), "status": status,
            "shown": shown + (f" ({why_na})" if value is None and why_na else "")}


def targets(results: dict[int, dict[str, Row]], startup: dict[str, Row], big: dict[str, Row]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    at5, at10 = results.get(5000, {}), results.get(10000, {})
    floor5 = at5.get("floor")
    for key in ("validate", "export", "cost", "review-due"):
        row = at5.get(key)
        ratio = row.best / floor5.best if row and floor5 and floor5.best else None
        out.append(_target(f"{LABEL[key]} <= 1.5x floor at 5,000", ratio, 1.5, "x", bool(row and row.ok and floor5.ok),
                           "5,000 not measured" if not at5 else "row not measured"))
        r10 = at10.get(key)
        scale = r10.best / row.best if row and r10 and row.best else None
        out.append(_target(f"{LABEL[key]} 10k/5k <= 2.2", scale, 2.2, "x", bool(row and r10 and row.ok and r10.ok),
                           "needs 5,000 and 10,000"))
    cat, val = at5.get("check-catalog"), at5.get("validate")
    ratio = cat.best / val.best if cat and val and val.best else None
    out.append(_target("check, catalog change <= 2x validate at 5,000", ratio, 2.0, "x", bool(cat and val and cat.ok and val.ok),
                       "needs validate and check-catalog at 5,000"))
    for n in sorted(results):
        one = results[n].get("check-one")
        if one is not None or n == 5000:
            out.append(_target(f"check, one contract <= 1 s at {n:,}", one.best if one else None, 1.0, " s",
                               bool(one and one.ok), "row not measured"))
    peak = val.peak_mib * MIB / MB if val and val.runs else None
    out.append(_target("validate peak <= 200 MB at 5,000", peak, 200, " MB", bool(val and val.ok), "needs validate at 5,000"))
    b = big.get("validate")
    tampered = big.get("tampered")
    verified = bool(b and b.ok and (tampered is None or tampered.ok))
    out.append(_target("records 1M verified <= 150 MB", b.peak_mib * MIB / MB if b and b.runs else None, 150, " MB", verified,
                       "records-1m not measured"))
    ex = startup.get("example")
    out.append(_target("validate startup on the example <= 0.5 s", ex.best if ex else None, 0.5, " s", bool(ex and ex.ok),
                       "startup not measured"))
    return out


def parse_rows(text: Optional[str], skip_1m: bool) -> list[str]:
    if not text:
        wanted = list(ROWS)
    else:
        wanted = []
        for raw in text.split(","):
            key = raw.strip().lower().replace(" ", "-").replace("_", "-")
            key = ALIASES.get(key, key)
            if not key:
                continue
            if key not in ROWS:
                raise SystemExit(f"unknown row '{raw.strip()}'; rows: {', '.join(ROWS)}")
            wanted.append(key)
    if skip_1m and "records-1m" in wanted:
        wanted.remove("records-1m")
    return wanted


def main() -> int:
    parser = argparse.ArgumentParser(description="Time every row of tiergate's scale table against a floor measured in the same run.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog="rows: " + ", ".join(ROWS))
    parser.add_argument("--contracts", type=int, nargs="+", default=[5000, 10000], help="Ns to generate and measure (default: 5000 10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per row; the best (minimum) wall is reported (default: 3)")
    parser.add_argument("--rows", help="comma-separated rows to measure (default: all); the floor is always measured")
    parser.add_argument("--skip-1m", action="store_true", help="skip the 1,000,000-record artifact")
    parser.add_argument("--keep", type=Path, help="generate and cache repositories under this folder (default: a temp dir, removed)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--teams", type=int, default=50, help="distinct contract owners (default: 50)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="generation processes (default: 2)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one command is killed (default: 1800)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild cached repositories even when complete")
    parser.add_argument("--generate-only", action="store_true", help="generate (or check the cache of) the repositories, then stop")
    parser.add_argument("--example", type=Path, default=CHECKOUT, help="repository of the startup row's example policy (default: this checkout)")
    args = parser.parse_args()
    if args.runs < 1 or any(n < 1 for n in args.contracts):
        parser.error("--runs and --contracts must be positive")
    wanted = parse_rows(args.rows, args.skip_1m)
    global REGENERATE
    REGENERATE = args.regenerate
    ns = sorted(dict.fromkeys(args.contracts)) if any(k in PER_N for k in wanted) else []

    pre = subprocess.run(tiergate("--version"), capture_output=True, text=True)
    if pre.returncode != 0:
        raise SystemExit(f"`{sys.executable} -m tiergate --version` failed ({pre.returncode}): {pre.stderr.strip()[-500:]}\n"
                         "run this script with the interpreter that has tiergate installed (e.g. /tmp/venv/bin/python)")
    version = pre.stdout.strip()
    head = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(CHECKOUT), "status", "--porcelain", "--", "src"], capture_output=True, text=True).stdout
    fingerprint = src_fingerprint()
    started_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    base = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="tiergate-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="tiergate-bench-scratch-"))
    results: dict[int, dict[str, Row]] = {}
    generation: dict[str, Any] = {}
    notes: dict[str, list[str]] = {}
    startup: dict[str, Row] = {}
    big: dict[str, Row] = {}
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    def progress(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    try:
        for n in ns:
            root = base / f"n{n}"
            progress(f"N={n:,}: generating under {root} (or reusing the cache)")
            info = generate_repo(root, n, args.teams, args.workers)
            generation[str(n)] = info
            progress(f"N={n:,}: {'reused' if info['reused'] else 'generated'} ({info['seconds']:.1f} s to generate: "
                     + ", ".join(f"{k} {v:.1f} s" for k, v in info["phases"].items()) + ")")
            if args.generate_only:
                continue
            rows = per_n_rows(root, scratch, wanted)
            notes[str(n)] = []
            measure_rows(rows, args.runs, scratch, args.timeout, repo=root, notes=notes[str(n)])
            results[n] = {row.key: row for row in rows}
        if args.generate_only:
            if "records-1m" in wanted:
                generation["records-1m"] = generate_big(base / "records-1m", tamper=False)
                generation["records-1m-tampered"] = generate_big(base / "records-1m-tampered", tamper=True)
            if args.keep is None:
                progress("--generate-only without --keep: the repositories are removed at once")
            return 0
        if "startup" in wanted:
            progress("startup rows")
            ex = str(args.example)
            rows = [Row("interpreter", "interpreter only (`python -c pass`)", [sys.executable, "-c", "pass"]),
                    Row("example", f"validate, example policy ({ex})", tiergate("validate", "--repo", ex, "--as-of", AS_OF)),
                    Row("version", "tiergate --version", tiergate("--version")),
                    Row("help", "tiergate --help", tiergate("--help"))]
            measure_rows(rows, args.runs, scratch, args.timeout)
            startup = {row.key: row for row in rows}
        if "records-1m" in wanted:
            root, bad = base / "records-1m", base / "records-1m-tampered"
            progress("records 1M: generating (or reusing the cache)")
            generation["records-1m"] = generate_big(root, tamper=False)
            generation["records-1m-tampered"] = generate_big(bad, tamper=True)
            progress("records 1M: measuring")
            rows = [Row("floor", "floor, records 1M", [sys.executable, str(FLOOR), str(root)]),
                    Row("validate", "validate, records 1M", tiergate("validate", "--repo", str(root), "--as-of", AS_OF))]
            measure_rows(rows, args.runs, scratch, args.timeout)
            tampered = Row("tampered", "validate, records 1M, one record flipped (must exit 1)",
                           tiergate("validate", "--repo", str(bad), "--as-of", AS_OF), expect=(1,))
            tampered.measure(scratch, args.timeout)  # once: it only proves the records are recounted
            big = {row.key: row for row in rows + [tampered]}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)

    after = src_fingerprint()
    say(f"# tiergate scale benchmark ({started_at})")
    say()
    say(f"{version}; checkout {head}{' with uncommitted src/ changes' if dirty.strip() else ''}; src fingerprint {fingerprint}"
        + ("" if after == fingerprint else f" -> {after}: **src/ CHANGED DURING THE RUN**, figures mix versions"))
    say(f"Python {platform.python_version()} ({sys.executable}); {os.cpu_count()} cores; git "
        f"{subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.split()[-1]}; "
        f"best of {args.runs} run(s) per row, whole processes; peak = the process's ru_maxrss from os.wait4 in a bare "
        f"launcher (the largest of the process and the children it reaped, such as git)")
    say(f"Repositories: {'kept under ' + str(base) if args.keep else 'temporary, removed'}; each contract on the top tier with "
        f"3 artifacts x {RECORDS} records over its own eval set; {args.teams} owner teams")
    for key, info in generation.items():
        ph = ", ".join(f"{k} {v:.1f} s" for k, v in info.get("phases", {}).items())
        stale = info["reused"] and info.get("src_fingerprint") != fingerprint
        say(f"- generation {key}: {info['seconds']:.1f} s{' (' + ph + ')' if ph else ''}{', reused from the cache' if info['reused'] else ''}"
            + (f"; its schemas/ and CODEOWNERS came from tiergate src {info.get('src_fingerprint', 'unknown')} "
               "(another version: --regenerate if validate disagrees)" if stale else ""))
    for n in ns:
        rows = list(results[n].values())
        say()
        say(f"## N = {n:,} contracts ({3 * n:,} artifacts, {3 * n * RECORDS:,} records)")
        say()
        for ln in table(rows, results[n].get("floor"), "floor"):
            say(ln)
        problems = [p for row in rows for p in row.problems()] + notes.get(str(n), [])
        if problems:
            say()
            say("Problems (the figures are only meaningful on a valid repository):")
            for p in problems:
                say(f"    {p}")
    if len(ns) > 1:
        say()
        say("## Scaling (best wall at the larger N / at the smaller N)")
        say()
        for small, large in zip(ns, ns[1:]):
            parts = []
            for key in PER_N:
                a, b = results[small].get(key), results[large].get(key)
                if a and b and a.best:
                    parts.append(f"{LABEL[key]} {b.best / a.best:.2f}")
            say(f"- {large:,}/{small:,} (x{large / small:g} contracts): " + ", ".join(parts))
    def section(title: str, rows: dict, base: str) -> None:
        say()
        say(title)
        say()
        for ln in table(list(rows.values()), rows[base], base):
            say(ln)
        for p in [p for row in rows.values() for p in row.problems()]:
            say(f"    {p}")

    if startup:
        section("## Startup", startup, "interpreter")
    if big:
        section(f"## Records 1M (one artifact, {BIG_RECORDS:,}-line records file, {BIG_RECORDS:,}-line eval set)", big, "floor")
    goal = targets(results, startup, big)
    say()
    say("## Targets")
    say()
    say("| target | measured | status |")
    say("|---|---:|---|")
    for t in goal:
        say(f"| {t['target']} | {t['shown']} | {t['status']} |")
    counts = {s: sum(t["status"] == s for t in goal) for s in ("PASS", "MISS", "INVALID", "n/a")}
    say()
    say("targets: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))

    if args.json:
        doc = {"started_at": started_at, "tiergate": version, "checkout": head, "src_dirty": bool(dirty.strip()),
               "src_fingerprint": {"start": fingerprint, "end": after}, "python": sys.executable, "cores": os.cpu_count(),
               "runs": args.runs, "teams": args.teams, "records_per_artifact": RECORDS, "generation": generation,
               "results": {str(n): {k: r.as_json() for k, r in results[n].items()} for n in ns},
               "notes": notes, "scaling": {f"{b}/{a}": {k: results[b][k].best / results[a][k].best for k in results[a]
                                                         if k in results[b] and results[a][k].best}
                                           for a, b in zip(ns, ns[1:])},
               "startup": {k: r.as_json() for k, r in startup.items()}, "records_1m": {k: r.as_json() for k, r in big.items()},
               "targets": goal, "report": "\n".join(lines) + "\n"}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        progress(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
