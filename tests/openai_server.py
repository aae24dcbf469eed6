"""An OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks. Nothing leaves the machine.

Every request is recorded. By default it answers "fake server answered <model>". With ``truth``
(messages -> the right answer) and ``skill`` (model -> share of right answers) it plays a
deterministic model: whether a given model gets a given prompt right is a hash of both, so a
re-run gives the same answers and the lite model can be right 70% of the time while the mid one
is right 97%. ``faults`` scripts trouble by model: a list of "429" (with Retry-After), "500",
"slow" (longer than any client timeout the tests set) consumed one per call, then normal answers.
``latency`` delays every answer (the benchmark's 50 ms). Usage is reported: prompt tokens are the
words of the messages, completion tokens the words of the answer.

Run as a script (``python tests/openai_server.py --latency 0.05``) it serves the same answers from
asyncio (a lighter server, for throughput), prints its base URL and serves until killed: the
benchmark runs it as its own process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

Truth = Callable[[list[dict[str, Any]]], Optional[str]]
SLOW_SECONDS = 3.0


class Sure(str):
    """An answer ``truth`` gives whatever the model's skill (a judge's score, say)."""


def right(model: str, messages: list[dict[str, Any]], skill: float) -> bool:
    """Deterministic: does ``model`` answer this prompt right, for a model right ``skill`` of the time."""
    digest = hashlib.sha256(json.dumps([model, messages], sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < skill


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # listen() backlog: 32 clients connecting at once must not be reset

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a run stopped by an error, Ctrl-C) is not the server's problem to print."""


class FakeOpenAI:
    """``/v1/chat/completions`` on 127.0.0.1; ``base`` is the api_base to give a client."""

    def __init__(self, truth: Optional[Truth] = None, skill: Optional[dict[str, float]] = None, latency: float = 0.0,
                 faults: Optional[dict[str, list[str]]] = None, wrong: str = "wrong") -> None:
        self.requests: list[dict[str, Any]] = []
        self.truth, self.skill, self.latency, self.wrong = truth, skill or {}, latency, wrong
        self.chatty: set[str] = set()  # models that answer everything in words (a judge that gives no number)
        self.faults: dict[str, list[str]] = defaultdict(list, {k: list(v) for k, v in (faults or {}).items()})
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, model: str, messages: list[dict[str, Any]]) -> str:
        if model in self.chatty:
            return "I think this answer is quite good overall."
        if self.truth is None:
            return f"fake server answered {model}"
        expected = self.truth(messages)
        if expected is None:
            return self.wrong
        if isinstance(expected, Sure):
            return str(expected)
        return expected if right(model, messages, self.skill.get(model, 1.0)) else self.wrong

    def calls(self, model: Optional[str] = None) -> int:
        return sum(1 for r in self.requests if model is None or r["body"].get("model") == model)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a client reuses its connections, as with a real provider

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: Optional[dict[str, str]] = None) -> None:
                reply = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                model = str(body.get("model"))
                with fake.lock:
                    fake.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
                    fault = fake.faults[model].pop(0) if fake.faults[model] else None
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                    return
                if fault == "429":
                    self._send(429, {"error": {"message": "rate limited", "type": "rate_limit_error"}}, {"Retry-After": "0.2"})
                    return
                if fault == "500":
                    self._send(500, {"error": {"message": "upstream broke", "type": "server_error"}})
                    return
                if fault == "401":
                    self._send(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
                    return
                if fault == "slow":
                    time.sleep(SLOW_SECONDS)
                if fake.latency:
                    time.sleep(fake.latency)
                messages = body.get("messages", [])
                text = fake.answer(model, messages)
                prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
                completion_tokens = len(text.split())
                self._send(200, {
                    "id": f"chatcmpl-{len(fake.requests)}", "object": "chat.completion", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens},
                })

        return Handler

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


async def _serve_fast(latency: float, ready: "Callable[[str], None]") -> None:
    """The same answers from asyncio streams (HTTP/1.1 keep-alive, one task per connection, no thread per request).

    For the benchmark: 640 answers a second (2,000 calls of 50 ms at concurrency 32) on two shared cores is
    more than a thread-per-connection server keeps up with, and the benchmark measures the client, not this.
    """
    import asyncio

    fake = FakeOpenAI(truth=lambda messages: "billing", latency=0)

    async def connection(reader: "asyncio.StreamReader", writer: "asyncio.StreamWriter") -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = json.loads(await reader.readexactly(length) or b"{}")
                if latency:
                    await asyncio.sleep(latency)
                messages = body.get("messages", [])
                text = fake.answer(str(body.get("model")), messages)
                prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
                reply = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                                    "model": body.get("model"),
                                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 1, "total_tokens": prompt_tokens + 1}}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(reply)).encode()
                             + b"\r\n\r\n" + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", 0, backlog=256)
    ready(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1")
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    import asyncio

    asyncio.run(_serve_fast(args.latency, lambda base: print(base, flush=True)))


if __name__ == "__main__":
    main()
