"""Calling a catalog model: LiteLLM (every provider id in the catalog), bounded retries, the response cache.

One ``Client`` per command: the cache, the retry policy and the per-request timeout are shared by
every call. Retries honour ``Retry-After`` on 429 and back off exponentially (with jitter) on 5xx,
connection errors and timeouts, a bounded number of times. What happens then decides what a
sample is worth:

- the model answered (even badly, refused, or cut off): a ``Reply``, scored; a refusal or an
  empty answer is a failure of that model, counted among the run's errors;
- a timeout after every retry: a failure of that model too (its latency is part of the tier);
- anything else (a bad key, a 4xx, 5xx or 429 after every retry): ``CallFailed``. The run stops
  and records nothing: a provider outage or a wrong key is not evidence that a tier fails.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import random
import time
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Awaitable, Callable, Optional

from tiergate.cost import call_cost
from tiergate.errors import TierGateError
from tiergate.models import ModelEntry, env_name, is_env_ref
from tiergate.runs.cache import ResponseCache, cache_key

MAX_ATTEMPTS = 5
BACKOFF_BASE = 0.5  # seconds; doubled per attempt
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 120.0  # a longer wait than this fails the call with a message instead
DEFAULT_TIMEOUT = 120.0
# Router-only settings (the router's own bookkeeping), and what tiergate sets itself.
NOT_CALL_SETTINGS = {"model", "rpm", "tpm", "tags", "order", "weight", "max_retries", "timeout", "stream_timeout", "api_key"}


class CallFailed(Exception):
    """A call that never got an answer from the model (after retries): the run cannot become evidence."""


class Transient(Exception):
    """A failed attempt worth repeating; ``wait`` is the server's Retry-After, when it gave one."""

    def __init__(self, message: str, wait: Optional[float] = None, timeout: bool = False) -> None:
        super().__init__(message)
        self.wait, self.timeout = wait, timeout


