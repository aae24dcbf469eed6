"""A contract's prompt block made concrete: the template text, the messages for one sample, the parsed answer.

The template and rubric files are policy data a pull request controls: they are read only from
``policy/prompts/``, by their path from the repository root, never through a symlink and never
with ``..`` (the same link refusal as every governed file). ``file_problem`` and ``judge_problem``
are the judgements ``validate`` reports (TG320, TG321, in ``rules/prompt.py``) and ``eval run``
refuses on: written once, here, and light (nothing of the run client).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Optional

from tiergate.errors import TierGateError
from tiergate.layout import PROMPTS, is_prompt_file
from tiergate.loading import LoadError, Tree
from tiergate.models import PLACEHOLDER, Catalog, Contract, Parse, Prompt, placeholders

MAX_PROMPT_BYTES = 256 * 1024


def file_problem(tree: Tree, ref: str, what: str) -> Optional[str]:
    """Why ``ref`` cannot be a prompt file, or None: the one judgement ``validate`` and ``eval run`` share."""
    if not is_prompt_file(ref) or ref.startswith("/") or "\\" in ref:
        return f"{what} '{ref}' must be a file under {PROMPTS}/, named by its path from the repository root (no '..', not absolute)"
    try:
        tree.read(ref, MAX_PROMPT_BYTES)  # refuses links, folders and special files
    except LoadError as err:
        return f"{what}: {err.message}"
    return None


def judge_problem(catalog: Catalog, contract: Contract) -> Optional[str]:
    """The judge must be a catalog model of a tier ranked at or above the task's tier: a weaker judge is not evidence."""
    prompt = contract.prompt
    if prompt is None or prompt.judge is None:
        return None
    task_rank = catalog.rank(contract.tier)
    judge_rank = next((rank for rank, tier in enumerate(catalog.tiers) if prompt.judge.model in tier.model_ids()), None)
    if judge_rank is None:
        return f"prompt.judge.model {prompt.judge.model} is not a model of any tier in the catalog"
    if task_rank is not None and judge_rank < task_rank:
        return (f"prompt.judge.model {prompt.judge.model} is in tier '{catalog.tiers[judge_rank].id}', below the task's tier "
                f"'{contract.tier}': the judge must be on a tier at or above it")
    return None


class Unparsable(ValueError):
    """The model's answer does not become a value the way the contract declares."""


def read_prompt_file(tree: Tree, ref: str, what: str) -> str:
    problem = file_problem(tree, ref, what)
    if problem is not None:
        raise TierGateError(problem)
    raw = tree.read(ref, MAX_PROMPT_BYTES)
    if len(raw) > MAX_PROMPT_BYTES:
        raise TierGateError(f"{what} {ref} is over {MAX_PROMPT_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TierGateError(f"{what} {ref} is not UTF-8 text") from None


@dataclass(frozen=True)
class Spec:
    """Everything a run needs of the prompt: resolved texts and parameters (hashable into a version)."""

    template: str
    system: Optional[str]
    fields: tuple[str, ...]
    temperature: float
    max_tokens: int
    response_format: Optional[dict[str, Any]]
    parse: Parse
    rubric: Optional[str]

    @property
    def sha256(self) -> str:
        """The prompt's version: what a reviewer compares between two runs."""
        data = {"template": self.template, "system": self.system, "fields": list(self.fields), "temperature": self.temperature,
                "max_tokens": self.max_tokens, "response_format": self.response_format,
                "parse": self.parse.model_dump(by_alias=True), "rubric": self.rubric}
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def spec(tree: Tree, contract: Contract) -> Spec:
    """The contract's prompt with its files read; a contract without a prompt block cannot be run."""
    prompt: Optional[Prompt] = contract.prompt
    if prompt is None:
        raise TierGateError(f"policy/tasks/{contract.task}.yaml has no prompt block, so tiergate cannot ask a model; add one "
                            "(see README, Running evals) or run the eval elsewhere and use `tiergate eval import` / `eval record`")
    template = prompt.inline if prompt.inline is not None else read_prompt_file(tree, prompt.template or "", "prompt.template")
    unknown = placeholders(template) - set(prompt.fields)
    if unknown:
        raise TierGateError(f"prompt.template {prompt.template} uses {{{', '.join(sorted(unknown))}}}, which prompt.fields does not list")
    rubric = read_prompt_file(tree, prompt.judge.rubric, "prompt.judge.rubric") if prompt.judge is not None else None
    return Spec(template, prompt.system, tuple(prompt.fields), prompt.temperature,
                prompt.max_output_tokens or contract.routing.max_output_tokens, prompt.response_format, prompt.parse, rubric)


def fill(template: str, values: dict[str, Any]) -> str:
    """``{field}`` replaced by the sample's value (strings as they are, anything else as JSON); ``{{ }}`` are braces."""

    def value(match: Any) -> str:
        found = values[match.group(1)]
        return found if isinstance(found, str) else json.dumps(found, ensure_ascii=False, sort_keys=True)

    parts = template.split("{{")
    return "{".join(PLACEHOLDER.sub(value, part).replace("}}", "}") for part in parts)


def messages(prompt: Spec, sample: dict[str, Any]) -> list[dict[str, str]]:
    """The chat messages for one eval-set line; a line lacking a field the template needs is bad input."""
    missing = [name for name in prompt.fields if name not in sample]
    if missing:
        raise TierGateError(f"eval-set line '{sample.get('id')}' lacks the prompt field(s) {', '.join(missing)}")
    out = [{"role": "system", "content": prompt.system}] if prompt.system else []
    out.append({"role": "user", "content": fill(prompt.template, {name: sample[name] for name in prompt.fields})})
    return out


def parse_answer(parse: Parse, text: str) -> Any:
    """The declared steps, in order: strip, JSON, field, case-fold. Raises Unparsable."""
    value: Any = text.strip() if parse.strip else text
    if parse.as_json:
        try:
            value = json.loads(value)
        except ValueError:
            raise Unparsable("the answer is not JSON") from None
        for step in (parse.field.split(".") if parse.field else []):
            if not isinstance(value, dict) or step not in value:
                raise Unparsable(f"the JSON answer has no field {parse.field}")
            value = value[step]
    if parse.casefold and isinstance(value, str):
        value = value.casefold()
    return value
