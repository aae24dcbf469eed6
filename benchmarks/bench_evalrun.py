#!/usr/bin/env python3
"""Speed of `tiergate eval run` against a loopback OpenAI-compatible server, as whole processes.

    python benchmarks/bench_evalrun.py [--samples 2000] [--latency 0.05] [--concurrency 32] [--runs 3] [--json FILE]

The server (tests/openai_server.py, its own process on 127.0.0.1) answers every call after
--latency seconds. A copy of the example repository gets an eval set of --samples lines for
intent-classification (whose prompt block asks the model), and its lite primary points at the server. Rows:

- `eval run`, cold (`--no-cache`): every sample asked; against the latency-bound floor
  samples x latency / concurrency (2,000 x 0.05 / 32 = 3.125 s);
- `eval run`, fully cached: the same run again, every answer from .tiergate/cache/;
- the client floor (benchmarks/evalrun_clients.py): the same calls with `litellm.acompletion`
  alone, and with a plain `httpx.AsyncClient`, nothing else in the process.

tiergate's own overhead per sample is (CPU of the cold run - CPU of the LiteLLM-only run) / samples;
LiteLLM's per call is (CPU of the LiteLLM run - CPU of the httpx run) / samples. CPU is the child's
user + system time from os.wait4; wall is a monotonic clock around it. Best of --runs for each.
Targets: cold <= 6 s, overhead <= 1 ms per sample, cached <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = ("policy", "evals", "schemas", "CODEOWNERS")
INTENT = "policy/tasks/intent-classification.yaml"
DATASET = "evals/datasets/intent-classification.jsonl"
NANO = "        max_output_tokens: 128000\n"


def measure(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One whole process: wall seconds, CPU seconds (user + system, os.wait4), exit code, the tail of stderr."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode("utf-8", "replace")[-600:]
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rc": proc.returncode, "stderr": tail}


def repository(root: Path, base: str, samples: int) -> None:
    for part in EXAMPLE:
        source = PROJECT / part
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / part)
    labels = ("billing", "bug", "howto", "account")
    lines = [json.dumps({"expected": labels[i % 4], "id": f"s-{i:05d}", "input": f"example input #{i}"}) for i in range(samples)]
    (root / DATASET).write_text("\n".join(lines) + "\n")
    catalog = (root / "policy/tiers.yaml").read_text()
    settings = f"        litellm_params: {{model: openai/served-nano, api_base: \"{base}\", api_key: os.environ/BENCH_KEY, timeout: 30}}\n"
    (root / "policy/tiers.yaml").write_text(catalog.replace(NANO, NANO + settings, 1))
    assert "\nprompt:" in (root / INTENT).read_text(), "the example contract's prompt block asks the model"


def best(rows: list[dict[str, Any]], key: str) -> float:
    return min(row[key] for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(BENCH_KEY="sk-bench", LITELLM_LOCAL_MODEL_COST_MAP="True", NO_PROXY="127.0.0.1,localhost")
    server = subprocess.Popen([sys.executable, str(PROJECT / "tests/openai_server.py"), "--latency", str(args.latency)],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        base = (server.stdout.readline() if server.stdout else "").strip()
        if not base.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the server did not start: {base!r}")
        scratch = Path(tempfile.mkdtemp(prefix="tiergate-bench-evalrun-"))
        root = scratch / "repo"
        root.mkdir()
        repository(root, base, args.samples)
        tiergate = [sys.executable, "-m", "tiergate", "eval", "run", "--task", "intent-classification", "--tier", "lite",
                    "--concurrency", str(args.concurrency), "--repo", str(root)]
        clients = [sys.executable, str(PROJECT / "benchmarks/evalrun_clients.py"), "--base", base, "--n", str(args.samples),
                   "--concurrency", str(args.concurrency)]
        rows: dict[str, list[dict[str, Any]]] = {"cold": [], "cached": [], "litellm": [], "httpx": []}
        for _ in range(args.runs):
            for key, argv in (("cold", tiergate + ["--no-cache"]), ("cached", tiergate), ("litellm", clients + ["--client", "litellm"]),
                              ("httpx", clients + ["--client", "httpx"])):
                time.sleep(1.05)  # a new second: each run writes its own artifact (evidence is append-only)
                row = measure(argv, env)
                if row["rc"] != 0:
                    raise SystemExit(f"{key} failed (exit {row['rc']}): {row['stderr']}")
                rows[key].append(row)
        shutil.rmtree(scratch, ignore_errors=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    n, floor = args.samples, args.samples * args.latency / args.concurrency
    figures = {
        "samples": n, "latency_s": args.latency, "concurrency": args.concurrency, "runs": args.runs, "floor_s": floor,
        "cold_wall_s": best(rows["cold"], "wall"), "cold_cpu_s": best(rows["cold"], "cpu"),
        "cached_wall_s": best(rows["cached"], "wall"), "cached_cpu_s": best(rows["cached"], "cpu"),
        "litellm_wall_s": best(rows["litellm"], "wall"), "litellm_cpu_s": best(rows["litellm"], "cpu"),
        "httpx_wall_s": best(rows["httpx"], "wall"), "httpx_cpu_s": best(rows["httpx"], "cpu"),
    }
    figures["tiergate_overhead_ms_per_sample"] = (figures["cold_cpu_s"] - figures["litellm_cpu_s"]) / n * 1000
    figures["litellm_ms_per_call"] = (figures["litellm_cpu_s"] - figures["httpx_cpu_s"]) / n * 1000
    figures["httpx_ms_per_call"] = figures["httpx_cpu_s"] / n * 1000
    print(f"{n} samples, {args.latency * 1000:g} ms per call, concurrency {args.concurrency}, best of {args.runs}, whole processes")
    print(f"{'row':<34}{'wall':>9}{'cpu':>9}{'x floor':>9}")
    for key, label in (("cold", "eval run, cold (--no-cache)"), ("cached", "eval run, fully cached"),
                       ("litellm", "litellm.acompletion alone"), ("httpx", "httpx.AsyncClient alone")):
        wall, cpu = figures[f"{key}_wall_s"], figures[f"{key}_cpu_s"]
        print(f"{label:<34}{wall:>8.2f}s{cpu:>8.2f}s{wall / floor:>9.2f}")
    print(f"latency-bound floor {floor:.3f} s; tiergate overhead {figures['tiergate_overhead_ms_per_sample']:.3f} ms/sample; "
          f"LiteLLM {figures['litellm_ms_per_call']:.3f} ms/call over httpx ({figures['httpx_ms_per_call']:.3f} ms/call)")
    print(f"targets: cold <= 6 s: {'met' if figures['cold_wall_s'] <= 6 else 'MISSED'}; overhead <= 1 ms: "
          f"{'met' if figures['tiergate_overhead_ms_per_sample'] <= 1 else 'MISSED'}; cached <= 2 s: "
          f"{'met' if figures['cached_wall_s'] <= 2 else 'MISSED'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