@dataclass(frozen=True)
class Reply:
    """One answer, as recorded: the text, the provider's token usage, the latency and what went wrong."""

    text: Optional[str]
    input_tokens: int
    output_tokens: int
    latency_ms: float
    finish_reason: Optional[str] = None
    error: Optional[str] = None  # timeout | refused | empty (the model's failure; scored as a failure)
    cached: bool = False

    def as_cached(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cached")
        return data


@dataclass(frozen=True)
class Target:
    """What to call for one catalog model: its provider id and deployment settings, keys resolved from the environment."""

    model: ModelEntry
    provider: str
    settings: dict[str, Any]
    timeout: float

    def cost(self, reply: Reply) -> Decimal:
        return call_cost(self.model, reply.input_tokens, reply.output_tokens)


def target(model: ModelEntry, environ: Optional[dict[str, str]] = None) -> Target:
    """The catalog's settings for ``model``: ``os.environ/NAME`` references read here, never written anywhere."""
    env = os.environ if environ is None else environ
    params = model.litellm_params
    settings: dict[str, Any] = {}
    for key, value in params.items():
        if key in NOT_CALL_SETTINGS:
            continue
        settings[key] = _resolve(value, env, key)
    key_ref = params.get("api_key")
    if isinstance(key_ref, str):
        settings["api_key"] = _resolve(key_ref, env, "api_key")
    elif env.get(env_name(model.id)):
        settings["api_key"] = env[env_name(model.id)]
    timeout = params.get("timeout")
    return Target(model, model.provider_model, settings, float(timeout) if isinstance(timeout, (int, float)) else DEFAULT_TIMEOUT)


# The variables a catalog may name without the runner's say-so: provider credentials and endpoints. The
# catalog comes from the checkout, perhaps a branch someone else wrote: one that named GITHUB_TOKEN as a key
# and its own host as api_base would otherwise be sent that secret by whoever runs its eval.
PROVIDER_VARIABLE = re.compile(r"[A-Z][A-Z0-9_]*_(API_KEY|API_BASE|API_VERSION|ACCESS_KEY_ID|SECRET_ACCESS_KEY|REGION_NAME|CREDENTIALS|CREDENTIALS_JSON)")
ALLOW_VARIABLE = "TIERGATE_ALLOW_ENV"  # comma-separated further names the runner allows


def _resolve(value: Any, env: Any, key: str) -> Any:
    if not is_env_ref(value):
        return value
    name = value.split("/", 1)[1]
    allowed = {part.strip() for part in env.get(ALLOW_VARIABLE, "").split(",")}
    if not PROVIDER_VARIABLE.fullmatch(name) and name not in allowed:
        raise TierGateError(f"litellm_params.{key} names the environment variable {name}, which is not a provider credential "
                            f"(…_API_KEY, …_API_BASE, …_API_VERSION, AWS-style keys); a catalog can send what it names to any "
                            f"api_base, so allow it yourself if you mean it: {ALLOW_VARIABLE}={name}")
    if name not in env:
        raise TierGateError(f"litellm_params.{key} names the environment variable {name}, which is not set; export it and run again")
    return env[name]


Send = Callable[[Target, list[dict[str, str]], dict[str, Any]], Awaitable[Reply]]


class Client:
    """Cached, retried calls; ``send`` does one attempt (LiteLLM unless a caller supplies another).

    LiteLLM is imported at the first call the cache cannot answer: a fully cached re-run never pays
    for the import (about 2 s).
    """

    def __init__(self, cache: ResponseCache, send: Optional[Send] = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.cache = cache
        self._send = send
        self.sleep = sleep
        self.retries = 0

    @property
    def send(self) -> Send:
        if self._send is None:
            self._send = litellm_send()
        return self._send

    async def call(self, where: Target, messages: list[dict[str, str]], params: dict[str, Any]) -> Reply:
        key = cache_key(where.model.id, where.provider, messages, params)
        hit = self.cache.get(where.model.id, key)
        if hit is not None:
            try:
                return Reply(**hit, cached=True)
            except TypeError:
                pass  # an entry of another shape: ask again
        reply = await self._attempts(where, messages, params)
        if reply.error != "timeout":  # a timeout is worth asking again next time
            self.cache.put(where.model.id, key, reply.as_cached())
        return reply

    async def _attempts(self, where: Target, messages: list[dict[str, str]], params: dict[str, Any]) -> Reply:
        last: Optional[Transient] = None
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                self.retries += 1
                await self.sleep(_delay(attempt, last))
            try:
                return await self.send(where, messages, params)
            except Transient as err:
                last = err
        assert last is not None
        if last.timeout:
            return Reply(None, 0, 0, where.timeout * 1000, error="timeout")
        raise CallFailed(f"{where.model.id}: {last} (after {MAX_ATTEMPTS} attempts)")


def _delay(attempt: int, last: Optional[Transient]) -> float:
    if last is not None and last.wait is not None:
        if last.wait > MAX_RETRY_AFTER:
            raise CallFailed(f"the provider asks to wait {last.wait:g} s (Retry-After), over {MAX_RETRY_AFTER:g} s; run again later "
                             "(calls already answered are cached)")
        return last.wait
    return min(MAX_BACKOFF, BACKOFF_BASE * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)


def retry_after(err: BaseException) -> Optional[float]:
    """The Retry-After of a rate-limit error, in seconds, wherever the client library put the headers."""
    headers: Any = getattr(err, "litellm_response_headers", None)
    if not headers:
        response = getattr(err, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def reply_from(choice_text: Optional[str], finish: Optional[str], refusal: Optional[str], usage: Any, started: float) -> Reply:
    """What an answer is worth: a refusal, a content filter or an empty text is the model's failure."""
    latency = (time.perf_counter() - started) * 1000
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0) if usage is not None else 0
    completion = int(getattr(usage, "completion_tokens", 0) or 0) if usage is not None else 0
    error = None
    if refusal or finish == "content_filter":
        error = "refused"
    elif not choice_text:
        error = "empty"
    return Reply(choice_text, prompt, completion, round(latency, 3), finish, error)


def litellm_send() -> Send:
    """One attempt through ``litellm.acompletion``, configured once: no telemetry, no callbacks, no remote price map."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before the import: never fetch the price map
    try:
        import litellm
    except ImportError:
        raise TierGateError("`tiergate eval run` needs LiteLLM: pip install 'tiergate[run]'") from None
    litellm.telemetry = False
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)  # its warnings would interleave with the progress lines
    litellm.suppress_debug_info = True
    litellm.drop_params = False
    for name in ("callbacks", "success_callback", "failure_callback", "_async_success_callback", "_async_failure_callback"):
        if isinstance(getattr(litellm, name, None), list):
            getattr(litellm, name).clear()
    transient = (litellm.RateLimitError, litellm.InternalServerError, litellm.ServiceUnavailableError, litellm.APIConnectionError,
                 litellm.Timeout, litellm.BadGatewayError if hasattr(litellm, "BadGatewayError") else litellm.InternalServerError)

    async def send(where: Target, messages: list[dict[str, str]], params: dict[str, Any]) -> Reply:
        started = time.perf_counter()
        try:
            response = await litellm.acompletion(model=where.provider, messages=messages, timeout=where.timeout, num_retries=0,
                                                 max_retries=0, **where.settings, **params)
        except litellm.Timeout as err:
            raise Transient(f"timed out after {where.timeout:g} s", timeout=True) from err
        except transient as err:
            status = getattr(err, "status_code", None)
            raise Transient(f"{type(err).__name__} {status or ''}".strip(), retry_after(err) if status == 429 else None) from err
        except Exception as err:  # noqa: BLE001 - 4xx (a bad key, a bad request) and the rest: not worth repeating
            raise CallFailed(f"{where.model.id}: {type(err).__name__} {getattr(err, 'status_code', '') or ''}: {_short(err)}") from None
        choice = response.choices[0]
        message = choice.message
        return reply_from(message.content, choice.finish_reason, getattr(message, "refusal", None), getattr(response, "usage", None),
                          started)

    return send


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:200] + ("..." if len(text) > 200 else "")
