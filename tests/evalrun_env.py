"""What the eval-run tests share: the loopback model server playing the catalog's models, and a repository wired to it.

The server (tests/openai_server.py) answers intent-classification prompts from the eval set's own
labels, right 70% of the time as the lite primary and 97% as the mid primary; judge prompts get a
fixed score. The example catalog's primaries of lite, mid and frontier point their `api_base` at it
(with `model: openai/<served name>`, so LiteLLM speaks OpenAI's protocol to 127.0.0.1), and the
intent-classification contract gets a prompt block. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before any import of litellm: no fetch of the remote price map

if os.environ.get("TIERGATE_REQUIRE_LITELLM") == "1":
    import litellm  # noqa: F401
else:
    pytest.importorskip("litellm")

from openai_server import FakeOpenAI, Sure  # noqa: E402

from conftest import PROJECT, Repo  # noqa: E402

DATASET = "evals/datasets/intent-classification.jsonl"
INTENT = "policy/tasks/intent-classification.yaml"
CATALOG = "policy/tiers.yaml"
KEY_VAR = "TIERGATE_FAKE_API_KEY"
SERVED = {"openai/gpt-5-nano": "served-nano", "anthropic/claude-sonnet-4-5": "served-sonnet", "anthropic/claude-opus-4-1": "served-opus"}
SKILL = {"served-nano": 0.70, "served-sonnet": 0.97, "served-opus": 0.99}
JUDGE_SCORE = "7.5"
PROMPT = """prompt:
  system: "You label customer support messages."
  inline: "Classify the message into billing, bug, howto or account.\\nMessage: {input}"
  max_output_tokens: 16
  parse: {strip: true, casefold: true}
"""


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (PROJECT / DATASET).read_text().splitlines()]


def truth() -> Any:
    labels = {row["input"]: row["expected"] for row in rows()}

    def answer(messages: list[dict[str, Any]]) -> Optional[str]:
        if messages and messages[0].get("role") == "system" and "You grade one answer" in messages[0]["content"]:
            return Sure(JUDGE_SCORE)
        text = messages[-1]["content"]
        label = labels.get(text.rsplit("Message: ", 1)[-1].strip(), "billing")
        return json.dumps({"label": label}) if text.startswith("As JSON") else label

    return answer


def wire(repo: Repo, server: FakeOpenAI, timeout: float = 5) -> None:
    """Point the tiers' primaries at the server; intent-classification's prompt block is the example's own."""
    text = repo.read(CATALOG)
    for model, served in SERVED.items():
        marker = f"      - id: {model}\n"
        start = text.index(marker)
        end = text.index("max_output_tokens:", start)
        end = text.index("\n", end) + 1
        text = text[:end] + (f"        litellm_params: {{model: openai/{served}, api_base: \"{server.base}\", "
                             f"api_key: os.environ/{KEY_VAR}, timeout: {timeout}}}\n") + text[end:]
    repo.write(CATALOG, text)
    assert repo.read(INTENT).endswith(PROMPT), "the example contract's prompt block is the one these tests expect"


def expected_score(served: str, system: str = "You label customer support messages.") -> float:
    """What the server's deterministic model scores on the whole set: the test's own reckoning."""
    from openai_server import right

    hits = 0
    for row in rows():
        messages = [{"role": "system", "content": system},
                    {"role": "user", "content": f"Classify the message into billing, bug, howto or account.\nMessage: {row['input']}"}]
        hits += right(served, messages, SKILL[served])
    return round(hits / len(rows()), 6)


@pytest.fixture(scope="module")
def model_server():
    saved = {name: os.environ.pop(name) for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
             if name in os.environ}
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    os.environ[KEY_VAR] = "sk-test-not-a-real-key"
    with FakeOpenAI(truth=truth(), skill=SKILL) as server:
        yield server
    os.environ.update(saved)


@pytest.fixture
def wired(repo: Repo, model_server: FakeOpenAI) -> Repo:
    wire(repo, model_server)
    model_server.faults.clear()
    return repo


def evidence_files(repo: Repo) -> set[str]:
    return {str(p.relative_to(repo.root)) for p in (repo.root / "evals").rglob("*") if p.is_file()}


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]
