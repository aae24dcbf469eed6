"""Scorers: one model answer in, the record fields its SLO metric needs out.

The metric itself is never computed here: a record carries the parsed ``output`` (accuracy,
exact_match, macro_f1), ``passed`` (pass_rate) or ``score`` (rubric_mean), and ``metrics.py``
scores the records exactly as it scores any artifact. What is decided here is only how one answer
becomes that field, as the contract declares: parse steps, a checker, a judge.

A failed answer (a timeout, a refusal, an empty or unparsable answer) is a failure of the model:
``output`` null (a label no eval set holds, for macro_f1), ``passed`` false, ``score`` 0, with
``error`` saying which, so the run's error count is stated apart from its wrong answers.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from tiergate.errors import TierGateError
from tiergate.metrics import RUBRIC_MAX
from tiergate.models import Checker
from tiergate.runs.client import Client, Reply, Target
from tiergate.runs.prompt import Spec, Unparsable, parse_answer

NO_LABEL = "<no answer>"  # macro_f1's failed answer: a label no eval set holds, so it counts as wrong
SCORE_TEXT = re.compile(r"(10(?:\.0+)?|[0-9](?:\.[0-9]+)?)")
JUDGE_INSTRUCTIONS = ("You grade one answer against the rubric below. Reply with the score alone: one number from 0 to 10 "
                      "(decimals allowed), nothing else.\n\n")


class JudgeUnparsable(Exception):
    """The judge did not answer with a number from 0 to 10: the rubric or the judge is at fault, not the model."""


def label_fields(prompt: Spec, reply: Reply, label_only: bool) -> dict[str, Any]:
    """accuracy / exact_match / macro_f1: the parsed answer as ``output``."""
    if reply.error is not None or reply.text is None:
        return {"output": NO_LABEL if label_only else None, "error": reply.error or "empty"}
    try:
        value = parse_answer(prompt.parse, reply.text)
    except Unparsable as err:
        return {"output": NO_LABEL if label_only else None, "error": "unparsable", "why": str(err)}
    if label_only and not isinstance(value, (str, int, bool)):
        return {"output": NO_LABEL, "error": "unparsable", "why": "the answer is not a label (string, integer or boolean)"}
    return {"output": value, "error": None}


def checker(spec: Checker, parse: Any) -> Callable[[str, dict[str, Any]], bool]:
    """pass_rate's check, built once per run. An entry point is imported here, in ``eval run`` only."""
    if spec.regex is not None:
        pattern = re.compile(spec.regex)
        return lambda text, sample: pattern.fullmatch(str(parse_answer(parse, text))) is not None
    if spec.json_schema is not None:
        try:
            import jsonschema
        except ImportError:
            raise TierGateError("a json_schema checker needs jsonschema: pip install 'tiergate[run]'") from None
        validator = jsonschema.Draft202012Validator(spec.json_schema)

        def valid(text: str, sample: dict[str, Any]) -> bool:
            try:
                document = json.loads(text)
            except ValueError:
                raise Unparsable("the answer is not JSON") from None
            return validator.is_valid(document)

        return valid
    assert spec.entry_point is not None
    module_name, _, function = spec.entry_point.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as err:
        raise TierGateError(f"prompt.checker.entry_point {spec.entry_point} cannot be loaded: {err}; install the package that "
                            "provides it where you run the eval") from None
    def call(text: str, sample: dict[str, Any]) -> bool:
        try:
            return found(text, sample) is True
        except Unparsable:
            raise
        except Exception as err:  # noqa: BLE001 - the checker is the contract's code, not tiergate's: name it
            raise TierGateError(f"prompt.checker.entry_point {spec.entry_point} raised {type(err).__name__}: {err} on sample "
                                f"'{sample.get('id')}'") from None

    return call


def pass_fields(check: Callable[[str, dict[str, Any]], bool], reply: Reply, sample: dict[str, Any]) -> dict[str, Any]:
    if reply.error is not None or reply.text is None:
        return {"passed": False, "output": reply.text, "error": reply.error or "empty"}
    try:
        return {"passed": bool(check(reply.text, sample)), "output": reply.text, "error": None}
    except Unparsable as err:
        return {"passed": False, "output": reply.text, "error": "unparsable", "why": str(err)}


def parse_score(text: Optional[str]) -> float:
    """Strict: the whole answer is one number from 0 to 10 (outer whitespace aside)."""
    match = SCORE_TEXT.fullmatch((text or "").strip())
    if match is None:
        raise JudgeUnparsable(f"the judge answered {(text or '')[:60]!r}, not a number from 0 to {RUBRIC_MAX:g}")
    return float(match.group(1))


@dataclass(frozen=True)
class JudgeCall:
    """rubric_mean: the judge's model and rubric; its cost is part of the eval's spend."""

    where: Target
    rubric: str
    temperature: float

    def messages(self, question: list[dict[str, str]], answer: str) -> list[dict[str, str]]:
        asked = "\n\n".join(m["content"] for m in question if m["role"] == "user")
        return [{"role": "system", "content": JUDGE_INSTRUCTIONS + self.rubric},
                {"role": "user", "content": f"Task input:\n{asked}\n\nAnswer to grade:\n{answer}"}]

    async def fields(self, client: Client, reply: Reply, question: list[dict[str, str]]) -> dict[str, Any]:
        if reply.error is not None or reply.text is None:
            return {"score": 0.0, "output": reply.text, "error": reply.error or "empty"}
        verdict = await client.call(self.where, self.messages(question, reply.text), {"temperature": self.temperature, "max_tokens": 16})
        if verdict.error is not None:
            raise JudgeUnparsable(f"the judge {self.where.model.id} gave no answer ({verdict.error})")
        judge = {"model": self.where.model.id, "answer": verdict.text, "input_tokens": verdict.input_tokens,
                 "output_tokens": verdict.output_tokens, "cost_usd": float(self.where.cost(verdict))}
        return {"score": parse_score(verdict.text), "output": reply.text, "error": None, "judge": judge}
