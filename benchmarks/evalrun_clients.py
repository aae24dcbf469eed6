#!/usr/bin/env python3
"""The client floor of `eval run`: N chat completions at concurrency K, and nothing else.

    python benchmarks/evalrun_clients.py --client litellm|openai|httpx --base URL [--n 2000] [--concurrency 32] [--route openai]

`litellm` calls `litellm.acompletion` the way tiergate's client does (one configured module, no
callbacks, no retries of its own, the local price map), on the provider route `--route` (`openai`,
through the openai SDK, or `hosted_vllm`, LiteLLM's own HTTP handler for OpenAI-compatible
servers); `openai` makes the call with one shared `openai.AsyncOpenAI` (what LiteLLM's openai route
uses underneath); `httpx` posts the same request with one shared `httpx.AsyncClient`: a plain
client, the least any caller pays. Each reads the answer text and the usage, with --concurrency
workers taking the calls in turn. Imports nothing from tiergate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from typing import Any


async def _workers(n: int, concurrency: int, one: "Any") -> int:
    todo, total = iter(range(n)), 0

    async def worker() -> None:
        nonlocal total
        for i in todo:
            total += await one(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total


async def with_litellm(base: str, n: int, concurrency: int, route: str) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)

    async def one(i: int) -> int:
        response = await litellm.acompletion(model=f"{route}/served-nano", api_base=base, api_key="sk-bench", timeout=30,
                                             num_retries=0, max_retries=0, max_tokens=16, temperature=0,
                                             messages=[{"role": "user", "content": f"Message: example input #{i}"}])
        return len(response.choices[0].message.content or "") + response.usage.completion_tokens

    return await _workers(n, concurrency, one)


async def with_openai(base: str, n: int, concurrency: int, route: str) -> int:
    import openai

    client = openai.AsyncOpenAI(base_url=base, api_key="sk-bench", max_retries=0, timeout=30)

    async def one(i: int) -> int:
        response = await client.chat.completions.create(model="served-nano", max_tokens=16, temperature=0,
                                                        messages=[{"role": "user", "content": f"Message: example input #{i}"}])
        return len(response.choices[0].message.content or "") + response.usage.completion_tokens

    return await _workers(n, concurrency, one)


async def with_httpx(base: str, n: int, concurrency: int, route: str) -> int:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits, headers={"Authorization": "Bearer sk-bench"}) as client:
        async def one(i: int) -> int:
            reply = await client.post("/chat/completions", json={
                "model": "served-nano", "max_tokens": 16, "temperature": 0,
                "messages": [{"role": "user", "content": f"Message: example input #{i}"}]})
            data = reply.json()
            return len(data["choices"][0]["message"]["content"]) + data["usage"]["completion_tokens"]

        return await _workers(n, concurrency, one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", choices=["litellm", "openai", "httpx"], required=True)
    parser.add_argument("--route", choices=["openai", "hosted_vllm"], default="openai", help="LiteLLM's provider route")
    parser.add_argument("--base", required=True)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    started = time.perf_counter()
    run = {"litellm": with_litellm, "openai": with_openai, "httpx": with_httpx}[args.client]
    total = asyncio.run(run(args.base, args.n, args.concurrency, args.route))
    print(f"{args.client}: {args.n} calls in {time.perf_counter() - started:.3f} s (checksum {total})")


if __name__ == "__main__":
    main()
