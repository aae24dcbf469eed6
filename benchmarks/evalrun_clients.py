#!/usr/bin/env python3
"""The client floor of `eval run`: N chat completions at concurrency K, and nothing else.

    python benchmarks/evalrun_clients.py --client litellm|httpx --base URL [--n 2000] [--concurrency 32]

`litellm` calls `litellm.acompletion` the way tiergate's client does (one configured module, no
callbacks, no retries of its own, the local price map); `httpx` posts the same OpenAI-compatible
request with one shared `httpx.AsyncClient`: a plain client, the least any caller pays. Both read
the answer text and the usage. Imports nothing from tiergate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time


async def with_litellm(base: str, n: int, concurrency: int) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> int:
        async with gate:
            response = await litellm.acompletion(model="openai/served-nano", api_base=base, api_key="sk-bench", timeout=30,
                                                 num_retries=0, max_retries=0, max_tokens=16, temperature=0,
                                                 messages=[{"role": "user", "content": f"Message: example input #{i}"}])
            return len(response.choices[0].message.content or "") + response.usage.completion_tokens

    return sum(await asyncio.gather(*(one(i) for i in range(n))))


async def with_httpx(base: str, n: int, concurrency: int) -> int:
    import httpx

    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits, headers={"Authorization": "Bearer sk-bench"}) as client:
        async def one(i: int) -> int:
            async with gate:
                reply = await client.post("/chat/completions", json={
                    "model": "served-nano", "max_tokens": 16, "temperature": 0,
                    "messages": [{"role": "user", "content": f"Message: example input #{i}"}]})
                data = reply.json()
                return len(data["choices"][0]["message"]["content"]) + data["usage"]["completion_tokens"]

        return sum(await asyncio.gather(*(one(i) for i in range(n))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--client", choices=["litellm", "httpx"], required=True)
    parser.add_argument("--base", required=True)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    started = time.perf_counter()
    run = with_litellm if args.client == "litellm" else with_httpx
    total = asyncio.run(run(args.base, args.n, args.concurrency))
    print(f"{args.client}: {args.n} calls in {time.perf_counter() - started:.3f} s (checksum {total})")


if __name__ == "__main__":
    main()
