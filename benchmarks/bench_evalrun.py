#!/usr/bin/env python3
"""Speed of `tiergate eval run` against a loopback OpenAI-compatible server, as whole processes.

    python benchmarks/bench_evalrun.py [--samples 2000] [--latency 0.05] [--concurrency 32] [--runs 3] [--json FILE]

The server (tests/openai_server.py, its own process on 127.0.0.1) answers every call after
--latency seconds. A copy of the example repository gets an eval set of --samples lines for
intent-classification (whose prompt block asks the model), and its lite primary points at the server. Rows:

- `eval run`, cold (`--no-cache`): every sample asked; against the latency-bound floor
  samples x latency / concurrency (2,000 x 0.05 / 32 = 3.125 s);
- `eval run`, fully cached: the same run again, every answer from .tiergate/cache/;
- `eval run`, cold, with the model's `litellm_params.model` on LiteLLM's `hosted_vllm/` route
  (LiteLLM's own HTTP handler for OpenAI-compatible servers) instead of `openai/` (the openai SDK);
- the client floor (benchmarks/evalrun_clients.py): the same calls with `litellm.acompletion`
  alone (both routes), with one `openai.AsyncOpenAI`, and with a plain `httpx.AsyncClient`,
  nothing else in the process.

tiergate's own overhead per sample is (CPU of the cold run - CPU of the LiteLLM-only run) / samples
(both import LiteLLM; tiergate's start-up, policy load and recording are in it). A client's cost per
call is (CPU of its run - CPU of the same process making no call) / samples: its import left out. CPU is the child's
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


def repository(root: Path, base: str, samples: int, route: str = "openai") -> None:
    for part in EXAMPLE:
        source = PROJECT / part
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / part)
    labels = ("billing", "bug", "howto", "account")
    lines = [json.dumps({"expected": labels[i % 4], "id": f"s-{i:05d}", "input": f"example input #{i}"}) for i in range(samples)]
    (root / DATASET).write_text("\n".join(lines) + "\n")
    catalog = (root / "policy/tiers.yaml").read_text()
    settings = f"        litellm_params: {{model: {route}/served-nano, api_base: \"{base}\", api_key: os.environ/BENCH_API_KEY, timeout: 30}}\n"
    (root / "policy/tiers.yaml").write_text(catalog.replace(NANO, NANO + settings, 1))
    assert "\nprompt:" in (root / INTENT).read_text(), "the example contract's prompt block asks the model"


ROWS = (("cold", "eval run, cold (--no-cache)"), ("cached", "eval run, fully cached"),
        ("cold_vllm", "eval run, cold, hosted_vllm/ route"), ("litellm", "litellm.acompletion alone, openai/"),
        ("litellm_vllm", "litellm.acompletion alone, hosted_vllm/"), ("openai", "openai.AsyncOpenAI alone"),
        ("httpx", "httpx.AsyncClient alone"), ("litellm_idle", "import litellm, no call"),
        ("openai_idle", "import openai, no call"), ("httpx_idle", "import httpx, no call"))


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
    env.update(BENCH_API_KEY="sk-bench", LITELLM_LOCAL_MODEL_COST_MAP="True", NO_PROXY="127.0.0.1,localhost")
    server = subprocess.Popen([sys.executable, str(PROJECT / "tests/openai_server.py"), "--latency", str(args.latency)],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        base = (server.stdout.readline() if server.stdout else "").strip()
        if not base.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the server did not start: {base!r}")
        scratch = Path(tempfile.mkdtemp(prefix="tiergate-bench-evalrun-"))
        root, vllm = scratch / "repo", scratch / "repo-vllm"
        for where, route in ((root, "openai"), (vllm, "hosted_vllm")):
            where.mkdir()
            repository(where, base, args.samples, route)
        run_args = ["eval", "run", "--task", "intent-classification", "--tier", "lite", "--concurrency", str(args.concurrency)]
        tiergate = [sys.executable, "-m", "tiergate", *run_args, "--repo", str(root)]
        tiergate_vllm = [sys.executable, "-m", "tiergate", *run_args, "--repo", str(vllm), "--no-cache"]
        clients = [sys.executable, str(PROJECT / "benchmarks/evalrun_clients.py"), "--base", base, "--n", str(args.samples),
                   "--concurrency", str(args.concurrency)]
        rows: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in ROWS}
        commands = {"cold": tiergate + ["--no-cache"], "cached": tiergate, "cold_vllm": tiergate_vllm,
                    "litellm": clients + ["--client", "litellm"], "litellm_vllm": clients + ["--client", "litellm", "--route", "hosted_vllm"],
                    "openai": clients + ["--client", "openai"], "httpx": clients + ["--client", "httpx"]}
        for client in ("litellm", "openai", "httpx"):  # the same processes making no call: import and set-up only
            commands[f"{client}_idle"] = [*clients[:-4], "--n", "0", "--concurrency", "1", "--client", client]
        for _ in range(args.runs):
            for key, argv in commands.items():
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
    figures: dict[str, Any] = {"samples": n, "latency_s": args.latency, "concurrency": args.concurrency, "runs": args.runs,
                               "floor_s": floor}
    for key, _ in ROWS:
        figures[f"{key}_wall_s"], figures[f"{key}_cpu_s"] = best(rows[key], "wall"), best(rows[key], "cpu")
    figures["tiergate_overhead_ms_per_sample"] = (figures["cold_cpu_s"] - figures["litellm_cpu_s"]) / n * 1000
    figures["tiergate_overhead_vllm_ms_per_sample"] = (figures["cold_vllm_cpu_s"] - figures["litellm_vllm_cpu_s"]) / n * 1000
    for key, idle in (("litellm", "litellm"), ("litellm_vllm", "litellm"), ("openai", "openai"), ("httpx", "httpx")):
        figures[f"{key}_ms_per_call"] = (figures[f"{key}_cpu_s"] - figures[f"{idle}_idle_cpu_s"]) / n * 1000
    print(f"{n} samples, {args.latency * 1000:g} ms per call, concurrency {args.concurrency}, best of {args.runs}, whole processes")
    print(f"{'row':<46}{'wall':>9}{'cpu':>9}{'x floor':>9}")
    for key, label in ROWS:
        wall, cpu = figures[f"{key}_wall_s"], figures[f"{key}_cpu_s"]
        print(f"{label:<46}{wall:>8.2f}s{cpu:>8.2f}s{wall / floor:>9.2f}")
    print(f"latency-bound floor {floor:.3f} s; tiergate's own overhead {figures['tiergate_overhead_ms_per_sample']:.3f} ms/sample "
          f"({figures['tiergate_overhead_vllm_ms_per_sample']:.3f} on hosted_vllm/)")
    print(f"client CPU per call, import left out: LiteLLM openai/ {figures['litellm_ms_per_call']:.3f} ms, LiteLLM hosted_vllm/ "
          f"{figures['litellm_vllm_ms_per_call']:.3f} ms, openai SDK {figures['openai_ms_per_call']:.3f} ms, "
          f"httpx {figures['httpx_ms_per_call']:.3f} ms")
    print(f"targets: cold <= 6 s: {'met' if figures['cold_wall_s'] <= 6 else 'MISSED'}; overhead <= 1 ms: "
          f"{'met' if figures['tiergate_overhead_ms_per_sample'] <= 1 else 'MISSED'}; cached <= 2 s: "
          f"{'met' if figures['cached_wall_s'] <= 2 else 'MISSED'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
